"""The step budget as pure code (no Dagster run): the decision read from the ledger, ``BudgetExceeded`` at
100% spent, and the ``budget`` resource turning it into a step failure with the same message and the
budget figures as metadata."""

import datetime as dt

import dagster as dg
import pytest

from splants_dagster.costs.step_budget import BudgetExceeded, step_budget
from splants_dagster.defs.costs.resources import BudgetResource
from splants_dagster.defs.resources import LLMResource
from splants_dagster_tests.costs.conftest import spend

NOW = dt.datetime(2026, 11, 10, 12, 0, tzinfo=dt.UTC)
EARLIER = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
STOP = "Generation stopped, nothing was written: monthly LLM budget exhausted: $10.00 of $10.00"


def test_without_a_budget_the_ledger_is_not_read(data_dir):
    config = BudgetResource(data_dir=str(data_dir)).config()
    sb = step_budget(config, None, "quality", "any-campaign", NOW)  # type: ignore[arg-type]
    assert sb.decision.strategy == "quality" and sb.status is None and sb.campaign is None
    sb.stop_if_exhausted()


def test_spent_budget_raises_budget_exceeded_and_the_resource_fails_the_step(data_dir, store):
    spend(store, [(EARLIER, 10.0)])
    budget = BudgetResource(data_dir=str(data_dir), monthly_budget_usd=10.0)
    sb = step_budget(budget.config(), store, "balanced", "synthetic", NOW)
    assert sb.decision.exhausted
    with pytest.raises(BudgetExceeded, match=STOP.replace("$", r"\$")) as raised:
        sb.stop_if_exhausted()
    assert raised.value.budget is sb
    with pytest.raises(dg.Failure, match=STOP.replace("$", r"\$")) as failed:
        budget.stop_if_exhausted(sb)
    assert failed.value.metadata["budget_usd"].value == 10.0
    assert failed.value.metadata["strategy"].value == sb.decision.strategy


def test_for_step_reads_through_the_resources(data_dir, store, resources):
    spend(store, [(EARLIER, 8.5)])
    budget = BudgetResource(data_dir=str(data_dir), monthly_budget_usd=10.0)
    sb = budget.for_step(resources["warehouse"], LLMResource(), "synthetic", NOW)
    assert sb.decision.strategy == "economy"
    meta = BudgetResource.metadata(sb)
    assert meta["budget_remaining_pct"].value == pytest.approx(15.0)
    assert "monthly budget left" in meta["strategy_reason"].value
