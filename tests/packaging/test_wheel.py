"""The wheel a user installs: both packages, their type markers, the contract the
sandbox reads, the console script, and only the runtime dependencies.

Built offline from this checkout with the venv's pinned hatchling.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (built,) = out.glob("spp_activities-*.whl")
    return zipfile.ZipFile(built)


def test_ships_both_packages_typed(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for required in (
        "spp_api/__init__.py",
        "spp_api/api/client_activities/create_client_activity.py",
        "spp_api/models/activity.py",
        "spp_api/py.typed",
        "spp_activities/__init__.py",
        "spp_activities/client.py",
        "spp_activities/sandbox/app.py",
        "spp_activities/py.typed",
    ):
        assert required in names, required
    assert not [n for n in names if n.startswith(("tests/", "bench/")) or "__pycache__" in n]


def test_ships_the_contract_the_sandbox_reads(wheel: zipfile.ZipFile) -> None:
    assert wheel.read("spp_activities/openapi.yaml") == (ROOT / "openapi.yaml").read_bytes()


def test_metadata_script_and_runtime_dependencies(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    assert "spp-activities = spp_activities.cli:main" in wheel.read(entry_points).decode()
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    lines = wheel.read(metadata).decode().splitlines()
    runtime = {
        line.split(":", 1)[1].strip().split(">")[0].split("<")[0].split("=")[0].lower()
        for line in lines
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    }
    assert runtime == {
        "httpx",
        "attrs",
        "starlette",
        "uvicorn",
        "openapi-core",
        "pyyaml",
        "jsonschema-rs",
        "tqdm",
        "charset-normalizer",
        "sniffio",
    }


def test_ships_the_timeline_page_and_the_pytest_plugin(wheel: zipfile.ZipFile) -> None:
    page = "spp_activities/sandbox/timeline.html"
    assert wheel.read(page) == (ROOT / "overlays" / page).read_bytes()
    assert "spp_activities/sandbox/pytest_plugin.py" in wheel.namelist()
    (entry_points,) = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "[pytest11]\nspp_sandbox = spp_activities.sandbox.pytest_plugin" in text
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    lines = wheel.read(metadata).decode().splitlines()
    assert "Provides-Extra: sandbox" in lines
    in_extra = {
        line.split(":", 1)[1].strip().split(">")[0].split("<")[0].split("=")[0].lower()
        for line in lines
        if line.startswith("Requires-Dist:") and "extra == 'sandbox'" in line.replace('"', "'")
    }
    assert {"starlette", "uvicorn", "openapi-core", "jsonschema"} <= in_extra
