"""The ``budget`` resource: the monthly LLM budget, per-campaign caps, a manual strategy override and batch
routing, from ``<data dir>/budget.yaml`` and the environment (which wins). See docs/costs.md.

Alerts go through the engagement domain's ``alerts`` resource (log, webhook, Slack); it is not built again
here.
"""

from pathlib import Path

import dagster as dg
from pydantic import Field

from splants_dagster.costs.config import (
    BUDGET_FILE,
    BudgetConfig,
    BudgetConfigError,
    env_overrides,
    load_budget_config,
)
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


def build_resources(data_dir: str | Path | None = None) -> dict[str, dg.ConfigurableResource]:
    root = str(Path(data_dir).resolve()) if data_dir else str(default_data_dir())
    env = env_overrides()  # a bad variable: BudgetConfigError naming it (settings.check reports it first)
    settings = {
        "monthly_budget_usd": env.get("monthly_budget_usd"),
        "strategy": env.get("strategy"),
        "batch": env.get("batch_enabled"),
    }
    return {"budget": BudgetResource(data_dir=root, **{k: v for k, v in settings.items() if v is not None})}
