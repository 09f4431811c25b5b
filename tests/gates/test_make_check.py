"""`make check` end to end in a copy of the project: each breaking edit named in issue 9
fails and is named; an optional response and request property pass after `make generate`."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from project_copy import ACTIVITY_ANCHOR, CREATE_ANCHOR, MAKE_IN_COPY, copy_project

OP = "/paths/~1clients~1{user}~1activities/post"


def make(project: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MAKE_IN_COPY, *targets],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("project"))


def typecheck(project: Path) -> subprocess.CompletedProcess[str]:
    """`make typecheck`'s two mypy runs, judging the copy's own overlays/ and generated/.

    The shared .venv's editable install points at the checkout, so mypy is given an
    interpreter of the copy's own (a venv without packages) whose .pth files list the
    copy's generated/ and overlays/ first, then the shared .venv's packages: spp_api is
    then read as an installed package, as in a fresh clone. The cache stays in the copy.
    """
    env = project / ".mypy-env"
    if not env.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", env], check=True)
        purelib = subprocess.run(
            [env / "bin/python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        (Path(purelib) / "a_project.pth").write_text(
            f"{project / 'generated'}\n{project / 'overlays'}\n"
        )
        (Path(purelib) / "b_shared_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    mypy = [
        sys.executable,
        "-m",
        "mypy",
        "--python-executable",
        str(env / "bin/python"),
        "--cache-dir",
        str(project / ".mypy_cache"),
    ]
    outputs = []
    for extra in ([], ["tests/client"]):
        result = subprocess.run(
            [*mypy, *extra], cwd=project, capture_output=True, text=True, timeout=600, check=False
        )
        outputs.append(result)
        if result.returncode != 0:
            return result
    return outputs[-1]


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
    # Every `make check` step; mypy is run apart (see typecheck) because this copy shares
    # the checkout's .venv, whose editable install points at the checkout's generated/.
    result = make(project, "check-breaking", "lint-spec", "check-generated", "lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "openapi.yaml: no breaking changes since 0.1.0" in result.stdout
    assert "Python API: no breaking changes since 0.1.0" in result.stdout
    typed = typecheck(project)
    assert typed.returncode == 0, typed.stdout + typed.stderr
    assert "Success: no issues found" in typed.stdout


@pytest.mark.slow
def test_mypy_in_the_copy_judges_the_copys_own_sources(project: Path) -> None:
    """The check above would pass vacuously if mypy read the checkout's sources: a model
    attribute that only the copy's generated/ has is seen, with its type."""
    vendor = project / "overlays/spp_activities/vendor.py"
    author = project / "generated/spp_api/models/author.py"
    originals = {path: path.read_text() for path in (vendor, author)}
    use = "\nfrom spp_api.models import Author\n\n_NICKNAME: {} = Author().nickname\n"
    try:
        author.write_text(
            replaced(
                originals[author],
                "    email: str | Unset = UNSET\n",
                "    email: str | Unset = UNSET\n    nickname: int = 0\n",
            )
        )
        vendor.write_text(originals[vendor] + use.format("int"))
        right = typecheck(project)
        vendor.write_text(originals[vendor] + use.format("str"))
        wrong = typecheck(project)
    finally:
        for path, text in originals.items():
            path.write_text(text)
    assert right.returncode == 0, right.stdout + right.stderr
    assert wrong.returncode != 0
    assert "overlays/spp_activities/vendor.py" in wrong.stdout, wrong.stdout
    assert '"int", variable has type "str"' in wrong.stdout, wrong.stdout
