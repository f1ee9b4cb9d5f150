"""LLM spend in the UI: the budget status (month to date, forecast, the active strategy and why) and where
the money went (per campaign, content type, model and piece; cache and batch savings)."""

import dagster as dg

from splants_dagster.costs import ledger
from splants_dagster.costs.policy import (
    compute_status,
    crossed_thresholds,
    decide,
    month_start,
    threshold_severity,
)
from splants_dagster.costs.step_budget import utc_now
from splants_dagster.defs.costs.jobs import CHANNELS_TAG, THRESHOLDS_TAG, TRIGGER_TAG
from splants_dagster.defs.costs.metadata import breakdown_metadata, budget_metadata, budget_summary
from splants_dagster.defs.costs.resources import BudgetResource
from splants_dagster.defs.resources import LLMResource, WarehouseResource
from splants_dagster.warehouse.queries import costs as cost_queries


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
        cost_queries.record_status(conn, row)
        for threshold in crossed:
            cost_queries.record_budget_event(
                conn,
                month=status.month,
                budget_usd=status.budget_usd,
                threshold=threshold,
                severity=threshold_severity(threshold),
                recorded_at=now,
                spent_usd=row["spent_usd"],
                forecast_usd=row["forecast_usd"],
                remaining_pct=row["remaining_pct"],
                strategy=decision.strategy,
                reason=decision.reason,
                alerted=threshold in alerted,
                alert_channels=channels if threshold in alerted else None,
                run_id=context.run.run_id,
            )
        events = cost_queries.month_events(conn, status.month)
        months = cost_queries.monthly_spend(conn)
    context.log.info(budget_summary(status, decision))
    return dg.MaterializeResult(metadata=budget_metadata(status, decision, crossed, events, daily, months))


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
        total, content_cost, piece_count = cost_queries.spend_totals(conn)
        response_saved = ledger.response_cache_savings(conn)
        prompt_saved = ledger.prompt_cache_savings(conn, llm.models(warehouse.data_dir))
        batch_saved = ledger.batch_savings(conn, config.batch.price_factor)
    context.log.info(f"LLM spend all time ${total:.4f}; {piece_count} pieces")
    saved = {"response_cache": response_saved, "prompt_cache": prompt_saved, "batch_pricing": batch_saved}
    return dg.MaterializeResult(
        metadata=breakdown_metadata(
            total=total,
            content_cost=content_cost,
            piece_count=piece_count,
            saved=saved,
            campaigns=campaigns,
            types=types,
            models=models,
            pieces=pieces,
        )
    )
