"""Reading engagement exports (CSV or JSON), validating every row, and quarantining the bad ones.

A bad row never stops the good ones: it is kept with its line and the reason (unparseable number or
date, negative count, unknown id or platform, impossible values such as impressions < reach). A file in
which *no* row is usable raises :class:`FileRejected`, naming the file, the line and the reason.

Numeric dates with the year last (01/02/2024) are read in one day/month order per file, decided from
the whole file's values or ``SPLANTS_DATE_ORDER`` (:class:`DateOrder`); a row readable only the other
way is quarantined (``date_order_conflict``).

Line numbers: for CSV the header is line 1 (as in the Facebook dataset's README); for a JSON array or
an object holding a list (``data``, ``reports``, ``rows``, ``items``) it is the record number (1-based);
for JSON Lines it is the line of the file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splants_dagster.engagement.events import COUNTERS, FIRST_DATE
from splants_dagster.engagement.features import text_features
from splants_dagster.engagement.presets import (
    PRESETS,
    MapContext,
    Mapped,
    Preset,
    Record,
    detect_preset,
    generic_missing,
)
from splants_dagster.platforms import PLATFORMS
from splants_dagster.timeutil import utc

SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson")
PLATFORM_ALIASES = {
    "x": "twitter",
    "tweet": "twitter",
    "fb": "facebook",
    "ig": "instagram",
    "wordpress": "blog",
    "web": "blog",
    "mailchimp": "email",
    "hubspot": "email",
    "newsletter": "email",
}


class FileRejected(Exception):
    """No usable row in a file (or the file itself is unreadable / lacks required columns)."""

    def __init__(
        self,
        path: str,
        line: int,
        reason: str,
        bad_rows: int = 0,
        total: int = 0,
        quarantined: list[dict[str, Any]] | None = None,
        preset: str | None = None,
    ):
        self.path, self.line, self.reason, self.bad_rows, self.total = path, line, reason, bad_rows, total
        self.quarantined = quarantined or []
        self.preset = preset
        summary = f" ({bad_rows} of {total} rows bad, none usable)" if total else ""
        super().__init__(f"{path}: line {line}: {reason}{summary}")


@dataclass(frozen=True)
class LoadContext:
    """What validation checks rows against."""

    source_file: str
    export_time: dt.datetime
    loaded_at: dt.datetime
    # piece_id -> platform of the pieces this system created
    known_pieces: dict[str, str] = field(default_factory=dict)
    # (platform, remote id) -> piece_id, from publications
    remote_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    first_date: dt.date = FIRST_DATE
    last_date: dt.date | None = None


@dataclass
class ParsedFile:
    """One file's outcome: counts, dates and reasons always; the rows themselves when parsed without a
    sink (see :func:`parse_file`)."""

    path: str
    preset: str
    total: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    encoding: Encoding | None = None
    # the day/month order of its numeric dates (``date_order.note`` says what was decided and why)
    date_order: DateOrder | None = None
    loaded: int = 0
    bad: int = 0
    reasons: Counter = field(default_factory=Counter)
    first_date: dt.date | None = None
    last_date: dt.date | None = None

    @property
    def dates(self) -> tuple[dt.date | None, dt.date | None]:
        return self.first_date, self.last_date

    def add(self, chunk: ParsedChunk, keep: bool) -> None:
        self.loaded += len(chunk.rows)
        self.bad += len(chunk.quarantined)
        self.reasons.update(q["reason_code"] for q in chunk.quarantined)
        if chunk.rows:
            days = [r["event_date"] for r in chunk.rows]
            low, high = min(days), max(days)
            self.first_date = low if self.first_date is None else min(self.first_date, low)
            self.last_date = high if self.last_date is None else max(self.last_date, high)
        if keep:
            self.rows.extend(chunk.rows)
            self.posts.extend(chunk.posts)
            self.quarantined.extend(chunk.quarantined)
        else:
            room = QUARANTINE_SAMPLE - len(self.quarantined)
            self.quarantined.extend(chunk.quarantined[: max(room, 0)])


# ----------------------------------------------------------------------------------------------- reading

# Rows validated and handed on at a time: memory stays bounded by this, not by the file's size.
CHUNK_ROWS = 5_000
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
# Byte order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one).
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
FALLBACK_ENCODING = "cp1252"


def _cp1252_or_latin1(err: UnicodeError) -> tuple[str, int]:
    """The five bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) read as Latin-1: the
    fallback decoding never produces U+FFFD."""
    if not isinstance(err, UnicodeDecodeError):
        raise err
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error("splants-latin1", _cp1252_or_latin1)


@dataclass(frozen=True)
class Encoding:
    """How a file's bytes are decoded: ``name`` (a Python codec) and, when it is not UTF-8, why."""

    name: str
    note: str | None = None

    @property
    def errors(self) -> str:
        return "splants-latin1" if self.name == FALLBACK_ENCODING else "strict"


def detect_encoding(path: Path) -> Encoding:
    """The encoding of ``path``: a byte order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE) when there is one;
    UTF-16 without a mark when every other byte of the start is NUL; else UTF-8 when the whole file is
    valid UTF-8 (checked in blocks, strictly); else Windows-1252 (cp1252, a superset of Latin-1's
    printable range), with a note saying so. Never U+FFFD."""
    with path.open("rb") as raw:
        head = raw.read(4096)
        for bom, name in BOMS:
            if head.startswith(bom):
                label = {"utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16", "utf-32": "UTF-32"}[name]
                endian = "" if name == "utf-8-sig" else (" LE" if bom[0] == 0xFF else " BE")
                return Encoding(name, None if name == "utf-8-sig" else f"{label}{endian} (byte order mark)")
        pairs = head[: len(head) - len(head) % 2]
        if len(pairs) >= 4:
            if pairs[1::2].count(0) >= 0.9 * len(pairs) / 2 and pairs[0::2].count(0) == 0:
                return Encoding("utf-16-le", "UTF-16 LE (no byte order mark)")
            if pairs[0::2].count(0) >= 0.9 * len(pairs) / 2 and pairs[1::2].count(0) == 0:
                return Encoding("utf-16-be", "UTF-16 BE (no byte order mark)")
        raw.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        offset = 0
        try:
            while block := raw.read(1 << 20):
                decoder.decode(block)
                offset += len(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as err:
            return Encoding(
                FALLBACK_ENCODING,
                f"not valid UTF-8 (byte 0x{err.object[err.start]:02x} at offset {offset + err.start}): "
                "read as Windows-1252 (cp1252/Latin-1); if the text looks wrong, re-save the file as UTF-8 "
                "(e.g. iconv -f <encoding> -t UTF-8)",
            )
    return Encoding("utf-8")


@dataclass
class RecordStream:
    """The records of one file, read lazily in chunks of (line, raw text, record)."""

    encoding: Encoding
    header: set[str]
    chunks: Iterator[list[tuple[int, str, Record]]]
    count: int = 0


def read_records(path: Path) -> list[tuple[int, str, Record]]:
    """(line, raw text, record) for every data record of a CSV or JSON file (all in memory: small files
    and tests; imports use :func:`open_records`)."""
    stream = open_records(path)
    return [record for chunk in stream.chunks for record in chunk]


def open_records(path: Path, chunk_rows: int = CHUNK_ROWS) -> RecordStream:
    """The file's encoding, its header (CSV columns; keys of the JSON records, of the first chunk for
    JSON Lines) and its records in chunks. Raises :class:`FileRejected` for an empty or unreadable file;
    malformed records come as ``{"__error__": reason}``."""
    encoding = detect_encoding(path)
    text = io.TextIOWrapper(path.open("rb"), encoding=encoding.name, errors=encoding.errors, newline="")
    try:
        if path.suffix.lower() in JSON_SUFFIXES:
            header, chunks = _json_records(path, text, chunk_rows)
        else:
            header, chunks = _csv_records(path, text, chunk_rows)
    except UnicodeDecodeError as err:
        text.close()
        raise _undecodable(path, encoding, err) from None
    except BaseException:
        text.close()
        raise
    stream = RecordStream(encoding, header, iter(()))
    stream.chunks = _counted(path, encoding, text, chunks, stream)
    return stream


def _undecodable(path: Path, encoding: Encoding, err: UnicodeDecodeError) -> FileRejected:
    return FileRejected(
        str(path),
        1,
        f"cannot decode the file as {encoding.note or encoding.name}: {err.reason}; "
        "re-save it as UTF-8 (e.g. iconv -f <encoding> -t UTF-8)",
    )


def _counted(path, encoding, text, chunks, stream: RecordStream):
    try:
        for chunk in chunks:
            stream.count += len(chunk)
            yield chunk
    except UnicodeDecodeError as err:
        raise _undecodable(path, encoding, err) from None
    finally:
        text.close()


def _batched(records: Iterable[tuple[int, str, Record]], size: int):
    chunk = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _csv_records(path: Path, text: io.TextIOBase, chunk_rows: int):
    first, skipped = text.readline(), 0
    while first and not first.strip():
        first, skipped = text.readline(), skipped + 1
    if not first.strip():
        raise FileRejected(str(path), 1, "empty file")
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(itertools.chain([first], text), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise FileRejected(str(path), 1, f"malformed CSV header: {exc}") from None
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise FileRejected(str(path), 1, f"duplicate column(s) in the header: {', '.join(dupes)}")
    start = reader.line_num + 1 + skipped

    def records():
        nonlocal start
        while True:
            line = start
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                # the reader resumes on the next line: one malformed record, not a lost file
                start = reader.line_num + 1 + skipped
                yield (line, "", {"__error__": f"malformed CSV: {exc}"})
                continue
            start = reader.line_num + 1 + skipped
            if not any(c.strip() for c in cells):
                continue
            raw = delimiter.join(cells)
            if len(cells) != len(header):
                yield (line, raw, {"__error__": f"{len(cells)} fields, the header has {len(header)}"})
                continue
            yield (line, raw, dict(zip(header, cells, strict=True)))

    chunks = _batched(records(), chunk_rows)
    first_chunk = next(chunks, None)
    if first_chunk is None:
        raise FileRejected(str(path), 2, "no data rows after the header")
    return set(header), itertools.chain([first_chunk], chunks)


def _json_line(number: int, line: str) -> tuple[int, str, Record]:
    try:
        value = json.loads(line, parse_int=_json_int)
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        return (number, line[:500], {"__error__": f"malformed JSON: {reason}"})
    return (number, line[:500], value if isinstance(value, dict) else {"__error__": "not an object"})


def _json_records(path: Path, text: io.TextIOBase, chunk_rows: int):
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        lines = ((n, line) for n, line in enumerate(text, start=1) if line.strip())
        chunks = _batched((_json_line(n, line) for n, line in lines), chunk_rows)
        first = next(chunks, None)
        if first is None:
            raise FileRejected(str(path), 1, "empty file")
        header = {k for _, _, r in first for k in r if k != "__error__"}
        return header, itertools.chain([first], chunks)
    # a JSON document is parsed whole (exports of this shape are small: API responses, reports)
    whole = text.read()
    stripped = whole.strip()
    if not stripped:
        raise FileRejected(str(path), 1, "empty file")
    if stripped.startswith("{") and "\n{" in stripped:  # JSON Lines saved as .json
        records = [_json_line(n, line) for n, line in enumerate(whole.splitlines(), start=1) if line.strip()]
    else:
        try:
            data = json.loads(stripped, parse_int=_json_int)
        except json.JSONDecodeError as exc:
            raise FileRejected(str(path), exc.lineno, f"malformed JSON: {exc.msg}") from None
        except RecursionError:
            raise FileRejected(str(path), 1, "malformed JSON: nested too deeply") from None
        if isinstance(data, dict):
            for key in ("data", "reports", "rows", "items", "emails", "results"):
                if isinstance(data.get(key), list):
                    data = data[key]
                    break
            else:
                data = [data]
        if not isinstance(data, list):
            raise FileRejected(str(path), 1, "JSON must be a list of objects or an object holding one")
        if not data:
            raise FileRejected(str(path), 1, "no records in the JSON file")
        records = [
            (i, _dump(v)[:500], v if isinstance(v, dict) else {"__error__": "not an object"})
            for i, v in enumerate(data, start=1)
        ]
    header = {k for _, _, r in records for k in r if k != "__error__"}
    return header, _batched(records, chunk_rows)


def _json_int(digits: str) -> int | str:
    """JSON integers as ``int``, except one longer than Python converts (4300 digits), which stays text:
    ``json.loads`` would raise for it and reject the whole file; as text it quarantines only its row, the
    same as in a CSV (unparseable number)."""
    return int(digits) if len(digits) <= 4000 else digits


def _dump(value: Any) -> str:
    try:
        return json.dumps(value)
    except (ValueError, RecursionError):
        return repr(value)


# ------------------------------------------------------------------------------------------- validation


class RowError(ValueError):
    """A bad row: ``code`` is the category counted in metadata, the message says exactly what is wrong."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


NUMBER = re.compile(r"^-?\d+(\.0*)?$")
# The warehouse stores counters as BIGINT: a larger count is a bad row, not a failed load.
MAX_COUNT = 2**63 - 1
THOUSANDS = re.compile(r"^-?\d{1,3}([,\s']\d{3})+$")


def parse_count(column: str, value: Any) -> int | None:
    """An integer counter; None for empty. Accepts 1234, 1234.0, "1,234"; rejects anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise RowError("unparseable_number", f"unparseable number in '{column}': {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if value != value or not value.is_integer():
            raise RowError("unparseable_number", f"unparseable number in '{column}': {value!r}")
        number = int(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        if THOUSANDS.match(text):
            text = re.sub(r"[,\s']", "", text)
        if len(text) > 64 or not NUMBER.match(text):
            raise RowError("unparseable_number", f"unparseable number in '{column}': {text[:40]!r}")
        number = int(float(text)) if "." in text else int(text)
    if number < 0:
        raise RowError("negative_count", f"negative count in '{column}': {str(number)[:40]}")
    if number > MAX_COUNT:
        shown = str(value).strip()[:40] if not isinstance(value, int) else str(number)[:40]
        raise RowError(
            "number_out_of_range", f"count out of range in '{column}': {shown} (the largest is {MAX_COUNT})"
        )
    return number


# Formats besides ISO 8601 that exports use and that name the month or put the year first. Numeric dates
# with day and month (01/02/2024) are not here: their order is decided per file (:class:`DateOrder`).
DATE_FORMATS = (
    "%Y-%m-%d %H:%M %z",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%b %d, %Y %I:%M %p",
    "%b %d, %Y %I:%M %p %Z",
    "%B %d, %Y %I:%M %p",
)

# ------------------------------------------------------------------------------------ numeric dates

DAY_FIRST, MONTH_FIRST = "day-first", "month-first"
# 01/02/2024, 1.2.24, 01-02-2024 with an optional time (14:00, 14:00:30, 2:00 PM, 2:00 p.m.). A dash needs
# a four-digit year (24-01-05 may be year first). ISO dates never match: their first field is the year.
NUMERIC_DATE = re.compile(
    r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})"
    r"(?:(?:,\s*|\s+|T)(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp])\.?[Mm]\.?)?)?",
    re.ASCII,
)


def _words(order: str) -> str:
    return order.replace("-", " ")


def _other(order: str) -> str:
    return MONTH_FIRST if order == DAY_FIRST else DAY_FIRST


@dataclass(frozen=True)
class NumericDate:
    """A date written with numbers only and the year last: which field is the day is not written."""

    text: str
    first: int
    second: int
    year: int
    time: dt.time | None = None
    twelve_hour: bool = False  # AM/PM
    bad_time: bool = False

    def date(self, order: str) -> dt.date | None:
        """The date read in ``order``; None when that reading is impossible (month 13, 31 February)."""
        day, month = (self.first, self.second) if order == DAY_FIRST else (self.second, self.first)
        try:
            return dt.date(self.year, month, day)
        except ValueError:
            return None

    def proves(self) -> str | None:
        """The order this value can only be read in (13/01/2024: day first), None when it reads both
        ways (01/02/2024), the same either way (05/05/2024) or neither (31/31/2024, a bad time)."""
        if self.bad_time:
            return None
        day_first, month_first = self.date(DAY_FIRST), self.date(MONTH_FIRST)
        if day_first and not month_first:
            return DAY_FIRST
        if month_first and not day_first:
            return MONTH_FIRST
        return None


@functools.lru_cache(maxsize=4096)
def numeric_date(text: str) -> NumericDate | None:
    """``text`` as a :class:`NumericDate`, None when it is not one (ISO, month names, anything else).
    Cached: a file repeats its dates on many rows, and a file with such dates is read twice."""
    match = NUMERIC_DATE.fullmatch(text)
    if match is None:
        return None
    first, sep, second, year, hour, minute, sec, meridiem = match.groups()
    if sep == "-" and len(year) == 2:
        return None
    full_year = int(year) if len(year) == 4 else int(year) + (2000 if int(year) < 69 else 1900)  # as %y
    time, bad_time = None, False
    if hour is not None:
        h = int(hour)
        if meridiem is not None and not 1 <= h <= 12:
            bad_time = True
        else:
            if meridiem is not None:
                h = h % 12 + (12 if meridiem.lower() == "p" else 0)
            try:
                time = dt.time(h, int(minute), int(sec or 0))
            except ValueError:
                bad_time = True
    return NumericDate(text, int(first), int(second), full_year, time, meridiem is not None, bad_time)


@dataclass
class DateScan:
    """What a file's numeric dates say about their order: how many values read only day first or only
    month first (and the first of each: value, column, line), how many there are, how many carry AM/PM."""

    proofs: Counter = field(default_factory=Counter)
    first: dict[str, tuple[str, str, int | None]] = field(default_factory=dict)
    numeric: int = 0
    twelve_hour: int = 0

    def see(self, column: str, value: Any, line: int | None = None) -> None:
        if not isinstance(value, str):
            return
        found = numeric_date(value.strip())
        if found is None:
            return
        self.numeric += 1
        self.twelve_hour += found.twelve_hour
        order = found.proves()
        if order is not None:
            self.proofs[order] += 1
            self.first.setdefault(order, (found.text, column, line))

    def example(self, order: str) -> str:
        value, column, line = self.first[order]
        return f"{value} in '{column}'" + (f", line {line}" if line is not None else "")


class DateOrder:
    """The day/month order of one file's numeric dates (01/02/2024, 1.2.24, 01-02-2024), decided once for
    the whole file the first time one is read, and kept for every row and every chunk.

    ``setting`` is ``SPLANTS_DATE_ORDER``: ``day-first`` or ``month-first`` reads every file so; ``auto``
    (the default) decides from the file's own values, which ``scan`` reads in a second pass over the
    whole file (made only for files that have such dates: chunks are streamed, and a US export whose
    first thousands of rows are all dated 1-12 of a month must not be read day first up to the row
    that says otherwise). A value readable only day first (13/01/2024) proves day first, one readable
    only month first (12/31/2024) proves month first. When nothing is proven the default is day first,
    as numeric dates were read before, unless the file's times are 12-hour with AM/PM (a US habit, and
    those were read month first before): then month first. Without ``scan`` (a lone value) the value
    decides for itself.

    A file proving both orders is not guessed at: it is read in the order more of its values prove
    (a tie: the default) and each value readable only the other way makes its row bad
    (``date_order_conflict``, naming the column, the value and the tally). The rows are quarantined
    rather than the file rejected, as everywhere in these imports: a bad row never stops the good
    ones, and the quarantine shows each contradicting row with its line, which a rejection would hide
    behind one message. :attr:`note` says what was decided and why, for the file's load record.
    """

    def __init__(self, setting: str = "auto", scan: Callable[[], DateScan] | None = None):
        self.setting = setting
        self._scan = scan
        self.order: str | None = None  # None until the file's first numeric date
        self.basis = ""  # setting | proven | conflict | default
        self.seen = DateScan()
        self.contrary = 0  # values quarantined as readable only the other way

    def decide(self, column: str, found: NumericDate) -> str:
        if self.order is not None:
            return self.order
        if self.setting in (DAY_FIRST, MONTH_FIRST):
            self.order, self.basis = self.setting, "setting"
            return self.order
        if self._scan is not None:
            self.seen = self._scan()
        if not self.seen.numeric:  # no scan, or one that missed this value: it decides for itself
            self.seen.see(column, found.text)
        day, month = self.seen.proofs[DAY_FIRST], self.seen.proofs[MONTH_FIRST]
        default = MONTH_FIRST if self.seen.twelve_hour else DAY_FIRST
        if day and month:
            self.basis = "conflict"
            self.order = DAY_FIRST if day > month else MONTH_FIRST if month > day else default
        elif day or month:
            self.basis, self.order = "proven", DAY_FIRST if day else MONTH_FIRST
        else:
            self.basis, self.order = "default", default
        return self.order

    def read(self, column: str, found: NumericDate) -> dt.datetime:
        """``found`` read in the file's order, or :class:`RowError`."""
        order = self.decide(column, found)
        date = found.date(order)
        if found.bad_time or (date is None and found.date(_other(order)) is None):
            raise RowError("unparseable_date", f"unparseable date in '{column}': {found.text[:40]!r}")
        if date is None:
            self.contrary += 1
            raise RowError("date_order_conflict", self._conflict(column, found, order))
        return dt.datetime.combine(date, found.time or dt.time(), dt.UTC)

    def _tally(self) -> str:
        day, month = self.seen.proofs[DAY_FIRST], self.seen.proofs[MONTH_FIRST]
        return (
            f"{day} value(s) read only day first ({self.seen.example(DAY_FIRST)}), "
            f"{month} only month first ({self.seen.example(MONTH_FIRST)})"
        )

    def _conflict(self, column: str, found: NumericDate, order: str) -> str:
        other = _other(order)
        head = f"date {found.text[:40]!r} in '{column}' reads only {_words(other)} ({found.date(other)})"
        if self.basis == "setting":
            return f"{head}, but SPLANTS_DATE_ORDER={self.setting} reads every file's dates {_words(order)}"
        if self.basis != "conflict":
            return f"{head}, but this file's dates are read {_words(order)}"
        return f"{head}, but this file's dates are read {_words(order)}: {self._tally()}"

    @property
    def warn(self) -> bool:
        """Whether the note asks for a look: dates guessed, or contradicting each other."""
        return self.basis in ("default", "conflict") or self.contrary > 0

    @property
    def note(self) -> str | None:
        """What was decided and why (None: the file has no numeric date), e.g. ``dates read day first
        (13/01/2024 in 'date', line 4)``."""
        if self.order is None:
            return None
        words, other = _words(self.order), _words(_other(self.order))
        if self.basis == "setting":
            text = f"dates read {words} (SPLANTS_DATE_ORDER={self.setting})"
            if self.contrary:
                text += f"; {self.contrary} value(s) readable only {other} quarantined (date_order_conflict)"
            return text
        if self.basis == "proven":
            return f"dates read {words} ({self.seen.example(self.order)})"
        if self.basis == "conflict":
            day, month = self.seen.proofs[DAY_FIRST], self.seen.proofs[MONTH_FIRST]
            why = "as many each way: the SPLANTS_DATE_ORDER=auto default" if day == month else "the majority"
            return (
                f"dates conflict: {self._tally()}; read {words} ({why}), the rows of the values readable "
                f"only {other} quarantined (date_order_conflict): fix them or split the file"
            )
        if self.order == MONTH_FIRST:
            return (
                "dates ambiguous (no day above 12): read month first, as their 12-hour AM/PM times are a US "
                "habit (SPLANTS_DATE_ORDER=auto default); set SPLANTS_DATE_ORDER=day-first if they are not"
            )
        return (
            "dates ambiguous (no day above 12): read day first (SPLANTS_DATE_ORDER=auto default); "
            "set SPLANTS_DATE_ORDER=month-first if they are US dates"
        )


def date_order_setting() -> str:
    """``SPLANTS_DATE_ORDER``: ``auto``, ``day-first`` or ``month-first`` (docs/engagement.md)."""
    from splants_dagster import settings

    return str(settings.value("SPLANTS_DATE_ORDER"))


def parse_time(column: str, value: Any, dates: DateOrder | None = None) -> dt.datetime | None:
    """An aware UTC datetime from ISO 8601 or the formats exports use; a bare date is midnight UTC. A
    numeric date (01/02/2024) is read in the file's order, ``dates`` (without it: the value decides)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        try:
            return utc(value)
        except OverflowError:
            raise RowError("unparseable_date", f"date out of range in '{column}': {value}") from None
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    text = str(value).strip()
    if not text:
        return None
    try:
        return utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        pass
    found = numeric_date(text)
    if found is not None:
        return (dates or DateOrder()).read(column, found)
    for fmt in DATE_FORMATS:
        try:
            return utc(dt.datetime.strptime(text, fmt))
        except (ValueError, OverflowError):
            continue
    raise RowError("unparseable_date", f"unparseable date in '{column}': {text[:40]!r}")


def _bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "t"):
        return True
    if text in ("0", "false", "no", "n", "f"):
        return False
    raise RowError("unparseable_value", f"unparseable boolean in 'cumulative': {text[:20]!r}")


def _platform(value: Any) -> str:
    text = str(value or "").strip().lower()
    if not text:
        raise RowError("unknown_platform", "missing platform")
    text = PLATFORM_ALIASES.get(text, text)
    if text not in PLATFORMS:
        raise RowError("unknown_platform", f"unknown platform {text!r} (known: {', '.join(PLATFORMS)})")
    return text


def _text(column: str, value: Any) -> str | None:
    """A text field as stored: stripped, None when empty; a lone surrogate (JSON ``"\\ud800"``), which
    no database can store, makes the row bad."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RowError("unparseable_value", f"invalid text in '{column}': {text[:40]!r}") from None
    return text or None


# the mapped fields holding dates, and the name a reason gives each
DATE_FIELDS = (("observed_at", "observed_at"), ("published_at", "published_at"), ("event_date", "date"))


def validate(mapped: Mapped, ctx: LoadContext, preset: str, dates: DateOrder | None = None) -> dict[str, Any]:
    """The event row for one mapped record, or RowError with the first problem found; ``dates`` is the
    file's order for numeric dates."""
    f = mapped.fields
    platform = _platform(f.get("platform"))
    counters = {c: parse_count(c, f.get(c)) for c in COUNTERS}
    if all(v is None for v in counters.values()):
        raise RowError("no_counters", "no engagement counters in the row")
    observed = parse_time("observed_at", f.get("observed_at"), dates)
    published = parse_time("published_at", f.get("published_at"), dates)
    day_value = f.get("event_date")
    if isinstance(day_value, dt.datetime):
        day = utc(day_value).date()
    elif isinstance(day_value, dt.date):
        day = day_value
    elif (parsed := parse_time("date", day_value, dates)) is not None:
        day = parsed.date()
    elif observed is not None:
        day = observed.date()
    else:
        raise RowError("unparseable_date", "no date: the row needs a date or observed_at")
    if observed is None:
        observed = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(
            hours=23, minutes=59
        )
    if day < ctx.first_date:
        raise RowError(
            "date_out_of_range", f"date {day} is before {ctx.first_date}, the first engagement partition"
        )
    if ctx.last_date and day > ctx.last_date:
        raise RowError("date_out_of_range", f"date {day} is in the future")

    piece_id = _text("piece_id", f.get("piece_id"))
    external = _text("external_id", f.get("external_id"))
    if piece_id is not None:
        owner = ctx.known_pieces.get(piece_id)
        if owner is None:
            raise RowError("unknown_id", f"unknown piece_id {piece_id!r} (not a piece in content_pieces)")
        if owner != platform:
            raise RowError("unknown_id", f"piece_id {piece_id!r} belongs to {owner}, the row says {platform}")
    elif external is not None:
        native = external.split(":", 1)[1] if external.startswith(f"{platform}:") else external
        piece_id = ctx.remote_ids.get((platform, native))
        if piece_id is None and ":" not in external:
            external = f"{platform}:{external}"
    else:
        raise RowError("unknown_id", "no id: the row needs piece_id or external_id")

    impressions, reach = counters["impressions"], counters["reach"]
    if impressions is not None and reach is not None and impressions < reach:
        raise RowError("impossible_value", f"impossible: impressions ({impressions}) < reach ({reach})")
    for name in ("engagements", "opens", "bounces"):
        value = counters[name]
        if impressions is not None and value is not None and value > impressions:
            raise RowError("impossible_value", f"impossible: {name} ({value}) > impressions ({impressions})")
    if counters["engagements"] is None:
        parts = [v for c in ("likes", "comments", "shares", "clicks") if (v := counters[c]) is not None]
        counters["engagements"] = sum(parts) if parts else None

    cumulative = _bool(f.get("cumulative"))
    return {
        "event_date": day,
        "piece_id": piece_id,
        "external_id": None if piece_id else external,
        "platform": platform,
        "observed_at": observed,
        **counters,
        "source": f"file:{preset}",
        "source_file": ctx.source_file,
        "is_demo": False,
        "content_type": _text("content_type", f.get("content_type") or None),
        "published_at": published,
        "loaded_at": ctx.loaded_at,
        "cumulative": bool(cumulative),
        "line": mapped.line,
    }


def _post(row: dict[str, Any], mapped: Mapped, ctx: LoadContext) -> dict[str, Any]:
    extra = mapped.post
    text = _text("text", extra.get("text"))
    media = _text("media_type", extra.get("media_type"))
    return {
        "piece_id": row["piece_id"] or row["external_id"],
        "platform": row["platform"],
        "content_type": row["content_type"],
        "published_at": row["published_at"],
        "external": row["piece_id"] is None,
        "is_demo": False,
        "source": row["source"],
        "source_file": ctx.source_file,
        "text": text,
        **text_features(text),
        "media_type": media,
        "paid": extra.get("paid"),
        "injected_anomaly": None,
        "attributes": _dump(extra["attributes"]) if extra.get("attributes") else None,
        "updated_at": ctx.loaded_at,
    }


@dataclass
class ParsedChunk:
    """What one chunk of records became: event rows, post rows (deduplicated within the chunk only) and
    quarantined rows."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)


# Quarantined rows a streamed result keeps for display (all of them go to the sink).
QUARANTINE_SAMPLE = 100


def parse_file(
    path: Path,
    ctx: LoadContext,
    preset: str | None = None,
    sink: Callable[[ParsedChunk], None] | None = None,
    chunk_rows: int | None = None,
) -> ParsedFile:
    """Every row of ``path`` validated, ``chunk_rows`` records at a time.

    Without ``sink`` the result holds every loadable row, post and quarantined row (small files, tests,
    dry runs). With ``sink`` each chunk's rows go to it as they are validated and the result keeps only
    the counts, dates, reasons and the first :data:`QUARANTINE_SAMPLE` quarantined rows, so memory stays
    bounded by the chunk size whatever the file's size; posts are then deduplicated within a chunk only.

    Raises :class:`FileRejected` when the file is unreadable, lacks the preset's columns, or has no
    usable row at all (after the sink has seen every quarantined row).
    """
    stream = open_records(path, chunk_rows or CHUNK_ROWS)
    header = stream.header
    name = preset or detect_preset(header)
    if name not in PRESETS:
        raise FileRejected(str(path), 1, f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
    spec = PRESETS[name]
    is_json = path.suffix.lower() in JSON_SUFFIXES
    if name == "generic":
        missing = generic_missing(header)
    elif is_json and name in ("x_analytics", "mailchimp_report") and not header.issuperset(spec.required):
        missing = []  # saved API responses: mapped by field names, checked row by row
    else:
        missing = [c for c in spec.required if c not in header]
    if missing:
        note = f" (the file was read as {stream.encoding.note})" if stream.encoding.note else ""
        raise FileRejected(str(path), 1, f"missing column(s) for preset {name}: {', '.join(missing)}{note}")

    mctx = MapContext(ctx.source_file, path.stem, ctx.export_time, frozenset(header))
    # No preset fixes the order: X writes ISO times, Mailchimp month names, Facebook none; a numeric date
    # in their columns comes from a re-save (a spreadsheet writes its locale's order) and is decided from
    # the file like any other.
    dates = DateOrder(date_order_setting(), lambda: scan_dates(path, spec, mctx, chunk_rows or CHUNK_ROWS))
    result = ParsedFile(str(path), name, encoding=stream.encoding, date_order=dates)
    chunks = [[r for chunk in stream.chunks for r in chunk]] if spec.whole_file else stream.chunks
    seen_posts: set[tuple[str, str]] = set()
    for records in chunks:
        if sink is not None:
            seen_posts = set()
        chunk = _parse_chunk(records, spec, mctx, ctx, seen_posts, dates)
        result.add(chunk, keep=sink is None)
        if sink is not None:
            sink(chunk)
    result.total = stream.count
    result.quarantined.sort(key=lambda q: q["line"])
    if not result.loaded:
        first: dict[str, Any] = (
            result.quarantined[0] if result.quarantined else {"line": 1, "reason": "no rows"}
        )
        raise FileRejected(
            str(path), first["line"], first["reason"], result.bad, result.total, result.quarantined, name
        )
    return result


def scan_dates(path: Path, spec: Preset, mctx: MapContext, chunk_rows: int = CHUNK_ROWS) -> DateScan:
    """The numeric dates of every record of ``path``, as ``spec`` maps them: a second read of the file,
    made by :class:`DateOrder` only when the file has such dates (chunk by chunk: memory stays bounded)."""
    scan = DateScan()
    for records in open_records(path, chunk_rows).chunks:
        ok = [(line, raw, r) for line, raw, r in records if "__error__" not in r]
        for mapped in spec.mapper(ok, mctx):
            if mapped.error is not None:
                continue
            counted: list[Any] = []  # a value two fields share (X: time is the date) counts once
            for name, column in DATE_FIELDS:
                value = mapped.fields.get(name)
                if value not in counted:
                    counted.append(value)
                    scan.see(column, value, mapped.line)
    return scan


def _parse_chunk(
    records: list[tuple[int, str, Record]],
    spec: Preset,
    mctx: MapContext,
    ctx: LoadContext,
    seen_posts: set[tuple[str, str]],
    dates: DateOrder | None = None,
) -> ParsedChunk:
    name = spec.name
    out = ParsedChunk()
    ok = [(line, raw, r) for line, raw, r in records if "__error__" not in r]
    for line, raw, r in records:
        if "__error__" in r:
            out.quarantined.append(_quarantine(line, raw, r["__error__"], None, name, ctx, "malformed_row"))
    for mapped in spec.mapper(ok, mctx):
        guess = mapped.fields.get("event_date")
        guess_day = (
            guess.date() if isinstance(guess, dt.datetime) else guess if isinstance(guess, dt.date) else None
        )
        if mapped.error:
            out.quarantined.append(
                _quarantine(mapped.line, mapped.raw, mapped.error, guess_day, name, ctx, mapped.error_code)
            )
            continue
        try:
            row = validate(mapped, ctx, name, dates)
            key = (row["piece_id"] or row["external_id"], row["platform"])
            post = None
            if key not in seen_posts and (mapped.post or row["published_at"] or row["content_type"]):
                post = _post(row, mapped, ctx)
        except RowError as err:
            out.quarantined.append(
                _quarantine(mapped.line, mapped.raw, str(err), guess_day, name, ctx, err.code)
            )
            continue
        out.rows.append(row)
        if post is not None:
            seen_posts.add(key)
            out.posts.append(post)
    return out


def _quarantine(
    line: int, raw: str, reason: str, day: dt.date | None, preset: str, ctx: LoadContext, code: str
) -> dict[str, Any]:
    return {
        "event_date": day,
        "source": f"file:{preset}",
        "source_file": ctx.source_file,
        "line": line,
        "reason": _storable(reason),
        "reason_code": code,
        "raw": _storable(raw[:1000]),
        "quarantined_at": ctx.loaded_at,
        "preset": preset,
    }


def _storable(text: str) -> str:
    """``text`` with any lone surrogate escaped (``\\ud800``): the database stores UTF-8 only."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


ARCHIVE = "processed"


def inbox_files(inbox: Path) -> list[Path]:
    """Engagement (or conversion) files under an inbox (one level of preset sub-folders); hidden files
    and the ``processed/`` archive folder are skipped."""
    if not inbox.is_dir():
        return []
    found = []
    for path in sorted(inbox.rglob("*")):
        rel = path.relative_to(inbox)
        if any(part.startswith(".") for part in rel.parts) or len(rel.parts) > 2 or rel.parts[0] == ARCHIVE:
            continue
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            found.append(path)
    return found


def preset_for(inbox: Path, path: Path, presets: Collection[str] | None = None) -> str | None:
    """The preset named by the file's sub-folder (``inbox/engagement/<preset>/file.csv``), if any, among
    ``presets`` (default: the engagement presets; the conversion inbox passes its own)."""
    rel = path.relative_to(inbox)
    known = PRESETS if presets is None else presets
    return rel.parts[0] if len(rel.parts) == 2 and rel.parts[0] in known else None
