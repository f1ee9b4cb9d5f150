"""The predictor's assets through ``dg.materialize`` on a temporary data dir and instance: the training set
from the demo simulator's history (no leakage), the gate on a known signal and on pure noise, the skip
with too few rows, and an active model feeding the content suite, the predictions and the schedule."""

import datetime as dt

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from splants_dagster.defs.engagement.assets import engagement_events, engagement_metrics
from splants_dagster.defs.engagement.windows import range_tags
from splants_dagster.defs.ml.assets import performance_predictor, performance_training_set
from splants_dagster.defs.ml.resources import PredictorResource
from splants_dagster.ml import data
from splants_dagster.ml.features import PIECE_SPEC, is_post_publication, piece_outcomes, to_log
from splants_dagster.ml.registry import ModelRegistry
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, materialize_campaign
from splants_dagster_tests.ml.history import seed_history

TRAIN = [performance_training_set, performance_predictor]


@pytest.fixture
def ml_resources(resources):
    return {**resources, "predictor": PredictorResource(candidates="small", min_rows=100)}


def _metadata(result, asset: str) -> dict:
    return result.asset_materializations_for_node(asset)[0].metadata


def _check(result, name: str):
    (evaluation,) = [c for c in result.get_asset_check_evaluations() if c.check_name == name]
    return evaluation


def test_training_set_from_the_demo_simulator_has_no_leakage(store, instance, ml_resources):
    start, end = dt.date(2025, 3, 1), dt.date(2025, 4, 4)
    simulated = dg.materialize(
        [engagement_events, engagement_metrics],
        instance=instance,
        resources=ml_resources,
        tags=range_tags(start, end),
    )
    assert simulated.success
    result = dg.materialize([performance_training_set], instance=instance, resources=ml_resources)
    assert result.success
    meta = _metadata(result, "performance_training_set")
    rows = store.query("SELECT * FROM analytics.training_set ORDER BY published_at, piece_id")
    assert meta["rows"].value == len(rows) > 150
    # the demo history is all simulated, and says so
    assert meta["demo_share"].value == 1.0 and meta["demo_rows"].value == len(rows)
    assert "Simulated demo data" in meta["simulated"].value
    assert all(r["is_demo"] and r["source"] == "external" for r in rows)
    assert meta["date_range"].value.startswith("2025-0")
    assert _check(result, "features_known_before_publishing").passed

    # inputs: only pre-publication columns
    assert not [c for c in PIECE_SPEC.columns if is_post_publication(c)]
    assert "engagement_rate" not in meta["features"].value.split(", ")

    # the baseline of every row is the median of the previous 20 posts on its platform, strictly before
    # it (external posts included); the target is the log ratio to it
    with store.read() as conn:
        metrics = conn.execute("SELECT * FROM engagement_metrics").df()
    outcomes = piece_outcomes(metrics).sort_values(["published_at", "piece_id"], kind="mergesort")
    c = store.query("SELECT any_value(target_offset) AS c FROM ml_training_set")[0]["c"]
    checked = 0
    for r in rows[::7]:
        when = pd.Timestamp(r["published_at"])
        earlier = outcomes[(outcomes["platform"] == r["platform"]) & (outcomes["published_at"] < when)]
        if earlier.empty:
            continue
        expected = float(np.median(earlier["engagement_rate"].to_numpy()[-20:]))
        assert r["trailing_median"] == pytest.approx(expected), r["piece_id"]
        assert r["target"] == pytest.approx(
            float(to_log(r["engagement_rate"], c) - to_log(expected, c)), abs=1e-9
        )
        checked += 1
    assert checked > 20
    # every outcome is final: nothing published less than two days before the set was built
    assert all(
        pd.Timestamp(r["published_at"]) <= pd.Timestamp(r["built_at"]) - pd.Timedelta(days=2) for r in rows
    )


def test_gate_activates_on_signal_and_keeps_the_model_on_noise(store, paths, instance, ml_resources):
    seed_history(store, 300, signal=True, seed=5)
    first = dg.materialize(TRAIN, instance=instance, resources=ml_resources)
    meta = _metadata(first, "performance_predictor")
    assert meta["deployed"].value is True and meta["model_version"].value == "engagement-v0001"
    assert meta["spearman"].value > 0.5 and meta["mae_log"].value < meta["trailing_median_mae_log"].value
    assert 0.5 < meta["auc_top_quartile"].value <= 1
    assert meta["rows"].value == 300 and " .. " in meta["training_window"].value
    assert "█" in meta["feature_importances"].value and "| text |" in meta["feature_importances"].value
    assert meta["feature_importances_table"].value.records
    gate = _check(first, "beats_baselines")
    assert gate.passed and gate.metadata["reason"].value.startswith("beats trailing_median")
    registry = ModelRegistry.at(paths, "engagement")
    assert registry.active_version() == "v0001"
    assert (paths.models_dir / "engagement" / "v0001" / "model.joblib").exists()

    seed_history(store, 300, signal=False, seed=5)
    second = dg.materialize(TRAIN, instance=instance, resources=ml_resources)
    assert second.success  # a rejected model is a warning, never a failed run
    meta = _metadata(second, "performance_predictor")
    assert meta["deployed"].value is False and meta["active_model_version"].value == "engagement-v0001"
    gate = _check(second, "beats_baselines")
    assert not gate.passed and gate.severity == dg.AssetCheckSeverity.WARN
    reason = gate.metadata["reason"].value
    assert reason.startswith("does not beat") and "engagement-v0001 stays active" in reason
    assert registry.active_version() == "v0001" and registry.versions() == ["v0001", "v0002"]

    runs = store.query("SELECT * FROM analytics.model_runs ORDER BY model_version")
    assert [(r["model_version"], r["deployed"]) for r in runs] == [
        ("engagement-v0001", True),
        ("engagement-v0002", False),
    ]
    assert runs[1]["reason"].startswith("does not beat") and runs[1]["deployed_model_mae_log"] is not None
    assert runs[0]["rows"] == 300 and runs[0]["trailing_median_p_value"] < 0.05


def test_too_few_rows_skip_with_a_warning(store, paths, instance, ml_resources):
    empty = dg.materialize(TRAIN, instance=instance, resources=ml_resources)  # a fresh install
    assert empty.success and _metadata(empty, "performance_training_set")["rows"].value == 0
    assert "0 posts with a final outcome" in _metadata(empty, "performance_predictor")["skipped"].value

    seed_history(store, 40, signal=True)
    result = dg.materialize(TRAIN, instance=instance, resources=ml_resources)
    assert result.success
    meta = _metadata(result, "performance_predictor")
    assert "40 posts with a final outcome in the training set (< 100)" in meta["skipped"].value
    gate = _check(result, "beats_baselines")
    assert not gate.passed and gate.severity == dg.AssetCheckSeverity.WARN
    assert not (paths.models_dir / "engagement").exists()
    assert store.query("SELECT count(*) AS n FROM analytics.model_runs")[0]["n"] == 0


def test_active_model_feeds_suite_predictions_and_schedule(store, paths, instance, ml_resources):
    seed_history(store, 300, signal=True, seed=5)
    assert dg.materialize(TRAIN, instance=instance, resources=ml_resources).success
    assert data.load_active(paths)[0] is not None

    result = materialize_campaign(instance, ml_resources)
    assert result.success
    suite = _metadata(result, "content_suite")
    assert suite["predicted_performance"].value.startswith("used: active model engagement-v0001")
    assert "predicted_performance" in suite["score_components_used"].value
    pieces = store.query(
        "SELECT piece_id, variant_of, score_components, predicted_score FROM content_pieces "
        "WHERE campaign_id = ?",
        [DEMO_CAMPAIGN],
    )
    originals = [p for p in pieces if p["variant_of"] is None]  # QA scores the variants it derives
    assert originals and all("predicted_performance" in p["score_components"] for p in originals)
    assert all(0 <= p["predicted_score"] <= 1 for p in originals)

    predictions = store.query("SELECT * FROM analytics.predictions WHERE campaign_id = ?", [DEMO_CAMPAIGN])
    assert sorted(p["piece_id"] for p in predictions) == sorted(p["piece_id"] for p in pieces)
    assert {p["model_version"] for p in predictions} == {"engagement-v0001"}
    assert all(0 <= p["predicted_score"] <= 1 and p["predicted_at"] for p in predictions)
    meta = _metadata(result, "content_predictions")
    assert meta["predictions"].value == len(pieces) and meta["model_version"].value == "engagement-v0001"
    assert meta["slot_predictions"].value == len(pieces) * 7 * 24
    schedule = _metadata(result, "publishing_schedule")
    assert schedule["predicted_tie_breaks"].value >= 0 and schedule["scheduled"].value > 0


def test_without_a_model_predictions_are_empty_and_say_so(store, instance, ml_resources):
    result = materialize_campaign(
        instance, ml_resources, selection=["content_predictions"], raise_on_error=False
    )
    meta = _metadata(result, "content_predictions")
    assert meta["predictions"].value == 0 and meta["model_version"].value == "none"
    assert "no active model yet" in meta["note"].value and "renormalises" in meta["note"].value
    assert store.query("SELECT count(*) AS n FROM analytics.predictions")[0]["n"] == 0
