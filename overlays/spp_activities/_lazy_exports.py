"""Exports imported on first use (PEP 562), for the ``__init__`` of a package whose public
names would otherwise pull in heavy modules at import time.

``__getattr__, __dir__ = lazy_exports(globals(), sources)`` in a package's ``__init__``:
``sources`` maps each exported name to the module it lives in. A name is imported the first
time it is looked up, then kept in the package's namespace, so later look-ups cost nothing.
Written here because the standard library has no helper for it; ``lazy_loader`` (PyPI)
does the same for whole submodules, not for names picked from them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    namespace: dict[str, Any], sources: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` for the package whose ``globals()`` is
    ``namespace``, exporting ``sources``' names."""
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        namespace[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *sources})

    return __getattr__, __dir__
