"""Cost control figures, measured in one run.

1. **Cost per piece, economy vs quality**: the demo campaign (brief → research → content suite) through
   dg.materialize against a loopback fake OpenAI server (official SDK, real Chat Completions wire format
   with usage), each strategy in a fresh data directory (no cache reuse between them). Cost = the ledger
   (reported usage × models.yaml prices). Also economy through the Batch API (same fake, batch endpoints),
   where the content calls bill at half price. Target: economy ≤ 1/5 of quality.
   The batch route is only taken for a campaign that starts at least ``batch.min_lead_days`` after today, so
   the bench writes its own copy of the demo brief starting ``min_lead_days + 1`` days after the run's clock
   (the same start for every strategy), and each result says which route it measured and why
   (``route``, ``batch``): a figure can't silently change meaning with the date.
2. **Budget sensor evaluation time** over a warehouse holding a year of synthetic ledger rows: the first
   tick (no cursor: one pass over this month), a tick after 100 new calls were ingested (reads only those),
   and a tick with nothing new; plus the step-start budget read a generation step makes.
"""

from __future__ import annotations

import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg
import yaml

from splants_dagster.costs.policy import Decision, route_batch
from splants_dagster.definitions import build_all_resources
from splants_dagster.defs.alerts.resources import AlertsResource
from splants_dagster.defs.costs.resources import BudgetResource
from splants_dagster.defs.costs.sensors import budget_sensor
from splants_dagster.defs.resources import LLMResource
from splants_dagster.paths import PROJECT_ROOT, DataPaths
from splants_dagster.qa.flesch import ensure_cmudict
from splants_dagster.warehouse.store import Warehouse
from splants_dagster_tests.costs.conftest import add_calls, call
from splants_dagster_tests.costs.fakes import FakeOpenAIBatches
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, materialize_campaign

KEY = "sk-bench-not-a-real-key"
CORE = ["campaign_brief", "research_brief", "content_suite"]
YEAR_ROWS = 500_000
REPEATS = 5


def _data_dir() -> Path:
    root = Path(tempfile.mkdtemp(prefix="splants-bench-costs-")) / "data"
    root.mkdir()
    for name in ("brand.yaml", "models.yaml", "campaigns", "sources"):
        src = PROJECT_ROOT / "data" / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    return root


def today() -> dt.date:
    """The run's clock, as the content step reads it (UTC date)."""
    return dt.datetime.now(dt.UTC).date()


def batch_lead_days(root: Path) -> int:
    return BudgetResource(data_dir=str(root), batch=True).config().batch.min_lead_days


def bench_start(root: Path) -> dt.date:
    """A start far enough ahead of the run's clock for the batch route: the lead time plus a day."""
    return today() + dt.timedelta(days=batch_lead_days(root) + 1)


def pin_start(root: Path, start: dt.date) -> None:
    """The demo brief in ``root`` with an absolute ``start_date`` (whatever the shipped file says)."""
    path = root / "campaigns" / f"{DEMO_CAMPAIGN}.yaml"
    data = yaml.safe_load(path.read_text())
    data["start_date"] = start.isoformat()
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def measured_route(strategy: str, batch: bool, root: Path, start: dt.date, deferred: bool) -> dict:
    """Which route the run took (observed: the content step deferred to a batch or not) and why (the
    policy's reason for these inputs); ``consistent`` is False when the two disagree."""
    label = strategy + (" + batch" if batch else "")
    if not batch:
        return {"route": label, "batch": "off (not asked for)", "consistent": not deferred}
    planned = route_batch(
        Decision(strategy=strategy, reason="bench", source="override"),
        BudgetResource(data_dir=str(root), strategy=strategy, batch=True).config(),
        provider="openai",
        start_date=start,
        today=today(),
    )
    return {
        "route": label if deferred else f"{strategy} (batch declined)",
        "batch": f"{'taken' if deferred else 'declined'}: {planned.reason}",
        "consistent": planned.batch == deferred,
    }


def campaign_cost(strategy: str, batch: bool = False, start: dt.date | None = None) -> dict:
    root = _data_dir()
    start = start or bench_start(root)
    pin_start(root, start)
    store = Warehouse(DataPaths.at(root))
    with FakeOpenAIBatches(KEY) as fake, dg.instance_for_test() as instance:
        resources = {
            **build_all_resources(root),
            "llm": LLMResource(openai_api_key=KEY, openai_base_url=fake.base_url, timeout_s=30),
            "budget": BudgetResource(data_dir=str(root), strategy=strategy, batch=batch),
        }
        started = time.perf_counter()
        rounds = 0
        while True:
            rounds += 1
            result = materialize_campaign(instance, resources, DEMO_CAMPAIGN, selection=CORE)
            assert result.success
            if result.asset_materializations_for_node("content_suite"):
                break
            fake.finish()  # the provider finishes the batch; the sensor would request the next run
            assert rounds < 4
        wall = time.perf_counter() - started
    rows = store.query(
        "SELECT asset, sum(cost_usd) AS usd, count(*) AS calls, string_agg(DISTINCT model, ',') AS models "
        "FROM llm_calls WHERE campaign_id = ? GROUP BY asset",
        [DEMO_CAMPAIGN],
    )
    by_asset = {r["asset"]: r for r in rows}
    pieces = store.query("SELECT count(*) AS n, sum(word_count) AS words FROM content_pieces")[0]
    total = sum(r["usd"] for r in rows)
    content = by_asset["content_suite"]["usd"]
    return {
        "strategy": strategy + (" + batch" if batch else ""),
        **measured_route(strategy, batch, root, start, deferred=rounds > 1),
        "campaign_start": start.isoformat(),
        "measured_on": today().isoformat(),
        "models": sorted({m for r in rows for m in r["models"].split(",")}),
        "pieces": pieces["n"],
        "words": int(pieces["words"]),
        "llm_calls": sum(r["calls"] for r in rows),
        "campaign_cost_usd": round(total, 6),
        "content_cost_usd": round(content, 6),
        "cost_per_piece_usd": round(total / pieces["n"], 6),
        "content_cost_per_piece_usd": round(content / pieces["n"], 6),
        "runs": rounds,
        "wall_s": round(wall, 2),
    }


def _year_of_ledger(store: Warehouse, rows: int, now: dt.datetime) -> None:
    """``rows`` calls spread evenly over the 365 days before ``now``, in call order (as ingestion would)."""
    start = now - dt.timedelta(days=365)
    step_s = 365 * 86400 / rows
    with store.write() as conn:
        conn.execute(
            """
            INSERT INTO llm_calls (call_id, campaign_id, asset, purpose, piece_id, provider, model, prompt_tokens,
                completion_tokens, cached_tokens, tokens_estimated, cost_usd, cached, latency_ms, status, error,
                strategy, run_id, called_at, attempt, fallback_from, cache_write_tokens)
            SELECT 'y' || i, 'campaign-' || (i // 400), 'content_suite', 'content.piece', 'piece-' || (i // 40),
                   'openai', 'gpt-4.1-mini', 1800, 700, 0, false, 0.0005 + (i % 7) * 0.0001, i % 10 = 0, 900.0,
                   'ok', NULL, 'balanced', 'run-' || (i // 40), ?::TIMESTAMPTZ + to_microseconds(CAST(i * ? * 1e6 AS BIGINT)),
                   1, NULL, 0
            FROM range(?) t(i)
            """,
            [start, step_s, rows],
        )


def _median_ms(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def sensor_speed() -> dict:
    root = _data_dir()
    store = Warehouse(DataPaths.at(root))
    now = dt.datetime.now(dt.UTC)
    _year_of_ledger(store, YEAR_ROWS, now)
    month_spend = store.query(
        "SELECT sum(cost_usd) AS usd FROM llm_calls WHERE called_at >= ?",
        [dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC)],
    )[0]["usd"]
    resources = build_all_resources(root)
    # a budget the month sits at about 40% of, so ticks evaluate thresholds without alerting
    budget = BudgetResource(data_dir=str(root), monthly_budget_usd=round(max(1.0, month_spend / 0.4), 2))
    res = {
        "budget": budget,
        "warehouse": resources["warehouse"],
        "alerts": AlertsResource(),
        "llm": LLMResource(),
    }
    size_mb = store.paths.analytics_db.stat().st_size / 1e6
    with dg.instance_for_test() as instance:

        def tick(cursor):
            return budget_sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=res))

        tick(None)  # warm imports and the OS file cache
        first_ms = _median_ms(lambda: tick(None))
        cursor = tick(None).cursor
        idle_ms = _median_ms(lambda: tick(cursor))
        add_calls(store, [call(now, 0.001) for _ in range(100)])
        incremental_ms = _median_ms(lambda: tick(cursor))
        step_ms = _median_ms(lambda: budget.for_step(resources["warehouse"], res["llm"], DEMO_CAMPAIGN))
    return {
        "ledger_rows": YEAR_ROWS + 100,
        "snapshot_mb": round(size_mb, 1),
        "first_tick_ms": first_ms,
        "tick_after_100_new_calls_ms": incremental_ms,
        "tick_nothing_new_ms": idle_ms,
        "step_start_budget_read_ms": step_ms,
        "note": f"median of {REPEATS}; each tick opens the snapshot read-only, reads the new ledger rows "
        "(ledger_seq > cursor), the month's events and the recorded strategy",
    }


def run() -> dict:
    ensure_cmudict()
    probe = _data_dir()
    start, lead = bench_start(probe), batch_lead_days(probe)  # one start for all three: the same brief
    quality = campaign_cost("quality", start=start)
    economy = campaign_cost("economy", start=start)
    batch = campaign_cost("economy", batch=True, start=start)
    ratio = economy["cost_per_piece_usd"] / quality["cost_per_piece_usd"]
    print(f"clock {today()}, campaign starts {start} (batch lead time {lead} d)")
    for r in (quality, economy, batch):
        print(
            f"{r['strategy']:>16}: {r['pieces']} pieces, {r['words']} words, {r['llm_calls']} calls, "
            f"${r['campaign_cost_usd']:.5f} = ${r['cost_per_piece_usd']:.6f}/piece ({', '.join(r['models'])})"
            f"; route {r['route']}, batch {r['batch']}"
        )
        if not r["consistent"]:
            print(f"  WARNING: the route observed for {r['strategy']} is not the one the policy gives")
    speed = sensor_speed()
    print(
        f"budget sensor over {speed['ledger_rows']:,} ledger rows ({speed['snapshot_mb']} MB snapshot): first tick "
        f"{speed['first_tick_ms']} ms, after 100 new calls {speed['tick_after_100_new_calls_ms']} ms, "
        f"nothing new {speed['tick_nothing_new_ms']} ms; step-start read {speed['step_start_budget_read_ms']} ms"
    )
    return {
        "economy_over_quality_cost_per_piece": round(ratio, 4),
        "target": "economy <= 0.2 x quality",
        "batch_economy_over_quality_cost_per_piece": round(
            batch["cost_per_piece_usd"] / quality["cost_per_piece_usd"], 4
        ),
        "batch_route": f"{batch['route']}; batch {batch['batch']}",
        "quality": quality,
        "economy": economy,
        "economy_batch": batch,
        "budget_sensor": speed,
    }
