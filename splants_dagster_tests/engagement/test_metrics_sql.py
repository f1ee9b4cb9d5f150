"""The metrics SQL on a tiny dataset whose every number is computed by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from splants_dagster.engagement import sql
from splants_dagster.engagement.events import EVENT_COLUMNS
from splants_dagster.warehouse.store import insert_frame


def at(day: int, hour: int, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC)


def event(key, platform, when, published, cumulative=False, ours=False, **counters) -> dict:
    row = {c: None for c in EVENT_COLUMNS}
    row.update(
        event_date=when.date(),
        observed_at=when,
        platform=platform,
        published_at=published,
        piece_id=key if ours else None,
        external_id=None if ours else key,
        source="test",
        is_demo=False,
        cumulative=cumulative,
        loaded_at=when,
        content_type="social_post",
    )
    row.update(counters)
    return row


EVENTS = [
    # C: an older external tweet, published 30 Oct (increments)
    event("twitter:c", "twitter", at(30, 10, 10), at(30, 9, 10), impressions=200, engagements=10, clicks=4),
    event("twitter:c", "twitter", at(31, 10, 10), at(30, 9, 10), impressions=100, engagements=5, clicks=1),
    # A: an external tweet published 1 Nov 10:00 (hourly increments)
    event("twitter:a", "twitter", at(1, 10), at(1, 10), impressions=100, engagements=5, clicks=2),
    event("twitter:a", "twitter", at(1, 11), at(1, 10), impressions=50, engagements=1, clicks=0),
    event("twitter:a", "twitter", at(2, 9), at(1, 10), impressions=30, engagements=3, clicks=1),
    # B: our blog post, running totals read from an API three times (two on the first day)
    event(
        "camp:blog:blog", "blog", at(1, 12), at(1, 8), True, True, impressions=200, engagements=10, bounces=80
    ),
    event(
        "camp:blog:blog",
        "blog",
        at(1, 18),
        at(1, 8),
        True,
        True,
        impressions=300,
        engagements=12,
        bounces=120,
    ),
    event(
        "camp:blog:blog",
        "blog",
        at(2, 12),
        at(1, 8),
        True,
        True,
        impressions=450,
        engagements=20,
        bounces=170,
    ),
]


@pytest.fixture
def metrics(store):
    with store.write() as conn:
        sql.session(conn)
        insert_frame(conn, "events.engagement_events", pd.DataFrame(EVENTS, dtype=object))
        written = sql.build_metrics(conn, dt.date(2026, 11, 1), dt.date(2026, 11, 2))
    assert written == 4
    rows = store.query("SELECT * FROM engagement_metrics ORDER BY piece_id, date")
    return {(r["piece_id"], r["date"].day): r for r in rows}


def test_increments_are_summed_per_day(metrics):
    a1, a2 = metrics[("twitter:a", 1)], metrics[("twitter:a", 2)]
    assert (a1["impressions"], a1["engagements"], a1["clicks"]) == (150, 6, 2)
    assert a1["engagement_rate"] == pytest.approx(6 / 150)
    assert a1["click_through"] == pytest.approx(2 / 150)
    assert a1["bounce_rate"] is None  # no bounces reported for social posts
    assert (a2["impressions"], a2["engagements"], a2["engagement_rate"]) == (30, 3, pytest.approx(0.1))
    assert (a1["age_days"], a2["age_days"]) == (0, 1)
    assert a1["external"] is True and a1["campaign_id"] is None


def test_running_totals_become_daily_deltas_from_the_last_snapshot_of_each_day(metrics):
    b1, b2 = metrics[("camp:blog:blog", 1)], metrics[("camp:blog:blog", 2)]
    assert (b1["impressions"], b1["engagements"], b1["bounces"]) == (300, 12, 120)
    assert (b2["impressions"], b2["engagements"], b2["bounces"]) == (150, 8, 50)
    assert b1["bounce_rate"] == pytest.approx(0.4)
    assert b2["bounce_rate"] == pytest.approx(50 / 150)
    assert b1["external"] is False


def test_totals_to_date(metrics):
    a2, b2 = metrics[("twitter:a", 2)], metrics[("camp:blog:blog", 2)]
    assert (a2["impressions_to_date"], a2["engagements_to_date"]) == (180, 9)
    assert a2["engagement_rate_to_date"] == pytest.approx(9 / 180)
    assert b2["impressions_to_date"] == 450 and b2["bounce_rate_to_date"] == pytest.approx(170 / 450)


def test_baselines_use_the_previous_28_days_of_the_platform_only(metrics):
    a1, a2 = metrics[("twitter:a", 1)], metrics[("twitter:a", 2)]
    # 1 Nov: only C's two days (15 engagements / 300 impressions); 2 Nov: C plus A's first day
    assert a1["baseline_engagement_rate"] == pytest.approx(15 / 300)
    assert a2["baseline_engagement_rate"] == pytest.approx((15 + 6) / (300 + 150))
    # impressions to date at the same age: C had 200 by age 0 and 300 by age 1
    assert a1["baseline_impressions"] == pytest.approx(200)
    assert a2["baseline_impressions"] == pytest.approx(300)
    b1, b2 = metrics[("camp:blog:blog", 1)], metrics[("camp:blog:blog", 2)]
    assert b1["baseline_engagement_rate"] is None  # no earlier blog data
    assert b2["baseline_bounce_rate"] == pytest.approx(120 / 300)


def test_simulated_rows_never_enter_a_real_posts_baselines(store):
    """Issue #16: demo history must not skew a real platform's baselines (nor the anomaly rules on them)."""
    demo = [
        {
            **event(
                f"twitter:demo{i}",
                "twitter",
                at(30, 10, 10),
                at(30, 9, 10),
                impressions=1000,
                engagements=900,
            ),
            "is_demo": True,
        }
        for i in range(3)
    ]
    rows = [*EVENTS, *demo]
    with store.write() as conn:
        sql.session(conn)
        insert_frame(conn, "events.engagement_events", pd.DataFrame(rows, dtype=object))
        sql.build_metrics(conn, dt.date(2026, 10, 30), dt.date(2026, 11, 2))
        monitored = {
            (r["piece_id"], r["date"].day): r
            for r in sql.monitor_rows(conn, dt.date(2026, 11, 1), dt.date(2026, 11, 2), 7, 1, 0.9)
        }
    metrics = {
        (r["piece_id"], r["date"].day): r
        for r in store.query("SELECT * FROM engagement_metrics WHERE month(date) = 11")
    }
    a1 = metrics[("twitter:a", 1)]
    # exactly as without the simulated posts: C's two real days only
    assert a1["baseline_engagement_rate"] == pytest.approx(15 / 300)
    assert a1["baseline_impressions"] == pytest.approx(200)
    assert monitored[("twitter:a", 1)]["sample_size"] == 2  # C's two real days, no simulated ones


def test_rebuilding_is_idempotent_and_a_day_equals_the_range(store, metrics):
    with store.write() as conn:
        sql.session(conn)
        sql.build_metrics(conn, dt.date(2026, 11, 2), dt.date(2026, 11, 2))
        sql.build_metrics(conn, dt.date(2026, 11, 1), dt.date(2026, 11, 1))
    again = {(r["piece_id"], r["date"].day): r for r in store.query("SELECT * FROM engagement_metrics")}
    assert again.keys() == metrics.keys()
    for key, row in metrics.items():
        for column in (
            "impressions",
            "engagements",
            "engagement_rate",
            "baseline_engagement_rate",
            "baseline_impressions",
            "impressions_to_date",
            "bounce_rate",
        ):
            assert again[key][column] == row[column], (key, column)


def test_monitor_rows_judge_totals_to_date(store, metrics):
    with store.read() as conn:
        rows = sql.monitor_rows(conn, dt.date(2026, 11, 2), dt.date(2026, 11, 2), 7, 1, 0.99)
    a2 = next(r for r in rows if r["piece_id"] == "twitter:a")
    assert a2["impressions"] == 180 and a2["engagement_rate"] == pytest.approx(0.05)


def test_a_run_reads_earlier_days_from_their_stored_metrics(store, metrics):
    """Incremental: once the days before a range have metrics, a run aggregates only its own days'
    events (the raw events of earlier days are not read again)."""
    with store.write() as conn:
        sql.session(conn)
        sql.build_metrics(conn, dt.date(2026, 10, 30), dt.date(2026, 11, 2))
        conn.execute("DELETE FROM events.engagement_events WHERE event_date < DATE '2026-11-02'")
        sql.build_metrics(conn, dt.date(2026, 11, 2), dt.date(2026, 11, 2))
    a2 = store.query(
        "SELECT * FROM engagement_metrics WHERE piece_id = 'twitter:a' AND date = DATE '2026-11-02'"
    )
    assert a2[0]["baseline_engagement_rate"] == pytest.approx((15 + 6) / (300 + 150))
    assert a2[0]["impressions_to_date"] == 180
