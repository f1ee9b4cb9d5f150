"""Anomaly rules, the robust z-score, highlights and the A/B significance test."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from splants_dagster.engagement import abtest
from splants_dagster.engagement.rules import (
    RuleConfig,
    detect,
    evaluate,
    is_highlight,
    median_mad,
    robust_z,
)

DAY = dt.date(2026, 11, 20)


def row(**kw) -> dict:
    base = {
        "date": DAY,
        "piece_id": "p",
        "platform": "twitter",
        "age_days": 1,
        "impressions": 1000,
        "engagement_rate": 0.05,
        "bounce_rate": None,
        "baseline_impressions": 1000.0,
        "baseline_engagement_rate": 0.05,
        "baseline_bounce_rate": None,
        "median_log_rate": math.log(0.05),
        "mad_log_rate": 0.2,
        "top_rate": 0.12,
        "sample_size": 100,
        "external": False,
        "campaign_id": "c",
    }
    base.update(kw)
    return base


def rules_of(r: dict, cfg: RuleConfig = RuleConfig()) -> list[str]:
    return [d.rule for d in detect(r, cfg)]


def test_a_normal_piece_breaks_no_rule():
    assert rules_of(row()) == []


def test_low_views_below_half_the_baseline():
    (found,) = detect(row(impressions=400))
    assert (found.rule, found.value, found.baseline, found.threshold) == ("low_views", 400.0, 1000.0, 500.0)
    assert found.severity == "warning"
    assert detect(row(impressions=200))[0].severity == "critical"  # below a quarter
    assert rules_of(row(impressions=500)) == []  # exactly half is not below half


def test_low_views_waits_for_the_first_full_day():
    assert rules_of(row(impressions=100, age_days=0, engagement_rate=0.05)) == []
    assert rules_of(row(impressions=400, age_days=None)) == ["low_views"]  # unknown age: judged on the day


def test_low_engagement_below_30_percent_of_baseline():
    found = detect(row(engagement_rate=0.012, baseline_engagement_rate=0.05, median_log_rate=None))
    assert [d.rule for d in found] == ["low_engagement", "low_engagement_rate"]
    low = found[0]
    assert low.value == pytest.approx(0.012) and low.baseline == pytest.approx(0.05)
    assert low.threshold == pytest.approx(0.015)


def test_engagement_rate_below_two_percent_is_an_anomaly_on_its_own():
    found = detect(row(engagement_rate=0.018, baseline_engagement_rate=0.03, median_log_rate=None))
    assert [d.rule for d in found] == ["low_engagement_rate"]
    assert found[0].threshold == 0.02 and found[0].baseline is None


def test_high_bounce_above_150_percent_of_baseline():
    found = detect(row(platform="blog", bounce_rate=0.7, baseline_bounce_rate=0.42))
    assert [d.rule for d in found] == ["high_bounce"]
    assert found[0].value == pytest.approx(0.7) and found[0].threshold == pytest.approx(0.63)
    assert rules_of(row(platform="blog", bounce_rate=0.6, baseline_bounce_rate=0.42)) == []


def test_robust_z_rule_uses_median_and_mad_of_log_rates():
    # log(0.025) is 0.69 below log(0.05); with MAD 0.1 that is z = 0.6745 * -0.693 / 0.1 = -4.7
    found = detect(row(engagement_rate=0.025, mad_log_rate=0.1))
    assert [d.rule for d in found] == ["robust_z"]
    assert found[0].score == pytest.approx(0.6745 * math.log(0.5) / 0.1)
    assert found[0].baseline == pytest.approx(0.05)
    assert rules_of(row(engagement_rate=0.025, mad_log_rate=0.1, sample_size=5)) == []  # too few to judge


def test_rate_rules_need_volume_and_freshness():
    assert rules_of(row(impressions=50, engagement_rate=0.001, baseline_impressions=60.0)) == []
    assert rules_of(row(age_days=7, impressions=10, engagement_rate=0.001)) == []


def test_robust_z_and_median_mad():
    center, mad = median_mad([1.0, 2.0, 3.0, 4.0, 100.0])
    assert (center, mad) == (3.0, 1.0)
    assert robust_z(100.0, center, mad) == pytest.approx(0.6745 * 97)
    assert robust_z(1.0, 1.0, 0.0) is None


def test_highlight_at_the_top_percentile():
    assert is_highlight(row(engagement_rate=0.12))
    assert not is_highlight(row(engagement_rate=0.119))
    assert not is_highlight(row(engagement_rate=0.2, impressions=20))
    assert not is_highlight(row(engagement_rate=0.2, sample_size=3))


def test_evaluate_records_each_rule_once_per_piece_on_the_first_day():
    rows = [
        row(date=DAY + dt.timedelta(days=i), age_days=1 + i, impressions=300, engagement_rate=0.2)
        for i in range(3)
    ]
    anomalies, highlights = evaluate(rows, RuleConfig(), "now")
    assert [(a["rule"], a["date"]) for a in anomalies] == [("low_views", DAY)]
    assert [h["date"] for h in highlights] == [DAY]
    again, _ = evaluate(list(reversed(rows)), RuleConfig(), "now")
    assert again[0]["anomaly_id"] == anomalies[0]["anomaly_id"] and again[0]["date"] == DAY


# -------------------------------------------------------------------------------------------------- A/B


def arm(rate: float, n: int, rng: random.Random) -> int:
    return sum(1 for _ in range(n) if rng.random() < rate)


def pair(variant: str, x_c, n_c, x_v, n_v, control: str = "ctl") -> dict:
    return {
        "variant_of": control,
        "variant_piece_id": variant,
        "dimension": "hook",
        "campaign_id": "c",
        "n_control": n_c,
        "x_control": x_c,
        "n_variant": n_v,
        "x_variant": x_v,
    }


def test_two_proportion_z_agrees_with_scipys_chi_square():
    from scipy.stats import chi2_contingency

    z, p = abtest.two_proportion_z(200, 2000, 260, 2000)
    # 10 % vs 13 %, pooled 11.5 %: z = 0.03 / sqrt(0.115 * 0.885 * 2 / 2000)
    assert z == pytest.approx(0.03 / math.sqrt(0.115 * 0.885 * 2 / 2000))
    chi2, p_chi2, _, _ = chi2_contingency([[200, 1800], [260, 1740]], correction=False)
    assert z**2 == pytest.approx(chi2) and p == pytest.approx(p_chi2)


@pytest.mark.parametrize("seed", range(5))
def test_ab_picks_the_true_winner_on_synthetic_data(seed):
    rng = random.Random(seed)
    n = 6000
    # control 4 %, variant A 4 % (no real difference), variant B 5.5 % (the true winner)
    results = abtest.decide(
        [
            pair("A", arm(0.04, n, rng), n, arm(0.04, n, rng), n),
            pair("B", arm(0.04, n, rng), n, arm(0.055, n, rng), n),
        ]
    )
    by_variant = {r["variant_piece_id"]: r for r in results}
    assert by_variant["B"]["winner_piece_id"] == "B" and by_variant["B"]["decision"] == "variant_wins"
    assert by_variant["B"]["lift"] > 0.15
    assert by_variant["A"]["winner_piece_id"] is None
    assert by_variant["A"]["alpha"] == pytest.approx(0.025)  # Bonferroni over two variants


def test_ab_control_can_win_and_small_samples_decide_nothing():
    (control_wins,) = abtest.decide([pair("V", 300, 5000, 180, 5000)])
    assert control_wins["decision"] == "control_wins" and control_wins["winner_piece_id"] == "ctl"
    assert control_wins["design"] == "fixed_horizon" and control_wins["horizon_reached_by"] == "sample_size"
    # before the planned sample (and with no test window known) nothing is decided and no p-value shown
    (small,) = abtest.decide([pair("V", 3, 100, 9, 100)])
    assert small["decision"] == "running" and small["p_value"] is None and small["decided_at"] is None
    (missing,) = abtest.decide([pair("V", None, None, 9, 1000)])
    assert missing["decision"] == "running" and missing["winner_piece_id"] is None


NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)


def windowed(name, x_c, n_c, x_v, n_v, started):
    return {**pair(name, x_c, n_c, x_v, n_v), "first_date_control": started, "first_date_variant": started}


def test_ab_window_end_decides_on_what_it_has():
    started = NOW.date() - dt.timedelta(days=14)
    (ended,) = abtest.decide([windowed("V", 20, 300, 45, 300, started)], decided_at=NOW)
    assert ended["horizon_reached_by"] == "window_end" and ended["decided_at"] == NOW
    assert ended["decision"] == "variant_wins" and ended["p_value"] < 0.05
    (thin,) = abtest.decide([windowed("V", 2, 40, 3, 40, started)], decided_at=NOW)
    assert thin["decision"] == "insufficient_data" and thin["horizon_reached_by"] == "window_end"
    (young,) = abtest.decide(
        [windowed("V", 20, 300, 45, 300, started + dt.timedelta(days=1))], decided_at=NOW
    )
    assert young["decision"] == "running" and young["p_value"] is None


def test_ab_decision_is_recorded_once_and_never_re_decided():
    """Peeking guard: once decided at the horizon, later data (here: the variant's lead vanishing)
    does not change the recorded decision, its evidence or its time."""
    (first,) = abtest.decide([pair("V", 200, 5000, 300, 5000)], decided_at=NOW)
    assert first["decision"] == "variant_wins"
    later = NOW + dt.timedelta(days=3)
    recorded = {("ctl", "V"): first}
    (again,) = abtest.decide([pair("V", 600, 15000, 610, 15000)], decided_at=later, recorded=recorded)
    assert again == first


def test_repeated_looks_keep_the_false_positive_rate_near_alpha():
    """A/A tests (no true difference), looked at every 500 impressions: deciding at every look would
    find a "winner" far more often than α; the fixed horizon decides once, so about α of them."""
    rng = random.Random(7)
    cfg = abtest.ABConfig(alpha=0.05, min_impressions=4000)
    peeking_wins = fixed_wins = 0
    trials = 300
    for _ in range(trials):
        x_c = x_v = n = 0
        recorded: dict = {}
        peeked = False
        while n < 4000:
            n += 500
            x_c += arm(0.05, 500, rng)
            x_v += arm(0.05, 500, rng)
            if n >= 1000:
                _z, p = abtest.two_proportion_z(x_c, n, x_v, n)
                peeked = peeked or p < 0.05
            (row,) = abtest.decide([pair("V", x_c, n, x_v, n)], cfg, NOW, recorded)
            if row["decided_at"] is not None:
                recorded = {("ctl", "V"): row}
        peeking_wins += peeked
        fixed_wins += row["winner_piece_id"] is not None
    assert fixed_wins / trials < 0.09
    assert peeking_wins > 1.5 * fixed_wins
