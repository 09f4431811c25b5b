"""The Python API gate (griffe): removed names and changed signatures of the exported
API and of spp_api fail; additive changes pass; the released snapshot is 0.1.0's."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import api_breaking
import pytest

ROOT = Path(__file__).resolve().parents[2]
RELEASED = ROOT / "tests/gates/released/python"


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "overlays", tmp_path / "overlays", ignore=ignore)
    shutil.copytree(ROOT / "generated", tmp_path / "generated", ignore=ignore)
    return tmp_path


def edit(path: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        file = root / path
        text = file.read_text()
        assert old in text, (path, old)
        file.write_text(text.replace(old, new, 1))

    return apply


CLIENT = "overlays/spp_activities/client.py"
BREAKING = [
    (
        "a keyword argument removed",
        edit(CLIENT, "        max_retries: int = DEFAULT_MAX_RETRIES,\n", ""),
        "spp_activities.client._BaseClient.__init__",
        "parameter-removed",
    ),
    (
        "a name no longer exported",
        edit("overlays/spp_activities/__init__.py", '    "RetryPolicy",\n', ""),
        "spp_activities.RetryPolicy",
        "object-removed",
    ),
    (
        "a generated model field removed",
        edit("generated/spp_api/models/author.py", "    email: str | Unset = UNSET\n", ""),
        "spp_api.models.author.Author.email",
        "object-removed",
    ),
]


@pytest.mark.parametrize(
    ("change", "where", "rule"), [c[1:] for c in BREAKING], ids=[c[0] for c in BREAKING]
)
def test_a_breaking_change_is_named(
    sources: Path, change: Callable[[Path], None], where: str, rule: str
) -> None:
    change(sources)
    found = api_breaking.breaking_changes([RELEASED], [sources / "overlays", sources / "generated"])
    assert (where, rule) in {(c.where, c.rule) for c in found}, [c.line() for c in found]


def test_additive_changes_pass(sources: Path) -> None:
    edit(
        CLIENT,
        "        max_retries: int = DEFAULT_MAX_RETRIES,\n",
        "        max_retries: int = DEFAULT_MAX_RETRIES,\n        new_option: int = 0,\n",
    )(sources)
    edit(
        "generated/spp_api/models/author.py",
        "    email: str | Unset = UNSET\n",
        "    email: str | Unset = UNSET\n    phone: str | Unset = UNSET\n",
    )(sources)
    found = api_breaking.breaking_changes([RELEASED], [sources / "overlays", sources / "generated"])
    assert found == [], [c.line() for c in found]


def test_the_snapshot_is_the_released_0_1_0_sources() -> None:
    listed = subprocess.run(
        [
            "git",
            "ls-tree",
            "-r",
            "--name-only",
            "758a541",
            "overlays/spp_activities",
            "generated/spp_api",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        pytest.skip("no git history here (e.g. a shallow clone)")
    for name in listed.stdout.split():
        kept = RELEASED / name.removeprefix("overlays/").removeprefix("generated/")
        shown = subprocess.run(
            ["git", "show", f"758a541:{name}"], cwd=ROOT, capture_output=True, check=True
        )
        assert kept.read_bytes() == shown.stdout, name


def test_the_checkout_has_no_unreleased_breaking_change() -> None:
    assert api_breaking.main([]) == 0
