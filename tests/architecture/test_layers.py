"""The overlay's layers, as its folders draw them, and no import cycles.

Every import counts: a statement at module level, inside a function (lazy) or under
``TYPE_CHECKING``, and a module named by a string (``importlib.import_module(...)``, the
lazy export tables of PEP 562 ``__getattr__``). Layers, lowest first:

- ``spp_api`` (generated)
- the client core: the modules at ``spp_activities``'s root
- ``spp_activities.importer`` and ``spp_activities.sandbox`` (neither imports the other)
- ``spp_activities.cli``

A module may import its own layer's modules and lower layers, never a higher one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "overlays" / "spp_activities"
LAYERS = {"core": 1, "importer": 2, "sandbox": 2, "cli": 3}


def module_name(path: Path) -> str:
    parts = ["spp_activities", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def area(module: str) -> str:
    if module == "spp_api":
        return "generated"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "core"


def is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def imports_of(module: str) -> set[str]:
    """The overlay modules (or spp_api) that ``module`` imports, anywhere in its code."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if is_package(module) else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            # A module named by a string is imported by name (import_module, lazy exports).
            names = [node.value] if _names_a_module(node.value) else []
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import submodule` depends on the submodule, not on pkg's __init__.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            if name.startswith("spp_api"):
                found.add("spp_api")
            elif name.startswith("spp_activities"):
                while name not in MODULES:
                    name = name.rpartition(".")[0]
                found.add(name)
    # A submodule's parent package is always imported first; it is not a dependency.
    found.discard(package if not is_package(module) else "")
    found.discard(module)
    return found


def _names_a_module(text: str) -> bool:
    return text in MODULES or text == "spp_api" or text.startswith("spp_api.")


GRAPH = {module: imports_of(module) for module in MODULES}


def rank(module: str) -> int:
    return 0 if module == "spp_api" else LAYERS[area(module)]


def test_the_layers_are_the_folders() -> None:
    assert area("spp_activities.client") == "core"
    assert area("spp_activities.importer.journal") == "importer"
    assert area("spp_activities.cli.create") == "cli"
    assert area("spp_activities.sandbox.app") == "sandbox"
    assert {"spp_activities.importer", "spp_activities.cli", "spp_activities.sandbox"} <= set(
        MODULES
    )


def wrong_imports(module: str, graph: dict[str, set[str]]) -> list[str]:
    """What ``module`` imports from a higher layer, or from its sibling at layer 2."""
    return sorted(
        target
        for target in graph[module]
        if rank(target) > rank(module)
        or (rank(target) == rank(module) == 2 and area(target) != area(module))
    )


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_upward_or_sideways_import(module: str) -> None:
    wrong = wrong_imports(module, GRAPH)
    assert not wrong, f"{module} ({area(module)}) imports a higher or sibling layer: {wrong}"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_checks_would_catch_a_cycle_and_an_upward_or_sideways_import() -> None:
    runner, cli = "spp_activities.importer.runner", "spp_activities.cli"
    graph = {**GRAPH, runner: {*GRAPH[runner], cli}}
    assert wrong_imports(runner, graph) == [cli]
    assert find_cycle(graph) is not None  # cli -> import_ -> importer -> runner -> cli
    app = "spp_activities.sandbox.app"
    sideways = {**GRAPH, app: {*GRAPH[app], "spp_activities.importer.journal"}}
    assert wrong_imports(app, sideways) == ["spp_activities.importer.journal"]
    client = "spp_activities.client"
    upward = {**GRAPH, client: {*GRAPH[client], "spp_activities.sandbox"}}
    assert wrong_imports(client, upward) == ["spp_activities.sandbox"]


def test_a_module_named_by_a_string_counts_as_imported() -> None:
    # The package's lazy exports import the client by name only.
    assert "spp_activities.client" in GRAPH["spp_activities"]
    assert "spp_activities.sandbox.server" in GRAPH["spp_activities.sandbox"]
