"""A campaign's measurable goal (metric, target, window), and how its progress is judged.

The brief may state the goal as fields (``goal_metric: orders``, ``goal_target: 500``); the free-text
``goal`` stays either way. Without the fields the number is read from the text (:func:`read_goal_text`:
"Get 500 pre-orders of the starter pack in the first four weeks" → orders, 500, 28 days) and the goal
says so (``source = "read from the goal text"``). The window is the one the text names ("in the first
four weeks", "within 30 days", "by the end of the quarter"), else the campaign's own window.

Progress (the same arithmetic as the ``analytics.goal_progress`` view, kept here for the metadata and
tests): ``fraction`` = days elapsed (today counts) / days in the window, clamped to [0, 1];
``pace`` = actual / (target × fraction), 1.0 meaning exactly on pace; ``forecast`` = actual / fraction,
a straight-line projection to the end of the window. No Dagster imports.

Which conversions count: those attributed to the campaign, counted (not refunded, cancelled...), of the
metric's type and dated within the window; with the brief's ``conversion_source`` (the system of record,
e.g. ``shopify_orders``) only those imported from that source (:func:`counts_source`). Without it every
source counts, and when two or more contributed, :func:`source_warning` says that the same purchases may
be counted twice (the view's ``source_warning`` column).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from splants_dagster.qa.claims import WORD_NUMBERS as CLAIM_WORD_NUMBERS

GOAL_METRICS = ("orders", "revenue", "signups", "leads", "conversions")
SOURCE_FIELDS = "brief fields"
SOURCE_TEXT = "read from the goal text"
SOURCE_NONE = "no measurable goal"

# words after a number (or just before it) that name the metric; checked in this order
METRIC_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("revenue", ("revenue", "in sales", "turnover", "gmv")),
    ("orders", ("pre-order", "preorder", "pre order", "order", "purchase", "sale", "unit", "pack", "box")),
    (
        "signups",
        ("sign-up", "signup", "sign up", "subscriber", "subscription", "registration", "member", "trial"),
    ),
    ("leads", ("lead", "demo request", "enquir", "inquir", "booking", "call")),
    ("conversions", ("conversion", "key event", "download", "install")),
)
CURRENCY = "$€£¥"
# one to twelve (as the claims checker spells them), and "a"/"an" ("an order a day"): enough for goals
WORD_NUMBERS = {**{w: n for w, n in CLAIM_WORD_NUMBERS.items() if n <= 12 and w != "dozen"}, "a": 1, "an": 1}
NUMBER = re.compile(
    rf"(?P<cur>[{CURRENCY}])?\s?(?P<num>\d[\d,]*(?:\.\d+)?)\s?(?P<mult>k|m|thousand|million)?\b", re.I
)
UNIT_DAYS = {"day": 1, "week": 7, "month": 30}
WINDOW = re.compile(
    r"\b(?:in|within|over|during)\s+(?:the\s+)?(?:first\s+|next\s+)?(?P<n>\d+|"
    + "|".join(WORD_NUMBERS)
    + r")\s+(?P<unit>day|week|month)s?\b",
    re.I,
)
QUARTER = re.compile(r"\b(?:by|before)\s+the\s+end\s+of\s+the\s+quarter\b", re.I)
MONTH_END = re.compile(r"\b(?:by|before)\s+the\s+end\s+of\s+the\s+month\b", re.I)


@dataclass(frozen=True)
class Goal:
    campaign_id: str
    goal_text: str
    metric: str | None
    target: float | None
    window_start: dt.date
    window_end: dt.date  # exclusive
    source: str
    note: str
    conversion_source: str | None = None  # the system of record: only its conversions count

    @property
    def window_days(self) -> int:
        return (self.window_end - self.window_start).days


@dataclass(frozen=True)
class TextGoal:
    metric: str
    target: float
    window_days: int | None
    window_rule: str | None


def _metric_near(text: str, start: int, end: int, currency: bool) -> str | None:
    if currency:
        return "revenue"
    after = text[end : end + 40].lower()
    before = text[max(0, start - 25) : start].lower()
    for metric, words in METRIC_WORDS:
        if any(w in after for w in words):
            return metric
    for metric, words in METRIC_WORDS:  # "revenue of 50,000", "sign up 200 ..."
        if any(w in before for w in words):
            return metric
    return None


def read_goal_text(text: str) -> TextGoal | None:
    """The metric, target and window a free-text goal states, or None when it names no number with a
    metric (a window number such as "four weeks" is never the target)."""
    windows = list(WINDOW.finditer(text))
    spans = [m.span() for m in windows]
    for match in NUMBER.finditer(text):
        if any(a <= match.start() < b for a, b in spans):
            continue
        metric = _metric_near(text, match.start(), match.end(), bool(match.group("cur")))
        if metric is None:
            continue
        target = float(match.group("num").replace(",", ""))
        mult = (match.group("mult") or "").lower()
        target *= {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6}.get(mult, 1)
        if target <= 0:
            continue
        days, rule = None, None
        if windows:
            w = windows[0]
            n = w.group("n").lower()
            count = int(n) if n.isdigit() else WORD_NUMBERS[n]
            days, rule = count * UNIT_DAYS[w.group("unit").lower()], w.group(0)
        elif QUARTER.search(text):
            rule = "end of the quarter"
        elif MONTH_END.search(text):
            rule = "end of the month"
        return TextGoal(metric, target, days, rule)
    return None


def _quarter_end(day: dt.date) -> dt.date:
    month = ((day.month - 1) // 3 + 1) * 3 + 1
    return dt.date(day.year + 1, 1, 1) if month > 12 else dt.date(day.year, month, 1)


def _month_end(day: dt.date) -> dt.date:
    return dt.date(day.year + 1, 1, 1) if day.month == 12 else dt.date(day.year, day.month + 1, 1)


def goal_of(brief: dict[str, Any]) -> Goal:
    """The measurable goal of a brief (its dict form, as stored in ``campaigns.brief_json``)."""
    cid = str(brief.get("id") or "")
    text = str(brief.get("goal") or "")
    start = dt.date.fromisoformat(str(brief["start_date"]))
    end = start + dt.timedelta(days=int(brief.get("duration_days") or 1))
    parsed = read_goal_text(text)
    window_end, window_note = end, "the campaign's window"
    if parsed is not None and parsed.window_days:
        window_end, window_note = start + dt.timedelta(days=parsed.window_days), f"'{parsed.window_rule}'"
    elif parsed is not None and parsed.window_rule == "end of the quarter":
        window_end, window_note = _quarter_end(start), "the end of the quarter"
    elif parsed is not None and parsed.window_rule == "end of the month":
        window_end, window_note = _month_end(start), "the end of the month"
    metric, target = brief.get("goal_metric"), brief.get("goal_target")
    system = str(brief["conversion_source"]) if brief.get("conversion_source") else None
    if metric and target:
        return Goal(
            cid,
            text,
            str(metric),
            float(target),
            start,
            window_end,
            SOURCE_FIELDS,
            f"goal_metric/goal_target from the brief; window: {window_note}",
            system,
        )
    if parsed is None:
        return Goal(
            cid,
            text,
            None,
            None,
            start,
            end,
            SOURCE_NONE,
            "no number with a metric in the goal text; add goal_metric and goal_target to the brief",
            system,
        )
    return Goal(
        cid,
        text,
        parsed.metric,
        parsed.target,
        start,
        window_end,
        SOURCE_TEXT,
        f"{SOURCE_TEXT}: {parsed.metric} {parsed.target:g}; window: {window_note}; "
        "set goal_metric and goal_target in the brief to state it exactly",
        system,
    )


WARNING_ADVICE = "if they record the same purchases, set conversion_source in the brief"


def counts_source(goal: Goal, source: str) -> bool:
    """Whether a conversion imported from ``source`` (its preset) counts toward the goal: every source
    without a ``conversion_source``, else that one only."""
    return goal.conversion_source is None or source == goal.conversion_source


def source_warning(conversion_source: str | None, sources: Iterable[str]) -> str | None:
    """The ``source_warning`` of ``analytics.goal_progress``: None with a ``conversion_source`` or fewer
    than two sources among the counted conversions, else a sentence naming them (sorted)."""
    names = sorted(set(sources))
    if conversion_source or len(names) < 2:
        return None
    every = "both" if len(names) == 2 else "all"
    return f"conversions from {', '.join(names[:-1])} and {names[-1]} are {every} counted: {WARNING_ADVICE}"


@dataclass(frozen=True)
class Progress:
    days_elapsed: int
    fraction: float
    expected: float
    pace: float | None
    forecast: float | None


def progress(goal: Goal, actual: float, today: dt.date) -> Progress:
    """Elapsed fraction (today counts as a day), pace and straight-line forecast (see the module doc)."""
    days = max(0, min((today - goal.window_start).days + 1, goal.window_days))
    fraction = days / goal.window_days if goal.window_days else 1.0
    target = goal.target or 0.0
    expected = target * fraction
    pace = actual / expected if expected > 0 else None
    forecast = actual / fraction if fraction > 0 else None
    return Progress(days, fraction, expected, pace, forecast)


def off_pace(fraction: float, pace: float | None, margin: float) -> bool:
    """At or after the window's halfway point, pace below 1 − ``margin``."""
    return fraction >= 0.5 and pace is not None and pace < 1 - margin
