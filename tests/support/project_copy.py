"""A throwaway copy of the project, for the tests that edit the spec, regenerate or run
`make` (tests/spec, tests/gates).

`copy_project(where)` copies every file git knows of (tracked, and new files that are not
ignored), keeping their times, and links the checkout's .venv and node_modules. Run `make`
in a copy as `MAKE_IN_COPY`, which never remakes those two: remaking the shared .venv from
a copy would repoint its editable install at the copy, and `npm ci` would rewrite the
checkout's node_modules.

`ACTIVITY_ANCHOR` and `CREATE_ANCHOR` are the lines of openapi.yaml after which those tests
add a response property (to `Activity`) or a request property (to `ActivityCreate`).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAKE_IN_COPY = [
    "make",
    "--no-print-directory",
    "-o",
    ".venv/.installed",
    "-o",
    "node_modules/.installed",
]
ACTIVITY_ANCHOR = '        author:\n          $ref: "#/components/schemas/Author"\n'
CREATE_ANCHOR = "            - Client called to discuss project requirements.\n    Activity:\n"


def project_files() -> list[str]:
    """The project's files as git sees them, relative to the root."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    return [name for name in listed.stdout.decode().split("\0") if (ROOT / name).is_file()]


def copy_project(where: Path, *, link_tools: bool = True) -> Path:
    """Copy the project into `where` (created); with `link_tools`, link .venv and
    node_modules from the checkout. Returns `where`."""
    where.mkdir(parents=True, exist_ok=True)
    for name in project_files():
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, where / name)
    if link_tools:
        (where / ".venv").symlink_to(ROOT / ".venv")
        (where / "node_modules").symlink_to(ROOT / "node_modules")
    return where
