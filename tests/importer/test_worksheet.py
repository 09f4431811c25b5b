"""The report as a worksheet: decide every row, apply the decisions, finish with exit 0.

`test_the_trial_replayed` replays the trial of issue 12: a messy CSV export, a
sandbox with faults, `kill -9` mid-run, a resume, the worksheet filled in from
the sandbox's truth, applied, and a last run that ends with exit 0, every valid
row exactly once, nothing created for `skip`, nothing sent twice.
"""

from __future__ import annotations

import csv
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from import_helpers import Run, copies, numbered_rows, read_report, report_delimiter, write_csv
from spp_activities.sandbox import Sandbox, SandboxOptionError
from test_reliability import start_import, wait_for_created

FAULTS = {"429": 0.003, "503": 0.02, "500": 0.03, "reset": 0.02, "reset-after": 0.03}


def messy_rows(count: int) -> list[tuple[str, str, str]]:
    """(client_id, content, key) as a CRM export has them: multi-line notes, emoji,
    long notes, pandas' 12.0, bad client IDs and clients SPP does not know."""
    rows = []
    for i in range(count):
        client = str(i % 100 + 1)
        content = f"note #{i}: called about invoice {i}"
        if i % 7 == 0:
            content += '\r\nsecond line, "quoted"\nthird line'
        if i % 11 == 0:
            content += " 🎉👍🏽 ünïcödé"
        if i % 50 == 0:
            content += " " + "long " * 100
        if i % 13 == 0:
            client += ".0"
        if i % 97 == 0:
            client = "n/a"  # invalid
        elif i % 89 == 0:
            client = "999999"  # no such client: 404
        rows.append((client, content, f"crm-{i}"))
    return rows


def restart_on_its_port(
    old: Sandbox, start: Callable[..., Sandbox], *, tries: int = 100, **options: Any
) -> Sandbox:
    """Stop `old` and start a sandbox with `options` at the same address.

    A journal stays with its workspace, so a resumed import must find the same URL. In
    the instant the port is free, another process may take it (as the local port of a
    connection, or a test's server on port 0): try again, a bounded number of times,
    rather than fail."""
    port = old.port
    old.stop()
    for attempt in range(tries):
        try:
            return start(port=port, **options)
        except SandboxOptionError:
            if attempt == tries - 1:
                raise
            time.sleep(0.1)
    raise AssertionError("unreachable")


def write_export(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig") as handle:  # Excel's BOM, CRLF
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(["Client_ID", "Content", "Key"])
        writer.writerows(rows)
    return path


def decide_from_truth(report: Path, stored: set[str], contents: dict[str, str]) -> dict[str, int]:
    """Fill in the worksheet as the user would, from what SPP (the sandbox) holds."""
    with report.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or ())
        records = list(reader)
    chosen = {"created": 0, "send": 0, "skip": 0}
    for record in records:
        assert record["decision"] == ""
        content = contents[record["row"]]
        assert record["content"] == content[:200]
        if record["client_id"] == "999999":  # SPP has no such client: nothing to create
            record["decision"] = "skip"
        elif record["outcome"] == "unknown":
            assert record["may_exist"] == "yes"
            record["decision"] = "created" if content in stored else "send"
        elif record["outcome"] == "invalid" or record["http_status"] == "404":
            assert record["may_exist"] == "no"
            record["decision"] = "skip"
        else:  # failed, nothing created: out of attempts on 429/503
            record["decision"] = "send"
        chosen[record["decision"]] += 1
    with report.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        writer.writerows(records)
    return chosen


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_the_trial_replayed(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    rows = messy_rows(1000)
    path = write_export(tmp_path / "export.csv", rows)
    report = tmp_path / "export.csv.spp-import-report.csv"
    contents = {str(n + 1): content for n, (_, content, _) in enumerate(rows)}
    valid = {c for client, c, _ in rows if client not in ("n/a", "999999")}
    skipped = {c for client, c, _ in rows if client in ("n/a", "999999")}
    db = tmp_path / "sandbox.db"
    faulty = sandbox_factory(db=db, faults=FAULTS, seed=12, rate_limit=300)

    # kill -9 in the middle of the run, then resume it (faults still on)
    proc = start_import(path, faulty)
    wait_for_created(faulty, proc, 250)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert len(faulty.activities()) < len(valid)
    resumed = run_cli(["import", path], workspace=faulty.workspace_url, token=faulty.token)
    assert resumed.code == 8, resumed.out + resumed.err
    assert "in flight when an earlier run stopped" in resumed.err
    assert sum(faulty.stats()["by_fault"].values()) >= 20  # the faults really happened
    stored = copies(faulty.activities())
    assert max(stored.values()) == 1  # nothing sent twice so far

    # fill the worksheet in from the sandbox's truth, and apply it
    chosen = decide_from_truth(report, set(stored), contents)
    assert chosen["created"] > 0
    assert chosen["skip"] == len(skipped)
    applied = run_cli(["import", path, "--apply", report])
    assert applied.code == 0, applied.err
    assert (
        f"created {chosen['created']} (recorded as created, never sent), "
        f"send {chosen['send']} (sent once by the next run), skip {chosen['skip']}"
    ) in applied.out
    # A worksheet applies once: its rows are decided now.
    again = run_cli(["import", path, "--apply", report])
    assert again.code == 2
    assert "is not undecided" in again.err

    # the last run, against the same workspace, healthy now
    healthy = restart_on_its_port(faulty, sandbox_factory, db=db)
    final = run_cli(["import", path], workspace=healthy.workspace_url, token=healthy.token)
    assert final.code == 0, final.out + final.err
    assert healthy.stats()["requests"] == chosen["send"]  # only the rows decided `send`
    assert f"All runs: created {len(valid)}, skipped {len(skipped)}, failed 0" in final.out
    end = copies(healthy.activities())
    assert set(end) == valid  # every valid row, nothing for `skip`
    assert set(end.values()) == {1}  # exactly once
    assert not report.exists()


def run_with_problems(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> tuple[Path, Path]:
    rows: list[tuple[object, str]] = [*numbered_rows(4), ("x", "bad id"), (999_999, "nobody")]
    path = write_csv(tmp_path / "notes.csv", rows, ["client_id", "content"])
    result = run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token)
    assert result.code == 8
    assert "--apply" in result.out
    return path, tmp_path / "notes.csv.spp-import-report.csv"


def fill(report: Path, decisions: dict[str, str]) -> None:
    records = read_report(report)
    for record in records:
        record["decision"] = decisions.get(record["row"], "")
    with report.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(records[0]), delimiter=";")  # as Excel saves it
        writer.writeheader()
        writer.writerows(records)


def journal_states(path: Path) -> dict[int, str]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return dict(db.execute("SELECT number, state FROM rows").fetchall())
    finally:
        db.close()


def test_applying_says_what_it_will_do_and_the_next_run_honours_it(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    path, report = run_with_problems(sandbox, tmp_path, run_cli)
    journal = tmp_path / "notes.csv.spp-import.sqlite"
    fill(report, {"5": "skip", "6": "SKIP "})
    preview = run_cli(["import", path, "--apply", report, "--dry-run"])
    assert preview.code == 0, preview.err
    assert "Would apply" in preview.out
    assert "created 0 (recorded as created, never sent), send 0" in preview.out
    assert "skip 2 (left out for good); 0 row(s) stay undecided" in preview.out
    assert journal_states(journal)[5] == "invalid"  # a preview changes nothing
    applied = run_cli(["import", path, "--apply", report])
    assert applied.code == 0, applied.err
    assert applied.out.startswith(f"Applying {report} to {journal}: ")
    assert journal_states(journal)[5] == "skipped"
    requests = sandbox.stats()["requests"]
    done = run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token)
    assert done.code == 0, done.out + done.err  # every row created or skipped
    assert "All runs: created 4, skipped 2, failed 0, invalid 0, unknown 0." in done.out
    assert sandbox.stats()["requests"] == requests  # the 404 row is not sent again


@pytest.mark.parametrize(
    ("decisions", "message"),
    [
        ({"5": "send"}, "row 5 is invalid"),
        ({"5": "maybe"}, "decision 'maybe' is not one of created, send, skip"),
        ({"1": "skip"}, "row 1 is not undecided: it is created"),
    ],
)
def test_a_decision_that_cannot_apply_refuses_the_whole_report(
    sandbox: Sandbox,
    tmp_path: Path,
    run_cli: Callable[..., Run],
    decisions: dict[str, str],
    message: str,
) -> None:
    path, report = run_with_problems(sandbox, tmp_path, run_cli)
    fill(report, {"6": "skip"})
    records = read_report(report)
    if "1" in decisions:  # a row that was created: put it in the worksheet by hand
        db = sqlite3.connect(tmp_path / "notes.csv.spp-import.sqlite")
        (digest,) = db.execute("SELECT digest FROM rows WHERE number = 1").fetchone()
        db.close()
        created = dict(records[0], row="1", row_digest=digest.hex(), decision="")
        records.append(created)
        with report.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, list(records[0]))
            writer.writeheader()
            writer.writerows(records)
    fill(report, {"6": "skip", **decisions})
    before = journal_states(tmp_path / "notes.csv.spp-import.sqlite")
    result = run_cli(["import", path, "--apply", report])
    assert result.code == 2
    assert message in result.err
    assert "Nothing was applied" in result.err or "nothing was applied" in result.err
    assert journal_states(tmp_path / "notes.csv.spp-import.sqlite") == before


def test_a_report_of_another_import_is_refused(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    first, report = run_with_problems(sandbox, tmp_path, run_cli)
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other, _ = run_with_problems(sandbox, other_dir, run_cli)
    fill(report, {"5": "skip"})
    result = run_cli(["import", other, "--apply", report])
    assert result.code == 2
    assert "belongs to another journal" in result.err
    # The same journal, but the row was edited in the file since: refused too.
    write_csv(
        first,
        [*numbered_rows(4), ("y", "another bad id"), (999_999, "nobody")],
        ["client_id", "content"],
    )
    edited = run_cli(["import", first, "--apply", report])
    assert edited.code == 2
    assert "row 5 is not the row the report describes" in edited.err


def test_skip_invalid_ends_invalid_and_rejected_rows_as_skipped(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    path, report = run_with_problems(sandbox, tmp_path, run_cli)
    requests = sandbox.stats()["requests"]
    skip = run_cli(
        ["import", path, "--skip-invalid"], workspace=sandbox.workspace_url, token=sandbox.token
    )
    assert skip.code == 0, skip.out + skip.err
    assert "This run: created 0, failed 0, invalid 0, unknown 0, skipped 2" in skip.out
    assert sandbox.stats()["requests"] == requests  # the 404 row was not sent again
    assert not report.exists()
    # Fixing a skipped row in the file makes it a row to send again.
    write_csv(
        path,
        [*numbered_rows(4), (5, "bad id, fixed"), (999_999, "nobody")],
        ["client_id", "content"],
    )
    fixed = run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token)
    assert fixed.code == 0, fixed.out + fixed.err
    assert "bad id, fixed" in copies(sandbox.activities())


def test_a_first_run_with_skip_invalid_never_sends_a_404_twice(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    rows: list[tuple[object, str]] = [*numbered_rows(3), (999_999, "nobody"), ("", "no id")]
    path = write_csv(tmp_path / "notes.csv", rows, ["client_id", "content"])
    args = ["import", path, "--skip-invalid"]
    first = run_cli(args, workspace=sandbox.workspace_url, token=sandbox.token)
    assert first.code == 0, first.out + first.err
    assert "All runs: created 3, skipped 2" in first.out
    second = run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token)
    assert second.code == 0
    assert sandbox.stats()["requests"] == 4


def test_a_dry_run_writes_the_worksheet_of_every_invalid_row(
    tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    rows: list[tuple[object, str]] = [*numbered_rows(5)] + [("bad", f"x{i}") for i in range(25)]
    path = write_csv(tmp_path / "notes.csv", rows, ["client_id", "content"])
    report = tmp_path / "invalid.csv"
    result = run_cli(["import", path, "--dry-run", "--report", report])
    assert result.code == 8
    assert "30 rows, 5 valid, 25 invalid" in result.out
    assert f"Worksheet of the 25 invalid row(s): {report}" in result.out
    assert "... and 5 more invalid rows" in result.err
    records = read_report(report)
    assert [r["row"] for r in records] == [str(n) for n in range(6, 31)]
    assert {r["outcome"] for r in records} == {"invalid"}
    assert records[0]["content"] == "x0"
    assert not (tmp_path / "notes.csv.spp-import.sqlite").exists()
    # A dry run records nothing: its worksheet is not applied.
    fill(report, {"6": "skip"})
    applied = run_cli(["import", path, "--apply", report, "--state", tmp_path / "j.sqlite"])
    assert applied.code == 2


def test_a_semicolon_cp1252_excel_export_needs_only_its_encoding(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    notes = [
        "Rückruf wegen Rechnung; Kunde möchte Ratenzahlung",
        "Änderung der Adresse \u2013 bitte prüfen\r\nzweite Zeile",
        'Grüße an "Frau Müller", 5 € Rabatt',
        "façade, crème brûlée, naïve",
    ] * 10
    path = tmp_path / "export.csv"
    lines = ["Client_ID;Content;Notiz"]
    for i, note in enumerate(notes):
        quoted = '"' + note.replace('"', '""') + '"'
        lines.append(f"{i % 100 + 1};{quoted};Größe {i}")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    env = {"workspace": sandbox.workspace_url, "token": sandbox.token}

    refused = run_cli(["import", path], **env)
    assert refused.code == 2
    assert sandbox.stats()["requests"] == 0  # stopped before sending anything
    assert "is not valid utf-8: line 2" in refused.err
    assert "--encoding cp1252" in refused.err or "--encoding windows-1252" in refused.err
    assert not (tmp_path / "export.csv.spp-import.sqlite").exists()

    done = run_cli(["import", path, "--encoding", "cp1252"], **env)
    assert done.code == 0, done.out + done.err
    assert sorted(copies(sandbox.activities()).elements()) == sorted(notes)


def test_a_filled_in_worksheet_is_never_overwritten(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    """Running again (or a dry run) before --apply must not throw the user's work away."""
    path, report = run_with_problems(sandbox, tmp_path, run_cli)
    fill(report, {"5": "skip", "6": "skip"})
    filled = report.read_bytes()
    dry = run_cli(["import", path, "--dry-run"])
    kept = tmp_path / "notes.csv.spp-import-report.filled-1.csv"
    assert f"had decisions filled in: kept as {kept}" in dry.out
    assert kept.read_bytes() == filled
    assert [r["decision"] for r in read_report(report)] == [""]  # the dry run's own
    applied = run_cli(["import", path, "--apply", kept])
    assert applied.code == 0, applied.err


@pytest.mark.parametrize(("delimiter", "flag"), [("\t", "tab"), ("|", "|")])
def test_delimiter_flag(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run], delimiter: str, flag: str
) -> None:
    path = tmp_path / "notes.csv"
    path.write_text(f"client_id{delimiter}content\n1{delimiter}a, b; c\n", encoding="utf-8")
    env = {"workspace": sandbox.workspace_url, "token": sandbox.token}
    if delimiter == "|":  # not one the header finds: the message names the flag
        refused = run_cli(["import", path], **env)
        assert refused.code == 2
        assert "it has: 'client_id|content' (separated by '|'? pass --delimiter)" in refused.err
    done = run_cli(["import", path, "--delimiter", flag], **env)
    assert done.code == 0, done.out + done.err
    assert [a["content"] for a in sandbox.activities()] == ["a, b; c"]


def test_an_applied_worksheet_is_not_kept_by_the_next_run(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    path, report = run_with_problems(sandbox, tmp_path, run_cli)
    fill(report, {"5": "skip", "6": "skip"})
    assert run_cli(["import", path, "--apply", report]).code == 0
    done = run_cli(["import", path], workspace=sandbox.workspace_url, token=sandbox.token)
    assert done.code == 0
    assert "kept as" not in done.out
    assert list(tmp_path.glob("*report*")) == []


def test_a_sandbox_restarts_on_its_port_once_another_process_lets_go_of_it(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    """The trial's restart does not fail when the port is taken for a while."""
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    old = Sandbox(port=squatter.getsockname()[1])  # stopped, as after the faulty run
    attempts = 0

    def start(**options: Any) -> Sandbox:
        nonlocal attempts
        attempts += 1
        try:
            return sandbox_factory(**options)
        finally:
            if attempts == 2:
                squatter.close()  # the other process lets go of the port

    try:
        again = restart_on_its_port(old, start)
    finally:
        squatter.close()
    assert attempts == 3
    assert again.port == old.port
    assert again.running


FORMULAS = ['=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]


def test_cells_a_spreadsheet_would_run_are_neutralised_and_the_worksheet_still_applies(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    """CSV injection (OWASP): text from the file that starts with = + - @, a tab or a CR is
    shown with a leading ' in the worksheet; --apply still finds every row."""
    rows: list[tuple[object, str, str]] = [(1, "fine", "k-ok")]
    rows += [(999_999, formula, f"k-{n}") for n, formula in enumerate(FORMULAS)]  # 404
    rows += [("=1+1", "a bad id", "=cmd|'/c calc'!A0"), (2, "-", "@key")]  # invalid, created
    path = write_csv(tmp_path / "notes.csv", rows, ["client_id", "content", "key"])
    env = {"workspace": sandbox.workspace_url, "token": sandbox.token}
    result = run_cli(["import", path], **env)
    assert result.code == 8, result.out + result.err
    report = tmp_path / "notes.csv.spp-import-report.csv"
    records = {r["row"]: r for r in read_report(report)}
    assert [records[str(n + 2)]["content"] for n in range(len(FORMULAS))] == [
        "'" + formula for formula in FORMULAS
    ]
    bad_id = records[str(len(FORMULAS) + 2)]
    assert (bad_id["client_id"], bad_id["key"]) == ("'=1+1", "'=cmd|'/c calc'!A0")
    assert bad_id["content"] == "a bad id"  # only what would run is changed
    assert records["2"]["key"] == "k-0"

    fill(report, {number: "skip" for number in records})
    applied = run_cli(["import", path, "--apply", report])
    assert applied.code == 0, applied.err
    assert f"skip {len(records)} (left out for good); 0 row(s) stay undecided" in applied.out
    done = run_cli(["import", path], **env)
    assert done.code == 0, done.out + done.err
    assert sorted(a["content"] for a in sandbox.activities()) == ["-", "fine"]


@pytest.mark.parametrize(
    ("name", "delimiter", "flag", "expected"),
    [
        ("notes.csv", ",", None, ","),
        ("notes.csv", ";", None, ";"),
        ("notes.csv", "\t", None, "\t"),
        ("notes.csv", ";", "semicolon", ";"),
        ("notes.csv", "|", "|", ","),  # --apply would not find `|`: comma
        ("notes.jsonl", None, None, ","),
    ],
)
def test_the_worksheet_has_the_source_files_delimiter(
    tmp_path: Path,
    run_cli: Callable[..., Run],
    name: str,
    delimiter: str | None,
    flag: str | None,
    expected: str,
) -> None:
    """So that the spreadsheet the file came from opens the worksheet in columns."""
    path = tmp_path / name
    if delimiter is None:
        path.write_text('{"client_id": "x", "content": "a, b; c"}\n', encoding="utf-8")
    else:
        path.write_text(f'client_id{delimiter}content\nx{delimiter}"a, b; c"\n', "utf-8")
    report = tmp_path / "report.csv"
    args = ["import", path, "--dry-run", "--report", report]
    result = run_cli([*args, "--delimiter", flag] if flag else args)
    assert result.code == 8, result.err
    header = report.read_text(encoding="utf-8-sig").splitlines()[0]
    columns = "row line key client_id content outcome http_status reason may_exist journal"
    assert header == expected.join([*columns.split(), "row_digest", "decision"])
    assert [r["content"] for r in read_report(report)] == ["a, b; c"]


def test_a_semicolon_cp1252_exports_worksheet_opens_in_columns_and_applies(
    sandbox: Sandbox, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    """Issue 12's European Excel user: the worksheet is `;`-separated like the export."""
    path = tmp_path / "export.csv"
    lines = ["Client_ID;Content", "1;Rückruf wegen Rechnung", 'x;"Größe; ungültig"']
    lines.append("999999;Grüße an Frau Müller")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    env = {"workspace": sandbox.workspace_url, "token": sandbox.token}
    result = run_cli(["import", path, "--encoding", "cp1252"], **env)
    assert result.code == 8, result.out + result.err
    report = tmp_path / "export.csv.spp-import-report.csv"
    assert report_delimiter(report) == ";"
    records = read_report(report)
    assert [(r["client_id"], r["content"]) for r in records] == [
        ("x", "Größe; ungültig"),
        ("999999", "Grüße an Frau Müller"),
    ]
    fill(report, {"2": "skip", "3": "skip"})
    # --apply reads the file too (to match each row's digest): in its encoding.
    refused = run_cli(["import", path, "--apply", report])
    assert refused.code == 2
    assert "try --encoding cp1252" in refused.err
    assert run_cli(["import", path, "--encoding", "cp1252", "--apply", report]).code == 0
    done = run_cli(["import", path, "--encoding", "cp1252"], **env)
    assert done.code == 0, done.out + done.err
