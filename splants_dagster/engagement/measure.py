"""Measuring what this system published: the running totals the platform APIs report (``apis.py``) as
``engagement_events`` rows (one cumulative snapshot per item and pull), a negative count quarantined, and
the ``engagement_posts`` rows of the items measured."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from splants_dagster.engagement.apis import Pull
from splants_dagster.engagement.events import COUNTERS
from splants_dagster.engagement.features import text_features

# publications.publisher -> the reader that can measure it
READERS = {
    "x": "x",
    "linkedin": "linkedin",
    "wordpress": "wordpress",
    "mailchimp": "mailchimp",
    "hubspot_email": "hubspot",
}

# what went out for real and can be measured (``published_at`` NULL: unknown, measured anyway)
PUBLISHED_SQL = """
SELECT p.piece_id, p.platform, p.publisher, p.remote_id, p.published_at, c.content_type,
       coalesce(c.rendered, c.body) AS text
FROM publications p JOIN content_pieces c ON c.piece_id = p.piece_id
WHERE p.status = 'published' AND p.remote_id IS NOT NULL
"""


@dataclass
class Measured:
    """What one round of API pulls gave: event rows, quarantined rows, a note per reader, an error per
    item, and the sources (``api:<reader>``) that answered (their earlier snapshots of today are replaced)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    bad: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)


def recent(published: Iterable[Mapping[str, Any]], since: dt.datetime) -> list[Mapping[str, Any]]:
    """The items published since ``since`` (or at an unknown time): older posts barely move and every
    pull costs API quota."""
    return [p for p in published if p["published_at"] is None or p["published_at"] >= since]


def measure(
    published: Sequence[Mapping[str, Any]],
    configured: Mapping[str, bool],
    pull: Callable[[str, list[str]], Pull],
    now: dt.datetime,
) -> Measured:
    """Pull each configured reader once for its published items (``pull(reader, remote_ids)``); an item
    of a reader that is not configured is noted, not measured."""
    by_reader: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for item in published:
        reader = READERS.get(item["publisher"] or "")
        if reader:
            by_reader[reader].append(item)
    out = Measured()
    for reader, items in sorted(by_reader.items()):
        if not configured.get(reader):
            out.notes[reader] = f"not configured: {len(items)} published item(s) not measured"
            continue
        source = f"api:{reader}"
        got = pull(reader, [str(i["remote_id"]) for i in items])
        if got.snapshots:
            out.answered.add(source)
        for item in items:
            rid = str(item["remote_id"])
            if rid in got.errors:
                out.errors[f"{item['piece_id']} ({reader} {rid})"] = got.errors[rid]
                continue
            counters = got.snapshots.get(rid)
            if counters is None:
                continue
            negative = [k for k, v in counters.items() if v is not None and v < 0]
            if negative:
                out.bad.append(_quarantined(source, counters, negative[0], now))
            else:
                out.rows.append(_snapshot(source, item, counters, now))
        out.notes[reader] = f"{len(got.snapshots)} of {len(items)} item(s) measured" + (
            f", {len(got.errors)} error(s)" if got.errors else ""
        )
    return out


def _quarantined(source: str, counters: Mapping[str, Any], column: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "event_date": now.date(),
        "source": source,
        "source_file": None,
        "line": None,
        "reason": f"negative count in '{column}'",
        "reason_code": "negative_count",
        "raw": json.dumps(counters),
        "quarantined_at": now,
        "preset": None,
    }


def _snapshot(
    source: str, item: Mapping[str, Any], counters: Mapping[str, Any], now: dt.datetime
) -> dict[str, Any]:
    return {
        "event_date": now.date(),
        "piece_id": item["piece_id"],
        "external_id": None,
        "platform": item["platform"],
        "observed_at": now,
        **{c: counters.get(c) for c in COUNTERS},
        "source": source,
        "source_file": None,
        "is_demo": False,
        "content_type": item.get("content_type"),
        "published_at": item.get("published_at"),
        "loaded_at": now,
        "cumulative": True,
        "line": None,
    }


def post_rows(items: Iterable[Mapping[str, Any]], source: str, now: dt.datetime) -> list[dict[str, Any]]:
    """``engagement_posts`` rows of our measured items (text features from their text)."""
    return [
        {
            "piece_id": item["piece_id"],
            "platform": item["platform"],
            "content_type": item.get("content_type"),
            "published_at": item.get("published_at"),
            "external": False,
            "is_demo": False,
            "source": source,
            "source_file": None,
            "text": item.get("text"),
            **text_features(item.get("text")),
            "media_type": None,
            "paid": None,
            "injected_anomaly": None,
            "attributes": None,
            "updated_at": now,
        }
        for item in items
    ]
