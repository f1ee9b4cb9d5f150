"""Column-mapping presets for engagement exports dropped in ``inbox/engagement/``.

A preset turns one record of an export (a CSV row or a JSON object, as strings and numbers) into the
fields of an engagement observation, still unvalidated: :mod:`splants_dagster.engagement.files` parses
numbers and dates, checks them and quarantines bad rows. The column tables here are what
``docs/engagement.md`` and ``splants engagement presets`` show.

- ``generic``: one row per observation in our own column names (see :data:`GENERIC_ALIASES`).
- ``facebook_insights``: the Facebook Insights post export (lifetime totals per post), as in the UCI
  "Facebook metrics" dataset (Moro, Rita & Vala 2016, CC BY 4.0), which has no date or post id: the post
  time is rebuilt from ``Post Month``/``Post Weekday``/``Post Hour`` in 2014 and the row order (see
  :func:`facebook_post_times`).
- ``x_analytics``: the X (Twitter) tweet activity export (CSV), or a saved X API v2 ``GET /2/tweets``
  response (JSON) with ``public_metrics``.
- ``mailchimp_report``: Mailchimp's campaign report export (CSV), or a saved ``GET /3.0/reports``
  response (JSON).

Lifetime exports (all but ``generic``) are cumulative snapshots: each row is the post's running total at
export time, dated on the post's publish day, so a newer export of the same posts replaces, never adds.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from splants_dagster.engagement import apis
from splants_dagster.engagement.events import COUNTERS, external_key

Record = dict[str, Any]


@dataclass
class Mapped:
    """One source record mapped to event fields (raw values: strings, numbers or datetimes)."""

    line: int
    raw: str
    fields: dict[str, Any] = field(default_factory=dict)
    post: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    error_code: str = "unparseable_date"


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str
    # our field -> the export's column (documentation and CSV mapping)
    columns: dict[str, str]
    # columns whose presence identifies the export when no preset is named
    signature: tuple[str, ...]
    required: tuple[str, ...]
    mapper: Callable[[list[tuple[int, str, Record]], MapContext], Iterator[Mapped]]
    lifetime: bool = True
    # the mapper needs every record at once (row order across the file), so the file is not streamed
    whole_file: bool = False


@dataclass(frozen=True)
class MapContext:
    """What a preset may need besides the records: the file's name and export time."""

    source_file: str
    file_stem: str
    export_time: dt.datetime
    # the file's columns (CSV header; keys of the first JSON records): a chunk maps like the whole file
    header: frozenset[str] = frozenset()


def _get(record: Record, column: str) -> Any:
    value = record.get(column)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


# ---------------------------------------------------------------------------------------------- generic

GENERIC_ALIASES: dict[str, tuple[str, ...]] = {
    "event_date": ("date", "event_date", "day"),
    "observed_at": ("observed_at", "timestamp", "time"),
    "piece_id": ("piece_id",),
    "external_id": ("external_id", "post_id", "id"),
    "platform": ("platform", "channel"),
    "content_type": ("content_type",),
    "published_at": ("published_at", "posted_at"),
    "impressions": ("impressions", "views", "sent"),
    "reach": ("reach",),
    "engagements": ("engagements",),
    "likes": ("likes", "reactions"),
    "comments": ("comments", "replies"),
    "shares": ("shares", "reposts", "retweets"),
    "clicks": ("clicks", "link_clicks"),
    "opens": ("opens",),
    "bounces": ("bounces",),
    "cumulative": ("cumulative",),
    "text": ("text",),
}


def _generic_columns(header: Iterable[str]) -> dict[str, str]:
    lower = {h.strip().lower(): h for h in header}
    found = {}
    for target, aliases in GENERIC_ALIASES.items():
        for alias in aliases:
            if alias in lower:
                found[target] = lower[alias]
                break
    return found


def _map_generic(records: list[tuple[int, str, Record]], ctx: MapContext) -> Iterator[Mapped]:
    if not records:
        return
    columns = _generic_columns(ctx.header | {k for _, _, r in records for k in r})
    for line, raw, record in records:
        fields = {target: _get(record, col) for target, col in columns.items() if target != "text"}
        fields.setdefault("cumulative", None)
        text = _get(record, columns["text"]) if "text" in columns else None
        yield Mapped(line, raw, fields, {"text": text} if text else {})


def generic_missing(header: Iterable[str]) -> list[str]:
    """Which required generic columns a header lacks (empty when usable)."""
    columns = _generic_columns(header)
    missing = []
    if "platform" not in columns:
        missing.append("platform")
    if "piece_id" not in columns and "external_id" not in columns:
        missing.append("piece_id or external_id")
    if "event_date" not in columns and "observed_at" not in columns:
        missing.append("date or observed_at")
    if not any(c in columns for c in COUNTERS):
        missing.append("at least one counter (" + ", ".join(COUNTERS) + ")")
    return missing


# ------------------------------------------------------------------------------------- facebook insights

FB = {
    "impressions": "Lifetime Post Total Impressions",
    "reach": "Lifetime Post Total Reach",
    "engagements": "Lifetime Engaged Users",
    "clicks": "Lifetime Post Consumptions",
    "likes": "like",
    "comments": "comment",
    "shares": "share",
}
FB_TIME = ("Post Month", "Post Weekday", "Post Hour")
FB_YEAR = 2014


def facebook_post_times(
    rows: list[tuple[int, Any, Any, Any]], year: int = FB_YEAR
) -> dict[int, dt.datetime | str]:
    """Post times for the UCI Facebook export, which has month, weekday and hour but no date.

    ``rows`` are (line, month, weekday, hour) in file order (newest first). Walking from the oldest row
    up, each post gets the earliest date in its month, on its weekday, not before the previous post's
    date. Weekday 1 = Sunday ... 7 = Saturday: the only offset consistent with the row order against the
    2014 calendar (the dataset's README explains). Returns line -> UTC datetime, or line -> a reason when
    the row's month/weekday/hour cannot be used.
    """
    result: dict[int, dt.datetime | str] = {}
    previous = dt.date(year, 1, 1)
    for line, month_raw, weekday_raw, hour_raw in reversed(rows):
        try:
            month, weekday, hour = int(str(month_raw)), int(str(weekday_raw)), int(str(hour_raw))
        except (TypeError, ValueError):
            result[line] = (
                f"unparseable post time: month={month_raw!r}, weekday={weekday_raw!r}, hour={hour_raw!r}"
            )
            continue
        if not (1 <= month <= 12 and 1 <= weekday <= 7 and 0 <= hour <= 23):
            result[line] = f"impossible post time: month={month}, weekday={weekday}, hour={hour}"
            continue
        python_weekday = (weekday - 2) % 7  # 1 = Sunday -> 6
        days = [
            dt.date(year, month, d)
            for d in range(1, calendar.monthrange(year, month)[1] + 1)
            if dt.date(year, month, d).weekday() == python_weekday
        ]
        later = [d for d in days if d >= previous]
        # rows out of order (month going backwards) keep their month: last matching day of it
        day = later[0] if later else days[-1]
        previous = max(previous, day)
        result[line] = dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)
    return result


def _fill_from_total(fields: dict[str, Any], total: Any) -> None:
    """Empty like/comment/share cells: the export's ``Total Interactions`` = comment + like + share, so
    when the missing cells must add up to 0 they are 0 (the dataset README: this agrees in every row)."""
    names = ("likes", "comments", "shares")
    missing = [n for n in names if fields[n] is None]
    if not missing or total is None:
        return
    try:
        rest = int(str(total)) - sum(int(str(fields[n])) for n in names if n not in missing)
    except ValueError:
        return
    if rest == 0:
        for name in missing:
            fields[name] = "0"
    elif len(missing) == 1 and rest > 0:
        fields[missing[0]] = str(rest)


def _map_facebook(records: list[tuple[int, str, Record]], ctx: MapContext) -> Iterator[Mapped]:
    month, weekday, hour = FB_TIME
    times = facebook_post_times([(line, r.get(month), r.get(weekday), r.get(hour)) for line, _, r in records])
    for line, raw, record in records:
        when = times.get(line)
        fields: dict[str, Any] = {target: _get(record, col) for target, col in FB.items()}
        _fill_from_total(fields, _get(record, "Total Interactions"))
        paid = _get(record, "Paid")
        post = {
            "media_type": (_get(record, "Type") or "").lower() or None,
            "paid": None if paid is None else str(paid).strip() in ("1", "1.0"),
            "attributes": {
                "category": _get(record, "Category"),
                "page_total_likes": _get(record, "Page total likes"),
                "post_month": _get(record, "Post Month"),
                "post_weekday": _get(record, "Post Weekday"),
                "post_hour": _get(record, "Post Hour"),
                "time_derived": "synthetic: 2014 + month/weekday/hour + row order",
            },
        }
        fields.update(
            {
                "platform": "facebook",
                "external_id": f"facebook:{ctx.file_stem}:L{line}",
                "content_type": "social_post",
                "cumulative": True,
                "observed_at": ctx.export_time,
            }
        )
        if isinstance(when, str):
            yield Mapped(line, raw, fields, post, error=when)
            continue
        fields["published_at"] = when
        fields["event_date"] = when.date() if when else None
        yield Mapped(line, raw, fields, post)


# ------------------------------------------------------------------------------------------ x analytics

X_CSV = {
    "external_id": "Tweet id",
    "published_at": "time",
    "impressions": "impressions",
    "engagements": "engagements",
    "likes": "likes",
    "comments": "replies",
    "shares": "retweets",
    "clicks": "url clicks",
}


def _each(
    one: Callable[[int, str, Record, MapContext], Mapped],
) -> Callable[[list[tuple[int, str, Record]], MapContext], Iterator[Mapped]]:
    """A mapper applying ``one`` to each record; a record whose shape it cannot read (a saved API
    response with a list where an object belongs, say) becomes a bad row, never a failed file."""

    def mapper(records: list[tuple[int, str, Record]], ctx: MapContext) -> Iterator[Mapped]:
        for line, raw, record in records:
            try:
                yield one(line, raw, record, ctx)
            except (AttributeError, TypeError, ValueError, KeyError, OverflowError) as exc:
                yield Mapped(
                    line,
                    raw,
                    error=f"unreadable record: {type(exc).__name__}: {str(exc)[:120]}",
                    error_code="malformed_row",
                )

    return mapper


def _map_x_record(line: int, raw: str, record: Record, ctx: MapContext) -> Mapped:
    fields: dict[str, Any]
    if "public_metrics" in record:  # a saved X API v2 tweet object
        counters = apis.x_counters(record)
        fields = {k: v for k, v in counters.items()}
        fields["external_id"] = _get(record, "id")
        fields["published_at"] = _get(record, "created_at")
        text = record.get("text")
    else:
        fields = {target: _get(record, col) for target, col in X_CSV.items()}
        text = _get(record, "Tweet text")
    native = fields.get("external_id")
    fields.update(
        {
            "platform": "twitter",
            "external_id": external_key("twitter", str(native)) if native else None,
            "content_type": "social_post",
            "cumulative": True,
            "observed_at": ctx.export_time,
            "event_date": fields.get("published_at"),
        }
    )
    return Mapped(line, raw, fields, {"text": text} if text else {})


_map_x = _each(_map_x_record)


# ------------------------------------------------------------------------------------- mailchimp report

MAILCHIMP_CSV = {
    "external_id": "Unique Id",
    "published_at": "Send Date",
    "impressions": "Total Recipients",
    "reach": "Successful Deliveries",
    "engagements": "Unique Opens",
    "opens": "Unique Opens",
    "clicks": "Unique Clicks",
    "bounces": "Total Bounces",
}


def _map_mailchimp_record(line: int, raw: str, record: Record, ctx: MapContext) -> Mapped:
    fields: dict[str, Any]
    if "emails_sent" in record:  # a saved Mailchimp API report object
        fields = dict(apis.mailchimp_counters(record))
        fields["external_id"] = _get(record, "id")
        fields["published_at"] = _get(record, "send_time")
        text = record.get("subject_line") or record.get("campaign_title")
    else:
        fields = {target: _get(record, col) for target, col in MAILCHIMP_CSV.items()}
        if fields["bounces"] is None and ("Hard Bounces" in record or "Soft Bounces" in record):
            hard, soft = _get(record, "Hard Bounces"), _get(record, "Soft Bounces")
            try:
                fields["bounces"] = str(int(hard or 0) + int(soft or 0))
            except ValueError:
                fields["bounces"] = f"{hard}+{soft}"
        text = _get(record, "Subject") or _get(record, "Title")
    native = fields.get("external_id")
    fields.update(
        {
            "platform": "email",
            "external_id": external_key("email", str(native)) if native else None,
            "content_type": "email",
            "cumulative": True,
            "observed_at": ctx.export_time,
            "event_date": fields.get("published_at"),
        }
    )
    return Mapped(line, raw, fields, {"text": text} if text else {})


_map_mailchimp = _each(_map_mailchimp_record)


PRESETS: dict[str, Preset] = {
    "generic": Preset(
        name="generic",
        title="Generic (our column names)",
        description="One row per observation. Counters are increments for the row's date unless a "
        "'cumulative' column says true (running totals). Ids: piece_id (a piece of ours) or external_id.",
        columns={k: " | ".join(v) for k, v in GENERIC_ALIASES.items()},
        signature=("platform",),
        required=(),
        mapper=_map_generic,
        lifetime=False,
    ),
    "facebook_insights": Preset(
        name="facebook_insights",
        title="Facebook Insights post export",
        description="Lifetime totals per post. No date or id in the export: post time rebuilt from Post "
        "Month/Weekday/Hour in 2014 and the row order (newest first); rows are external posts.",
        columns={**FB, "published_at": "Post Month + Post Weekday + Post Hour (+ row order), 2014"},
        signature=("Lifetime Post Total Reach", "Lifetime Post Total Impressions"),
        required=(*FB.values(), *FB_TIME),
        mapper=_map_facebook,
        whole_file=True,
    ),
    "x_analytics": Preset(
        name="x_analytics",
        title="X (Twitter) tweet activity export",
        description="Lifetime totals per tweet (CSV export, or a saved API v2 response with public_metrics).",
        columns=X_CSV,
        signature=("Tweet id",),
        required=("Tweet id", "time", "impressions"),
        mapper=_map_x,
    ),
    "mailchimp_report": Preset(
        name="mailchimp_report",
        title="Mailchimp campaign report",
        description="Lifetime totals per campaign (CSV report export, or a saved /3.0/reports response). "
        "impressions = recipients, engagements = opens = unique opens.",
        columns=MAILCHIMP_CSV,
        signature=("Unique Opens", "Total Recipients"),
        required=("Unique Id", "Send Date", "Total Recipients", "Unique Opens"),
        mapper=_map_mailchimp,
    ),
}

JSON_SIGNATURES = {"public_metrics": "x_analytics", "emails_sent": "mailchimp_report"}


def detect_preset(header: Iterable[str]) -> str:
    """The preset whose signature columns the header has; ``generic`` when none matches."""
    columns = set(header)
    for name, preset in PRESETS.items():
        if name != "generic" and all(c in columns for c in preset.signature):
            return name
    for key, name in JSON_SIGNATURES.items():
        if key in columns:
            return name
    return "generic"
