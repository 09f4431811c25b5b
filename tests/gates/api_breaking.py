"""The breaking-change gate for the Python API: compares the public API of
``spp_activities`` and ``spp_api`` with the released one using griffe, and prints one
line per breaking change (removed or renamed names, changed signatures, changed attribute
types), exiting 1 unless each comes with a major version bump and a CHANGELOG.md entry
naming it (see release.py).

    python tests/gates/api_breaking.py

The public API is what ``spp_activities`` exports (its ``__all__``, followed to where each
name is defined: classes with their methods and signatures), the resource classes behind
``client.activities`` (``spp_activities.resources``), and all of ``spp_api``; the
overlay's other submodules are internal. The released API is the released sources, kept in
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
_RESOURCES = "spp_activities.resources"  # client.activities' classes


def _load(search_paths: list[Path]) -> griffe.ModulesCollection:
    loader = griffe.GriffeLoader(search_paths=[str(p) for p in search_paths])
    for name in ("spp_activities", "spp_api"):
        loader.load(name)
    loader.resolve_aliases(external=False, implicit=False)
    for name in ("spp_activities", "spp_api"):
        _drop_dangling(loader.modules_collection[name])
    return loader.modules_collection


def _drop_dangling(obj: griffe.Object) -> None:
    """Drop the imports of names defined nowhere (a class renamed while a module still
    imports the old name): griffe's comparison raises on them; dropped, the name is simply
    gone, and reported as removed."""
    for name, member in list(obj.members.items()):
        if member.is_alias:
            try:
                member.target  # noqa: B018 - resolves the alias
            except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                obj.del_member(name)
        elif member.is_module or member.is_class:
            _drop_dangling(member)  # type: ignore[arg-type]


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
    # The resources behind ``client.activities`` (their ``create`` signatures): reached
    # through a descriptor griffe cannot follow, so named here. 0.1.0 had no such module.
    try:
        resources = modules[_RESOURCES]
    except KeyError:
        return exports
    if "__all__" in resources.members:
        for name in ast.literal_eval(str(resources["__all__"].value)):
            if name in resources.members and resources[name].is_class:
                exports[f"{_RESOURCES.removeprefix('spp_activities.')}.{name}"] = resources[name]
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


def _changed_types(
    old: griffe.Object | griffe.Alias, new: griffe.Object | griffe.Alias
) -> list[Breaking]:
    """Attributes whose annotation changed (griffe 2.4 does not compare annotations yet):
    the annotations are compared as written, so ``int`` -> ``str`` breaks, and so does a
    mere respelling (rare in generated code, and then named once in the changelog). An
    attribute no longer annotated (a descriptor such as ``cached_resource``) is not judged."""
    old, new = old.final_target if old.is_alias else old, new.final_target if new.is_alias else new
    if old.is_attribute and new.is_attribute:
        before, after = str(old.annotation), str(new.annotation)
        if old.annotation is None or new.annotation is None or before == after:
            return []
        module = old.module.canonical_path
        name = old.canonical_path.removeprefix(module + ".")
        detail = f"{name}: attribute type changed from {before} to {after}"
        return [Breaking(old.canonical_path, "attribute-changed-type", name, detail)]
    if not (old.is_module or old.is_class) or old.kind is not new.kind:
        return []
    changes = []
    for key, member in old.members.items():
        if key.startswith("_") or member.is_alias or key not in new.members:
            continue
        changes += _changed_types(member, new.members[key])
    return changes


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
    changes += _changed_types(old["spp_api"], new["spp_api"])
    for name, old_obj in old_exports.items():
        if name in new_exports:
            changes += _changed_types(old_obj, new_exports[name])
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
