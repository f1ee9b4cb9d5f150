"""The budget policy: from ledger aggregates to a generation strategy and the reason for it.

Everything here is a pure function of numbers the ledger gives (spend per UTC day this month, a campaign's
spend) and the configuration; nothing reads a clock or a file, so every threshold is testable.

- **Status**: month-to-date spend, today's spend, the spending rate (spend over the last
  ``rate_window_days`` days of this month ÷ that period in days, at least one day), the month-end forecast
  (spend so far + rate × days left), remaining %, and days until the budget runs out at that rate.
- **Strategy** (the workflow guide's cost-optimisation rule): quality with ≥ 50% of the budget left,
  balanced with 20-50%, economy below 20%. A month-end forecast above the budget moves one tier down and
  pauses non-critical generation (A/B variants, premium multi-model). From 95% spent economy uses the
  template writer only; at 100% generation stops. A per-campaign cap applies the same tiers to the
  campaign's own spend; the more frugal of the two decisions wins. A manual override replaces the tier but
  never lifts the stop.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from splants_dagster.campaigns.briefs import CampaignBrief, LengthTarget
from splants_dagster.costs.config import ENV_BUDGET, ENV_STRATEGY, BudgetConfig

TIERS = ("economy", "balanced", "quality")  # cheapest first
DAY = dt.timedelta(days=1)


def month_start(now: dt.datetime) -> dt.datetime:
    return dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC)


def month_end(now: dt.datetime) -> dt.datetime:
    days = calendar.monthrange(now.year, now.month)[1]
    return month_start(now) + dt.timedelta(days=days)


def month_key(now: dt.datetime) -> str:
    return f"{now.year:04d}-{now.month:02d}"


def money(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


@dataclass(frozen=True)
class BudgetStatus:
    as_of: dt.datetime
    month: str
    budget_usd: float | None  # None: no limit
    spent_usd: float
    today_usd: float
    rate_usd_per_day: float
    forecast_usd: float
    days_left_in_month: float

    @property
    def limited(self) -> bool:
        return bool(self.budget_usd)

    @property
    def remaining_usd(self) -> float | None:
        return None if not self.budget_usd else self.budget_usd - self.spent_usd

    @property
    def spent_pct(self) -> float | None:
        return None if not self.budget_usd else 100.0 * self.spent_usd / self.budget_usd

    @property
    def remaining_pct(self) -> float | None:
        spent = self.spent_pct
        return None if spent is None else max(0.0, 100.0 - spent)

    @property
    def exhausted(self) -> bool:
        budget = self.budget_usd
        return budget is not None and budget != 0 and self.spent_usd >= budget

    @property
    def forecast_over(self) -> bool:
        budget = self.budget_usd
        return budget is not None and budget != 0 and self.forecast_usd > budget

    @property
    def days_until_exhausted(self) -> float | None:
        """At the current rate; None when nothing is being spent (or there is no limit)."""
        remaining = self.remaining_usd
        if remaining is None:
            return None
        if self.exhausted:
            return 0.0
        return None if self.rate_usd_per_day <= 0 else remaining / self.rate_usd_per_day

    def as_row(self) -> dict:
        return {
            "as_of": self.as_of,
            "month": self.month,
            "budget_usd": self.budget_usd,
            "spent_usd": round(self.spent_usd, 6),
            "today_usd": round(self.today_usd, 6),
            "rate_usd_per_day": round(self.rate_usd_per_day, 6),
            "forecast_usd": round(self.forecast_usd, 6),
            "remaining_pct": None if self.remaining_pct is None else round(self.remaining_pct, 3),
            "days_until_exhausted": None
            if self.days_until_exhausted is None
            else round(self.days_until_exhausted, 2),
        }


def compute_status(
    daily: Mapping[dt.date, float], now: dt.datetime, budget_usd: float | None, window_days: int = 7
) -> BudgetStatus:
    """The month's status at ``now`` from spend per UTC day (days outside this month are ignored)."""
    start, end = month_start(now), month_end(now)
    today = now.date()
    this_month = {d: v for d, v in daily.items() if start.date() <= d <= today}
    spent = float(sum(this_month.values(), 0.0))  # a float even with nothing spent yet
    window_first = max(start.date(), today - dt.timedelta(days=window_days - 1))
    window_start = dt.datetime.combine(window_first, dt.time(), tzinfo=dt.UTC)
    window_spend = float(sum((v for d, v in this_month.items() if d >= window_first), 0.0))
    elapsed = max(1.0, (now - window_start) / DAY)
    rate = window_spend / elapsed
    days_left = max(0.0, (end - now) / DAY)
    return BudgetStatus(
        as_of=now,
        month=month_key(now),
        budget_usd=budget_usd or None,
        spent_usd=spent,
        today_usd=float(this_month.get(today, 0.0)),
        rate_usd_per_day=rate,
        forecast_usd=spent + rate * days_left,
        days_left_in_month=days_left,
    )


@dataclass(frozen=True)
class CampaignSpend:
    campaign_id: str
    spent_usd: float
    cap_usd: float

    @property
    def remaining_pct(self) -> float:
        return max(0.0, 100.0 * (1 - self.spent_usd / self.cap_usd))

    @property
    def exhausted(self) -> bool:
        return self.spent_usd >= self.cap_usd


@dataclass(frozen=True)
class Decision:
    """What generation does now, and why (shown on every piece and in the UI)."""

    strategy: str
    reason: str
    source: str  # budget | campaign_cap | override | unlimited | default
    exhausted: bool = False
    pause_noncritical: bool = False
    templates_only: bool = False
    max_words_cap: int | None = None
    # the remaining USD generation may spend before the hard stop (None: no limit)
    spend_limit_usd: float | None = None

    @property
    def stop_message(self) -> str:
        return f"Generation stopped, nothing was written: {self.reason}"


def tier_for(remaining_pct: float, config: BudgetConfig) -> str:
    if remaining_pct >= config.quality_min_remaining_pct:
        return "quality"
    if remaining_pct >= config.economy_below_remaining_pct:
        return "balanced"
    return "economy"


def _band(strategy: str, config: BudgetConfig) -> str:
    q, e = config.quality_min_remaining_pct, config.economy_below_remaining_pct
    return {"quality": f"≥ {q:g}%", "balanced": f"{e:g}-{q:g}%", "economy": f"< {e:g}%"}[strategy]


def frugal(*strategies: str) -> str:
    return min(strategies, key=TIERS.index)


def step_down(strategy: str) -> str:
    return TIERS[max(0, TIERS.index(strategy) - 1)]


def _monthly(status: BudgetStatus, config: BudgetConfig) -> Decision:
    budget = status.budget_usd
    if status.exhausted:
        nxt = month_end(status.as_of).date().isoformat()
        return Decision(
            "economy",
            f"monthly LLM budget exhausted: {money(status.spent_usd)} of {money(budget)} spent this month "
            f"({status.spent_pct:.1f}%). Raise {ENV_BUDGET} (or monthly_budget_usd in budget.yaml) or "
            f"wait for the new month ({nxt})",
            "budget",
            exhausted=True,
            pause_noncritical=True,
            spend_limit_usd=0.0,
        )
    left = status.remaining_pct
    if left is None:  # the callers decide only for a limited budget
        raise ValueError("no monthly budget: nothing to decide from")
    strategy = tier_for(left, config)
    reason = f"{left:.1f}% of the {money(budget)} monthly budget left ({_band(strategy, config)})"
    pause = status.forecast_over
    if pause:
        lower = step_down(strategy)
        reason += (
            f"; month-end forecast {money(status.forecast_usd)} exceeds the budget, so "
            + (f"one tier down from {strategy}" if lower != strategy else "already at the lowest tier")
            + " and non-critical generation (A/B variants, premium) paused"
        )
        strategy = lower
    return Decision(
        strategy,
        reason,
        "budget",
        pause_noncritical=pause,
        spend_limit_usd=status.remaining_usd,
    )


def _campaign(spend: CampaignSpend, config: BudgetConfig) -> Decision:
    if spend.exhausted:
        return Decision(
            "economy",
            f"campaign {spend.campaign_id} reached its {money(spend.cap_usd)} cap "
            f"({money(spend.spent_usd)} spent). Raise its cap in budget.yaml to generate more",
            "campaign_cap",
            exhausted=True,
            spend_limit_usd=0.0,
        )
    strategy = tier_for(spend.remaining_pct, config)
    return Decision(
        strategy,
        f"campaign {spend.campaign_id} has {spend.remaining_pct:.1f}% of its {money(spend.cap_usd)} cap "
        f"left ({_band(strategy, config)})",
        "campaign_cap",
        spend_limit_usd=spend.cap_usd - spend.spent_usd,
    )


def _with_economy_measures(decision: Decision, status: BudgetStatus | None, config: BudgetConfig) -> Decision:
    if decision.strategy != "economy":
        return decision
    extra: dict[str, Any] = {"max_words_cap": config.economy_max_words}
    notes = []
    if config.economy_max_words:
        notes.append(f"long pieces capped at {config.economy_max_words} words")
    spent = status.spent_pct if status is not None else None
    if (
        config.templates_only_above_pct is not None
        and spent is not None
        and spent >= config.templates_only_above_pct
        and not decision.exhausted
    ):
        extra["templates_only"] = True
        notes.append(f"template writer only from {config.templates_only_above_pct:g}% spent")
    reason = decision.reason + (f" [{'; '.join(notes)}]" if notes else "")
    return replace(decision, reason=reason, **extra)


def decide(
    status: BudgetStatus | None,
    config: BudgetConfig,
    default_strategy: str,
    campaign: CampaignSpend | None = None,
) -> Decision:
    """The strategy for generation now. ``status`` is None when no monthly budget is configured."""
    if config.monthly_budget_usd is None or status is None:
        base = Decision(
            default_strategy,
            f"cost control off (no monthly budget configured: {ENV_BUDGET} unset), "
            "the llm resource's default strategy",
            "default",
        )
    elif not status.limited:
        base = Decision("quality", f"no monthly budget limit ({ENV_BUDGET}=0: unlimited)", "unlimited")
    else:
        base = _monthly(status, config)
    if campaign is not None:
        other = _campaign(campaign, config)
        if other.exhausted and not base.exhausted:
            base = other
        elif not base.exhausted and TIERS.index(other.strategy) < TIERS.index(base.strategy):
            base = replace(
                other,
                reason=f"{other.reason}; more frugal than the monthly policy ({base.strategy}: {base.reason})",
                pause_noncritical=base.pause_noncritical,
            )
        limits = [x for x in (base.spend_limit_usd, other.spend_limit_usd) if x is not None]
        base = replace(base, spend_limit_usd=min(limits) if limits else None)
    if config.strategy and not base.exhausted:
        would = base.strategy
        base = replace(
            base,
            strategy=config.strategy,
            reason=f"manual override {ENV_STRATEGY}={config.strategy} (the budget policy says {would}: "
            f"{base.reason})",
            source="override",
        )
    return _with_economy_measures(base, status, config)


def with_recorded(
    decision: Decision,
    recorded: dict | None,
    status: BudgetStatus | None,
    config: BudgetConfig,
) -> Decision:
    """The more frugal of the live decision and the strategy ``budget_status`` last recorded for this month
    and budget (the budget sensor's switch), unless a manual override or the hard stop applies."""
    if (
        recorded is None
        or status is None
        or decision.exhausted
        or decision.source == "override"
        or recorded.get("month") != status.month
        or recorded.get("budget_usd") != status.budget_usd
        or recorded.get("strategy") not in TIERS
        or TIERS.index(recorded["strategy"]) >= TIERS.index(decision.strategy)
    ):
        return decision
    as_of = recorded.get("as_of")
    when = f"{as_of:%Y-%m-%d %H:%M} UTC" if isinstance(as_of, dt.datetime) else str(as_of)
    measures = _with_economy_measures(
        replace(decision, strategy=recorded["strategy"], max_words_cap=None, templates_only=False),
        status,
        config,
    )
    return replace(
        measures,
        reason=f"{recorded.get('reason')} (recorded by budget_status at {when}; now: {decision.reason})",
    )


def crossed_thresholds(status: BudgetStatus, config: BudgetConfig) -> list[str]:
    """The alert thresholds at or beyond which this month's spend is (``"50"``, ``"80"``, ...), plus
    ``"forecast"`` when the month-end forecast exceeds the budget."""
    spent = status.spent_pct
    if spent is None:  # no limit
        return []
    out = [f"{t:g}" for t in sorted(config.alert_thresholds_pct) if spent >= t]
    if status.forecast_over:
        out.append("forecast")
    return out


def threshold_severity(threshold: str) -> str:
    if threshold == "forecast":
        return "warning"
    pct = float(threshold)
    return "critical" if pct >= 95 else "warning" if pct >= 80 else "info"


@dataclass(frozen=True)
class BatchRoute:
    batch: bool
    reason: str


def route_batch(
    decision: Decision,
    config: BudgetConfig,
    *,
    provider: str,
    start_date: dt.date,
    today: dt.date,
    premium: bool = False,
    cache: bool = True,
) -> BatchRoute:
    """Whether a campaign's content goes through the provider's batch API (half price, within 24 h)."""
    batch = config.batch
    lead = (start_date - today).days
    if not batch.enabled:
        return BatchRoute(False, "batch routing off")
    if decision.strategy not in batch.strategies or decision.templates_only:
        return BatchRoute(False, f"strategy {decision.strategy}: generated at once")
    if provider not in ("openai", "anthropic"):
        return BatchRoute(False, f"{provider} has no batch API: generated at once")
    if premium:
        return BatchRoute(False, "premium multi-model mode drafts and merges at once")
    if not cache:
        return BatchRoute(False, "the response cache is off (batch results reach the pieces through it)")
    if lead < batch.min_lead_days:
        return BatchRoute(
            False, f"the campaign starts in {lead} day(s) (< {batch.min_lead_days}): generated at once"
        )
    api = "OpenAI Batch API" if provider == "openai" else "Anthropic Message Batches"
    return BatchRoute(
        True,
        f"the campaign starts in {lead} days (≥ {batch.min_lead_days}): {api} at "
        f"{batch.price_factor:.0%} of the price, results within 24 h",
    )


def capped_brief(brief: CampaignBrief, max_words: int | None) -> CampaignBrief:
    """``brief`` with every content type longer than ``max_words`` shortened to it (the lower bound scaled
    alike), so prompts, the template writer and scoring all aim at the shorter length. The brief's length
    targets are not part of the shared prompt prefix, so provider-side prompt caching is unaffected."""
    if not max_words:
        return brief
    length = dict(brief.length)
    for content_type in brief.content_types:
        low, high = brief.word_targets()[content_type]
        if high > max_words:
            length[content_type] = LengthTarget(
                min_words=max(5, min(low, round(max_words * low / high))), max_words=max_words
            )
    return brief.model_copy(update={"length": length})
