"""Reading import rows from CSV or JSONL, one at a time.

Files are read as bytes, line by line, and decoded line by line, so that every
row knows the line it starts on, a bad byte is reported with its line number,
and memory does not grow with the file. A row's identity is its position (its
number among the data rows) plus a digest of what it says; the journal uses
both to notice a file that was edited between runs.

Blank lines, and CSV rows whose cells are all empty (spreadsheets export
them), are not rows. A CSV file's delimiter (comma, semicolon or tab) is
found from its header unless given. `client_id` is a whole number, also
written as an integral decimal (`12`, `12.0` and, in JSONL, `"12"` are the
same client: pandas writes `12.0` in a column with a missing value, and JSON
numbers have no integer type); `true`, `1.5` or `"abc"` make the row invalid.

`check_decodes` reads the whole file once before a run sends anything: a file
in another encoding than the one chosen stops there (with the line and byte,
and a guess of the right encoding from charset-normalizer, imported only
then), not halfway through as thousands of invalid rows.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from spp_activities.validation import is_blank, parse_whole_number

FORMATS = ("csv", "jsonl")
#: Delimiters found from the header, and the names --delimiter also takes.
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
_DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t"}
_INTEGRAL_DECIMAL = re.compile(r"[0-9]+\.0*")
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
            raise FileFormatError(f"--format: unknown format {explicit!r}: use csv or jsonl")
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
        raise FileFormatError(f"--encoding: unknown encoding {encoding!r}") from None
    if info.name == "utf-8-sig":
        return "utf-8"  # a leading BOM is skipped whatever the encoding
    if "\n".encode(info.name) != b"\n" or "a,".encode(info.name) != b"a,":
        raise FileFormatError(
            f"--encoding {encoding} is not ASCII-compatible; convert the file to UTF-8"
        )
    return info.name


def check_delimiter(delimiter: str | None) -> str | None:
    """The delimiter --delimiter names (one character, or comma, semicolon, tab); None: find it."""
    if delimiter is None:
        return None
    value = _DELIMITER_NAMES.get(delimiter.lower(), delimiter)
    if len(value) != 1 or value in '"\r\n' or value.isalnum():
        raise FileFormatError(
            f"--delimiter must be one character (or comma, semicolon, tab), got {delimiter!r}"
        )
    return value


def find_delimiter(path: Path, encoding: str = "utf-8") -> str:
    """The delimiter of a CSV file's header: the one of comma, semicolon or tab that
    splits it into columns named client_id and content (else the most frequent)."""
    encoding = check_encoding(encoding)
    with open_source(path) as stream:
        lines = _Lines(stream, encoding)
        header = next((text for text in lines if text.strip()), "")
    counts = {}
    for candidate in DELIMITERS:
        names = {n.strip().lower() for n in next(csv.reader([header], delimiter=candidate), [])}
        if {"client_id", "content"} <= names:
            return candidate
        counts[candidate] = header.count(candidate)
    return max(counts, key=lambda c: counts[c]) if any(counts.values()) else ","


def check_decodes(path: Path, encoding: str) -> None:
    """Raise FileFormatError, naming the line and byte and suggesting an encoding, unless
    the whole file decodes in `encoding`. Reads the file once, in newline-aligned blocks
    (a newline is never part of a character in an ASCII-compatible encoding)."""
    encoding = check_encoding(encoding)
    lines_before = 0
    with open_source(path) as stream:
        first = True
        while True:
            block = stream.read(1 << 20)
            if not block:
                return
            block += stream.readline()
            if first and block.startswith(_BOM):
                block = block[len(_BOM) :]
            first = False
            try:
                block.decode(encoding)
            except UnicodeDecodeError as exc:
                line_start = block.rfind(b"\n", 0, exc.start) + 1
                line = lines_before + block.count(b"\n", 0, exc.start) + 1
                bad = block[exc.start : exc.end]
                suggestion = _suggest(path, encoding)
                raise FileFormatError(
                    f"{str(path)!r} is not valid {encoding}: line {line}, byte "
                    f"{exc.start - line_start + 1} of the line ({bad!r}). {suggestion}"
                    " Nothing was sent."
                ) from None
            lines_before += block.count(b"\n")


def _suggest(path: Path, encoding: str) -> str:
    """Which --encoding to try: charset-normalizer's best guess that decodes the whole file.

    Among guesses it finds equally good (Western European text often reads the same
    in cp1250, cp1252 and cp1257), cp1252, what Excel writes on most Windows
    machines, is named first."""
    advice = "Pass --encoding with the file's encoding"
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # optional at run time: a plain hint without it
        return f"{advice} (a spreadsheet saved on Windows is often --encoding cp1252)."
    with open_source(path) as stream:
        sample = stream.read(4 << 20)
    chosen = codecs.lookup(encoding).name
    best: list[str] = []
    score: tuple[float, float] | None = None
    for match in list(from_bytes(sample))[:8]:
        guess = match.encoding
        if score is not None and (match.chaos, -match.coherence) != score:
            break
        if codecs.lookup(guess).name == chosen:
            continue
        try:
            check_encoding(guess)
            check_decodes(path, guess)
        except FileFormatError:
            continue
        score = (match.chaos, -match.coherence)
        best.append(guess)
    if not best:
        return f"{advice}."
    if "cp1252" not in best:
        try:
            same = sample.decode("cp1252") == sample.decode(best[0])
        except UnicodeDecodeError:
            same = False
        if same:
            best.append("cp1252")  # the same text as the best guess: as good a guess
    best.sort(key=lambda guess: guess != "cp1252")
    others = f" (or {', '.join(best[1:])})" if len(best) > 1 else ""
    return f"It decodes as {best[0]}{others}: try --encoding {best[0]}."


@dataclass(frozen=True, slots=True)
class Source:
    """An import file and how to read it: format, encoding and (CSV) delimiter."""

    path: Path
    fmt: str
    encoding: str
    delimiter: str | None  # None for JSONL

    @classmethod
    def open(
        cls,
        path: Path,
        fmt: str | None = None,
        encoding: str = "utf-8",
        delimiter: str | None = None,
    ) -> Source:
        """Check the settings and read the header (and first row): FileFormatError if not."""
        fmt = detect_format(path, fmt)
        encoding = check_encoding(encoding)
        delimiter = check_delimiter(delimiter)
        if fmt == "csv" and delimiter is None:
            delimiter = find_delimiter(path, encoding)
        source = cls(path, fmt, encoding, delimiter if fmt == "csv" else None)
        rows = source.rows()
        try:
            next(rows, None)
        finally:
            rows.close()
        return source

    def rows(self) -> Generator[Row, None, None]:
        return read_rows(self.path, self.fmt, self.encoding, self.delimiter)

    def check_decodes(self) -> None:
        check_decodes(self.path, self.encoding)

    def count_rows(self) -> int:
        return sum(1 for _ in self.rows())


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
    if client_id is None and _INTEGRAL_DECIMAL.fullmatch(raw_client_id.strip()):
        client_id = parse_whole_number(raw_client_id.strip().partition(".")[0])
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


def read_rows(
    path: Path, fmt: str, encoding: str = "utf-8", delimiter: str | None = None
) -> Generator[Row, None, None]:
    """Yield the file's data rows in order. Raises FileFormatError up front.

    A CSV file's delimiter is found from its header when `delimiter` is None."""
    encoding = check_encoding(encoding)
    if fmt == "csv" and delimiter is None:
        delimiter = find_delimiter(path, encoding)
    stream = open_source(path)
    try:
        if fmt == "csv":
            yield from _csv_rows(stream, encoding, path, delimiter or ",")
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
        written = [field.strip() for field in record]  # as the file has them, for messages
        names = [name.lower() for name in written]
        duplicates = [n for i, n in enumerate(written) if n and names.index(names[i]) != i]
        if duplicates:
            raise FileFormatError(
                f"the header repeats column(s): {', '.join(repr(n) for n in duplicates)}"
            )
        missing = [name for name in ("client_id", "content") if name not in names]
        if missing:
            separator = next((c for c in ",;\t|" if len(names) == 1 and c in names[0]), None)
            hint = f" (separated by {separator!r}? pass --delimiter)" if separator else ""
            raise FileFormatError(
                f"the header (line {lines.line}) lacks column(s) {', '.join(missing)}; "
                f"it has: {', '.join(repr(n) for n in written)}{hint}"
            )
        key = names.index("key") if "key" in names else None
        return names.index("client_id"), names.index("content"), key, len(names)
    raise FileFormatError(f"{str(path)!r} is empty: expected a header with client_id, content")


def _csv_rows(stream: IO[bytes], encoding: str, path: Path, delimiter: str) -> Iterator[Row]:
    lines = _Lines(stream, encoding)
    reader = csv.reader(lines, strict=True, delimiter=delimiter)
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
                    f"(an unquoted {DELIMITERS.get(delimiter, repr(delimiter))} or quote in "
                    "the content?)"
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
