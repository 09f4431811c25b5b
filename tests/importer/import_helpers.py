"""Helpers for the importer tests: write files, match rows to activities, run the CLI."""

from __future__ import annotations

import collections
import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol


class Run(Protocol):
    """What the `run_cli` fixture (tests/conftest.py) returns."""

    code: int
    out: str
    err: str


def write_csv(path: Path, rows: Sequence[tuple[object, ...]], header: Sequence[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def append_csv(path: Path, rows: Sequence[tuple[object, ...]]) -> None:
    with path.open("a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def write_jsonl(path: Path, rows: Sequence[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def numbered_rows(count: int, start: int = 0) -> list[tuple[int, str]]:
    """Rows whose content is unique, so that stored activities map back to rows."""
    return [(i % 100 + 1, f"row-{i}: called about invoice #{i}") for i in range(start, count)]


def copies(stored: Sequence[dict[str, object]]) -> collections.Counter[str]:
    return collections.Counter(str(a["content"]) for a in stored)


def report_delimiter(path: Path) -> str:
    """The worksheet's delimiter, as a spreadsheet finds it: from its header."""
    header = path.read_text(encoding="utf-8-sig").partition("\n")[0]
    return max(",;\t", key=header.count)


def read_report(path: Path) -> list[dict[str, str]]:
    """The worksheet's rows (it is written UTF-8 with a BOM, for Excel, with the source
    file's delimiter)."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle, delimiter=report_delimiter(path)))
