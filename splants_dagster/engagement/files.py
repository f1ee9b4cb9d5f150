"""Reading engagement exports (CSV or JSON), validating every row, and quarantining the bad ones.

A bad row never stops the good ones: it is kept with its line and the reason (unparseable number or
date, negative count, unknown id or platform, impossible values such as impressions < reach). A file in
which *no* row is usable raises :class:`FileRejected`, naming the file, the line and the reason.

Line numbers: for CSV the header is line 1 (as in the Facebook dataset's README); for a JSON array or
an object holding a list (``data``, ``reports``, ``rows``, ``items``) it is the record number (1-based);
for JSON Lines it is the line of the file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
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


DATE_FORMATS = (
    "%Y-%m-%d %H:%M %z",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%b %d, %Y %I:%M %p",
    "%b %d, %Y %I:%M %p %Z",
    "%B %d, %Y %I:%M %p",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%m/%d/%Y %I:%M %p",
)


def parse_time(column: str, value: Any) -> dt.datetime | None:
    """An aware UTC datetime from ISO 8601 or the formats exports use; a bare date is midnight UTC."""
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


def validate(mapped: Mapped, ctx: LoadContext, preset: str) -> dict[str, Any]:
    """The event row for one mapped record, or RowError with the first problem found."""
    f = mapped.fields
    platform = _platform(f.get("platform"))
    counters = {c: parse_count(c, f.get(c)) for c in COUNTERS}
    if all(v is None for v in counters.values()):
        raise RowError("no_counters", "no engagement counters in the row")
    observed = parse_time("observed_at", f.get("observed_at"))
    published = parse_time("published_at", f.get("published_at"))
    day_value = f.get("event_date")
    if isinstance(day_value, dt.datetime):
        day = utc(day_value).date()
    elif isinstance(day_value, dt.date):
        day = day_value
    elif (parsed := parse_time("date", day_value)) is not None:
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

    result = ParsedFile(str(path), name, encoding=stream.encoding)
    mctx = MapContext(ctx.source_file, path.stem, ctx.export_time, frozenset(header))
    chunks = [[r for chunk in stream.chunks for r in chunk]] if spec.whole_file else stream.chunks
    seen_posts: set[tuple[str, str]] = set()
    for records in chunks:
        if sink is not None:
            seen_posts = set()
        chunk = _parse_chunk(records, spec, mctx, ctx, seen_posts)
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


def _parse_chunk(
    records: list[tuple[int, str, Record]],
    spec: Preset,
    mctx: MapContext,
    ctx: LoadContext,
    seen_posts: set[tuple[str, str]],
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
            row = validate(mapped, ctx, name)
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
    """Engagement files under the inbox (one level of preset sub-folders); hidden files and the
    ``processed/`` archive folder are skipped."""
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


def preset_for(inbox: Path, path: Path) -> str | None:
    """The preset named by the file's sub-folder (``inbox/engagement/<preset>/file.csv``), if any."""
    rel = path.relative_to(inbox)
    return rel.parts[0] if len(rel.parts) == 2 and rel.parts[0] in PRESETS else None
