"""Reading conversion exports (CSV or JSON), validating every row, and quarantining the bad ones.

Shares the engagement importer's pieces (:mod:`splants_dagster.engagement.files`): encoding detection
(BOMs, UTF-16, cp1252 fallback), the JSON reader, :class:`FileRejected` (no usable row, or missing
columns, naming the file, line and reason), :class:`RowError`, the date parser and its per-file
day/month order for numeric dates (:class:`~splants_dagster.engagement.files.DateOrder`). CSV is read here
because analytics exports (GA4) put ``#`` comment lines above the header, which carry the report's
date range.

A bad row never stops the good ones: it is kept with its line and reason (unparseable date or amount,
negative amount, a date in the future, no id). Rows are validated in chunks, so memory is bounded by
the chunk, not the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splants_dagster.conversions.presets import (
    PRESETS,
    UTM_FIELDS,
    Preset,
    Record,
    SkipRecord,
    detect_preset,
    map_record,
)
from splants_dagster.engagement import files as engagement_files
from splants_dagster.engagement.files import (
    JSON_SUFFIXES,
    DateOrder,
    DateScan,
    FileRejected,
    RowError,
    date_order_setting,
    detect_encoding,
    open_records,
    parse_count,
    parse_time,
)

# the conversion inbox has the engagement inbox's layout: one level of preset sub-folders, the same file
# types, hidden files and ``processed/`` skipped
from splants_dagster.engagement.files import inbox_files as inbox_files

CHUNK_ROWS = 5_000
QUARANTINE_SAMPLE = 100
CONVERSION_TYPES = ("order", "signup", "lead", "key_event")
TYPE_ALIASES = {
    "orders": "order",
    "purchase": "order",
    "purchases": "order",
    "sale": "order",
    "preorder": "order",
    "pre-order": "order",
    "sign_up": "signup",
    "sign-up": "signup",
    "signups": "signup",
    "subscription": "signup",
    "subscribe": "signup",
    "generate_lead": "lead",
    "leads": "lead",
    "key event": "key_event",
    "conversion": "key_event",
}
MAX_REVENUE = 1e12
COMMENT_DATE = re.compile(r"^#\s*(start|end) date:\s*(\d{8})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class LoadContext:
    source_file: str
    loaded_at: dt.datetime
    # no conversion after this date (a row in the future is a bad row)
    last_date: dt.date
    is_demo: bool = False
    # the report's date when its rows have none (GA4 comment header; else the file's time)
    default_date: dt.date | None = None


@dataclass
class ParsedFile:
    path: str
    preset: str
    total: int = 0
    loaded: int = 0
    skipped: int = 0
    bad: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    encoding_note: str | None = None
    # the day/month order of its numeric dates (``date_order.note`` says what was decided and why)
    date_order: DateOrder | None = None


@dataclass
class Chunk:
    rows: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0


# ----------------------------------------------------------------------------------------------- reading


@dataclass
class Records:
    header: list[str]
    chunks: Iterator[list[tuple[int, str, Record]]]
    encoding_note: str | None = None
    report_dates: dict[str, dt.date] = field(default_factory=dict)


def _batched(
    records: Iterator[tuple[int, str, Record]], size: int
) -> Iterator[list[tuple[int, str, Record]]]:
    while chunk := list(itertools.islice(records, size)):
        yield chunk


def read_records(path: Path, chunk_rows: int = CHUNK_ROWS) -> Records:
    """The file's header and its records in chunks of (line, raw text, record); CSV ``#`` comment lines
    before the header are skipped (their ``Start date``/``End date`` kept). Raises :class:`FileRejected`."""
    if path.suffix.lower() in JSON_SUFFIXES:
        stream = open_records(path, chunk_rows)
        return Records(sorted(stream.header), stream.chunks, stream.encoding.note)
    encoding = detect_encoding(path)
    text = io.TextIOWrapper(path.open("rb"), encoding=encoding.name, errors=encoding.errors, newline="")
    try:
        return _csv(path, text, chunk_rows, encoding.note)
    except UnicodeDecodeError as err:
        text.close()
        raise FileRejected(
            str(path), 1, f"cannot decode the file: {err.reason}; re-save it as UTF-8"
        ) from None
    except BaseException:
        text.close()
        raise


def _csv(path: Path, text: io.TextIOWrapper, chunk_rows: int, note: str | None) -> Records:
    dates: dict[str, dt.date] = {}
    line_no, first = 0, ""
    for raw in text:
        line_no += 1
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            match = COMMENT_DATE.match(stripped)
            if match:
                dates[match.group(1).lower()] = dt.datetime.strptime(match.group(2), "%Y%m%d").date()
            continue
        first = raw
        break
    if not first:
        text.close()
        raise FileRejected(str(path), max(line_no, 1), "empty file: no header row")
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(itertools.chain([first], text), delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    if len(set(header)) != len(header):
        text.close()
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise FileRejected(str(path), line_no, f"duplicate column(s) in the header: {', '.join(dupes)}")
    offset = line_no - 1  # reader.line_num counts from the header line

    def records() -> Iterator[tuple[int, str, Record]]:
        try:
            while True:
                line = reader.line_num + offset + 1  # where the record starts (a quoted cell may span lines)
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield (line, "", {"__error__": f"malformed CSV: {exc}"})
                    continue
                if not any(c.strip() for c in cells):
                    continue
                raw = delimiter.join(cells)
                if len(cells) == 1 and cells[0].lstrip().startswith("#"):
                    return  # a later comment block: GA4 writes further tables below (Shopify's "#1001" is data)
                if len(cells) != len(header):
                    yield (line, raw, {"__error__": f"{len(cells)} fields, the header has {len(header)}"})
                    continue
                yield (line, raw, dict(zip(header, cells, strict=True)))
        finally:
            text.close()

    return Records(header, _batched(records(), chunk_rows), note, dates)


# ------------------------------------------------------------------------------------------- validation

MONEY = re.compile(r"^-?\d+(\.\d+)?$")


def parse_money(column: str, value: Any) -> float | None:
    """An amount: ``49.00``, ``1,234.50``, ``$49``, ``49.00 EUR``, ``1.234,50``; None for empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise RowError("unparseable_number", f"unparseable amount in '{column}': {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = re.sub(r"[^\d,.\-]", "", str(value))
        if not text:
            if str(value).strip():
                raise RowError("unparseable_number", f"unparseable amount in '{column}': {str(value)[:40]!r}")
            return None
        if "," in text and "." in text:
            text = (
                text.replace(",", "")
                if text.rfind(".") > text.rfind(",")
                else text.replace(".", "").replace(",", ".")
            )
        elif "," in text:
            whole, _, tail = text.rpartition(",")
            text = text.replace(",", "") if len(tail) == 3 else f"{whole.replace(',', '')}.{tail}"
        if not MONEY.match(text):
            raise RowError("unparseable_number", f"unparseable amount in '{column}': {str(value)[:40]!r}")
        number = float(text)
    if number != number or abs(number) > MAX_REVENUE:
        raise RowError("number_out_of_range", f"amount out of range in '{column}': {str(value)[:40]}")
    if number < 0:
        raise RowError("negative_amount", f"negative amount in '{column}': {str(value)[:40]} (a refund?)")
    return round(number, 2)


def _time(column: str, value: Any, dates: DateOrder | None = None) -> dt.datetime | None:
    if isinstance(value, str) and re.fullmatch(r"\d{8}", value.strip()):  # GA4 dates: 20261103
        try:
            return dt.datetime.strptime(value.strip(), "%Y%m%d").replace(tzinfo=dt.UTC)
        except ValueError:
            raise RowError("unparseable_date", f"unparseable date in '{column}': {value!r}") from None
    return parse_time(column, value, dates)


def _text(value: Any, limit: int = 500) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text[:limit] or None


def validate(
    fields: dict[str, Any],
    preset: Preset,
    ctx: LoadContext,
    line: int,
    columns: dict[str, str] | None = None,
    dates: DateOrder | None = None,
) -> dict[str, Any]:
    """The conversion row for one mapped record, or :class:`RowError` with the first problem found (naming
    the export's column: ``columns`` maps our fields to it); ``dates`` is the file's order for numeric
    dates."""

    def col(name: str) -> str:
        return (columns or {}).get(name, name)

    when = _time(col("occurred_at"), fields.get("occurred_at"), dates)
    if when is None:
        if ctx.default_date is None:
            raise RowError("unparseable_date", "no date: the row needs a date (occurred_at)")
        when = dt.datetime.combine(ctx.default_date, dt.time(), dt.UTC)
    if when.date() > ctx.last_date:
        raise RowError("date_out_of_range", f"date {when.date()} is in the future")
    revenue = parse_money(col("revenue"), fields.get("revenue"))
    quantity = parse_count(col("quantity"), fields.get("quantity"))
    quantity = 1 if quantity is None else quantity
    raw_type = str(fields.get("conversion_type") or preset.conversion_type).strip().lower()
    kind = TYPE_ALIASES.get(raw_type, raw_type)
    if kind not in CONVERSION_TYPES:
        raise RowError(
            "unparseable_value",
            f"unknown conversion_type {raw_type[:40]!r} (known: {', '.join(CONVERSION_TYPES)})",
        )
    order_id = _text(fields.get("order_id"), 300)
    if order_id is None:
        tags = [fields.get(k) for k in UTM_FIELDS]
        if not any(tags):
            raise RowError("unknown_id", "no id: the row needs an order/conversion id (or UTM tags)")
        order_id = f"line:{ctx.source_file}:{line}"
    if preset.name == "ga4_landing_pages":  # an aggregate: one row per dimensions and day
        order_id = f"{order_id}|{when.date().isoformat()}"
    status = _text(fields.get("status"), 60)
    currency = _text(fields.get("currency"), 10)
    return {
        "conversion_id": f"{preset.name}:{order_id}",
        "order_id": order_id,
        "source": preset.name,
        "source_file": ctx.source_file,
        "line": line,
        "occurred_at": when,
        "conversion_date": when.date(),
        "conversion_type": kind,
        "quantity": quantity,
        "revenue": revenue,
        "currency": currency.upper() if currency else None,
        "status": status,
        "counted": (status or "").lower() not in preset.not_counted,
        **{k: _text(fields.get(k), 200) for k in UTM_FIELDS},
        "landing_url": _text(fields.get("landing_url"), 1000),
        "note": _text(fields.get("note"), 500),
        "is_demo": ctx.is_demo,
        "loaded_at": ctx.loaded_at,
    }


def _read(record: Record, columns: dict[str, str]) -> str:
    """The cells of a record this system reads (``columns``), as JSON: what a person needs to see why the
    row is bad, without the customer's name, email or address that the export's other columns hold."""
    return json.dumps({c: record.get(c) for c in columns.values()}, ensure_ascii=False, default=str)


def _quarantine(
    line: int, raw: str | None, reason: str, code: str, preset: str, ctx: LoadContext
) -> dict[str, Any]:
    return {
        "source_file": ctx.source_file,
        "line": line,
        "preset": preset,
        "reason": reason,
        "reason_code": code,
        "raw": _text(raw, 1000),
        "quarantined_at": ctx.loaded_at,
    }


def parse_file(
    path: Path,
    ctx: LoadContext,
    preset: str | None = None,
    sink: Callable[[Chunk], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> ParsedFile:
    """Every row of ``path`` validated. Without ``sink`` the result keeps every row (tests, dry runs);
    with it each chunk goes to the sink and the result keeps counts and a sample of quarantined rows.
    Raises :class:`FileRejected` for an unreadable file, missing columns, or no usable row."""
    records = read_records(path, chunk_rows)
    name = preset or detect_preset(records.header)
    if name not in PRESETS:
        raise FileRejected(str(path), 1, f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
    spec = PRESETS[name]
    missing = spec.missing(records.header)
    if missing:
        note = f" (the file was read as {records.encoding_note})" if records.encoding_note else ""
        raise FileRejected(
            str(path), 1, f"missing column(s) for preset {name}: {', '.join(missing)}{note}", preset=name
        )
    default = records.report_dates.get("end") or ctx.default_date
    if default is not ctx.default_date:
        ctx = LoadContext(ctx.source_file, ctx.loaded_at, ctx.last_date, ctx.is_demo, default)
    columns = spec.resolve(records.header)
    # No preset fixes the order: the exports they read write ISO dates (Shopify, WooCommerce, Stripe) or
    # YYYYMMDD (GA4), so a numeric date in their columns comes from a re-save (a spreadsheet writes its
    # locale's order) and is decided from the file like any other.
    dates = DateOrder(date_order_setting(), lambda: scan_dates(path, spec, columns, chunk_rows))
    result = ParsedFile(str(path), name, encoding_note=records.encoding_note, date_order=dates)
    for records_chunk in records.chunks:
        chunk = Chunk()
        for line, _raw, record in records_chunk:
            result.total += 1
            if "__error__" in record:
                # the line as written may hold customer details: not kept (the reason says what is wrong)
                chunk.quarantined.append(
                    _quarantine(line, None, record["__error__"], "malformed_row", name, ctx)
                )
                continue
            try:
                row = validate(map_record(spec, columns, record), spec, ctx, line, columns, dates)
            except SkipRecord:
                chunk.skipped += 1
                continue
            except RowError as err:
                chunk.quarantined.append(
                    _quarantine(line, _read(record, columns), str(err), err.code, name, ctx)
                )
                continue
            chunk.rows.append(row)
        _add(result, chunk, keep=sink is None)
        if sink is not None:
            sink(chunk)
    if not result.loaded:
        first = result.quarantined[0] if result.quarantined else None
        reason = first["reason"] if first else "no conversion rows"
        raise FileRejected(
            str(path),
            first["line"] if first else 2,
            reason,
            result.bad,
            result.total,
            result.quarantined,
            name,
        )
    return result


def scan_dates(path: Path, spec: Preset, columns: dict[str, str], chunk_rows: int = CHUNK_ROWS) -> DateScan:
    """The numeric dates of every record of ``path``, as ``spec`` maps them: a second read of the file,
    made by :class:`DateOrder` only when the file has such dates (chunk by chunk: memory stays bounded)."""
    scan = DateScan()
    column = columns.get("occurred_at", "occurred_at")
    for chunk in read_records(path, chunk_rows).chunks:
        for line, _raw, record in chunk:
            if "__error__" in record:
                continue
            try:
                fields = map_record(spec, columns, record)
            except SkipRecord:
                continue
            scan.see(column, fields.get("occurred_at"), line)
    return scan


def _add(result: ParsedFile, chunk: Chunk, keep: bool) -> None:
    result.loaded += len(chunk.rows)
    result.bad += len(chunk.quarantined)
    result.skipped += chunk.skipped
    result.reasons.update(q["reason_code"] for q in chunk.quarantined)
    if chunk.rows:
        days = [r["conversion_date"] for r in chunk.rows]
        low, high = min(days), max(days)
        result.first_date = low if result.first_date is None else min(result.first_date, low)
        result.last_date = high if result.last_date is None else max(result.last_date, high)
    if keep:
        result.rows.extend(chunk.rows)
        result.quarantined.extend(chunk.quarantined)
    else:
        room = max(QUARANTINE_SAMPLE - len(result.quarantined), 0)
        result.quarantined.extend(chunk.quarantined[:room])


def preset_for(inbox: Path, path: Path) -> str | None:
    """The preset named by the file's sub-folder (``inbox/conversions/<preset>/file.csv``), if any."""
    return engagement_files.preset_for(inbox, path, PRESETS)
