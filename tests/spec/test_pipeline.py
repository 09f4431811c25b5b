"""The generation pipeline: openapi.yaml -> make generate -> generated/spp_api.

Every test that changes something works in a temporary copy of the project
(sharing this checkout's .venv and node_modules), never in the checkout.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from project_copy import MAKE_IN_COPY, ROOT, copy_project

pytestmark = pytest.mark.slow  # runs `make` (or the bench): minutes


def make(target: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MAKE_IN_COPY, target],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A throwaway copy of the project."""
    return copy_project(tmp_path / "project")


def test_check_generated_passes_on_the_checkout() -> None:
    result = make("check-generated", ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_generated_catches_a_one_character_hand_edit(project: Path) -> None:
    assert make("check-generated", project).returncode == 0
    model = project / "generated" / "spp_api" / "models" / "activity.py"
    text = model.read_text()
    model.write_text(text.replace("Activity ID", "Activity Id", 1))
    assert model.read_text() != text

    result = make("check-generated", project)
    assert result.returncode != 0
    assert "activity.py" in result.stdout + result.stderr
    assert "make generate" in result.stderr


def test_generation_is_byte_stable(project: Path) -> None:
    def snapshot() -> dict[str, bytes]:
        base = project / "generated" / "spp_api"
        return {
            str(p.relative_to(base)): p.read_bytes()
            for p in sorted(base.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        }

    before = snapshot()
    for _ in range(2):
        result = make("generate", project)
        assert result.returncode == 0, result.stdout + result.stderr
        assert snapshot() == before


def test_spectral_fails_on_an_example_that_breaks_its_schema(project: Path) -> None:
    spec = project / "openapi.yaml"
    text = spec.read_text()
    broken = text.replace("                    id: 1\n", '                    id: "one"\n', 1)
    assert broken != text
    spec.write_text(broken)

    result = make("lint-spec", project)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    # The structural validator alone accepts it; Spectral is what catches it.
    assert "openapi.yaml: OK" in output
    assert "oas3-valid-media-example" in output


def test_lint_spec_is_clean_on_the_checkout() -> None:
    result = make("lint-spec", ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
