"""UTC normalisation shared by the domain modules (no Dagster imports)."""

from __future__ import annotations

import datetime as dt
from typing import Any


def utc(value: dt.datetime) -> dt.datetime:
    """An aware UTC datetime (naive values are taken to be UTC)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def as_utc(value: Any) -> dt.datetime | None:
    """:func:`utc` of a datetime or an ISO 8601 string (as stored in cursors and JSON); ``None`` for
    anything else (NULL, missing)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return utc(value) if isinstance(value, dt.datetime) else None
