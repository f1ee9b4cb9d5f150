"""The ``budget`` resource: the monthly LLM budget, per-campaign caps, a manual strategy override and batch
routing, from ``<data dir>/budget.yaml`` and the environment (which wins). See docs/costs.md.

The resource is also where a generation step meets the budget: :meth:`BudgetResource.for_step` asks the
pure step budget (``costs/step_budget.py``) for the step's decision, :meth:`BudgetResource.metadata` shows
it in the UI, and :meth:`BudgetResource.stop_if_exhausted` / :meth:`BudgetResource.generate_content`
turn the domain's errors (``BudgetExceeded``, the LLM code's configuration and deadline errors) into a
``dg.Failure`` with the same message.

Alerts go through the engagement domain's ``alerts`` resource (log, webhook, Slack); it is not built again
here.
"""

import datetime as dt
from functools import partial
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from splants_dagster.content.suite import SuiteContext
from splants_dagster.costs.batch_desk import Generation
from splants_dagster.costs.batch_desk import generate_content as generate_under_budget
from splants_dagster.costs.config import (
    BUDGET_FILE,
    BudgetConfig,
    BudgetConfigError,
    env_overrides,
    load_budget_config,
)
from splants_dagster.costs.step_budget import BudgetExceeded, StepBudget, step_budget
from splants_dagster.defs.metadata import as_float
from splants_dagster.defs.resources import LLMResource, WarehouseResource, llm_failures
from splants_dagster.paths import default_data_dir


class BudgetResource(dg.ConfigurableResource):
    """What the budget policy needs besides the ledger. Fields left unset fall back to budget.yaml."""

    data_dir: str = Field(description="the SPLANTS data directory (budget.yaml lives there)")
    monthly_budget_usd: float | None = Field(
        default=None,
        ge=0,
        description="monthly LLM budget in USD (SPLANTS_MONTHLY_BUDGET_USD); 0 = unlimited; unset (here and "
        "in budget.yaml) = cost control off",
    )
    strategy: str | None = Field(
        default=None, description="manual override: economy | balanced | quality (SPLANTS_STRATEGY)"
    )
    batch: bool | None = Field(
        default=None, description="route non-urgent economy generation through batch APIs (SPLANTS_LLM_BATCH)"
    )
    config_file: str | None = Field(default=None, description="budget file (default <data dir>/budget.yaml)")

    @property
    def path(self) -> Path:
        return Path(self.config_file) if self.config_file else Path(self.data_dir) / BUDGET_FILE

    def config(self) -> BudgetConfig:
        overrides = {
            "monthly_budget_usd": self.monthly_budget_usd,
            "strategy": self.strategy,
            "batch_enabled": self.batch,
        }
        try:
            return load_budget_config(self.path, overrides)
        except BudgetConfigError as exc:
            raise dg.Failure(str(exc)) from None

    def for_step(
        self,
        warehouse: WarehouseResource,
        llm: LLMResource,
        campaign_id: str | None,
        now: dt.datetime | None = None,
    ) -> StepBudget:
        """What a generation step asks at its start: the strategy, why, and what to stop or pause."""
        return step_budget(self.config(), warehouse.store(), llm.strategy, campaign_id, now)

    @staticmethod
    def metadata(sb: StepBudget) -> dict[str, Any]:
        """The step budget as typed metadata: strategy and reason, the month's and the campaign's figures."""
        d, s = sb.decision, sb.status
        meta: dict[str, Any] = {
            "strategy": d.strategy,
            "strategy_reason": dg.MetadataValue.md(d.reason),
        }
        if s is not None and s.limited:
            meta |= {
                "budget_usd": as_float(s.budget_usd),
                "budget_spent_usd": as_float(s.spent_usd, 6),
                "budget_remaining_pct": as_float(s.remaining_pct, 2),
                "budget_forecast_usd": as_float(s.forecast_usd, 6),
            }
        if sb.campaign is not None:
            meta |= {
                "campaign_cap_usd": as_float(sb.campaign.cap_usd),
                "campaign_spent_usd": as_float(sb.campaign.spent_usd, 6),
            }
        if d.pause_noncritical:
            meta["paused"] = "A/B variants and premium multi-model generation (forecast above budget)"
        return meta

    def stop_if_exhausted(self, sb: StepBudget) -> None:
        """At 100% spent: fail the step before anything is generated or written, saying why."""
        try:
            sb.stop_if_exhausted()
        except BudgetExceeded as exc:
            raise dg.Failure(description=str(exc), metadata=self.metadata(exc.budget)) from None

    def generate_content(
        self,
        context: dg.AssetExecutionContext,
        sb: StepBudget,
        llm: LLMResource,
        warehouse: WarehouseResource,
        ctx: SuiteContext,
    ) -> Generation:
        """The content suite under the step budget's decision (``costs/batch_desk.py``), in this step."""
        with llm_failures():
            return generate_under_budget(
                sb,
                llm.router(),
                partial(llm.client, warehouse, context.partition_key, "content_suite", context.run.run_id),
                warehouse.store(),
                ctx,
                campaign_id=context.partition_key,
                run_id=context.run.run_id,
                data_dir=warehouse.data_dir,
                cache_reads=llm.cache and not llm.force_refresh,
                log=context.log,
            )


def build_resources(data_dir: str | Path | None = None) -> dict[str, Any]:
    root = str(Path(data_dir).resolve()) if data_dir else str(default_data_dir())
    env = env_overrides()  # a bad variable: BudgetConfigError naming it (settings.check reports it first)
    settings = {
        "monthly_budget_usd": env.get("monthly_budget_usd"),
        "strategy": env.get("strategy"),
        "batch": env.get("batch_enabled"),
    }
    return {"budget": BudgetResource(data_dir=root, **{k: v for k, v in settings.items() if v is not None})}


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
