"""`make check` end to end in a copy of the project: each breaking edit named in issue 9
fails and is named; an optional response and request property pass after `make generate`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OP = "/paths/~1clients~1{user}~1activities/post"
ACTIVITY_ANCHOR = '        author:\n          $ref: "#/components/schemas/Author"\n'
CREATE_ANCHOR = "            - Client called to discuss project requirements.\n    Activity:\n"


def make(project: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    # -o: never remake the shared .venv from a copy (that would repoint its editable install).
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", *targets],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("project")
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            (copy / name).write_bytes(source.read_bytes())
    (copy / ".venv").symlink_to(ROOT / ".venv")
    (copy / "node_modules").symlink_to(ROOT / "node_modules")
    return copy


def replaced(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


EDITS = [
    (
        "remove Author.email",
        "        email:\n          type: string\n          description: Author email.\n"
        "          examples:\n            - john@example.com\n",
        "",
        "/components/schemas/Author/properties/email: response-property-removed",
    ),
    (
        "make Activity.updated_at optional",
        "        - created_at\n        - updated_at\n",
        "        - created_at\n",
        "/components/schemas/Activity/properties/updated_at: response-property-became-optional",
    ),
    (
        "rename the path",
        "  /clients/{user}/activities:\n",
        "  /clients/{user}/activity:\n",
        "/paths/~1clients~1{user}~1activities: api-path-removed",
    ),
    (
        "new required request field",
        "      required:\n        - content\n      properties:\n",
        "      required:\n        - content\n        - kind\n      properties:\n"
        "        kind:\n          type: string\n",
        "/components/schemas/ActivityCreate/properties/kind: new-required-request-property",
    ),
    (
        "Activity.id to string",
        "        id:\n          type: integer\n          description: Activity ID.\n"
        "          examples:\n            - 1\n",
        "        id:\n          type: string\n          description: Activity ID.\n"
        '          examples:\n            - "1"\n',
        "/components/schemas/Activity/properties/id/type: response-property-type-changed",
    ),
    (
        "drop the 404",
        '        "404":\n          $ref: "#/components/responses/NotFound"\n',
        "",
        f"{OP}/responses/404: response-status-removed",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("old", "new", "line"), [e[1:] for e in EDITS], ids=[e[0] for e in EDITS])
def test_make_check_fails_on_a_breaking_edit_and_names_it(
    project: Path, old: str, new: str, line: str
) -> None:
    spec = project / "openapi.yaml"
    original = spec.read_text()
    try:
        spec.write_text(replaced(original, old, new))
        result = make(project, "check")
    finally:
        spec.write_text(original)
    assert result.returncode != 0
    assert f"BREAKING {line}" in result.stderr, result.stdout + result.stderr


@pytest.mark.slow
def test_make_check_passes_after_optional_properties_and_make_generate(project: Path) -> None:
    spec = project / "openapi.yaml"
    text = spec.read_text()
    text = replaced(
        text,
        ACTIVITY_ANCHOR,
        ACTIVITY_ANCHOR
        + "        channel:\n          type: string\n          enum: [phone, mail]\n"
        "          description: How it happened.\n",
    )
    text = replaced(
        text,
        CREATE_ANCHOR,
        CREATE_ANCHOR.removesuffix("    Activity:\n")
        + "        pinned:\n          type: boolean\n          description: Pin it.\n"
        + "    Activity:\n",
    )
    spec.write_text(text)
    generated = make(project, "generate")
    assert generated.returncode == 0, generated.stdout + generated.stderr
    # Every `make check` step but mypy: this copy shares the checkout's .venv, whose editable
    # install points at the checkout's generated/, so mypy would judge the copy's spp_api as
    # a first-party module and report the generator's own typing (a fresh clone does not).
    result = make(project, "check-breaking", "lint-spec", "check-generated", "lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "openapi.yaml: no breaking changes since 0.1.0" in result.stdout
    assert "Python API: no breaking changes since 0.1.0" in result.stdout
