"""The budgeted paths on the first run of a month (issue #14 item 3): with ``SPLANTS_MONTHLY_BUDGET_USD=50``
and nothing spent yet, every generation step and the cost assets materialize, and their budget metadata is
typed (floats, even for a spend of zero). Real DuckDB, real Dagster instance, the offline writer."""

from __future__ import annotations

import decimal

import dagster as dg
import numpy as np
import pytest

from splants_dagster.costs.policy import compute_status
from splants_dagster.definitions import build_all_resources
from splants_dagster.defs.costs.assets import budget_status, cost_breakdown
from splants_dagster.defs.metadata import as_float, as_int
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, materialize_campaign

STEPS = ["campaign_brief", "research_brief", "content_suite", "qa_report"]
BUDGET_KEYS = ("budget_usd", "budget_spent_usd", "budget_remaining_pct", "budget_forecast_usd")


def _float_value(meta, key):
    value = meta[key]
    assert isinstance(value, dg.FloatMetadataValue), (key, value)
    return value.value


@pytest.fixture
def budgeted(monkeypatch, data_dir):
    monkeypatch.setenv("SPLANTS_MONTHLY_BUDGET_USD", "50")
    return build_all_resources(data_dir)


def test_first_run_of_the_month_with_a_budget(instance, budgeted, store):
    assert budgeted["budget"].config().monthly_budget_usd == 50.0
    result = materialize_campaign(instance, budgeted, DEMO_CAMPAIGN, selection=STEPS)
    assert result.success
    for step in ("research_brief", "content_suite"):
        meta = result.asset_materializations_for_node(step)[0].metadata
        assert _float_value(meta, "budget_usd") == 50.0
        assert _float_value(meta, "budget_spent_usd") == 0.0  # was the int 0: the step failed
        assert _float_value(meta, "budget_remaining_pct") == 100.0
        assert _float_value(meta, "budget_forecast_usd") == 0.0
    pieces = store.query(
        "SELECT * FROM analytics.content WHERE campaign_id = ? AND variant_of IS NULL", [DEMO_CAMPAIGN]
    )
    assert pieces and {p["generation_strategy"] for p in pieces} == {"quality"}


def test_campaign_cap_on_an_empty_ledger(instance, budgeted, data_dir):
    (data_dir / "budget.yaml").write_text(f"campaign_caps_usd: {{{DEMO_CAMPAIGN}: 5}}\n")
    result = materialize_campaign(instance, budgeted, DEMO_CAMPAIGN, selection=STEPS[:2])
    assert result.success
    meta = result.asset_materializations_for_node("research_brief")[0].metadata
    assert _float_value(meta, "campaign_cap_usd") == 5.0
    assert _float_value(meta, "campaign_spent_usd") == 0.0


def test_cost_assets_with_a_budget_and_no_spend(instance, budgeted):
    result = dg.materialize([budget_status, cost_breakdown], resources=budgeted, instance=instance)
    assert result.success
    status = result.asset_materializations_for_node("budget_status")[0].metadata
    assert _float_value(status, "spent_usd") == 0.0
    assert _float_value(status, "budget_usd") == 50.0
    breakdown = result.asset_materializations_for_node("cost_breakdown")[0].metadata
    assert _float_value(breakdown, "total_cost_usd") == 0.0


def test_budget_status_is_float_with_nothing_spent():
    import datetime as dt

    status = compute_status({}, dt.datetime(2026, 12, 1, tzinfo=dt.UTC), 50.0)
    for value in (status.spent_usd, status.today_usd, status.rate_usd_per_day, status.forecast_usd):
        assert type(value) is float


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(0, 0.0), (3, 3.0), (decimal.Decimal("1.25"), 1.25), (np.int64(2), 2.0), (np.float32(0.5), 0.5)],
)
def test_as_float_accepts_what_sums_return(raw, expected):
    value = as_float(raw)
    assert isinstance(value, dg.FloatMetadataValue) and value.value == expected and type(value.value) is float


def test_as_float_and_as_int_nulls_and_whole_numbers():
    assert isinstance(as_float(None), dg.NullMetadataValue)
    assert isinstance(as_float(float("nan")), dg.NullMetadataValue)
    assert as_float(1 / 3, 2).value == 0.33
    assert as_int(np.int64(7)).value == 7 and type(as_int(np.int64(7)).value) is int
    assert as_int(4.0).value == 4
    assert isinstance(as_int(None), dg.NullMetadataValue)
    with pytest.raises(ValueError, match="not a whole number"):
        as_int(2.5)
