"""The demo's weekly report, rendered once per module: a fresh data dir (the demo inputs), a few rows
of ours (a publication, an A/B decision, LLM calls, a budget evaluation) dated in the week, then what
`splants demo` runs for the report: simulated engagement for the week and its baseline days, and the
weekly_report job."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from splants_dagster.definitions import build_all_resources, defs
from splants_dagster.defs.reports.demo import DemoReport, demo_weekly_report
from splants_dagster.paths import PROJECT_ROOT, DataPaths
from splants_dagster.warehouse.store import Warehouse, insert_dicts
from splants_dagster_tests.conftest import DEMO_INPUTS

TODAY = dt.date(2026, 11, 23)  # a Monday: the report is of ISO week 2026-W47, 16 to 22 November
WEEK_START, WEEK_END = dt.date(2026, 11, 16), dt.date(2026, 11, 22)
CLEAN_ENV = (
    "SPLANTS_ALERT_WEBHOOK_URL",
    "SLACK_WEBHOOK_URL",
    "SPLANTS_SIMULATE_ENGAGEMENT",
    "SPLANTS_ENGAGEMENT_SIMULATOR",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "SPLANTS_LLM_BASE_URL",
    "SPLANTS_MONTHLY_BUDGET_USD",
    "SPLANTS_EXECUTOR",
)


def copy_demo_inputs(root: Path) -> Path:
    root.mkdir(parents=True)
    for name in DEMO_INPUTS:
        src = PROJECT_ROOT / "data" / name
        if src.is_dir():
            shutil.copytree(src, root / name)
        elif src.exists():
            shutil.copy(src, root / name)
    return root


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def seed_our_rows(store: Warehouse) -> None:
    """What the demo campaign would add in a week it ran: one publication, an A/B decision, LLM calls and a
    budget evaluation (the engagement itself comes from the simulator)."""
    with store.write() as conn:
        insert_dicts(
            conn,
            "publications",
            [
                {
                    "piece_id": "compostable-pods-launch:twitter:social_post",
                    "platform": "twitter",
                    "campaign_id": "compostable-pods-launch",
                    "idempotency_key": "k1",
                    "status": "published",
                    "publisher": "outbox",
                    "url": "https://hearthandbean.example/<script>alert(1)</script>",
                    "attempts": 1,
                    "published_at": _at(WEEK_START + dt.timedelta(days=2), 9),
                },
                {  # published the week before: not in this report
                    "piece_id": "compostable-pods-launch:blog:blog",
                    "platform": "blog",
                    "campaign_id": "compostable-pods-launch",
                    "idempotency_key": "k2",
                    "status": "published",
                    "publisher": "outbox",
                    "url": None,
                    "attempts": 1,
                    "published_at": _at(WEEK_START - dt.timedelta(days=2), 9),
                },
            ],
        )
        insert_dicts(
            conn,
            "ab_results",
            [
                {
                    "variant_of": "compostable-pods-launch:email:email",
                    "variant_piece_id": "compostable-pods-launch:email:email:v1",
                    "campaign_id": "compostable-pods-launch",
                    "dimension": "subject",
                    "metric": "engagement_rate",
                    "decision": "variant_wins",
                    "winner_piece_id": "compostable-pods-launch:email:email:v1",
                    "lift": 0.31,
                    "p_value": 0.004,
                    "significant": True,
                    "rate_control": 0.21,
                    "rate_variant": 0.275,
                    "n_control": 800,
                    "n_variant": 790,
                    "design": "fixed_horizon",
                    "decided_at": _at(WEEK_START + dt.timedelta(days=4), 12),
                }
            ],
        )
        insert_dicts(
            conn,
            "llm_calls",
            [
                {
                    "call_id": f"c{i}",
                    "campaign_id": "compostable-pods-launch",
                    "provider": "openai",
                    "model": "gpt-4o-mini",
                    "prompt_tokens": 1000,
                    "completion_tokens": 400,
                    "cost_usd": 0.0125 * (i + 1),
                    "cached": False,
                    "status": "ok",
                    "called_at": _at(WEEK_START + dt.timedelta(days=i), 10),
                }
                for i in range(4)
            ],
        )
        insert_dicts(
            conn,
            "budget_status",
            [
                {
                    "as_of": _at(WEEK_END, 23),
                    "month": "2026-11",
                    "budget_usd": 20.0,
                    "spent_usd": 3.5,
                    "forecast_usd": 4.8,
                    "remaining_pct": 82.5,
                    "strategy": "quality",
                    "reason": "82% of the budget left",
                }
            ],
        )


@dataclass
class Rendered:
    data_dir: Path
    store: Warehouse
    report: DemoReport
    instance: dg.DagsterInstance


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rendered]:
    data_dir = copy_demo_inputs(tmp_path_factory.mktemp("reports") / "data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPLANTS_DATA_DIR", str(data_dir))
        for name in CLEAN_ENV:
            mp.delenv(name, raising=False)
        store = Warehouse(DataPaths.at(data_dir))
        seed_our_rows(store)
        full = defs()
        jobs = dg.Definitions(
            assets=full.assets,
            asset_checks=full.asset_checks,
            jobs=full.jobs,
            resources=build_all_resources(data_dir),
        )
        with dg.instance_for_test() as instance:
            report = demo_weekly_report(
                jobs.resolve_job_def,
                lambda job, label, **kw: job.execute_in_process(instance=instance, **kw),
                data_dir=data_dir,
                today=TODAY,
            )
            assert report.ok, report.message
            yield Rendered(data_dir, store, report, instance)
