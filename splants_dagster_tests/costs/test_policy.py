"""The budget policy as pure functions: status and forecast from synthetic ledgers, strategy per threshold,
caps, overrides, economy measures, alert thresholds and batch routing."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from splants_dagster.campaigns.briefs import find_brief
from splants_dagster.costs.config import BudgetConfig, BudgetConfigError, env_overrides, load_budget_config
from splants_dagster.costs.policy import (
    TIERS,
    CampaignSpend,
    capped_brief,
    compute_status,
    crossed_thresholds,
    decide,
    route_batch,
    tier_for,
    with_recorded,
)
from splants_dagster.paths import PROJECT_ROOT

NOW = dt.datetime(2026, 11, 10, 12, 0, tzinfo=dt.UTC)  # 20.5 days left in November


def ledger(per_day: float, first: int = 1, last: int = 10) -> dict[dt.date, float]:
    return {dt.date(2026, 11, d): per_day for d in range(first, last + 1)}


def config(**kw) -> BudgetConfig:
    return BudgetConfig(**({"monthly_budget_usd": 100.0} | kw))


def test_status_rate_and_forecast_from_daily_spend():
    daily = ledger(1.0) | {dt.date(2026, 10, 31): 50.0, dt.date(2026, 11, 11): 9.0}  # other days ignored
    s = compute_status(daily, NOW, 100.0, window_days=7)
    assert s.spent_usd == 10.0 and s.today_usd == 1.0 and s.month == "2026-11"
    # window: Nov 4 00:00 .. Nov 10 12:00 = 6.5 days holding 7 days' spend
    assert s.rate_usd_per_day == pytest.approx(7 / 6.5)
    assert s.days_left_in_month == pytest.approx(20.5)
    assert s.forecast_usd == pytest.approx(10 + 7 / 6.5 * 20.5)
    assert s.remaining_pct == pytest.approx(90.0)
    assert s.days_until_exhausted == pytest.approx(90 / (7 / 6.5))
    assert not s.forecast_over and not s.exhausted


def test_early_in_the_month_the_rate_is_spread_over_at_least_a_day():
    first_hour = dt.datetime(2026, 11, 1, 1, 0, tzinfo=dt.UTC)
    s = compute_status({dt.date(2026, 11, 1): 5.0}, first_hour, 100.0)
    assert s.rate_usd_per_day == 5.0  # not 5 $ per hour × 24


@pytest.mark.parametrize(
    ("spent", "strategy"),
    [
        (0, "quality"),
        (50, "quality"),
        (50.01, "balanced"),
        (80, "balanced"),
        (80.01, "economy"),
        (99.9, "economy"),
    ],
)
def test_strategy_per_threshold(spent, strategy):
    # all spend on the first day: a low rate, so the forecast stays within budget up to ~85%
    s = compute_status({dt.date(2026, 11, 1): spent}, dt.datetime(2026, 11, 29, tzinfo=dt.UTC), 100.0)
    d = decide(s, config(), "balanced")
    assert d.strategy == strategy, d.reason
    assert d.source == "budget" and not d.exhausted
    assert f"{s.remaining_pct:.1f}% of the $100.00 monthly budget left" in d.reason


def test_forecast_over_budget_steps_down_one_tier_and_pauses_noncritical():
    s = compute_status(ledger(6.0), NOW, 100.0)  # 60 spent (40% left), 6/day → forecast ~183
    assert s.forecast_over
    d = decide(s, config(), "balanced")
    assert d.strategy == "economy" and d.pause_noncritical
    assert "forecast $" in d.reason and "one tier down from balanced" in d.reason
    calm = decide(compute_status(ledger(1.0), NOW, 100.0), config(), "balanced")
    assert calm.strategy == "quality" and not calm.pause_noncritical


def test_at_100_percent_generation_stops_whatever_the_override():
    s = compute_status(ledger(10.0), NOW, 100.0)  # 100 spent
    d = decide(s, config(strategy="quality"), "balanced")
    assert d.exhausted and d.pause_noncritical and d.spend_limit_usd == 0
    assert "monthly LLM budget exhausted: $100.00 of $100.00" in d.stop_message
    assert d.stop_message.startswith("Generation stopped, nothing was written")


def test_economy_caps_long_pieces_and_uses_templates_only_near_the_end():
    late = dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)
    economy = decide(compute_status({dt.date(2026, 11, 1): 85.0}, late, 100.0), config(), "balanced")
    assert economy.strategy == "economy" and economy.max_words_cap == 800 and not economy.templates_only
    assert "long pieces capped at 800 words" in economy.reason
    nearly = decide(compute_status({dt.date(2026, 11, 1): 96.0}, late, 100.0), config(), "balanced")
    assert nearly.templates_only and "template writer only from 95% spent" in nearly.reason
    quality = decide(compute_status({}, late, 100.0), config(), "balanced")
    assert quality.max_words_cap is None and not quality.templates_only


def test_no_budget_unlimited_and_manual_override():
    off = decide(None, BudgetConfig(), "balanced")
    assert (off.strategy, off.source) == ("balanced", "default") and "cost control off" in off.reason
    unlimited = decide(compute_status(ledger(50.0), NOW, 0.0), BudgetConfig(monthly_budget_usd=0), "balanced")
    assert (unlimited.strategy, unlimited.source) == ("quality", "unlimited")
    assert (
        crossed_thresholds(compute_status(ledger(50.0), NOW, 0.0), BudgetConfig(monthly_budget_usd=0)) == []
    )
    s = compute_status(ledger(1.0), NOW, 100.0)
    forced = decide(s, config(strategy="economy"), "balanced")
    assert forced.strategy == "economy" and forced.source == "override"
    assert "manual override SPLANTS_STRATEGY=economy (the budget policy says quality" in forced.reason


def test_campaign_cap_applies_the_same_tiers_and_can_stop_one_campaign():
    s = compute_status(ledger(1.0), NOW, 100.0)
    capped = decide(s, config(), "balanced", CampaignSpend("spring", 4.5, 5.0))
    assert capped.strategy == "economy" and capped.source == "campaign_cap"
    assert "campaign spring has 10.0% of its $5.00 cap left" in capped.reason
    assert capped.spend_limit_usd == pytest.approx(0.5)
    stopped = decide(s, config(), "balanced", CampaignSpend("spring", 5.0, 5.0))
    assert stopped.exhausted and "reached its $5.00 cap" in stopped.reason
    roomy = decide(s, config(), "balanced", CampaignSpend("spring", 1.0, 5.0))
    assert roomy.strategy == "quality" and roomy.source == "budget"
    # a cap without a monthly budget
    alone = decide(None, BudgetConfig(), "quality", CampaignSpend("spring", 3.0, 5.0))
    assert alone.strategy == "balanced"


def test_thresholds_crossed_and_forecast():
    assert crossed_thresholds(compute_status(ledger(1.0), NOW, 100.0), config()) == []
    assert crossed_thresholds(compute_status(ledger(5.5), NOW, 100.0), config()) == ["50", "forecast"]
    late = dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)
    assert crossed_thresholds(compute_status({dt.date(2026, 11, 1): 96.0}, late, 100.0), config()) == [
        "50",
        "80",
        "95",
    ]


def test_recorded_strategy_only_makes_generation_more_frugal():
    s = compute_status(ledger(1.0), NOW, 100.0)
    live = decide(s, config(), "balanced")
    recorded = {
        "month": "2026-11",
        "budget_usd": 100.0,
        "strategy": "economy",
        "reason": "sensor said so",
        "as_of": NOW,
    }
    frugal = with_recorded(live, recorded, s, config())
    assert frugal.strategy == "economy" and frugal.reason.startswith(
        "sensor said so (recorded by budget_status"
    )
    assert frugal.max_words_cap == 800
    assert with_recorded(live, recorded | {"budget_usd": 200.0}, s, config()) == live  # budget changed
    assert with_recorded(live, recorded | {"strategy": "quality"}, s, config()) == live


def test_batch_routing():
    s = compute_status({}, NOW, 100.0)
    economy = decide(s, config(strategy="economy"), "balanced")
    today = NOW.date()
    kw = {"provider": "openai", "today": today}
    later = route_batch(economy, config(), start_date=today + dt.timedelta(days=12), **kw)
    assert later.batch and "starts in 12 days (≥ 2): OpenAI Batch API at 50% of the price" in later.reason
    assert not route_batch(economy, config(), start_date=today + dt.timedelta(days=1), **kw).batch
    quality = decide(s, config(), "balanced")
    assert not route_batch(quality, config(), start_date=today + dt.timedelta(days=12), **kw).batch
    compat = route_batch(
        economy, config(), start_date=today + dt.timedelta(days=12), provider="ollama", today=today
    )
    assert not compat.batch and "no batch API" in compat.reason
    off = config(strategy="economy", batch={"enabled": False})
    assert not route_batch(economy, off, start_date=today + dt.timedelta(days=12), **kw).batch


def test_capped_brief_shortens_only_long_types():
    _, brief, _ = find_brief(PROJECT_ROOT / "data" / "campaigns", "compostable-pods-launch")
    capped = capped_brief(brief, 800)
    assert capped.word_targets()["blog"] == (533, 800)
    assert capped.word_targets()["email"] == brief.word_targets()["email"]
    assert capped_brief(brief, None) is brief


def test_config_file_and_environment(tmp_path):
    path = tmp_path / "budget.yaml"
    path.write_text("monthly_budget_usd: 25\ncampaign_caps_usd: {spring: 5}\nbatch: {min_lead_days: 3}\n")
    env = env_overrides(
        {"SPLANTS_MONTHLY_BUDGET_USD": "40", "SPLANTS_STRATEGY": "economy", "SPLANTS_LLM_BATCH": "0"}
    )
    cfg = load_budget_config(path, env)
    assert cfg.monthly_budget_usd == 40 and cfg.strategy == "economy" and not cfg.batch.enabled
    assert (
        cfg.batch.min_lead_days == 3 and cfg.campaign_cap("spring") == 5 and cfg.campaign_cap("other") is None
    )
    assert load_budget_config(tmp_path / "missing.yaml").monthly_budget_usd is None
    path.write_text("monthly_budget_usd: -3\nstrategy: luxury\n")
    with pytest.raises(BudgetConfigError, match="strategy: Value error, must be one of economy"):
        load_budget_config(path)
    with pytest.raises(BudgetConfigError, match="SPLANTS_MONTHLY_BUDGET_USD='fifty': must be a number of US"):
        env_overrides({"SPLANTS_MONTHLY_BUDGET_USD": "fifty"})


@given(spent=st.floats(0, 99.99), more=st.floats(0, 99.99))
def test_more_spend_never_means_a_costlier_tier(spent, more):
    low, high = sorted((spent, more))
    assert TIERS.index(tier_for(100 - high, config())) <= TIERS.index(tier_for(100 - low, config()))
