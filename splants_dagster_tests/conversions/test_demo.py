"""The demo's simulated conversions: built from the demo's own UTM links, imported as demo rows, shown as
demo goal progress; a window that has not started gets a labelled illustration instead."""

import datetime as dt

from splants_dagster.conversions.demo import projection_lines, write_demo_conversions
from splants_dagster.conversions.goals import goal_of
from splants_dagster.conversions.imports import conversions_inbox
from splants_dagster_tests.conversions.test_import import CAMPAIGN, run_import, seed


def test_demo_conversions_come_from_the_pieces_links_and_stay_demo(store, paths):
    now = dt.datetime.now(dt.UTC)
    seed(store, now.date() - dt.timedelta(days=9), demo=True)
    inbox = conversions_inbox(paths.root)
    written, goals = write_demo_conversions(store, inbox, [CAMPAIGN], now)
    assert written == inbox / "demo" / "demo_conversions.csv"
    assert [g.metric for g in goals] == ["orders"]
    text = written.read_text()
    assert (
        "utm_medium=social&utm_campaign=compostable-pods-launch&utm_content=compostable-pods-launch%3A"
        in text
    )
    run_import(store, inbox, preset="generic")
    rows = store.query("SELECT DISTINCT attribution, is_demo FROM analytics.conversions")
    assert rows == [{"attribution": "piece", "is_demo": True}]
    progress = store.query("SELECT actual, days_elapsed, is_demo, status FROM analytics.goal_progress")[0]
    assert progress["actual"] > 0 and progress["days_elapsed"] == 10 and progress["is_demo"] is True


def test_no_rows_before_the_window_and_an_illustration_instead(store, paths):
    now = dt.datetime.now(dt.UTC)
    start = now.date() + dt.timedelta(days=5)
    brief = seed(store, start, demo=True)
    written, goals = write_demo_conversions(store, conversions_inbox(paths.root), [CAMPAIGN], now)
    assert written is None and len(goals) == 1
    [line] = projection_lines(goal_of(brief), 0.2)
    assert line == (
        f"[demo] illustration for {CAMPAIGN}: on day 14 of 28 with 175 orders (target 500): pace 0.70, "
        f"forecast 350 by {start + dt.timedelta(days=27)}; the goal_pace_sensor would alert once (margin 0.2)"
    )
