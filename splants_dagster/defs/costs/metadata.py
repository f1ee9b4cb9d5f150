"""What the cost assets show in the UI: ``budget_status``'s and ``cost_breakdown``'s materialization
metadata, built here beside the assets so that their bodies read as load → compute → write → report.

Keys whose value is None are left out (a figure that does not apply is not shown)."""

import datetime as dt
from collections.abc import Sequence
from typing import Any

import dagster as dg

from splants_dagster.costs.charts import bar_chart, budget_chart
from splants_dagster.costs.policy import BudgetStatus, Decision
from splants_dagster.defs.metadata import as_float, as_int
from splants_dagster.display import md_table

EVENT_COLUMNS = ["threshold", "severity", "recorded_at", "spent_usd", "forecast_usd", "strategy", "alerted"]
MODEL_COLUMNS = [
    "provider",
    "model",
    "calls",
    "tokens",
    "cached_tokens",
    "cost_usd",
    "cache_hits",
    "failed_attempts",
]


def _present(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if v is not None}


def budget_summary(status: BudgetStatus, decision: Decision) -> str:
    """One log line: spend, budget, forecast, and the strategy with its reason."""
    return (
        f"LLM budget {status.month}: spent ${status.spent_usd:.4f}"
        + (f" of ${status.budget_usd:.2f}" if status.limited else "")
        + f", forecast ${status.forecast_usd:.4f}; strategy {decision.strategy}: {decision.reason}"
    )


def budget_metadata(
    status: BudgetStatus,
    decision: Decision,
    crossed: Sequence[str],
    events: list[dict[str, Any]],
    daily: dict[dt.date, float],
    months: list[dict[str, Any]],
) -> dict[str, Any]:
    """The month's budget figures, the strategy and why, thresholds crossed and their events, a spend chart
    and the spend of the last months."""
    return _present(
        {
            "month": status.month,
            "budget_usd": as_float(status.budget_usd, 2) if status.limited else "unlimited or not set",
            "spent_usd": as_float(status.spent_usd, 6),
            "today_usd": as_float(status.today_usd, 6),
            "rate_usd_per_day": as_float(status.rate_usd_per_day, 6),
            "forecast_usd": as_float(status.forecast_usd, 6),
            "remaining_pct": as_float(status.remaining_pct, 2),
            "days_until_exhausted": as_float(status.days_until_exhausted, 2),
            "strategy": decision.strategy,
            "strategy_reason": dg.MetadataValue.md(decision.reason),
            "noncritical_paused": dg.MetadataValue.bool(decision.pause_noncritical),
            "generation_stopped": dg.MetadataValue.bool(decision.exhausted),
            "thresholds_crossed": ", ".join(crossed) or "none",
            "events": dg.MetadataValue.md(md_table(events, EVENT_COLUMNS)),
            "spend_chart": dg.MetadataValue.md(budget_chart(daily, status)),
            "monthly_spend": dg.MetadataValue.md(md_table(months, ["month", "cost_usd", "calls"])),
        }
    )


def breakdown_metadata(
    *,
    total: Any,
    content_cost: Any,
    piece_count: int,
    saved: dict[str, float],
    campaigns: list[dict[str, Any]],
    types: list[dict[str, Any]],
    models: list[dict[str, Any]],
    pieces: list[dict[str, Any]],
) -> dict[str, Any]:
    """All-time spend: totals, cost per piece and pieces per dollar, what each cache and batch pricing
    saved (``saved``: by ``response_cache``, ``prompt_cache``, ``batch_pricing``), and tables (and charts,
    when there is spend) per campaign, content type, model and costliest piece."""
    per_dollar = piece_count / content_cost if content_cost else None
    metadata = {
        "total_cost_usd": as_float(total, 6),
        "content_cost_usd": as_float(content_cost, 6),
        "pieces": as_int(piece_count),
        "cost_per_piece_usd": as_float(content_cost / piece_count if piece_count else None, 6),
        "pieces_per_dollar": as_float(per_dollar, 2),
        "saved_by_response_cache_usd": as_float(saved["response_cache"], 6),
        "saved_by_prompt_cache_usd": as_float(saved["prompt_cache"], 6),
        "saved_by_batch_pricing_usd": as_float(saved["batch_pricing"], 6),
        "per_campaign": dg.MetadataValue.md(
            md_table(
                campaigns, ["campaign_id", "calls", "cost_usd", "cache_hits", "pieces", "cost_per_piece"]
            )
        ),
        "per_content_type": dg.MetadataValue.md(
            md_table(types, ["content_type", "pieces", "calls", "cost_usd", "cost_per_piece"])
        ),
        "per_model": dg.MetadataValue.md(md_table(models, MODEL_COLUMNS)),
        "costliest_pieces": dg.MetadataValue.md(
            md_table(pieces, ["piece_id", "content_type", "calls", "cost_usd", "models"])
        ),
    }
    if any(m["cost_usd"] for m in models):
        metadata["per_model_chart"] = dg.MetadataValue.md(
            bar_chart(
                [f"{m['provider']}/{m['model']}" for m in models],
                [m["cost_usd"] for m in models],
                "USD per model",
            )
        )
    if any(t["cost_usd"] for t in types):
        metadata["per_content_type_chart"] = dg.MetadataValue.md(
            bar_chart(
                [t["content_type"] for t in types], [t["cost_usd"] for t in types], "USD per content type"
            )
        )
    return _present(metadata)
