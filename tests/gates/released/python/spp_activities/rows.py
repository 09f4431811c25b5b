"""Reading import rows from CSV or JSONL, one at a time.

Files are read as bytes, line by line, and decoded line by line, so that every
row knows the line it starts on, a bad byte is reported with its line number,
and memory does not grow with the file. A row's identity is its position (its
number among the data rows) plus a digest of what it says; the journal uses
both to notice a file that was edited between runs.

Blank lines, and CSV rows whose cells are all empty (spreadsheets export
them), are not rows. In JSONL, `client_id` is a number or a string of digits
(`12`, `12.0` and `"12"` are the same client: JSON numbers have no integer
type); `true`, `1.5` or `"abc"` make the row invalid.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from spp_activities.validation import is_blank, parse_whole_number

FORMATS = ("csv", "jsonl")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_BOM = codecs.BOM_UTF8
# Generous, but bounded: an unterminated quote must not swallow a whole file.
FIELD_SIZE_LIMIT = 16 * 1024 * 1024
csv.field_size_limit(FIELD_SIZE_LIMIT)


class FileFormatError(Exception):
    """The file cannot be read as an import file at all (missing, no header...)."""


@dataclass(frozen=True, slots=True)
class Row:
    """One data row. `error` is set when the row cannot be sent as it is."""

    number: int  # 1-based position among the data rows: the row's identity
    line: int  # line of the file on which the row starts
    key: str | None
    client_id: int | None
    content: str
    digest: bytes  # what the row says; changes when the row is edited
    error: str | None = None
    raw_client_id: str = ""


def detect_format(path: Path, explicit: str | None = None) -> str:
    if explicit is not None:
        if explicit not in FORMATS:
            raise FileFormatError(f"unknown format {explicit!r}: use csv or jsonl")
        return explicit
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise FileFormatError(
            f"cannot tell the format of {str(path)!r} from its extension: "
            "name it .csv, .jsonl or .ndjson, or pass --format"
        )
    return fmt


def check_encoding(encoding: str) -> str:
    """Accept only encodings in which a newline is the byte 0x0A (line-wise decoding)."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise FileFormatError(f"unknown encoding {encoding!r}") from None
    if info.name == "utf-8-sig":
        return "utf-8"  # a leading BOM is skipped whatever the encoding
    if "\n".encode(info.name) != b"\n" or "a,".encode(info.name) != b"a,":
        raise FileFormatError(
            f"encoding {encoding!r} is not ASCII-compatible; convert the file to UTF-8"
        )
    return info.name


def digest_of(raw_client_id: str, key: str | None, content: str) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    h.update(raw_client_id.encode("utf-8", "surrogatepass"))
    h.update(b"\x1f")
    h.update((key or "").encode("utf-8", "surrogatepass"))
    h.update(b"\x1f")
    h.update(content.encode("utf-8", "surrogatepass"))
    return h.digest()


def validate(raw_client_id: str, content: str) -> tuple[int | None, str | None]:
    """Check one row's fields; returns (client_id, error)."""
    if not raw_client_id.strip():
        return None, "client_id is empty"
    client_id = parse_whole_number(raw_client_id)
    if client_id is None:
        return None, f"client_id must be a whole number >= 1, got {raw_client_id!r}"
    if is_blank(content):
        return client_id, "content is blank"
    if not content.isascii():
        try:
            content.encode("utf-8")
        except UnicodeEncodeError as exc:  # JSON can escape half of a UTF-16 pair
            return client_id, f"content holds a lone surrogate at character {exc.start + 1}"
    return client_id, None


class _Lines:
    """Iterates decoded lines of a binary stream, tracking line numbers."""

    def __init__(self, stream: IO[bytes], encoding: str) -> None:
        self._stream = stream
        self._encoding = encoding
        self.line = 0  # lines handed out so far
        self.bad: list[str] = []  # decode problems since the last `take_bad()`

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw = self._stream.readline()
        if not raw:
            raise StopIteration
        self.line += 1
        if self.line == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        try:
            return raw.decode(self._encoding)
        except UnicodeDecodeError as exc:
            self.bad.append(
                f"line {self.line}: bytes are not valid {self._encoding} "
                f"(byte {exc.start + 1} of the line: {raw[exc.start : exc.end]!r})"
            )
            return raw.decode(self._encoding, "replace")

    def take_bad(self) -> str | None:
        if not self.bad:
            return None
        first = self.bad[0]
        self.bad.clear()
        return first


def open_source(path: Path) -> IO[bytes]:
    try:
        if path.is_dir():
            raise FileFormatError(f"{str(path)!r} is a directory, not a file")
        return path.open("rb")
    except FileNotFoundError:
        raise FileFormatError(f"file not found: {str(path)!r}") from None
    except OSError as exc:
        raise FileFormatError(f"cannot read {str(path)!r}: {exc.strerror}") from None


def read_rows(path: Path, fmt: str, encoding: str = "utf-8") -> Generator[Row, None, None]:
    """Yield the file's data rows in order. Raises FileFormatError up front."""
    encoding = check_encoding(encoding)
    stream = open_source(path)
    try:
        if fmt == "csv":
            yield from _csv_rows(stream, encoding, path)
        else:
            yield from _jsonl_rows(stream, encoding)
    finally:
        stream.close()


def _csv_header(lines: _Lines, reader: Any, path: Path) -> tuple[int, int, int | None, int]:
    for record in reader:
        if not record or all(not field.strip() for field in record):
            continue
        bad = lines.take_bad()
        if bad is not None:
            raise FileFormatError(f"cannot read the header of {str(path)!r}: {bad}")
        names = [field.strip().lower() for field in record]
        duplicates = sorted({name for name in names if names.count(name) > 1 and name})
        if duplicates:
            raise FileFormatError(f"the header repeats column(s): {', '.join(duplicates)}")
        missing = [name for name in ("client_id", "content") if name not in names]
        if missing:
            separator = next((c for c in ";\t|" if len(names) == 1 and c in names[0]), None)
            hint = f" (separated by {separator!r}? save the file with commas)" if separator else ""
            raise FileFormatError(
                f"the header (line {lines.line}) lacks column(s) {', '.join(missing)}; "
                f"it has: {', '.join(repr(n) for n in names)}{hint}"
            )
        key = names.index("key") if "key" in names else None
        return names.index("client_id"), names.index("content"), key, len(names)
    raise FileFormatError(f"{str(path)!r} is empty: expected a header with client_id, content")


def _csv_rows(stream: IO[bytes], encoding: str, path: Path) -> Iterator[Row]:
    lines = _Lines(stream, encoding)
    reader = csv.reader(lines, strict=True)
    try:
        id_col, content_col, key_col, width = _csv_header(lines, reader, path)
    except csv.Error as exc:
        raise FileFormatError(f"cannot read the header (line {lines.line}): {exc}") from None
    number = 0
    while True:
        line = lines.line + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                # Past the limit the reader stops inside the field, and would go on to read
                # the rest of it (other rows' text, or the rows an unterminated quote
                # swallowed) as rows of their own.
                raise FileFormatError(
                    f"line {line}: a field runs on for more than "
                    f"{csv.field_size_limit() // 2**20} MiB, most likely from a quote that "
                    "is never closed; the rows after it cannot be read reliably"
                ) from None
            number += 1
            lines.take_bad()
            yield Row(
                number, line, None, None, "", digest_of("", None, f"\0csv:{line}"),
                error=f"line {line}: not valid CSV: {exc}",
            )  # fmt: skip
            continue
        if all(not field.strip() for field in record):
            continue  # a blank line, or a row of empty cells
        number += 1
        bad = lines.take_bad()
        raw_id = record[id_col] if id_col < len(record) else ""
        content = record[content_col] if content_col < len(record) else ""
        key = (
            (record[key_col].strip() or None)
            if key_col is not None and key_col < len(record)
            else None
        )
        digest = digest_of(raw_id, key, content)
        if bad is not None:
            error: str | None = bad
            client_id: int | None = None
        elif len(record) != width:
            client_id, error = (
                None,
                (
                    f"line {line}: {len(record)} fields where the header has {width} "
                    "(an unquoted comma or quote in the content?)"
                ),
            )
        else:
            client_id, problem = validate(raw_id, content)
            error = None if problem is None else f"line {line}: {problem}"
        yield Row(number, line, key, client_id, content, digest, error, raw_id)


def _jsonl_rows(stream: IO[bytes], encoding: str) -> Iterator[Row]:
    lines = _Lines(stream, encoding)
    number = 0
    while True:
        line = lines.line + 1
        try:
            text = next(lines)
        except StopIteration:
            return
        if not text.strip():
            lines.take_bad()
            continue
        number += 1
        bad = lines.take_bad()
        if bad is not None:
            yield Row(number, line, None, None, "", digest_of("", None, text), bad)
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Row(
                number, line, None, None, "", digest_of("", None, text),
                f"line {line}: not valid JSON: {exc.msg} (column {exc.colno})",
            )  # fmt: skip
            continue
        if not isinstance(obj, dict):
            yield Row(
                number, line, None, None, "", digest_of("", None, text),
                f"line {line}: expected a JSON object with client_id and content",
            )  # fmt: skip
            continue
        yield _jsonl_row(obj, number, line)


def _jsonl_row(obj: dict[str, Any], number: int, line: int) -> Row:
    raw_key = obj.get("key")
    key = None if raw_key is None else str(raw_key).strip() or None
    value = obj.get("client_id")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 12.0 is 12 (some exporters write every number as a float)
    content = obj.get("content")
    raw_id = "" if value is None else json.dumps(value) if not isinstance(value, str) else value
    text = content if isinstance(content, str) else ""
    digest = digest_of(raw_id, key, text if isinstance(content, str) else json.dumps(content))
    error: str | None = None
    client_id: int | None = None
    if value is None:
        error = "client_id is missing"
    elif isinstance(value, bool) or not isinstance(value, int | str):
        error = f"client_id must be a whole number >= 1, got {raw_id}"
    elif content is None:
        error = "content is missing"
    elif not isinstance(content, str):
        error = "content must be a string"
    else:
        client_id, error = validate(str(value), text)
    if error is not None:
        error = f"line {line}: {error}"
    return Row(number, line, key, client_id, text, digest, error, raw_id)
