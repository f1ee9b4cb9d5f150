"""``splants budget``: this month's LLM spend, the forecast, the generation strategy and why (live from the
analysts' snapshot and budget.yaml / the environment, the same policy generation applies)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os

import typer
from rich.table import Table

from splants_dagster.cli.console import console, err_console, styled
from splants_dagster.cli.status import read_warehouse
from splants_dagster.costs import ledger
from splants_dagster.costs.config import BUDGET_FILE, BudgetConfigError, env_overrides, load_budget_config
from splants_dagster.costs.policy import CampaignSpend, crossed_thresholds, decide, money, month_key
from splants_dagster.llm.pricing import DEFAULT_STRATEGY
from splants_dagster.paths import DataPaths
from splants_dagster.warehouse.store import Warehouse, scalar


def _days(value: float | None) -> str:
    return "not at this rate" if value is None else f"{value:,.1f}"


def budget(
    campaign: str = typer.Option(None, "--campaign", "-c", help="also apply this campaign's cap"),
) -> None:
    """Month to date, today, the spending rate, the month-end forecast, the strategy and why."""
    paths = DataPaths.at()
    try:
        config = load_budget_config(paths.root / BUDGET_FILE, env_overrides())
    except BudgetConfigError as exc:
        err_console.print(styled((str(exc), "red")))
        raise typer.Exit(1) from None
    now = dt.datetime.now(dt.UTC)
    store = Warehouse(paths)
    cap = config.campaign_cap(campaign)
    with contextlib.ExitStack() as stack:
        conn = read_warehouse(stack, store)
        status = ledger.month_status(conn, now, config)
        campaign_usd = ledger.campaign_spend(conn, campaign) if campaign else None
        recorded = ledger.latest_status(conn, month_key(now))
        events = ledger.rows(
            conn,
            "SELECT threshold, recorded_at, alerted FROM budget_events WHERE month = ? ORDER BY recorded_at",
            [month_key(now)],
        )
        pending = scalar(conn, "SELECT count(*) FROM llm_batches WHERE status = 'submitted'")
    spend = (
        CampaignSpend(campaign, campaign_usd, cap)
        if campaign and campaign_usd is not None and cap is not None
        else None
    )
    default = os.environ.get("SPLANTS_LLM_STRATEGY", "").strip() or DEFAULT_STRATEGY
    decision = decide(status if config.monthly_budget_usd is not None else None, config, default, spend)

    table = Table("", "", title=f"LLM budget {status.month} (UTC)", show_header=False)
    if config.monthly_budget_usd is None:
        shown = "not set (cost control off)"
    elif not status.limited:
        shown = "unlimited (0)"
    else:
        shown = money(status.budget_usd)
    table.add_row("monthly budget", shown)
    table.add_row("month to date", money(status.spent_usd))
    table.add_row("today", money(status.today_usd))
    table.add_row(f"rate (last {config.rate_window_days} days)", f"{money(status.rate_usd_per_day)} / day")
    table.add_row("forecast at month end", money(status.forecast_usd))
    if status.limited:
        table.add_row("remaining", f"{money(status.remaining_usd)} ({status.remaining_pct:.1f}%)")
        table.add_row("days until exhausted", _days(status.days_until_exhausted))
        table.add_row("thresholds crossed", ", ".join(crossed_thresholds(status, config)) or "none")
    if spend is not None:
        table.add_row(f"campaign {campaign}", f"{money(spend.spent_usd)} of its {money(spend.cap_usd)} cap")
    table.add_row(
        "strategy",
        styled((decision.strategy, "bold"), ("  GENERATION STOPPED", "red") if decision.exhausted else ""),
    )
    table.add_row("why", decision.reason)
    if decision.pause_noncritical:
        table.add_row("paused", "A/B variants, premium multi-model")
    if recorded:
        table.add_row(
            "last recorded",
            f"{recorded['strategy']} at {recorded['as_of']:%Y-%m-%d %H:%M} UTC ({recorded['trigger']})",
        )
    if events:
        table.add_row(
            "budget.warning events",
            ", ".join(f"{e['threshold']} ({'alerted' if e['alerted'] else 'recorded'})" for e in events),
        )
    table.add_row("batches waiting", str(pending))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("budget")(budget)
