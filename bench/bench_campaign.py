"""Demo campaign through Dagster (dg.materialize, in-process executor, temp instance) vs the same domain
functions called directly, printed as a ratio measured in one run."""

from __future__ import annotations

import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg

from splants_dagster.campaigns.briefs import find_brief, load_brand
from splants_dagster.content.suite import SuiteContext, generate_suite
from splants_dagster.definitions import reconstructable_campaign_job
from splants_dagster.llm.client import CallContext, LLMClient
from splants_dagster.llm.journal import CallJournal
from splants_dagster.llm.offline import OfflineProvider
from splants_dagster.paths import PROJECT_ROOT, DataPaths
from splants_dagster.qa.flesch import ensure_cmudict
from splants_dagster.research.analysis import http_client, load_sources, research_campaign
from splants_dagster.warehouse.store import Warehouse, replace_rows

CAMPAIGN = "compostable-pods-launch"
REPEATS = 3


def _fresh_data_dir() -> Path:
    root = Path(tempfile.mkdtemp(prefix="splants-bench-")) / "data"
    root.mkdir()
    for name in ("brand.yaml", "campaigns", "sources"):
        src = PROJECT_ROOT / "data" / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    return root


def direct(root: Path) -> float:
    paths = DataPaths.at(root)
    started = time.perf_counter()
    _, brief, _ = find_brief(paths.campaigns_dir, CAMPAIGN)
    brand = load_brand(paths.brand_file)
    with http_client() as http:
        docs = load_sources([s.ref for s in brief.source_entries()], paths.root, http)
    with CallJournal(paths.journal_dir) as journal:
        client = LLMClient(OfflineProvider(), journal, CallContext(CAMPAIGN, "bench"))
        research = asyncio.run(research_campaign(brief, brand, docs, client))
        ctx = SuiteContext(brief, brand, research, {d.ref: d.text for d in docs if d.ok})
        suite = asyncio.run(generate_suite(ctx, client))
    assert len(suite.pieces) == 10
    # the same warehouse work the assets do: three write sessions (brief, research, content), each
    # publishing the analysts' snapshot
    store = Warehouse(paths)
    with store.write() as conn:
        replace_rows(
            conn,
            "campaigns",
            "campaign_id = ?",
            [CAMPAIGN],
            [{"campaign_id": CAMPAIGN, "topic": brief.topic, "brief_json": brief.model_dump_json()}],
        )
    with store.write() as conn:
        replace_rows(
            conn,
            "research_keywords",
            "campaign_id = ?",
            [CAMPAIGN],
            [
                {
                    "campaign_id": CAMPAIGN,
                    "keyword": k.keyword,
                    "score": k.score,
                    "source": k.source,
                    "rank": i,
                }
                for i, k in enumerate(research.keywords)
            ],
        )
    with store.write() as conn:
        replace_rows(
            conn, "content_pieces", "campaign_id = ?", [CAMPAIGN], [p.row(CAMPAIGN) for p in suite.pieces]
        )
    return time.perf_counter() - started


def through_dagster(root: Path) -> float:
    from splants_dagster.definitions import build_all_resources
    from splants_dagster.defs.campaigns.assets import campaign_brief
    from splants_dagster.defs.content.assets import content_suite
    from splants_dagster.defs.research.assets import research_brief

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("campaigns", [CAMPAIGN])
        started = time.perf_counter()
        result = dg.materialize(
            [campaign_brief, research_brief, content_suite],
            partition_key=CAMPAIGN,
            instance=instance,
            resources=build_all_resources(root),
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        took = time.perf_counter() - started
    assert result.success
    return took


def run() -> dict:
    ensure_cmudict()
    direct(_fresh_data_dir())  # warm imports and caches for both paths
    through_dagster(_fresh_data_dir())
    d = [direct(_fresh_data_dir()) for _ in range(REPEATS)]
    g = [through_dagster(_fresh_data_dir()) for _ in range(REPEATS)]
    executors = executor_comparison()
    result = {
        "route": "offline provider (templates, no LLM, no batch) on the demo brief, its window resolved from "
        "the run's clock; brief, research and content only (no scheduling), so independent of the date",
        "campaign_job_in_process": executors["in_process"],
        "campaign_job_multiprocess": executors["multiprocess"],
        "direct_s_median": round(statistics.median(d), 3),
        "dagster_s_median": round(statistics.median(g), 3),
        "ratio_dagster_over_direct": round(statistics.median(g) / statistics.median(d), 2),
        "repeats": REPEATS,
        "note": "both paths generate the suite and write the warehouse in three sessions (snapshot published "
        "after each); the difference is Dagster's run/step/event bookkeeping on a SQLite test instance",
    }
    print(
        f"campaign_job (3 steps): in_process {executors['in_process']['run_s']}s, "
        f"multiprocess {executors['multiprocess']['run_s']}s"
    )
    print(
        f"demo campaign: direct {result['direct_s_median']}s, through Dagster {result['dagster_s_median']}s "
        f"-> ratio {result['ratio_dagster_over_direct']}x"
    )
    return result


def _one_executor_run(executor: str) -> dict:
    """One campaign_job run with SPLANTS_EXECUTOR=executor (call in a fresh process: definitions are cached)."""
    import os

    os.environ["SPLANTS_EXECUTOR"] = executor
    os.environ["SPLANTS_DATA_DIR"] = str(_fresh_data_dir())
    home = Path(tempfile.mkdtemp(prefix="splants-bench-home-"))
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        instance.add_dynamic_partitions("campaigns", [CAMPAIGN])
        started = time.perf_counter()
        result = dg.execute_job(
            dg.reconstructable(reconstructable_campaign_job),
            instance=instance,
            tags={"dagster/partition": CAMPAIGN},
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        took = round(time.perf_counter() - started, 2)
        assert result.success
        logs = instance.all_logs(result.run_id)
    engine = [
        e.message for e in logs if e.dagster_event and e.dagster_event.event_type_value == "ENGINE_EVENT"
    ]
    marker = {"in_process": "steps in process", "multiprocess": "multiprocess executor"}[executor]
    assert any(marker in m for m in engine), engine[:3]
    kinds = {id(e): e.dagster_event.event_type_value for e in logs if e.dagster_event}
    starts = {e.step_key: e.timestamp for e in logs if kinds.get(id(e)) == "STEP_START"}
    ends = {e.step_key: e.timestamp for e in logs if kinds.get(id(e)) == "STEP_SUCCESS"}
    return {"run_s": took, "step_s": {k: round(ends[k] - starts[k], 2) for k in starts}}


def executor_comparison() -> dict:
    """The real campaign_job under each executor, on a persistent (temp) instance, as the daemon runs it."""
    import json
    import subprocess
    import sys

    out = {}
    for executor in ("in_process", "multiprocess"):
        proc = subprocess.run(
            [sys.executable, "-m", "bench.bench_campaign", executor],
            capture_output=True,
            text=True,
            check=True,
            cwd=PROJECT_ROOT,
        )
        out[executor] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(_one_executor_run(sys.argv[1])))
