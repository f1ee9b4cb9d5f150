"""The insight tests on synthetic posts: a feature that truly helps is found with the right direction and
an interval excluding 0; a null feature and a small sample are not supported; demo posts make demo
insights only."""

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from splants_dagster.insights.analysis import MIN_GROUP, compute_insights, hodges_lehmann
from splants_dagster.insights.features import cta_position, feature_levels, question_level, time_slot

ASK = "Our compostable pods are here in three blends. Which blend would you brew first?"
TELL = "Our compostable pods are here in three blends. Order a box today."
NOW = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def posts(n: int, *, platform: str = "linkedin", effect: float = 2.0, seed: int = 3, demo: bool = False):
    """``n`` posts; those ending with a question get ``effect``× the relative engagement (log-normal
    noise); the hour is random (a null feature)."""
    rng = np.random.default_rng(seed)
    asks = np.arange(n) % 2 == 0
    return pd.DataFrame(
        {
            "piece_id": [f"{platform}:{'d' if demo else 'r'}{i}" for i in range(n)],
            "platform": platform,
            "text": [ASK if a else TELL for a in asks],
            "hour": rng.integers(0, 24, n).astype(float),
            "tone": "friendly",
            "content_type": "social_post",
            "target": np.where(asks, math.log(effect), 0.0) + rng.normal(0, 0.3, n),
            "history": 20,
            "is_demo": demo,
        }
    )


def by_key(insights):
    return {(i.platform, i.metric, i.feature, i.level, i.demo): i for i in insights}


def test_levels_of_a_post():
    assert question_level("Ready? Order now: https://x.test #Pods") == "question_inside"
    assert question_level("Order now. Which blend first? https://x.test #Pods") == "ends_with_question"
    assert question_level("Order now.") == "no_question"
    assert cta_position("Order now. Our pods compost at home and arrive in paper boxes.") == "start"
    assert cta_position("Our pods compost at home and arrive in paper boxes. Order now.") == "end"
    assert cta_position("Our pods compost at home.") == "none"
    assert [time_slot(h) for h in (7, 12, 15, 19, 23, 3)] == [
        "morning",
        "midday",
        "afternoon",
        "evening",
        "night",
        "night",
    ]
    levels = feature_levels(posts(6))
    assert set(levels["hashtags"]) == {"0"} and set(levels["emoji"]) == {"no_emoji"}


def test_a_feature_that_doubles_engagement_is_a_supported_insight():
    found = by_key(compute_insights(posts(40), "Bean Co", now=NOW))
    ends = found[("linkedin", "engagement", "question", "ends_with_question", False)]
    assert ends.supported and ends.direction == "higher"
    assert ends.ci_low > 0 and ends.multiplier_low > 1
    assert ends.multiplier == pytest.approx(2.0, rel=0.25)
    assert (ends.n_with, ends.n_without) == (20, 20)
    assert ends.sentence.startswith("On LinkedIn, posts ending with a question got ")
    assert "95% CI" in ends.sentence and "n=20 vs 20" in ends.sentence
    assert ends.insight_id == "linkedin:engagement:question=ends_with_question" and not ends.demo
    assert ends.brand == "Bean Co" and ends.computed_at == NOW


def test_a_null_feature_is_not_supported():
    found = compute_insights(posts(40), "Bean Co", now=NOW)
    slots = [i for i in found if i.feature == "time_slot"]
    assert slots and not any(i.supported for i in slots)
    null = compute_insights(posts(40, effect=1.0), "Bean Co", now=NOW)
    assert not any(i.supported for i in null)


def test_a_small_sample_is_not_supported_however_large_the_effect():
    found = by_key(compute_insights(posts(2 * (MIN_GROUP - 1), effect=4.0), "Bean Co", now=NOW))
    ends = found[("linkedin", "engagement", "question", "ends_with_question", False)]
    assert ends.n_with == MIN_GROUP - 1 and ends.ci_low > 0
    assert not ends.supported


def test_posts_without_enough_baseline_history_are_left_out():
    frame = posts(40)
    frame.loc[:9, "history"] = 2
    found = by_key(compute_insights(frame, "Bean Co", now=NOW))
    ends = found[("linkedin", "engagement", "question", "ends_with_question", False)]
    assert ends.n_with + ends.n_without == 30


def test_demo_posts_make_demo_insights_only():
    frame = pd.concat([posts(40), posts(40, effect=1.0, demo=True, seed=5)], ignore_index=True)
    found = by_key(compute_insights(frame, "Bean Co", now=NOW))
    real = found[("linkedin", "engagement", "question", "ends_with_question", False)]
    demo = found[("linkedin", "engagement", "question", "ends_with_question", True)]
    assert real.supported and (real.n_with, real.n_without) == (20, 20)
    assert demo.insight_id.startswith("demo:") and not demo.supported


def test_conversion_insights_from_conversions_per_click():
    frame = posts(40, effect=1.0)
    rate = np.where(frame["text"] == ASK, 0.06, 0.02) + np.random.default_rng(1).normal(0, 0.005, 40)
    conversions = pd.DataFrame({"piece_id": frame["piece_id"], "conversion_rate": rate, "is_demo": False})
    found = by_key(compute_insights(frame, "Bean Co", conversions=conversions, now=NOW))
    ends = found[("linkedin", "conversion", "question", "ends_with_question", False)]
    assert ends.supported and ends.effect == pytest.approx(0.04, abs=0.01) and ends.multiplier is None
    assert "per 100 clicks" in ends.sentence


def test_hodges_lehmann_interval_brackets_a_known_shift():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 1.0, 200), rng.normal(0.0, 1.0, 200)
    shift = hodges_lehmann(a, b)
    assert shift.low < 1.0 < shift.high and shift.low > 0.5 and shift.p_value < 1e-6
    assert hodges_lehmann(a, b) == shift  # deterministic
