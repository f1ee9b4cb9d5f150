"""The cost assets and the analysts' views over a synthetic ledger, and `splants budget`."""

import datetime as dt

import dagster as dg
import pytest
from typer.testing import CliRunner

from splants_dagster.cli import app
from splants_dagster.defs.costs.assets import budget_status, cost_breakdown
from splants_dagster.defs.costs.resources import BudgetResource
from splants_dagster.defs.resources import LLMResource
from splants_dagster.warehouse.store import replace_rows
from splants_dagster_tests.costs.conftest import add_calls, call

TODAY = dt.datetime.now(dt.UTC).replace(microsecond=0)


def seed(store):
    add_calls(
        store,
        [
            call(TODAY, 0.30, "spring", piece_id="spring:blog:blog", model="gpt-4.1"),
            call(TODAY, 0.10, "spring", piece_id="spring:twitter:social_post"),
            call(TODAY, 0.0, "spring", piece_id="spring:twitter:social_post", cached=True),
            call(TODAY, 0.05, "autumn", piece_id="autumn:email:email"),
            call(TODAY, 0.02, "autumn"),  # research: no piece
        ],
    )
    now = TODAY
    with store.write() as conn:
        replace_rows(
            conn,
            "content_pieces",
            "true",
            [],
            [
                {
                    "piece_id": p,
                    "campaign_id": p.split(":")[0],
                    "content_type": p.split(":")[2],
                    "created_at": now,
                }
                for p in ("spring:blog:blog", "spring:twitter:social_post", "autumn:email:email")
            ],
        )
        conn.execute(
            "INSERT INTO llm_cache (cache_key, provider, model, purpose, piece_id, campaign_id, text, cost_usd, created_at) "
            "VALUES ('k', 'openai', 'gpt-4.1-mini', 'content.piece', 'spring:twitter:social_post', 'spring', 'x', 0.1, ?)",
            [now],
        )


def test_views_follow_the_analyst_contract(store):
    seed(store)
    daily = store.query("SELECT * FROM analytics.cost_daily ORDER BY model")
    assert list(daily[0])[:7] == ["date", "provider", "model", "calls", "tokens", "cost_usd", "cache_hits"]
    mini = next(r for r in daily if r["model"] == "gpt-4.1-mini")
    assert (mini["date"], mini["calls"], mini["tokens"], mini["cache_hits"]) == (TODAY.date(), 4, 4500, 1)
    assert mini["cost_usd"] == pytest.approx(0.17)
    status = store.query("SELECT * FROM analytics.budget_status")
    assert status == []
    cols = [
        r["column_name"]
        for r in store.query(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = 'budget_status'"
        )
    ]
    assert cols[:7] == [
        "as_of",
        "month",
        "spent_usd",
        "forecast_usd",
        "budget_usd",
        "remaining_pct",
        "strategy",
    ]
    per_piece = store.query(
        "SELECT piece_id, cost_usd, cache_hits FROM analytics.cost_per_piece ORDER BY piece_id"
    )
    assert per_piece[-1] == {
        "piece_id": "spring:twitter:social_post",
        "cost_usd": pytest.approx(0.1),
        "cache_hits": 1,
    }


def test_budget_status_and_breakdown_assets(instance, resources, store, data_dir):
    seed(store)
    res = {
        "budget": BudgetResource(data_dir=str(data_dir), monthly_budget_usd=1.0),
        "warehouse": resources["warehouse"],
        "llm": LLMResource(),
    }
    result = dg.materialize([budget_status, cost_breakdown], resources=res, instance=instance)
    assert result.success
    status = result.asset_materializations_for_node("budget_status")[0].metadata
    assert status["spent_usd"].value == pytest.approx(0.47)
    assert status["remaining_pct"].value == pytest.approx(53.0)
    assert status["strategy"].value in ("quality", "balanced")  # balanced when today's rate forecasts > $1
    recorded = store.query("SELECT * FROM analytics.budget_status")
    assert (
        len(recorded) == 1
        and recorded[0]["trigger"] == "manual"
        and recorded[0]["spent_usd"] == pytest.approx(0.47)
    )
    events = {e["threshold"]: e for e in store.query("SELECT * FROM analytics.budget_events")}
    assert "50" not in events and all(
        not e["alerted"] for e in events.values()
    )  # 47% spent; not alerted by a sensor

    b = result.asset_materializations_for_node("cost_breakdown")[0].metadata
    assert b["total_cost_usd"].value == pytest.approx(0.47)
    assert b["content_cost_usd"].value == pytest.approx(0.45)
    assert b["pieces"].value == 3 and b["pieces_per_dollar"].value == pytest.approx(3 / 0.45, rel=1e-3)
    assert b["saved_by_response_cache_usd"].value == pytest.approx(0.1)
    assert "| spring | 3 | 0.400 |" in b["per_campaign"].value
    assert "| blog | 1 | 1 | 0.300 | 0.300 |" in b["per_content_type"].value
    assert b["per_model_chart"].value.startswith("![USD per model](data:image/png;base64,")


def test_splants_budget_shows_spend_forecast_strategy_and_why(store, monkeypatch):
    seed(store)
    monkeypatch.setenv("SPLANTS_MONTHLY_BUDGET_USD", "0.5")
    result = CliRunner().invoke(app, ["budget"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "month to date" in out and "$0.47" in out and "forecast at month end" in out
    assert "strategy" in out and "economy" in out and "6.0% of the $0.50 monthly budget left" in out
    monkeypatch.setenv("SPLANTS_MONTHLY_BUDGET_USD", "0.4")
    stopped = CliRunner().invoke(app, ["budget", "--campaign", "spring"])
    assert "GENERATION STOPPED" in stopped.output and "monthly LLM budget exhausted" in stopped.output
