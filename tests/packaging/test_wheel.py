"""The wheel a user installs: both packages, their type markers, the contract the
sandbox reads, the console script, and only the runtime dependencies.

Built offline from this checkout with the venv's pinned hatchling.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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


def requirements(wheel: zipfile.ZipFile) -> list[Requirement]:
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    lines = wheel.read(metadata).decode().splitlines()
    return [
        Requirement(line.split(":", 1)[1]) for line in lines if line.startswith("Requires-Dist:")
    ]


def base_and_sandbox(wheel: zipfile.ZipFile) -> tuple[set[str], set[str]]:
    base, sandbox = set(), set()
    for req in requirements(wheel):
        if req.marker is None:
            base.add(canonicalize_name(req.name))
        elif req.marker.evaluate({"extra": "sandbox"}):
            sandbox.add(canonicalize_name(req.name))
    return base, sandbox


def test_metadata_script_and_runtime_dependencies(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    assert "spp-activities = spp_activities.cli:main" in wheel.read(entry_points).decode()
    base, sandbox = base_and_sandbox(wheel)
    assert {
        "httpx",
        "anyio",
        "attrs",
        "pyyaml",
        "jsonschema-rs",
        "tqdm",
        "charset-normalizer",
        "sniffio",
    } <= base
    assert {"starlette", "uvicorn", "openapi-core", "jsonschema"} <= sandbox
    assert not base & {"starlette", "uvicorn", "openapi-core", "jsonschema"}


def test_no_upper_bound_blocks_a_newer_release(wheel: zipfile.ZipFile) -> None:
    for req in requirements(wheel):
        if req.marker is None or req.marker.evaluate({"extra": "sandbox"}):
            assert all(spec.operator == ">=" for spec in req.specifier), str(req)


def closure(names: set[str]) -> set[str]:
    """The installed distributions that `names` need, following their own base
    requirements (as installed in this venv, which holds them all)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        for line in metadata.requires(name) or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


#: At most this many packages in a client-only install (the issue's budget, the reply
#: validator included). `make release-check` also counts a real install in a clean venv.
MAX_CLIENT_PACKAGES = 14


def test_a_client_only_install_is_small_and_holds_nothing_of_the_sandbox(
    wheel: zipfile.ZipFile,
) -> None:
    base, sandbox = base_and_sandbox(wheel)
    client_only = closure(base)
    assert len(client_only | {"spp-activities"}) <= MAX_CLIENT_PACKAGES, sorted(client_only)
    sandbox_only = closure(sandbox) - client_only
    assert {"starlette", "uvicorn", "openapi-core", "werkzeug", "pydantic"} <= sandbox_only
    assert not client_only & sandbox_only


def test_every_import_is_declared(wheel: zipfile.ZipFile) -> None:
    """Each top-level module the shipped code imports is the standard library's, ours, or
    provided by a dependency declared by name (not one that merely comes along with another):
    the client core and the importer by the base ones, the sandbox by the base and the
    sandbox extra."""
    base, sandbox = base_and_sandbox(wheel)
    provides = metadata.packages_distributions()
    overlay = ROOT / "overlays" / "spp_activities"
    sandbox_sources = set((overlay / "sandbox").rglob("*.py"))
    client_sources = {*(ROOT / "generated" / "spp_api").rglob("*.py"), *overlay.rglob("*.py")}
    for sources, allowed in (
        (client_sources - sandbox_sources, base),
        (sandbox_sources, base | sandbox),
    ):
        assert sources
        for source in sorted(sources):
            for module in sorted(imported_modules(source)):
                if module in sys.stdlib_module_names or module in ("spp_api", "spp_activities"):
                    continue
                if module == "pytest" and source.name == "pytest_plugin.py":
                    continue  # loaded by pytest itself, so pytest is there
                dists = {canonicalize_name(d) for d in provides.get(module, [])}
                assert dists & allowed, f"{source.relative_to(ROOT)} imports {module}: undeclared"


def imported_modules(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


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
