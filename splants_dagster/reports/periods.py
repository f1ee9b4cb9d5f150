"""Report periods: an ISO week (Monday to Sunday) or a calendar month, in the brand's timezone.

A weekly report is named by its ISO week (``2026-W49``), a monthly one by its month (``2026-12``). The
Dagster partitions are keyed by the period's first day (``2026-11-30``, ``2026-12-01``); both map here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

KINDS = ("weekly", "monthly")


@dataclass(frozen=True)
class Period:
    kind: str  # weekly | monthly
    start: dt.date  # first day, inclusive
    end: dt.date  # last day, inclusive

    @property
    def label(self) -> str:
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def noun(self) -> str:
        return "week" if self.kind == "weekly" else "month"

    def previous(self) -> Period:
        return period_of(self.kind, self.start - dt.timedelta(days=1))


def period_of(kind: str, day: dt.date) -> Period:
    """The week or month that contains ``day``."""
    if kind == "weekly":
        start = day - dt.timedelta(days=day.weekday())
        return Period(kind, start, start + dt.timedelta(days=6))
    if kind == "monthly":
        start = day.replace(day=1)
        following = (start + dt.timedelta(days=32)).replace(day=1)
        return Period(kind, start, following - dt.timedelta(days=1))
    raise ValueError(f"report kind {kind!r}: must be one of {', '.join(KINDS)}")


def last_complete(kind: str, today: dt.date) -> Period:
    """The latest period that ended before ``today`` (what a Monday-morning run reports on)."""
    return period_of(kind, period_of(kind, today).start - dt.timedelta(days=1))


def from_partition_key(kind: str, key: str) -> Period:
    """The period of a partition key (its first day, ``YYYY-MM-DD``)."""
    try:
        day = dt.date.fromisoformat(key[:10])
    except ValueError:
        raise ValueError(f"report partition {key!r}: expected the period's first day, YYYY-MM-DD") from None
    period = period_of(kind, day)
    if period.start != day:
        raise ValueError(f"report partition {key!r} is not the first day of a {period.noun}")
    return period
