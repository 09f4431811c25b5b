"""What both breaking-change gates share: the released version, the version being made,
the changelog, and the one escape for a breaking change (a major version bump plus a
CHANGELOG.md entry naming each change).

"Released" is the snapshot in ``released/`` beside this file (a fresh clone may have no
tags): ``VERSION``, ``openapi.yaml`` and the ``python/`` sources (``spp_activities`` and
``spp_api``) as of the last release.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RELEASED = Path(__file__).resolve().parent / "released"


@dataclass(frozen=True, order=True)
class Breaking:
    """One breaking change: where (a JSON pointer or a Python path), the rule it breaks,
    the name a changelog entry must mention, and what happened."""

    where: str
    rule: str
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.where}: {self.rule}: {self.detail}"


def released_version(released: Path = RELEASED) -> str:
    return (released / "VERSION").read_text(encoding="utf-8").strip()


def current_version(root: Path = ROOT) -> str:
    with (root / "pyproject.toml").open("rb") as file:
        version: str = tomllib.load(file)["project"]["version"]
    return version


def _major(version: str) -> int:
    match = re.match(r"(\d+)", version)
    return int(match.group(1)) if match else 0


def changelog_entry(version: str, root: Path = ROOT) -> str:
    """The CHANGELOG.md sections for ``version`` and for "Unreleased" ("" if none)."""
    path = root / "CHANGELOG.md"
    if not path.is_file():
        return ""
    sections = re.split(r"(?m)^## ", path.read_text(encoding="utf-8"))
    wanted = (f"[{version}]", version, "[Unreleased]", "Unreleased")
    return "\n".join(s for s in sections[1:] if s.split("\n", 1)[0].strip().startswith(wanted))


def names(entry: str, change: Breaking) -> bool:
    """Whether a changelog entry names ``change``: its name or its pointer as a whole
    backticked token (`Author.email`), or its pointer as a whole word. A passing mention
    or a longer name (`Author.email_verified`) does not count."""
    tokens = {token.strip() for token in re.findall(r"`([^`\n]+)`", entry)}
    if change.name in tokens or change.where in tokens:
        return True
    # The pointer, neither preceded nor followed by what could continue it (a trailing
    # full stop ends a sentence).
    word = rf"(?<![\w/~.{{}}-]){re.escape(change.where)}(?![\w/~{{}}-]|\.\w)"
    return re.search(word, entry) is not None


def verdict(
    changes: Sequence[Breaking],
    what: str,
    *,
    root: Path = ROOT,
    released: Path = RELEASED,
) -> int:
    """Print the changes, one line each, and return the exit status: 0 when there are none,
    or when every one comes with a major version bump and a changelog entry naming it."""
    old, new = released_version(released), current_version(root)
    if not changes:
        print(f"{what}: no breaking changes since {old}")
        return 0
    entry = changelog_entry(new, root)
    unnamed = [c for c in changes if not names(entry, c)]
    bumped = _major(new) > _major(old)
    for change in sorted(changes):
        mark = "" if bumped and change not in unnamed else "BREAKING "
        print(f"{mark}{change.line()}", file=sys.stderr if mark else sys.stdout)
    if bumped and not unnamed:
        print(f"{what}: {len(changes)} breaking change(s), released as {new} (was {old})")
        return 0
    missing = ", ".join(sorted({c.name for c in unnamed}))
    print(
        f"{what}: {len(changes)} breaking change(s) since {old}. Undo them, or bump the major "
        f"version in pyproject.toml (now {new}) and name each in CHANGELOG.md under "
        "'## [Unreleased]', in backticks"
        + (f"; not named there yet: {missing}" if unnamed else ""),
        file=sys.stderr,
    )
    return 1
