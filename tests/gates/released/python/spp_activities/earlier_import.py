"""Noticing a file that was imported before under another name.

The journal sits next to the file and takes its name, so a renamed or copied
file (notes.csv -> notes-final.csv) run without --state would get a new, empty
journal and every row would be sent again. Before a new default journal is
made, the other default journals in the file's directory are read without
disturbing them (`journal.glance`); one that records rows created (or maybe
created) and whose first rows have the digests of this file's first rows at
the same positions means the same import: the run is refused, nothing sent.

An explicit --state is the user's choice and is not second-guessed. A journal
that cannot be read at that moment (held by a running import) is skipped.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from spp_activities import journal as jr
from spp_activities.rows import read_rows

#: How many of the file's first rows must match a journal's (those both hold).
ROWS_COMPARED = 3


class ImportedBeforeError(Exception):
    """The file looks like one imported before with another journal (nothing was sent)."""


def check_not_imported_before(path: Path, fmt: str, encoding: str) -> None:
    """Raise ImportedBeforeError if a default journal beside `path` has created (or
    maybe created) rows and its first rows are this file's first rows."""
    first: dict[int, bytes] = {}
    rows = read_rows(path, fmt, encoding)
    try:
        for row in itertools.islice(rows, ROWS_COMPARED):
            first[row.number] = row.digest
    finally:
        rows.close()
    if not first:
        return
    found: list[tuple[int, jr.Glance]] = []
    own = jr.default_state_path(path).name
    for candidate in sorted(path.parent.glob("*" + jr.DEFAULT_SUFFIX)):
        if candidate.name == own:
            continue
        journal = jr.glance(candidate, max(first))
        if journal is None:
            continue
        may_exist = sum(journal.counts[state] for state in jr.MAY_EXIST)
        shared = first.keys() & journal.digests.keys()
        if may_exist and shared and all(first[n] == journal.digests[n] for n in shared):
            found.append((may_exist, journal))
    if found:
        _, journal = max(found, key=lambda match: match[0])
        raise ImportedBeforeError(_explain(path, journal))


def _explain(path: Path, journal: jr.Glance) -> str:
    created = journal.counts[jr.CREATED]
    unknown = journal.counts[jr.UNKNOWN] + journal.counts[jr.SENDING]
    done = f"{created:,} row{'' if created == 1 else 's'} created"
    if unknown:
        done += f", {unknown:,} unknown"
    source = journal.path.name.removesuffix(jr.DEFAULT_SUFFIX)
    return (
        f"{path.name} looks like {source}, which was imported with journal {journal.path} "
        f"({done}): pass --state {journal.path} to continue that import, or --state "
        "NEW.sqlite to import it again as a new import (this may duplicate activities). "
        "Nothing was sent."
    )
