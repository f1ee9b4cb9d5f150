"""The benchmarks (``make bench``) on a tiny scale, so a change of the code they drive can't break them
unnoticed: every bench module imports, and each one's measuring code runs once and measures what it says.
No timings are asserted here (the figures come from ``make bench``)."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import shutil
from pathlib import Path

import pytest

import bench
from splants_dagster.paths import PROJECT_ROOT, DataPaths
from splants_dagster.warehouse.store import Warehouse

pytestmark = pytest.mark.slow


def test_every_bench_module_imports_and_has_run():
    names = [m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")]
    assert {"bench_campaign", "bench_costs", "bench_engagement", "bench_llm_concurrency"} <= set(names)
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        assert callable(module.run), name


def _copy_demo_inputs(root: Path) -> Path:
    root.mkdir(parents=True)
    for name in ("brand.yaml", "models.yaml", "campaigns", "sources"):
        src = PROJECT_ROOT / "data" / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    return root


def test_campaign_bench_paths_both_write_the_suite(tmp_path):
    from bench import bench_campaign

    for label, measure in (("direct", bench_campaign.direct), ("dagster", bench_campaign.through_dagster)):
        root = _copy_demo_inputs(tmp_path / label)
        assert measure(root) > 0
        with Warehouse(DataPaths.at(root)).read() as conn:
            pieces = conn.execute(
                "SELECT count(*) FROM content_pieces WHERE campaign_id = ?", [bench_campaign.CAMPAIGN]
            ).fetchone()[0]
        assert pieces == 10, label


def test_llm_concurrency_bench_runs_over_loopback_fakes():
    from bench import bench_llm_concurrency

    out = bench_llm_concurrency.one_run(0.0, 8)
    assert out["pieces"] > 10
    assert out["calls"] >= out["pieces"]
    assert 1 <= out["max_in_flight"] <= 8


def test_engagement_bench_scripts_agree_on_a_small_history(tmp_path, monkeypatch):
    """The bench's generator, its instrumented ``engagement_metrics`` step and its pandas baseline (both
    subprocess scripts), and its sensor ticks, on ~2 weeks of a small simulated page."""
    from bench import bench_engagement

    monkeypatch.setattr(bench_engagement, "SCALE", 1.0)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    now = dt.datetime.now(dt.UTC)
    end = now.date()
    start = end - dt.timedelta(days=13)
    events, posts, _ = bench_engagement.generate(data_dir, start, end, now)
    assert events > 0 and posts > 0

    step = bench_engagement._subprocess(
        bench_engagement.METRICS_STEP, str(data_dir), start.isoformat(), end.isoformat()
    )
    baseline = bench_engagement._subprocess(
        bench_engagement.PANDAS_GROUPBY, str(data_dir / "warehouse" / "events.duckdb")
    )
    assert step["partitions"] == 14
    assert step["rows"] > 0 and step["peak_rss_mb"] > 0
    assert step["parts"]["metrics_sql_s"] > 0
    # the pandas baseline read every event the generator wrote and grouped them into piece-days
    assert baseline["events"] == events
    assert 0 < baseline["rows"] <= events

    ticks = bench_engagement.sensor_ticks(data_dir, repeats=1)
    assert set(ticks) == {
        "engagement_inbox_sensor",
        "engagement_anomaly_sensor",
        "engagement_high_sensor",
        "engagement_history_sensor",
    }


def test_import_bench_streams_a_small_file_with_bad_rows(tmp_path, monkeypatch):
    """The import bench's generator and its measured subprocess (the real asset) on a few thousand rows,
    bad ones included (one above BIGINT): every good row staged, every bad one quarantined."""
    from bench import bench_import

    monkeypatch.setattr(bench_import, "BAD_EVERY", 101)
    data_dir = _copy_demo_inputs(tmp_path / "data")
    out = bench_import.measure(data_dir, 3_000)
    assert out["import"]["success"] and out["bad_rows"] == 29
    (load,) = out["import"]["load"]
    assert load["rows_loaded"] == 3_000 - 29 == out["import"]["staged_rows"]
    assert load["rows_quarantined"] == 29 and out["import"]["peak_rss_mb"] > 0


def test_costs_bench_measures_the_batch_route_whatever_the_date(tmp_path):
    """The cost bench's brief starts the batch lead time (plus a day) after the run's clock, so "economy +
    batch" really goes through the batch API on any date, and its result says so; a start inside the lead
    time is reported as declined, with the policy's reason."""
    from bench import bench_costs

    out = bench_costs.campaign_cost("economy", batch=True)
    assert out["route"] == "economy + batch" and out["batch"].startswith("taken: ") and out["consistent"]
    assert out["runs"] > 1  # deferred to a batch, then collected
    lead = dt.date.fromisoformat(out["campaign_start"]) - dt.date.fromisoformat(out["measured_on"])
    assert lead.days == bench_costs.batch_lead_days(_copy_demo_inputs(tmp_path / "probe")) + 1

    urgent = bench_costs.measured_route(
        "economy", True, tmp_path / "probe", bench_costs.today(), deferred=False
    )
    assert urgent["route"] == "economy (batch declined)" and urgent["consistent"]
    assert urgent["batch"].startswith("declined: ") and "starts in 0 day" in urgent["batch"]
