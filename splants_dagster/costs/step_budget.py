"""What a generation step (research, content, QA) asks the budget at its start.

:func:`step_budget` reads the analysts' snapshot (read-only: it never holds a write session during
generation): this month's spend per day, the campaign's spend when it has a cap, and the strategy
``budget_status`` last recorded. The policy (:mod:`splants_dagster.costs.policy`) turns them into a
:class:`~splants_dagster.costs.policy.Decision`: the strategy, why, and whether to stop, pause
non-critical work, cap lengths or use the template writer only. At 100% spent the step stops before
anything is generated: :meth:`StepBudget.stop_if_exhausted` raises :class:`BudgetExceeded`, which the
``budget`` resource turns into a step failure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from splants_dagster.costs import ledger
from splants_dagster.costs.config import BudgetConfig
from splants_dagster.costs.policy import (
    BudgetStatus,
    CampaignSpend,
    Decision,
    decide,
    month_key,
    with_recorded,
)
from splants_dagster.warehouse.store import Warehouse


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class BudgetExceeded(Exception):
    """The budget is spent: the step must stop before it generates or writes anything. The message is the
    decision's stop message; ``budget`` is what the step knew (for the failure's metadata). Not to be
    confused with :class:`~splants_dagster.costs.guard.BudgetExhausted`, one refused call inside a step."""

    def __init__(self, budget: StepBudget):
        super().__init__(budget.decision.stop_message)
        self.budget = budget


@dataclass
class StepBudget:
    """The budget's decision for one step, with the figures it was made from."""

    config: BudgetConfig
    decision: Decision
    status: BudgetStatus | None = None
    campaign: CampaignSpend | None = None

    def stop_if_exhausted(self) -> None:
        """At 100% spent: :class:`BudgetExceeded`, before anything is generated or written."""
        if self.decision.exhausted:
            raise BudgetExceeded(self)


def step_budget(
    config: BudgetConfig,
    store: Warehouse,
    default_strategy: str,
    campaign_id: str | None,
    now: dt.datetime | None = None,
) -> StepBudget:
    """The decision for a step of ``campaign_id`` under ``config``; ``default_strategy`` is the LLM
    settings' strategy, used when the budget does not choose one."""
    if not config.watches(campaign_id):
        return StepBudget(config, decide(None, config, default_strategy))
    now = now or utc_now()
    cap = config.campaign_cap(campaign_id)
    with store.read() as conn:
        status = ledger.month_status(conn, now, config) if config.monthly_budget_usd is not None else None
        campaign = (  # a cap implies a campaign (campaign_cap(None) is None)
            CampaignSpend(campaign_id, ledger.campaign_spend(conn, campaign_id), cap)
            if campaign_id is not None and cap is not None
            else None
        )
        recorded = ledger.latest_status(conn, month_key(now))
    decision = with_recorded(decide(status, config, default_strategy, campaign), recorded, status, config)
    return StepBudget(config, decision, status, campaign)
