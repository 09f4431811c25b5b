"""The report as a worksheet: every row still undecided, and the user's decisions back.

After a run (or a dry run), the report lists each failed, invalid and unknown
row with what the user needs to decide it without the source file at hand:

    row, line, key, client_id   where the row is, and whom it is about
    content                     its first 200 characters
    outcome, http_status        what the run found: failed, invalid or unknown
    reason, may_exist           why, and whether the activity may exist in SPP
    journal, row_digest         which journal and which row version it is about
    decision                    empty: the user fills it in

The user fills in `decision`, in a spreadsheet or a script:

    created   the activity exists: record it as created, never send it
    send      it does not exist: the next run sends it once
    skip      leave the row out for good (while it says the same)

and `apply_worksheet` applies a filled-in report to the journal. It refuses a
report of another journal (the `journal` column) or of an edited row (the
row's digest in the journal and in the file), a decision for a row that is not
undecided any more, and `send` for a row the next run would find invalid; it
says what it will do before doing it, in one transaction. The report is
written UTF-8 with a BOM (so that Excel shows the content as written), with
the source file's delimiter (a `;`-separated export gets a `;`-separated
worksheet, which the same spreadsheet opens in columns; comma for JSONL and
other delimiters), and may come back comma-, semicolon- or tab-separated, as a
spreadsheet saves it.

The worksheet is meant to be opened in a spreadsheet, so the text it copies
from the file or the server (`key`, `client_id`, `content`, `reason`) must not
run as a formula there (CSV injection): a cell starting with `=`, `+`, `-`,
`@`, a tab or a carriage return gets a leading `'` (OWASP's advice). Those
columns are for reading only; `--apply` finds rows by `row`, `journal` and
`row_digest`, which are written exactly.
"""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

from spp_activities.importer import journal as jr
from spp_activities.importer.output import Output
from spp_activities.importer.rows import DELIMITERS, Row, Source, find_delimiter

CONTENT_SHOWN = 200
COLUMNS = (
    "row",
    "line",
    "key",
    "client_id",
    "content",
    "outcome",
    "http_status",
    "reason",
    "may_exist",
    "journal",
    "row_digest",
    "decision",
)
_PROBLEMS_SHOWN = 5
#: What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Decision(StrEnum):
    """What the user decided for an undecided row."""

    CREATED = "created"
    SEND = "send"
    SKIP = "skip"


class WorksheetError(Exception):
    """A report that cannot be applied (another journal, an edited row...); nothing changed."""


def write_worksheet(
    source: Source,
    journal: jr.Journal | None,
    report_path: Path,
    rows_in_file: int,
    *,
    dry_run: bool = False,
    out: Output | None = None,
) -> int:
    """Write the worksheet of the undecided rows; returns how many (none: no file).

    After a run, the rows are the journal's failed, invalid and unknown rows
    (rows it knows beyond the file's end are not problems any more). For a dry
    run, they are the file's invalid rows that the journal (if any) has not
    settled. The file is read again for the content."""
    journal_id = "" if journal is None or dry_run else journal.id
    kept = _keep_if_filled_in(report_path, journal)
    if kept is not None and out is not None:
        print(f"The worksheet {report_path} had decisions filled in: kept as {kept}", file=out)
    count = 0
    tmp = report_path.with_name(report_path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, delimiter=worksheet_delimiter(source))
        writer.writerow(COLUMNS)
        for row, entry in _undecided(source, journal, rows_in_file, dry_run):
            count += 1
            state = jr.UNKNOWN if entry.state is jr.SENDING else entry.state
            writer.writerow(
                (
                    entry.number,
                    entry.line,
                    shown(entry.key or ""),
                    shown(entry.client_id),
                    "" if row is None else shown(row.content[:CONTENT_SHOWN]),
                    state,
                    entry.http_status or "",
                    shown(entry.reason or ""),
                    "yes" if state is jr.UNKNOWN else "no",
                    journal_id,
                    entry.digest.hex(),
                    "",
                )
            )
    if count:
        os.replace(tmp, report_path)
    else:
        tmp.unlink()
        with contextlib.suppress(FileNotFoundError):
            report_path.unlink()  # a stale report from an earlier run would mislead
    return count


def worksheet_delimiter(source: Source) -> str:
    """The worksheet's delimiter: the CSV source's, so that the spreadsheet that made the
    file opens the worksheet in columns; comma for JSONL, or a delimiter `--apply` would
    not find (`|`, say)."""
    delimiter = source.delimiter
    return delimiter if delimiter is not None and delimiter in DELIMITERS else ","


def shown(text: str) -> str:
    """A cell for reading only, made safe for a spreadsheet: text that would run as a
    formula gets a leading `'`."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _keep_if_filled_in(report_path: Path, journal: jr.Journal | None) -> Path | None:
    """Move a worksheet with decisions not applied yet (their rows still undecided in
    the journal) out of the way, so that a new run does not throw the user's work
    away; returns where it went."""
    try:
        with report_path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
            sample = handle.read(1 << 16)
            handle.seek(0)
            delimiter = max(",;\t", key=sample.partition("\n")[0].count)
            filled = any(
                (record.get("decision") or "").strip() and _undecided_row(journal, record)
                for record in csv.DictReader(handle, delimiter=delimiter)
            )
    except (OSError, csv.Error):
        return None
    if not filled:
        return None
    for n in range(1, 1000):
        kept = report_path.with_name(f"{report_path.stem}.filled-{n}{report_path.suffix}")
        if not kept.exists():
            os.replace(report_path, kept)
            return kept
    return None


def _undecided_row(journal: jr.Journal | None, record: dict[str, str]) -> bool:
    if journal is None:
        return True
    try:
        entry = journal.get(int(record.get("row") or ""))
    except ValueError:
        return False
    return entry is not None and entry.state in jr.UNDECIDED


def _undecided(
    source: Source, journal: jr.Journal | None, rows_in_file: int, dry_run: bool
) -> Iterator[tuple[Row | None, jr.Entry]]:
    """(the file's row, its entry) for each undecided row, in file order."""
    if dry_run:
        for row in source.rows():
            if row.error is None:
                continue
            known = None if journal is None else journal.get(row.number)
            if (
                known is not None
                and known.digest == row.digest
                and known.state
                in (
                    jr.CREATED,
                    jr.SKIPPED,
                )
            ):
                continue
            yield row, jr.Entry(
                row.number, row.line, row.digest, row.key, row.raw_client_id, jr.INVALID,
                None, None, row.error,
            )  # fmt: skip
        return
    assert journal is not None
    entries = journal.entries(jr.UNDECIDED, rows_in_file)
    entry = next(entries, None)
    if entry is None:
        return
    rows = source.rows()
    try:
        for row in rows:
            while entry is not None and entry.number == row.number:
                yield row, entry
                entry = next(entries, None)
            if entry is None:
                return
        while entry is not None:  # not in the file (cannot happen after a full check)
            yield None, entry
            entry = next(entries, None)
    finally:
        rows.close()


def apply_worksheet(
    source: Source, journal: jr.Journal, report: Path, out: Output, *, dry_run: bool = False
) -> dict[Decision, int]:
    """Check every decision of a filled-in report, say what they do, then apply them."""
    decisions = _read_decisions(report, journal)
    problems: list[str] = []
    file_rows = _file_digests(source, {number for number, _, _ in decisions})
    for number, digest, decision in decisions:
        entry = journal.get(number)
        if entry is None or entry.digest.hex() != digest or file_rows.get(number) != digest:
            problems.append(
                f"row {number} is not the row the report describes: the report belongs to "
                "another file or journal, or the file was edited"
            )
        elif entry.state not in jr.UNDECIDED:
            problems.append(f"row {number} is not undecided: it is {entry.state}")
        elif decision is Decision.SEND and entry.state is jr.INVALID:
            problems.append(
                f"row {number} is invalid ({entry.reason}): it cannot be sent as it is; "
                "fix it in the file, or decide skip"
            )
    if problems:
        more = len(problems) - _PROBLEMS_SHOWN
        raise WorksheetError(
            f"{report}: " + "; ".join(problems[:_PROBLEMS_SHOWN])
            + (f"; and {more} more" if more > 0 else "")
            + ". Nothing was applied."
        )  # fmt: skip
    counts = {d: sum(1 for _, _, chosen in decisions if chosen is d) for d in Decision}
    undecided = sum(journal.counts(up_to=None)[s] for s in jr.UNDECIDED) - len(decisions)
    print(
        f"{'Would apply' if dry_run else 'Applying'} {report} to {journal.path}: "
        f"created {counts[Decision.CREATED]} (recorded as created, never sent), "
        f"send {counts[Decision.SEND]} (sent once by the next run), "
        f"skip {counts[Decision.SKIP]} (left out for good); "
        f"{undecided} row(s) stay undecided.",
        file=out,
    )
    if dry_run:
        return counts
    why = f"decided in {report.name}"
    journal.decide(
        [
            (
                number,
                {
                    Decision.CREATED: jr.CREATED,
                    Decision.SEND: jr.FAILED,
                    Decision.SKIP: jr.SKIPPED,
                }[decision],
                f"{decision}: {why}",
            )
            for number, _, decision in decisions
        ]
    )
    print(
        f"Applied. Run the same import command (without --apply) to send the "
        f"{counts[Decision.SEND]} row(s) decided `send`; rows decided created or skip "
        "are never sent.",
        file=out,
    )
    return counts


def _read_decisions(report: Path, journal: jr.Journal) -> list[tuple[int, str, Decision]]:
    """(row, row digest, decision) of each decided row; WorksheetError if the report
    is not a worksheet of this journal."""
    try:
        delimiter = find_delimiter(report, "utf-8")
        handle = report.open(newline="", encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise WorksheetError(f"cannot read the report {str(report)!r}: {exc.strerror}") from None
    except Exception as exc:  # an unreadable header
        raise WorksheetError(f"{report} is not an import report: {exc}") from None
    decided: list[tuple[int, str, Decision]] = []
    seen: set[int] = set()
    with handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        missing = {"row", "journal", "row_digest", "decision"} - set(reader.fieldnames or ())
        if missing:
            raise WorksheetError(
                f"{report} is not an import report: it lacks column(s) {', '.join(sorted(missing))}"
            )
        for record in reader:
            choice = (record.get("decision") or "").strip().lower()
            if not choice:
                continue
            where = f"{report}, line {reader.line_num}"
            if not record.get("journal"):
                raise WorksheetError(
                    f"{where}: this report comes from a dry run, which records nothing; "
                    "fix the rows in the file, or run the import (with --skip-invalid to "
                    "skip the invalid rows)"
                )
            if record["journal"].strip() != journal.id:
                raise WorksheetError(
                    f"{where}: the report belongs to another journal than {journal.path} "
                    "(another file or import); nothing was applied"
                )
            try:
                decision = Decision(choice)
            except ValueError:
                raise WorksheetError(
                    f"{where}: decision {record['decision']!r} is not one of "
                    "created, send, skip (or empty: undecided); nothing was applied"
                ) from None
            try:
                number = int(record["row"])
            except (TypeError, ValueError):
                raise WorksheetError(
                    f"{where}: row {record['row']!r} is not a row number"
                ) from None
            if number in seen:
                raise WorksheetError(f"{where}: row {number} is decided twice")
            seen.add(number)
            decided.append((number, (record["row_digest"] or "").strip().lower(), decision))
    return decided


def _file_digests(source: Source, numbers: set[int]) -> dict[int, str]:
    """The file's digest of each of the rows `numbers` (hex)."""
    found: dict[int, str] = {}
    if not numbers:
        return found
    last = max(numbers)
    rows = source.rows()
    try:
        for row in rows:
            if row.number in numbers:
                found[row.number] = row.digest.hex()
            if row.number >= last:
                break
    finally:
        rows.close()
    return found
