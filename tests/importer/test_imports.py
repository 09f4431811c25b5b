"""Each importer module imports a name in one place: at module level, or lazily in one function.

(An import under `if TYPE_CHECKING:` is for annotations only and does not count.)
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

IMPORTER = Path(__file__).resolve().parents[2] / "overlays" / "spp_activities" / "importer"


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [f"{'.' * node.level}{node.module or ''}:{alias.name}" for alias in node.names]
    return []


def _places(tree: ast.Module) -> Counter[str]:
    """How many places (the module's top level, each function) import each name."""
    places: Counter[str] = Counter()
    top: set[str] = set()
    for node in tree.body:
        if not _is_type_checking(node):
            top.update(_imported(node))
    places.update(top)
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            places.update({name for node in ast.walk(function) for name in _imported(node)})
    return places


@pytest.mark.parametrize("path", sorted(IMPORTER.glob("*.py")), ids=lambda p: p.name)
def test_a_name_is_imported_in_one_place(path: Path) -> None:
    places = _places(ast.parse(path.read_text(encoding="utf-8")))
    assert {name: n for name, n in places.items() if n > 1} == {}
