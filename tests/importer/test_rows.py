"""Reading import rows: CSV quirks, JSONL errors, encodings, positions and digests."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from spp_activities.importer.rows import (
    FileFormatError,
    Source,
    check_decodes,
    detect_format,
    find_delimiter,
    read_rows,
)


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_csv_content_round_trips_exactly(tmp_path: Path) -> None:
    awkward = [
        'He said "call me", then left',
        "a, b, c",
        "line one\nline two\r\nline three",
        "emoji 🎉 and ünïcödé",
        "x" * 10_000,
        "  leading and trailing spaces  ",
    ]
    path = write_csv(
        tmp_path / "a.csv",
        [["client_id", "content"], *[[str(i + 1), c] for i, c in enumerate(awkward)]],
    )
    rows = list(read_rows(path, "csv"))
    assert [r.content for r in rows] == awkward
    assert [r.client_id for r in rows] == list(range(1, len(awkward) + 1))
    assert all(r.error is None for r in rows)


def test_csv_rows_know_their_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b'client_id,content\r\n1,"two\r\nlines"\r\n\r\n2,plain\r\n')
    first, second = read_rows(path, "csv")
    assert (first.number, first.line, first.content) == (1, 2, "two\r\nlines")
    assert (second.number, second.line, second.content) == (2, 5, "plain")


def test_csv_rows_of_empty_cells_are_not_rows(tmp_path: Path) -> None:
    """Spreadsheets export trailing rows of empty cells; they must not fail every run."""
    path = tmp_path / "a.csv"
    path.write_text("client_id,content,key\n1,hello,a\n,,\n  , ,\n\n2,world,b\n,,\n", "utf-8")
    rows = list(read_rows(path, "csv"))
    assert [(r.number, r.line, r.content, r.error) for r in rows] == [
        (1, 2, "hello", None),
        (2, 6, "world", None),
    ]


def test_csv_field_of_200_kb(tmp_path: Path) -> None:
    """Beyond the csv module's default field limit (128 KiB)."""
    note = "long note\n" + "ü" * 200_000
    path = write_csv(tmp_path / "a.csv", [["client_id", "content"], ["1", note], ["2", "next"]])
    first, second = read_rows(path, "csv")
    assert (first.content, first.error) == (note, None)
    assert (second.line, second.content) == (4, "next")


def test_a_quote_never_closed_in_a_large_file_makes_it_unreadable(tmp_path: Path) -> None:
    """Past the field limit the csv reader would resume inside the field: the rows the
    open quote swallowed would be read from wherever the limit cut them, some sent."""
    path = tmp_path / "a.csv"
    rows = "".join(f"{i % 100 + 1},note {i}\n" for i in range(400))  # no quotes to close it
    path.write_text(f'client_id,content\n1,fine\n2,"never closed\n{rows}', encoding="utf-8")
    limit = csv.field_size_limit(2**20)  # 1 MiB instead of 16, to keep the file small
    try:
        path.write_text(path.read_text("utf-8") + rows * 300, encoding="utf-8")
        read = read_rows(path, "csv")
        assert next(read).content == "fine"
        with pytest.raises(FileFormatError, match="line 3: a field runs on for more than 1 MiB"):
            next(read)
    finally:
        csv.field_size_limit(limit)


def test_content_of_only_whitespace_is_blank_as_the_client_sees_it(tmp_path: Path) -> None:
    """A dry run calls a row valid only if the client would send it."""
    path = write_csv(tmp_path / "a.csv", [["client_id", "content"], ["1", "\ufeff\u00a0\u3000"]])
    (row,) = read_rows(path, "csv")
    assert row.error is not None
    assert "blank" in row.error


def test_csv_header_is_case_and_space_insensitive_with_bom_and_key(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("\ufeff Key , CONTENT,Client_ID\nk-1,hello,7\n".encode())
    (row,) = read_rows(path, "csv")
    assert (row.key, row.content, row.client_id) == ("k-1", "hello", 7)


def test_csv_bad_rows_are_reported_with_line_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("client_id,content\nabc,x\n0,x\n3,   \n4,ok\n\n-1,y\n", encoding="utf-8")
    rows = list(read_rows(path, "csv"))
    errors = [r.error for r in rows]
    assert errors[0] is not None
    assert "line 2" in errors[0]
    assert "client_id" in errors[0]
    assert errors[1] is not None
    assert "line 3" in errors[1]
    assert errors[2] is not None
    assert "line 4" in errors[2]
    assert "blank" in errors[2]
    assert errors[3] is None
    assert rows[3].client_id == 4
    # an empty line is skipped, not a row
    assert errors[4] is not None
    assert "line 7" in errors[4]
    assert len(rows) == 5


def test_csv_extra_fields_are_an_error_not_a_silent_truncation(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("client_id,content\n1,hello, world\n", encoding="utf-8")
    (row,) = read_rows(path, "csv")
    assert row.error is not None
    assert "fields" in row.error
    assert "line 2" in row.error


def test_csv_encoding_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"client_id,content\n1,fine\n2,caf\xe9 latin-1\n3,fine again\n")
    rows = list(read_rows(path, "csv"))
    assert rows[0].error is None
    assert rows[1].error is not None
    assert "line 3" in rows[1].error
    assert "utf-8" in rows[1].error
    assert rows[2].error is None
    assert rows[2].content == "fine again"
    # the same file, declared latin-1, reads fine
    assert list(read_rows(path, "csv", "latin-1"))[1].content == "café latin-1"


def test_csv_encoding_must_be_ascii_compatible(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [["client_id", "content"]])
    with pytest.raises(FileFormatError, match="UTF-8"):
        list(read_rows(path, "csv", "utf-16"))


def test_utf_8_sig_is_utf_8_with_its_bom_skipped(tmp_path: Path) -> None:
    """What Python users pass for Excel's CSV UTF-8; not an ASCII-incompatible encoding."""
    path = tmp_path / "a.csv"
    path.write_bytes("client_id,content\n1,café\n".encode("utf-8-sig"))
    (row,) = read_rows(path, "csv", "utf-8-sig")
    assert (row.client_id, row.content, row.error) == (1, "café", None)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("client_id,body\n1,x\n", "lacks column"),
        ("client_id|content\n1|x\n", r"separated by '\|'\? pass --delimiter"),
        ("client_id,content,content\n", "repeats"),
    ],
)
def test_unreadable_csv_is_a_file_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FileFormatError, match=match):
        list(read_rows(path, "csv"))


def test_missing_file_and_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="not found"):
        list(read_rows(tmp_path / "nope.csv", "csv"))
    with pytest.raises(FileFormatError, match="--format"):
        detect_format(tmp_path / "rows.txt")
    assert detect_format(tmp_path / "rows.TXT", "jsonl") == "jsonl"
    assert detect_format(tmp_path / "rows.ndjson") == "jsonl"


def test_jsonl_rows_and_errors(tmp_path: Path) -> None:
    lines = [
        '{"client_id": 1, "content": "line\\nbreak \\"quoted\\" 🎉", "key": "a"}',
        "",
        '{"client_id": "2", "content": "string id"}',
        "{not json",
        "[1, 2]",
        '{"client_id": true, "content": "bool id"}',
        '{"client_id": 1.5, "content": "float id"}',
        '{"client_id": 3}',
        '{"client_id": 3, "content": 42}',
        '{"content": "no id"}',
    ]
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = list(read_rows(path, "jsonl"))
    assert rows[0].content == 'line\nbreak "quoted" 🎉'
    assert (rows[0].client_id, rows[0].key, rows[0].error) == (1, "a", None)
    assert (rows[1].client_id, rows[1].line, rows[1].error) == (2, 3, None)
    problems = [r.error or "" for r in rows[2:]]
    assert "line 4" in problems[0]
    assert "JSON" in problems[0]
    assert "line 5" in problems[1]
    assert "object" in problems[1]
    assert "line 6" in problems[2]
    assert "client_id" in problems[2]
    assert "line 7" in problems[3]
    assert "client_id" in problems[3]
    assert "line 8" in problems[4]
    assert "content is missing" in problems[4]
    assert "line 9" in problems[5]
    assert "string" in problems[5]
    assert "line 10" in problems[6]
    assert "client_id is missing" in problems[6]
    assert [r.number for r in rows] == list(range(1, 10))


def test_jsonl_client_id_as_integer_float_or_string_of_digits(tmp_path: Path) -> None:
    """JSON numbers have no integer type: 12.0 is 12 (exporters such as pandas write it)."""
    path = tmp_path / "a.jsonl"
    ids = ["12", "12.0", '"12"', "1.2e1"]
    lines = [f'{{"client_id": {i}, "content": "same"}}' for i in ids]
    path.write_bytes(("\r\n".join(lines) + "\r\n   \r\n").encode())
    rows = list(read_rows(path, "jsonl"))
    assert [(r.client_id, r.error) for r in rows] == [(12, None)] * 4
    assert len({r.digest for r in rows}) == 1  # the same row, however the number is written


def test_jsonl_lone_surrogate_is_invalid_as_the_client_would_find(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"client_id": 1, "content": "half an emoji \\ud83d"}\n', encoding="utf-8")
    (row,) = read_rows(path, "jsonl")
    assert row.error == "line 1: content holds a lone surrogate at character 15"


def test_jsonl_encoding_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"client_id": 1, "content": "ok"}\n{"client_id": 1, "content": "\xff"}\n')
    rows = list(read_rows(path, "jsonl"))
    assert rows[0].error is None
    assert rows[1].error is not None
    assert "line 2" in rows[1].error


def test_digest_tells_identical_rows_apart_only_by_position(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "a.csv",
        [["client_id", "content"], ["1", "same"], ["1", "same"], ["1", "other"], ["2", "same"]],
    )
    a, b, c, d = read_rows(path, "csv")
    assert a.digest == b.digest
    assert a.number != b.number
    assert len({a.digest, c.digest, d.digest}) == 3


def test_reading_streams(tmp_path: Path) -> None:
    """The reader yields the first row before it has read the whole file."""
    path = tmp_path / "a.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["client_id", "content"])
    for i in range(50_000):
        writer.writerow([1, f"row {i}"])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    rows = read_rows(path, "csv")
    first = next(rows)
    assert first.content == "row 0"
    rows.close()


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_found_from_the_header(tmp_path: Path, delimiter: str) -> None:
    """Comma, semicolon (a European Excel's CSV) and tab, with the delimiter of the
    others inside the content."""
    path = tmp_path / "a.csv"
    text = f'Client_ID{delimiter}Content{delimiter}Key\r\n7{delimiter}"a, b; c\td"{delimiter}k\r\n'
    path.write_text(text, encoding="utf-8")
    assert find_delimiter(path) == delimiter
    (row,) = read_rows(path, "csv")
    assert (row.client_id, row.content, row.key, row.error) == (7, "a, b; c\td", "k", None)


@pytest.mark.parametrize(("given", "expected"), [("semicolon", ";"), (";", ";"), ("tab", "\t")])
def test_an_explicit_delimiter_wins(tmp_path: Path, given: str, expected: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text(f"client_id{expected}content\n1{expected}x,y\n", encoding="utf-8")
    source = Source.open(path, None, "utf-8", given)
    assert source.delimiter == expected
    (row,) = source.rows()
    assert row.content == "x,y"


@pytest.mark.parametrize("given", ["ab", '"', "x", ""])
def test_a_bad_delimiter_is_refused_naming_the_flag(tmp_path: Path, given: str) -> None:
    path = write_csv(tmp_path / "a.csv", [["client_id", "content"]])
    with pytest.raises(FileFormatError, match="--delimiter must be one character"):
        Source.open(path, None, "utf-8", given)


def test_the_header_is_quoted_as_written(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("Client ID,Notes Text\n1,x\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match="it has: 'Client ID', 'Notes Text'"):
        Source.open(path)
    path.write_text("Client_ID,Content,CONTENT\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match=r"repeats column.*'CONTENT'"):
        Source.open(path)


@pytest.mark.parametrize(
    ("raw", "expected"), [("12.0", 12), ("12.", 12), (" 7.00 ", 7), ("12", 12)]
)
def test_integral_decimals_are_client_ids_in_csv_as_in_jsonl(
    tmp_path: Path, raw: str, expected: int
) -> None:
    """pandas writes 12.0 for a column with a missing value."""
    path = write_csv(tmp_path / "a.csv", [["client_id", "content"], [raw, "x"]])
    (row,) = read_rows(path, "csv")
    assert (row.client_id, row.error) == (expected, None)


@pytest.mark.parametrize("raw", ["12.5", "0.0", "1e3", ".0", "12,0"])
def test_other_decimals_are_not_client_ids(tmp_path: Path, raw: str) -> None:
    path = write_csv(tmp_path / "a.csv", [["client_id", "content"], [raw, "x"]])
    (row,) = read_rows(path, "csv")
    assert row.client_id is None
    assert row.error is not None


def test_a_file_in_another_encoding_stops_with_line_byte_and_a_guess(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    lines = ["client_id;content"] + [f"{i};Rückruf wegen Rechnung Nr. {i}" for i in range(1, 40)]
    lines.append("40;Kunde möchte Änderung \u2013 bitte prüfen, Grüße")
    path.write_bytes("\r\n".join(lines).encode("cp1252"))
    with pytest.raises(FileFormatError) as caught:
        check_decodes(path, "utf-8")
    message = str(caught.value)
    assert "is not valid utf-8: line 2, byte 4 of the line (b'\\xfc')" in message
    assert "--encoding cp1252" in message or "--encoding windows-1252" in message
    check_decodes(path, "cp1252")  # and that one reads


def test_without_charset_normalizer_the_hint_is_plain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "charset_normalizer", None)
    path = tmp_path / "a.csv"
    path.write_bytes("client_id,content\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(FileFormatError, match=r"line 2, byte 6.*Pass --encoding"):
        check_decodes(path, "utf-8")
