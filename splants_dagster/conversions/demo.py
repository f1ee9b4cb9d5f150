"""Simulated conversions for ``splants demo`` (demo data: ``is_demo = true``, never real customers).

Built from the demo's own UTM links: for each piece of a demo campaign, the landing-page URL the
publisher would post (:mod:`splants_dagster.publishing.utm`), and a seeded number of conversions per day
of the goal window that has passed, as a generic-preset CSV under ``inbox/conversions/demo/`` (files
there are imported as demo rows). A window that has not started yet gets no rows (a conversion in the
future would be a bad row); the demo then shows the goal with ``status = 'not started'`` and a labelled
projection (:func:`projection_lines`).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

from splants_dagster.conversions.goals import Goal, goal_of, off_pace, progress
from splants_dagster.publishing.utm import tag_url, tags_for
from splants_dagster.warehouse.store import Warehouse

DEMO_DIR = "demo"
TYPE_OF_METRIC = {"orders": "order", "signups": "signup", "leads": "lead", "revenue": "order"}
COLUMNS = ["order_id", "occurred_at", "conversion_type", "revenue", "currency", "status", "landing_url"]


def demo_rows(goal: Goal, links: list[str], today: dt.date, seed: str) -> list[dict[str, Any]]:
    """Seeded conversions over the elapsed days of the goal window (a pace that varies by campaign)."""
    if not goal.metric or not goal.target or not links or today < goal.window_start:
        return []
    rng = random.Random(seed)
    per_day = goal.target / max(goal.window_days, 1) * rng.uniform(0.55, 1.1)
    kind = TYPE_OF_METRIC.get(goal.metric, "order")
    rows = []
    day = goal.window_start
    while day <= min(today, goal.window_end - dt.timedelta(days=1)):
        for n in range(max(0, round(rng.gauss(per_day, per_day**0.5)))):
            rows.append(
                {
                    "order_id": f"demo-{goal.campaign_id}-{day:%Y%m%d}-{n}",
                    "occurred_at": dt.datetime.combine(day, dt.time(9 + n % 12), dt.UTC).isoformat(),
                    "conversion_type": kind,
                    "revenue": f"{rng.choice((12.0, 39.0, 74.5)):.2f}",
                    "currency": "EUR",
                    "status": "paid",
                    "landing_url": rng.choice(links),
                }
            )
        day += dt.timedelta(days=1)
    return rows


def write_demo_conversions(
    store: Warehouse, inbox: Path, campaigns: list[str], now: dt.datetime
) -> tuple[Path | None, list[Goal]]:
    """The demo conversions file for ``campaigns`` (written under ``inbox/conversions/demo/``; None when
    there is no row to write: no landing page, or no goal window started yet) and the campaigns' goals."""
    if not campaigns:
        return None, []
    marks = ", ".join("?" for _ in campaigns)
    briefs = store.query(
        f"SELECT campaign_id, brief_json FROM campaigns WHERE campaign_id IN ({marks})", campaigns
    )
    pieces = store.query(
        f"SELECT piece_id, campaign_id, platform, content_type FROM content_pieces WHERE campaign_id IN ({marks}) "
        "ORDER BY piece_id",
        campaigns,
    )
    rows: list[dict[str, Any]] = []
    goals = []
    for row in briefs:
        brief = json.loads(row["brief_json"])
        brief.setdefault("id", row["campaign_id"])
        goal = goal_of(brief)
        goals.append(goal)
        landing = brief.get("link")
        if not landing:
            continue
        links = [
            tag_url(
                landing,
                tags_for(
                    p["piece_id"],
                    p["campaign_id"],
                    p["platform"],
                    p["content_type"] or "",
                    bool(brief.get("paid")),
                ),
            )
            for p in pieces
            if p["campaign_id"] == row["campaign_id"]
        ]
        rows += demo_rows(goal, links, now.date(), seed=row["campaign_id"])
    if not rows:
        return None, goals
    target = inbox / DEMO_DIR / "demo_conversions.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return target, goals


def projection_lines(goal: Goal, margin: float) -> list[str]:
    """For a goal window that has not started: what progress reads like halfway through at 70 % of plan
    (a labelled illustration of pace, forecast and the off-pace alert, not a prediction)."""
    if not goal.metric or not goal.target:
        return []
    half = goal.window_start + dt.timedelta(days=goal.window_days // 2 - 1)
    fraction = progress(goal, 0, half).fraction
    actual = round(goal.target * fraction * 0.7)
    p = progress(goal, actual, half)
    alert = "the goal_pace_sensor would alert once" if off_pace(p.fraction, p.pace, margin) else "no alert"
    return [
        f"[demo] illustration for {goal.campaign_id}: on day {p.days_elapsed} of {goal.window_days} with "
        f"{actual} {goal.metric} (target {goal.target:g}): pace {p.pace or 0:.2f}, forecast "
        f"{p.forecast or 0:.0f} by {goal.window_end - dt.timedelta(days=1)}; {alert} (margin {margin:g})"
    ]
