"""The breaking-change gate for the Python API: compares the public API of
``spp_activities`` and ``spp_api`` with the released one using griffe, and prints one
line per breaking change (removed or renamed names, changed signatures, changed attribute
types), exiting 1 unless each comes with a major version bump and a CHANGELOG.md entry
naming it (see release.py).

    python tests/gates/api_breaking.py

The public API is what ``spp_activities`` exports (its ``__all__``, followed to where each
name is defined: classes with their methods and signatures) and all of ``spp_api``; the
overlay's submodules are internal. The released API is the released sources, kept in
``released/python/``: all of ``spp_api`` and the ``spp_activities`` modules the exported
names come from (griffe reads them statically; a fresh clone may have no tags, and
griffe 2.4's JSON dump cannot be loaded back for comparison across the two packages).
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import griffe
from release import RELEASED, ROOT, Breaking, verdict

#: Changes griffe reports that do not break callers: ``__all__`` growing is how names are
#: added, and ``__version__`` changes with every release.
_IGNORED_VALUES = frozenset({"__all__", "__version__"})
_ERRORS = "spp_activities.errors"  # where spp_activities' lazily exported errors live


def _load(search_paths: list[Path]) -> griffe.ModulesCollection:
    loader = griffe.GriffeLoader(search_paths=[str(p) for p in search_paths])
    for name in ("spp_activities", "spp_api"):
        loader.load(name)
    loader.resolve_aliases(external=False, implicit=False)
    return loader.modules_collection


def _exports(modules: griffe.ModulesCollection) -> dict[str, griffe.Object | griffe.Alias]:
    """What ``spp_activities`` exports: imported names, or lazy ones (``_SOURCES``)."""
    package = modules["spp_activities"]
    names = ast.literal_eval(str(package["__all__"].value))
    sources = {}
    if "_SOURCES" in package.members:
        sources = ast.literal_eval(str(package["_SOURCES"].value))
    exports = {}
    for name in names:
        try:
            if name in package.members:
                exports[name] = package[name]
                exports[name].kind  # noqa: B018 - resolves an alias; a dangling one is gone
            else:
                exports[name] = modules[f"{sources.get(name, _ERRORS)}.{name}"]
        except (KeyError, griffe.AliasResolutionError):
            exports.pop(name, None)  # listed, but defined nowhere: as good as removed
    return exports


def _breaking(breakage: griffe.Breakage) -> Breaking | None:
    if (
        breakage.kind is griffe.BreakageKind.ATTRIBUTE_CHANGED_VALUE
        and breakage.obj.name in _IGNORED_VALUES
    ):
        return None
    explained = _ANSI.sub("", breakage.explain(style=griffe.ExplanationStyle.ONE_LINE))
    obj = breakage.obj
    path = obj.canonical_path  # an exported alias and its target are one change
    module = obj.module.canonical_path if not obj.is_module else path
    name = path.removeprefix(module + ".") if path != module else path
    rule = breakage.kind.name.lower().replace("_", "-")
    return Breaking(path, rule, name, _LOCATION.sub("", explained))


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LOCATION = re.compile(r"^\S+:\d+: ")  # griffe's "file:line: " prefix


def breaking_changes(released: list[Path], current: list[Path]) -> list[Breaking]:
    """Every breaking change of the public API from ``released`` sources to ``current``."""
    old, new = _load(released), _load(current)
    found = list(griffe.find_breaking_changes(old["spp_api"], new["spp_api"]))
    old_exports, new_exports = _exports(old), _exports(new)
    changes = []
    for name, old_obj in old_exports.items():
        if name not in new_exports:
            where = f"spp_activities.{name}"
            changes.append(Breaking(where, "object-removed", where, f"{name}: no longer exported"))
        else:
            found.extend(griffe.find_breaking_changes(old_obj, new_exports[name]))
    changes += [change for change in map(_breaking, found) if change is not None]
    unique: dict[tuple[str, str], Breaking] = {}
    for change in changes:
        unique.setdefault((change.where, change.rule), change)
    return sorted(unique.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--released", type=Path, default=RELEASED / "python")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    current = [args.root / "overlays", args.root / "generated"]
    changes = breaking_changes([args.released], current)
    return verdict(changes, "Python API", root=args.root, released=args.released.parent)


if __name__ == "__main__":
    sys.exit(main())
