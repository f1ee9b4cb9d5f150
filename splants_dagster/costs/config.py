"""Budget configuration: ``<data dir>/budget.yaml`` plus environment variables (which win).

| setting | file key | environment |
|---|---|---|
| monthly budget in USD (unset: cost control off; 0: unlimited) | ``monthly_budget_usd`` | ``SPLANTS_MONTHLY_BUDGET_USD`` |
| manual strategy override | ``strategy`` | ``SPLANTS_STRATEGY`` |
| batch routing on/off | ``batch.enabled`` | ``SPLANTS_LLM_BATCH`` (0/1) |
| per-campaign caps | ``campaign_caps_usd``, ``default_campaign_cap_usd`` | |

Everything else (thresholds, the economy word cap, batch lead time) lives only in the file; see
docs/costs.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from splants_dagster import settings
from splants_dagster.llm.pricing import STRATEGIES

BUDGET_FILE = "budget.yaml"
ENV_BUDGET = "SPLANTS_MONTHLY_BUDGET_USD"
ENV_STRATEGY = "SPLANTS_STRATEGY"
ENV_BATCH = "SPLANTS_LLM_BATCH"


class BudgetConfigError(ValueError):
    pass


class BatchConfig(BaseModel):
    """When economy generation goes through the providers' batch APIs instead of answering at once."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    strategies: list[str] = Field(default_factory=lambda: ["economy"])
    min_lead_days: int = Field(
        default=2, ge=1, description="a campaign must start at least this many days after today"
    )
    # OpenAI Batch and Anthropic Message Batches both bill half the synchronous price
    price_factor: float = Field(default=0.5, gt=0, le=1)

    @field_validator("strategies")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(STRATEGIES))
        if unknown:
            raise ValueError(f"unknown strategies {unknown}: use {', '.join(STRATEGIES)}")
        return value


class BudgetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    monthly_budget_usd: float | None = Field(
        default=None, ge=0, description="None: cost control off; 0: unlimited (quality)"
    )
    strategy: str | None = Field(default=None, description="manual override of the budget policy")
    quality_min_remaining_pct: float = Field(default=50, gt=0, le=100)
    economy_below_remaining_pct: float = Field(default=20, ge=0, le=100)
    alert_thresholds_pct: list[float] = Field(default_factory=lambda: [50.0, 80.0, 95.0, 100.0])
    economy_max_words: int | None = Field(default=800, ge=50)
    templates_only_above_pct: float | None = Field(
        default=95, gt=0, le=100, description="spent share from which economy uses the template writer only"
    )
    rate_window_days: int = Field(default=7, ge=1, le=31)
    campaign_caps_usd: dict[str, float] = Field(default_factory=dict)
    default_campaign_cap_usd: float | None = Field(default=None, gt=0)
    batch: BatchConfig = Field(default_factory=BatchConfig)

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, value: str | None) -> str | None:
        if value is not None and value not in STRATEGIES:
            raise ValueError(f"must be one of {', '.join(STRATEGIES)}")
        return value

    @field_validator("campaign_caps_usd")
    @classmethod
    def _caps(cls, value: dict[str, float]) -> dict[str, float]:
        bad = sorted(k for k, v in value.items() if v is None or v <= 0)
        if bad:
            raise ValueError(f"caps must be positive amounts in USD: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> BudgetConfig:
        if self.economy_below_remaining_pct > self.quality_min_remaining_pct:
            raise ValueError("economy_below_remaining_pct must not exceed quality_min_remaining_pct")
        return self

    @property
    def limited(self) -> bool:
        """A monthly budget with a limit (not unset, not 0 = unlimited)."""
        return bool(self.monthly_budget_usd)

    def campaign_cap(self, campaign_id: str | None) -> float | None:
        if campaign_id is None:
            return None
        return self.campaign_caps_usd.get(campaign_id, self.default_campaign_cap_usd)

    def watches(self, campaign_id: str | None = None) -> bool:
        """Whether spend must be read to decide (a budget is configured, or the campaign has a cap)."""
        return self.monthly_budget_usd is not None or self.campaign_cap(campaign_id) is not None


def env_overrides(environ: Mapping[str, str] | None = None) -> dict:
    """The settings the environment sets (blank variables count as unset), parsed by
    :mod:`splants_dagster.settings` (one parser per variable)."""
    out: dict = {}
    try:
        for key, name in (
            ("monthly_budget_usd", ENV_BUDGET),
            ("strategy", ENV_STRATEGY),
            ("batch_enabled", ENV_BATCH),
        ):
            if settings.is_set(name, environ):
                out[key] = settings.value(name, environ)
    except settings.SettingsError as exc:
        raise BudgetConfigError(str(exc)) from None
    return out


def load_budget_config(path: Path | None, overrides: Mapping | None = None) -> BudgetConfig:
    """The file at ``path`` (missing file: defaults) with ``overrides`` applied on top (keys as in
    :func:`env_overrides`; ``None`` values are ignored)."""
    raw: dict = {}
    if path is not None and path.is_file():
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        # ValueError also covers undecodable text and values YAML can't build (e.g. the date 0000-00-00)
        except (OSError, yaml.YAMLError, ValueError, OverflowError, RecursionError) as exc:
            raise BudgetConfigError(f"cannot read {path}: {exc}") from None
        if not isinstance(raw, dict):
            raise BudgetConfigError(f"{path} must be a mapping of settings")
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key == "batch_enabled":
            raw["batch"] = {**(raw.get("batch") or {}), "enabled": value}
        else:
            raw[key] = value
    try:
        return BudgetConfig.model_validate(raw)
    except ValidationError as exc:
        where = str(path) if path is not None else "budget settings"
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise BudgetConfigError(f"{where} is not valid: {problems}") from None
