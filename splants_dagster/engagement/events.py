"""The shape of one engagement observation (a row of ``engagement_events``) and small shared helpers."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a frame is built: not on every code location load (issue #17)
    import pandas as pd

COUNTERS: tuple[str, ...] = (
    "impressions",
    "reach",
    "engagements",
    "likes",
    "comments",
    "shares",
    "clicks",
    "opens",
    "bounces",
)

EVENT_COLUMNS: tuple[str, ...] = (
    "event_date",
    "piece_id",
    "external_id",
    "platform",
    "observed_at",
    *COUNTERS,
    "source",
    "source_file",
    "is_demo",
    "content_type",
    "published_at",
    "loaded_at",
    "cumulative",
    "line",
)

POST_COLUMNS: tuple[str, ...] = (
    "piece_id",
    "platform",
    "content_type",
    "published_at",
    "external",
    "is_demo",
    "source",
    "source_file",
    "text",
    "word_count",
    "hashtag_count",
    "has_question",
    "has_cta",
    "media_type",
    "paid",
    "injected_anomaly",
    "attributes",
    "updated_at",
)

# Raw rows live in the warehouse's bulk database ``events`` (warehouse/events.duckdb, attached in write
# sessions), not in ``core``: the analysts' snapshot never carries them.
EVENTS_TABLE = "events.engagement_events"
FILE_ROWS_TABLE = "events.engagement_file_rows"

# First day of the engagement_events partitions: the bundled real Facebook export is from 2014.
FIRST_DATE = dt.date(2014, 1, 1)


def external_key(platform: str, native_id: str) -> str:
    """The id an external post gets in ``engagement_metrics.piece_id``: ``<platform>:<native id>``."""
    native = native_id.strip()
    return native if native.startswith(f"{platform}:") else f"{platform}:{native}"


def short_hash(*parts: object, length: int = 16) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:length]


def rows_frame(rows: Iterable[Mapping[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    """Rows (dicts) as a DataFrame of exactly ``columns`` (missing keys: None), for a typed bulk insert."""
    import pandas as pd

    return pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=list(columns), dtype=object)
