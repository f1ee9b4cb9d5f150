"""LLM spend in the UI: the budget status (month to date, forecast, the active strategy and why) and where
the money went (per campaign, content type, model and piece; cache and batch savings)."""

import dagster as dg

from splants_dagster.costs import ledger
from splants_dagster.costs.charts import bar_chart, budget_chart
from splants_dagster.costs.policy import (
    compute_status,
    crossed_thresholds,
    decide,
    month_start,
    threshold_severity,
)
from splants_dagster.defs.costs.jobs import CHANNELS_TAG, THRESHOLDS_TAG, TRIGGER_TAG
from splants_dagster.defs.costs.resources import BudgetResource
from splants_dagster.defs.costs.steps import utc_now
from splants_dagster.defs.metadata import as_float, as_int
from splants_dagster.defs.resources import LLMResource, WarehouseResource
from splants_dagster.display import md_table
from splants_dagster.warehouse.store import insert_dicts

EVENT_SQL = """
INSERT INTO budget_events (month, budget_usd, threshold, kind, severity, recorded_at, spent_usd, forecast_usd,
                           remaining_pct, strategy, reason, alerted, alert_channels, run_id)
VALUES (?, ?, ?, 'budget.warning', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (month, budget_usd, threshold) DO UPDATE SET
    alerted = budget_events.alerted OR excluded.alerted,
    alert_channels = coalesce(excluded.alert_channels, budget_events.alert_channels)
"""


@dg.asset(group_name="costs", kinds={"python", "duckdb"}, pool="duckdb_write")
def budget_status(
    context: dg.AssetExecutionContext,
    budget: BudgetResource,
    warehouse: WarehouseResource,
    llm: LLMResource,
) -> dg.MaterializeResult:
    """This month's LLM spend from the ledger: month to date, today, the spending rate, the month-end
    forecast, remaining % and days until the budget runs out; the strategy that follows (quality /
    balanced / economy) and why; a budget.warning event per threshold crossed (50/80/95/100% spent,
    forecast above budget). The recorded strategy is what generation steps read at start."""
    config = budget.config()
    now = utc_now()
    tags = context.run.tags
    alerted = {t for t in tags.get(THRESHOLDS_TAG, "").split(",") if t}
    channels = tags.get(CHANNELS_TAG) or None
    store = warehouse.store()
    with store.write() as conn:  # ingests finished call journals first: the figures are current
        daily = ledger.daily_spend(conn, month_start(now))
        status = compute_status(daily, now, config.monthly_budget_usd, config.rate_window_days)
        decision = decide(status if config.monthly_budget_usd is not None else None, config, llm.strategy)
        crossed = crossed_thresholds(status, config)
        row = status.as_row() | {
            "strategy": decision.strategy,
            "reason": decision.reason,
            "source": decision.source,
            "exhausted": decision.exhausted,
            "pause_noncritical": decision.pause_noncritical,
            "templates_only": decision.templates_only,
            "trigger": tags.get(TRIGGER_TAG, "manual"),
            "run_id": context.run.run_id,
        }
        insert_dicts(conn, "budget_status", [row])
        for threshold in crossed:
            conn.execute(
                EVENT_SQL,
                [
                    status.month,
                    status.budget_usd,
                    threshold,
                    threshold_severity(threshold),
                    now,
                    row["spent_usd"],
                    row["forecast_usd"],
                    row["remaining_pct"],
                    decision.strategy,
                    decision.reason,
                    threshold in alerted,
                    channels if threshold in alerted else None,
                    context.run.run_id,
                ],
            )
        events = ledger.rows(
            conn,
            "SELECT threshold, severity, recorded_at, spent_usd, forecast_usd, strategy, alerted, alert_channels "
            "FROM budget_events WHERE month = ? ORDER BY recorded_at, threshold",
            [status.month],
        )
        months = ledger.rows(
            conn,
            "SELECT strftime(timezone('UTC', called_at), '%Y-%m') AS month, round(sum(cost_usd), 4) AS cost_usd, "
            "count(*) AS calls FROM llm_calls GROUP BY month ORDER BY month DESC LIMIT 12",
        )
    context.log.info(
        f"LLM budget {status.month}: spent ${status.spent_usd:.4f}"
        + (f" of ${status.budget_usd:.2f}" if status.limited else "")
        + f", forecast ${status.forecast_usd:.4f}; strategy {decision.strategy}: {decision.reason}"
    )
    metadata = {
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
        "events": dg.MetadataValue.md(
            md_table(
                events,
                ["threshold", "severity", "recorded_at", "spent_usd", "forecast_usd", "strategy", "alerted"],
            )
        ),
        "spend_chart": dg.MetadataValue.md(budget_chart(daily, status)),
        "monthly_spend": dg.MetadataValue.md(md_table(months, ["month", "cost_usd", "calls"])),
    }
    return dg.MaterializeResult(metadata={k: v for k, v in metadata.items() if v is not None})


@dg.asset(group_name="costs", kinds={"python", "duckdb"}, deps=[budget_status])
def cost_breakdown(
    context: dg.AssetExecutionContext, budget: BudgetResource, warehouse: WarehouseResource, llm: LLMResource
) -> dg.MaterializeResult:
    """Where the LLM money went, all time, from the ledger: cost per campaign, per content type, per model
    and the costliest pieces; pieces per dollar; what the response cache, the providers' prompt caches and
    batch pricing saved."""
    config = budget.config()
    store = warehouse.store()
    with store.read() as conn:
        campaigns = ledger.cost_by_campaign(conn)
        types = ledger.cost_by_content_type(conn)
        models = ledger.cost_by_model(conn)
        pieces = ledger.costliest_pieces(conn)
        total, content_cost, piece_count = conn.execute(
            "SELECT coalesce(sum(cost_usd), 0), coalesce(sum(cost_usd) FILTER (WHERE piece_id IS NOT NULL), 0), "
            "(SELECT count(*) FROM content_pieces) FROM llm_calls"
        ).fetchone()
        response_saved = ledger.response_cache_savings(conn)
        prompt_saved = ledger.prompt_cache_savings(conn, llm.models(warehouse.data_dir))
        batch_saved = ledger.batch_savings(conn, config.batch.price_factor)
    per_dollar = piece_count / content_cost if content_cost else None
    context.log.info(f"LLM spend all time ${total:.4f}; {piece_count} pieces")
    metadata = {
        "total_cost_usd": as_float(total, 6),
        "content_cost_usd": as_float(content_cost, 6),
        "pieces": as_int(piece_count),
        "cost_per_piece_usd": as_float(content_cost / piece_count if piece_count else None, 6),
        "pieces_per_dollar": as_float(per_dollar, 2),
        "saved_by_response_cache_usd": as_float(response_saved, 6),
        "saved_by_prompt_cache_usd": as_float(prompt_saved, 6),
        "saved_by_batch_pricing_usd": as_float(batch_saved, 6),
        "per_campaign": dg.MetadataValue.md(
            md_table(
                campaigns, ["campaign_id", "calls", "cost_usd", "cache_hits", "pieces", "cost_per_piece"]
            )
        ),
        "per_content_type": dg.MetadataValue.md(
            md_table(types, ["content_type", "pieces", "calls", "cost_usd", "cost_per_piece"])
        ),
        "per_model": dg.MetadataValue.md(
            md_table(
                models,
                [
                    "provider",
                    "model",
                    "calls",
                    "tokens",
                    "cached_tokens",
                    "cost_usd",
                    "cache_hits",
                    "failed_attempts",
                ],
            )
        ),
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
    return dg.MaterializeResult(metadata={k: v for k, v in metadata.items() if v is not None})
