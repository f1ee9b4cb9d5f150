"""Reading engagement exports (CSV or JSON), validating every row, and quarantining the bad ones.

A bad row never stops the good ones: it is kept with its line and the reason (unparseable number or
date, negative count, unknown id or platform, impossible values such as impressions < reach). A file in
which *no* row is usable raises :class:`FileRejected`, naming the file, the line and the reason.

Line numbers: for CSV the header is line 1 (as in the Facebook dataset's README); for a JSON array or
an object holding a list (``data``, ``reports``, ``rows``, ``items``) it is the record number (1-based);
for JSON Lines it is the line of the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splants_dagster.engagement.events import COUNTERS, FIRST_DATE
from splants_dagster.engagement.features import text_features
from splants_dagster.engagement.presets import (
    PRESETS,
    MapContext,
    Mapped,
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
    path: str
    preset: str
    total: int
    rows: list[dict[str, Any]]
    posts: list[dict[str, Any]]
    quarantined: list[dict[str, Any]]

    @property
    def reasons(self) -> Counter:
        return Counter(q["reason_code"] for q in self.quarantined)

    @property
    def dates(self) -> tuple[dt.date | None, dt.date | None]:
        days = [r["event_date"] for r in self.rows]
        return (min(days), max(days)) if days else (None, None)


# ----------------------------------------------------------------------------------------------- reading


def read_records(path: Path) -> list[tuple[int, str, Record]]:
    """(line, raw text, record) for every data record of a CSV or JSON file."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    if path.suffix.lower() in (".json", ".jsonl", ".ndjson"):
        return _json_records(path, text)
    return _csv_records(path, text)


def _csv_records(path: Path, text: str) -> list[tuple[int, str, Record]]:
    first = text.splitlines()[0] if text.strip() else ""
    if not first:
        raise FileRejected(str(path), 1, "empty file")
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise FileRejected(str(path), 1, "empty file") from None
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise FileRejected(str(path), 1, f"duplicate column(s) in the header: {', '.join(dupes)}")
    records = []
    start = reader.line_num + 1
    try:
        for cells in reader:
            line = start
            start = reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            raw = delimiter.join(cells)
            if len(cells) != len(header):
                records.append(
                    (line, raw, {"__error__": f"{len(cells)} fields, the header has {len(header)}"})
                )
                continue
            records.append((line, raw, dict(zip(header, cells, strict=True))))
    except csv.Error as exc:
        raise FileRejected(str(path), start, f"malformed CSV: {exc}") from None
    if not records:
        raise FileRejected(str(path), 2, "no data rows after the header")
    return records


def _json_records(path: Path, text: str) -> list[tuple[int, str, Record]]:
    stripped = text.strip()
    if not stripped:
        raise FileRejected(str(path), 1, "empty file")
    if path.suffix.lower() in (".jsonl", ".ndjson") or (stripped.startswith("{") and "\n{" in stripped):
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                records.append((number, line[:500], {"__error__": f"malformed JSON: {exc.msg}"}))
                continue
            records.append(
                (number, line[:500], value if isinstance(value, dict) else {"__error__": "not an object"})
            )
        return records
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise FileRejected(str(path), exc.lineno, f"malformed JSON: {exc.msg}") from None
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
    return [
        (i, json.dumps(v)[:500], v if isinstance(v, dict) else {"__error__": "not an object"})
        for i, v in enumerate(data, start=1)
    ]


# ------------------------------------------------------------------------------------------- validation


class RowError(ValueError):
    """A bad row: ``code`` is the category counted in metadata, the message says exactly what is wrong."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


NUMBER = re.compile(r"^-?\d+(\.0*)?$")
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
        if not NUMBER.match(text):
            raise RowError("unparseable_number", f"unparseable number in '{column}': {text[:40]!r}")
        number = int(float(text)) if "." in text else int(text)
    if number < 0:
        raise RowError("negative_count", f"negative count in '{column}': {number}")
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
        return utc(value)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    text = str(value).strip()
    if not text:
        return None
    try:
        return utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    for fmt in DATE_FORMATS:
        try:
            return utc(dt.datetime.strptime(text, fmt))
        except ValueError:
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
    elif day_value is not None:
        day = parse_time("date", day_value).date()
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

    piece_id = (str(f["piece_id"]).strip() or None) if f.get("piece_id") is not None else None
    external = (str(f["external_id"]).strip() or None) if f.get("external_id") is not None else None
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
        parts = [counters[c] for c in ("likes", "comments", "shares", "clicks") if counters[c] is not None]
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
        "content_type": (str(f["content_type"]).strip() or None) if f.get("content_type") else None,
        "published_at": published,
        "loaded_at": ctx.loaded_at,
        "cumulative": bool(cumulative),
        "line": mapped.line,
    }


def _post(row: dict[str, Any], mapped: Mapped, ctx: LoadContext) -> dict[str, Any]:
    extra = mapped.post
    text = extra.get("text")
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
        "media_type": extra.get("media_type"),
        "paid": extra.get("paid"),
        "injected_anomaly": None,
        "attributes": json.dumps(extra["attributes"]) if extra.get("attributes") else None,
        "updated_at": ctx.loaded_at,
    }


def parse_file(path: Path, ctx: LoadContext, preset: str | None = None) -> ParsedFile:
    """Every row of ``path`` validated: loadable rows, their posts, and the quarantined rows.

    Raises :class:`FileRejected` when the file is unreadable, lacks the preset's columns, or has no
    usable row at all.
    """
    records = read_records(path)
    header = {k for _, _, r in records for k in r if k != "__error__"}
    name = preset or detect_preset(header)
    if name not in PRESETS:
        raise FileRejected(str(path), 1, f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
    spec = PRESETS[name]
    is_json = path.suffix.lower() in (".json", ".jsonl", ".ndjson")
    if name == "generic":
        missing = generic_missing(header)
    elif is_json and name in ("x_analytics", "mailchimp_report") and not header.issuperset(spec.required):
        missing = []  # saved API responses: mapped by field names, checked row by row
    else:
        missing = [c for c in spec.required if c not in header]
    if missing:
        raise FileRejected(str(path), 1, f"missing column(s) for preset {name}: {', '.join(missing)}")

    mctx = MapContext(ctx.source_file, path.stem, ctx.export_time)
    ok = [(line, raw, r) for line, raw, r in records if "__error__" not in r]
    broken = {line: (raw, r["__error__"]) for line, raw, r in records if "__error__" in r}
    rows, posts, quarantined = [], [], []
    for line, (raw, reason) in broken.items():
        quarantined.append(_quarantine(line, raw, reason, None, name, ctx, "malformed_row"))
    seen_posts: set[tuple[str, str]] = set()
    for mapped in spec.mapper(ok, mctx):
        guess = mapped.fields.get("event_date")
        guess_day = (
            guess.date() if isinstance(guess, dt.datetime) else guess if isinstance(guess, dt.date) else None
        )
        if mapped.error:
            quarantined.append(
                _quarantine(mapped.line, mapped.raw, mapped.error, guess_day, name, ctx, "unparseable_date")
            )
            continue
        try:
            row = validate(mapped, ctx, name)
        except RowError as err:
            quarantined.append(_quarantine(mapped.line, mapped.raw, str(err), guess_day, name, ctx, err.code))
            continue
        rows.append(row)
        key = (row["piece_id"] or row["external_id"], row["platform"])
        if key not in seen_posts and (mapped.post or row["published_at"] or row["content_type"]):
            seen_posts.add(key)
            posts.append(_post(row, mapped, ctx))
    quarantined.sort(key=lambda q: q["line"])
    if not rows:
        first = quarantined[0] if quarantined else {"line": 1, "reason": "no rows"}
        raise FileRejected(
            str(path), first["line"], first["reason"], len(quarantined), len(records), quarantined, name
        )
    return ParsedFile(str(path), name, len(records), rows, posts, quarantined)


def _quarantine(
    line: int, raw: str, reason: str, day: dt.date | None, preset: str, ctx: LoadContext, code: str
) -> dict[str, Any]:
    return {
        "event_date": day,
        "source": f"file:{preset}",
        "source_file": ctx.source_file,
        "line": line,
        "reason": reason,
        "reason_code": code,
        "raw": raw[:1000],
        "quarantined_at": ctx.loaded_at,
        "preset": preset,
    }


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
