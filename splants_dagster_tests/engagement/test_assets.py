"""The engagement assets: file import with quarantine, idempotent partitions, a small backfill, the real
Facebook export end to end, and the analysts' views."""

from __future__ import annotations

import datetime as dt
import shutil

import dagster as dg
import pytest

from splants_dagster.defs.engagement.assets import (
    engagement_events,
    engagement_file_imports,
    engagement_metrics,
    engagement_monitoring,
)
from splants_dagster.defs.engagement.windows import range_tags

from .conftest import facebook_export, raw_query

DAY = dt.date(2025, 6, 10)
CHECKSUM = (
    "SELECT event_date, count(*) AS n, sum(impressions) AS impressions, sum(engagements) AS engagements "
    "FROM events.engagement_events GROUP BY 1 ORDER BY 1"
)


def _kwargs(resources: dict, *names: str) -> dict:
    return {name: resources[name] for name in names}


def test_partitions_rewrite_idempotently_and_a_small_backfill_runs_as_one(store, instance, resources):
    assets = [engagement_events, engagement_metrics, engagement_monitoring]
    first = dg.materialize(
        assets, instance=instance, resources=resources, tags=range_tags(DAY - dt.timedelta(days=2), DAY)
    )
    assert first.success
    materialized = instance.get_materialized_partitions(dg.AssetKey("engagement_metrics"))
    assert materialized == {(DAY - dt.timedelta(days=i)).isoformat() for i in range(3)}
    before = raw_query(store, CHECKSUM)
    assert [r["event_date"] for r in before] == [DAY - dt.timedelta(days=2 - i) for i in range(3)]
    metrics_before = store.query("SELECT count(*) AS n FROM engagement_metrics")[0]["n"]
    # one day again, alone: the same rows, nothing duplicated, neighbours untouched
    again = dg.materialize(
        assets, instance=instance, resources=resources, partition_key=(DAY - dt.timedelta(days=1)).isoformat()
    )
    assert again.success
    assert raw_query(store, CHECKSUM) == before
    assert store.query("SELECT count(*) AS n FROM engagement_metrics")[0]["n"] == metrics_before
    meta = first.asset_materializations_for_node("engagement_events")[0].metadata
    assert meta["simulated_rows"].value > 0 and meta["simulator"].value.startswith("on")
    assert "Simulated demo data" in meta["simulated"].value
    demo = store.query(
        "SELECT bool_and(is_demo) AS all_demo, bool_and(external) AS all_external "
        "FROM analytics.engagement_daily"
    )[0]
    assert demo == {"all_demo": True, "all_external": True}


def test_real_facebook_export_from_inbox_to_metrics(data_dir, store, instance, resources):
    inbox = data_dir / "inbox" / "engagement" / "facebook_insights"
    inbox.mkdir(parents=True)
    shutil.copy(facebook_export(), inbox / "dataset_Facebook.csv")
    result = dg.materialize([engagement_file_imports], instance=instance, resources=resources)
    assert result.success
    meta = result.asset_materializations_for_node("engagement_file_imports")[0].metadata
    assert (meta["rows_loaded"].value, meta["rows_quarantined"].value) == (496, 4)
    assert meta["quarantine_reasons"].value == {"impossible_value": 4}
    quarantine = store.query(
        "SELECT line, reason_code, source_file FROM analytics.engagement_quarantine ORDER BY line"
    )
    assert [q["line"] for q in quarantine] == [478, 479, 484, 494]
    assert {q["source_file"] for q in quarantine} == {"facebook_insights/dataset_Facebook.csv"}
    (load,) = store.query("SELECT * FROM analytics.engagement_files")
    assert (load["rows_loaded"], load["min_date"].year, load["events_built_at"]) == (496, 2014, None)

    # re-importing the same file replaces its rows
    dg.materialize(
        [engagement_file_imports],
        instance=instance,
        resources=resources,
        run_config={
            "ops": {
                "engagement_file_imports": {"config": {"files": ["facebook_insights/dataset_Facebook.csv"]}}
            }
        },
    )
    assert raw_query(store, "SELECT count(*) AS n FROM events.engagement_file_rows")[0]["n"] == 496

    # the year 2014 as one range, called directly (no per-partition event overhead in a test)
    window = dg.PartitionKeyRange(load["min_date"].isoformat(), load["max_date"].isoformat())
    engagement_events(
        dg.build_asset_context(partition_key_range=window),
        **_kwargs(resources, "engagement", "engagement_sources", "warehouse"),
    )
    engagement_metrics(
        dg.build_asset_context(partition_key_range=window), **_kwargs(resources, "engagement", "warehouse")
    )
    list(
        engagement_monitoring(
            dg.build_asset_context(partition_key_range=window),
            **_kwargs(resources, "engagement", "warehouse"),
        )
    )
    daily = store.query(
        "SELECT count(*) AS n, sum(impressions) AS impressions, bool_and(external) AS ext, "
        "bool_or(is_demo) AS demo, min(date) AS first FROM analytics.engagement_daily"
    )[0]
    assert daily["n"] == 496 and daily["ext"] and not daily["demo"] and daily["first"].year == 2014
    assert store.query("SELECT events_built_at IS NOT NULL AS built FROM engagement_file_loads")[0]["built"]
    rules = {r["rule"] for r in store.query("SELECT DISTINCT rule FROM analytics.anomalies")}
    assert rules and rules <= {
        "low_engagement",
        "low_engagement_rate",
        "robust_z",
    }  # lifetime rows: rates only


def test_wholly_bad_file_fails_the_import_naming_file_and_line(data_dir, store, instance, resources):
    inbox = data_dir / "inbox" / "engagement"
    inbox.mkdir(parents=True)
    (inbox / "broken.csv").write_text(
        "date,external_id,platform,impressions,reach\n2026-11-20,a,twitter,10,50\n2026-11-20,b,twitter,x,1\n"
    )
    (inbox / "fine.csv").write_text("date,external_id,platform,impressions\n2026-11-20,c,twitter,10\n")
    result = dg.materialize(
        [engagement_file_imports], instance=instance, resources=resources, raise_on_error=False
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    message = failure.step_failure_data.error.message
    assert "broken.csv: line 2: impossible: impressions (10) < reach (50)" in message
    loads = {r["source_file"]: r for r in store.query("SELECT * FROM engagement_file_loads")}
    assert loads["fine.csv"]["rows_loaded"] == 1  # the good file still loaded
    assert loads["broken.csv"]["rows_loaded"] == 0 and "line 2" in loads["broken.csv"]["error"]
    assert (
        store.query("SELECT count(*) AS n FROM engagement_quarantine WHERE source_file = 'broken.csv'")[0][
            "n"
        ]
        == 2
    )


def test_unknown_preset_in_config_fails(instance, resources):
    with pytest.raises(dg.Failure, match="unknown preset 'tiktok_export'"):
        dg.materialize(
            [engagement_file_imports],
            instance=instance,
            resources=resources,
            run_config={"ops": {"engagement_file_imports": {"config": {"preset": "tiktok_export"}}}},
        )
