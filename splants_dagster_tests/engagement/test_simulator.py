"""The demo simulator: deterministic, labelled as demo data, and carrying the signal it promises."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from splants_dagster.engagement.simulator import Simulator

START, END = dt.date(2026, 6, 1), dt.date(2026, 8, 29)
UNTIL = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def history():
    return Simulator(seed=7).simulate(START, END, UNTIL, UNTIL)


def test_same_seed_same_rows_and_any_range_split_agrees(history):
    events, posts = history
    again, again_posts = Simulator(seed=7).simulate(START, END, UNTIL, UNTIL)
    pd.testing.assert_frame_equal(events, again)
    assert posts == again_posts
    day = dt.date(2026, 7, 15)
    single, _ = Simulator(seed=7).simulate(day, day, UNTIL, UNTIL)
    part = events[events.event_date == pd.Timestamp(day)].reset_index(drop=True)
    pd.testing.assert_frame_equal(single.reset_index(drop=True), part)
    other, _ = Simulator(seed=8).simulate(day, day, UNTIL, UNTIL)
    assert not other["impressions"].equals(single["impressions"])


def test_everything_is_labelled_demo(history):
    events, posts = history
    assert events["is_demo"].all() and (events["source"] == "simulator").all()
    assert events["piece_id"].isna().all() and events["external_id"].str.contains(":demo-").all()
    assert all(p["is_demo"] and p["source"] == "simulator" and p["external"] for p in posts)
    assert not events["cumulative"].any()
    assert events["event_date"].min() >= pd.Timestamp(START) and events["event_date"].max() <= pd.Timestamp(
        END
    )


def test_nothing_is_observed_after_until():
    until = dt.datetime(2026, 7, 15, 12, tzinfo=dt.UTC)
    events, posts = Simulator(seed=7).simulate(dt.date(2026, 7, 10), dt.date(2026, 7, 15), until, until)
    assert events["observed_at"].max() <= pd.Timestamp(until)
    assert all(p["published_at"] <= until for p in posts)


def _per_post(events: pd.DataFrame, posts: list[dict]) -> pd.DataFrame:
    totals = events.groupby("external_id")[["impressions", "engagements"]].sum()
    meta = pd.DataFrame(posts).set_index("piece_id")
    frame = meta.join(totals, how="inner")
    frame["rate"] = frame["engagements"] / frame["impressions"]
    frame["hour"] = [t.hour for t in frame["published_at"]]
    frame["weekday"] = [t.weekday() for t in frame["published_at"]]
    return frame[frame["injected_anomaly"].isna()]


def test_platforms_and_content_differ_and_time_matters():
    events, posts = Simulator(seed=11).simulate(dt.date(2025, 1, 1), dt.date(2025, 12, 31), UNTIL, UNTIL)
    frame = _per_post(events, posts)
    by_platform = frame.groupby("platform")["rate"].median()
    assert by_platform["email"] > 0.2 > by_platform["twitter"]  # opens vs social interactions
    linkedin = frame[frame.platform == "linkedin"]
    weekday = linkedin[linkedin.weekday < 5]["impressions"].median()
    weekend = linkedin[linkedin.weekday >= 5]["impressions"].median()
    assert weekday > 1.2 * weekend
    twitter = frame[frame.platform == "twitter"]
    peak = twitter[twitter.hour.isin([11, 12, 13])]["impressions"].median()
    night = twitter[twitter.hour.isin([5, 22, 23])]["impressions"].median()
    assert peak > 1.2 * night
    social = frame[frame.platform.isin(["twitter", "facebook", "instagram", "linkedin"])]
    assert social[social.has_question]["rate"].median() > social[~social.has_question]["rate"].median()
    assert set(frame.content_type) >= {"social_post", "ad_copy", "blog", "email"}
    injected = [p["injected_anomaly"] for p in posts if p["injected_anomaly"]]
    assert len(injected) >= 10 and {"low_views", "low_engagement"} <= set(injected)


def test_our_dry_run_pieces_are_simulated_as_ours():
    published = dt.datetime(2026, 8, 20, 9, tzinfo=dt.UTC)
    piece = {
        "piece_id": "camp:twitter:social_post",
        "platform": "twitter",
        "content_type": "social_post",
        "published_at": published,
        "text": "What would you brew first? Pre-order now #coffee",
    }
    events, posts = Simulator(seed=7).simulate(
        dt.date(2026, 8, 20), dt.date(2026, 8, 22), UNTIL, UNTIL, [piece]
    )
    ours = events[events.piece_id == "camp:twitter:social_post"]
    assert len(ours) > 10 and ours["external_id"].isna().all() and ours["is_demo"].all()
    (mine,) = [p for p in posts if p["piece_id"] == "camp:twitter:social_post"]
    assert (
        mine["external"] is False and mine["has_question"] and mine["has_cta"] and mine["hashtag_count"] == 1
    )
