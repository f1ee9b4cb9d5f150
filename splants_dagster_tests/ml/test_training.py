"""Training on data whose signal is known, the gate end to end, predictions for unpublished pieces, the
content-suite adapter and the analysts' views."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from splants_dagster.content.suite import Draft
from splants_dagster.ml.evaluate import evaluate
from splants_dagster.ml.features import ACTUAL, FeatureSpec, build_training_set
from splants_dagster.ml.models import Candidate
from splants_dagster.ml.registry import ModelRegistry, register
from splants_dagster.ml.training import (
    current_baselines,
    model_run_row,
    predict,
    prepare_history,
    suite_predictor,
    train_and_evaluate,
)
from splants_dagster.platforms import PieceSpec
from splants_dagster.warehouse.store import replace_rows
from splants_dagster_tests.ml import synthetic

FAST = (
    Candidate.of("linear", alpha=1.0),
    Candidate.of("linear", alpha=30.0),
    Candidate.of("gbt", loss="absolute_error", max_depth=2, max_iter=100, learning_rate=0.05),
)


def test_known_signal_beats_every_baseline():
    """Counts driven by audience growth, type, evening hours, paid promotion and a giveaway in the text:
    the model (default candidate grid, text included) must beat the global and trailing medians."""
    history = synthetic.history(400, with_text=True, newest_first=True)
    spec = FeatureSpec(categorical=("type", "paid"), numeric=("hour", "followers"), text="text")
    ts = prepare_history(history, target="consumers", spec=spec, time_column="@row", newest_first=True)
    ev = evaluate(ts)
    assert (ev.n_train, ev.n_test) == (320, 80)
    for name in ("global_median", "global_mean", "trailing_median"):
        base = ev.baselines[name]
        # Margins were 0.8 / 0.85 before the MAPE calibration (docs/ml.md). Its CV shift here is -0.1,
        # the MAPE-optimal shift for this history's lognormal noise (sigma 0.3), but the model already
        # under-predicts the newest fold of this growing audience a little, so the shift costs MAE and
        # log error on it (162 -> 183, 0.37 -> 0.43); the model still beats every baseline clearly.
        assert ev.model["mae"] < 0.85 * base["mae"], name
        assert ev.model["mae_log"] < 0.92 * base["mae_log"], name
        assert ev.model["mape"] < 0.8 * base["mape"], name
    assert ev.model["spearman"] > 0.6 and ev.model["r2"] > 0.4
    assert ev.model["auc_top_quartile"] > 0.8
    assert "likes" not in ev.importances  # a post-publication column in the file is never an input
    top = list(ev.importances)[:3]
    assert "type" in top and "text" in top


def test_gate_keeps_the_previous_model_when_the_new_one_loses(tmp_path):
    spec = FeatureSpec(categorical=("type", "paid"), numeric=("hour",))
    ts = prepare_history(synthetic.history(240), target="consumers", spec=spec, time_column="published")
    registry = ModelRegistry(tmp_path, "engagement")

    first = train_and_evaluate(ts, None, FAST)
    assert first.gate_passed and "no deployed model to compare with yet" in first.reason
    stored = register(registry, first.model, first.card, first.decision)
    assert stored.activated and registry.active_version() == "v0001"

    class Oracle:
        """A deployed model that knows the answers: nothing can beat it."""

        def predict(self, frame):
            return frame[ACTUAL].to_numpy()

    second = train_and_evaluate(ts, Oracle(), FAST)
    assert not second.gate_passed
    assert second.reason.startswith("does not beat deployed_model")
    stored = register(registry, second.model, second.card, second.decision)
    assert not stored.activated and registry.active_version() == "v0001"
    card = registry.card("v0002")
    assert card["deployed"] is False and card["gate"]["reason"] == second.reason
    assert card["evaluation"]["baselines"]["deployed_model"]["mae"] == 0


def test_model_card_fields():
    spec = FeatureSpec(categorical=("type",), numeric=("hour",))
    ts = prepare_history(synthetic.history(200), target="consumers", spec=spec, time_column="published")
    result = train_and_evaluate(ts, None, FAST)
    card = result.card
    for key in (
        "target",
        "offset",
        "window",
        "model",
        "cross_validation",
        "training_window",
        "rows",
        "rows_fitted",
        "evaluation",
        "feature_importances",
        "gate",
        "deployed",
        "data_sha256",
        "sklearn_version",
    ):
        assert key in card, key
    assert card["rows"] == 200 and card["evaluation"]["n_test"] == 40
    assert {"spearman", "mae_log", "auc_top_quartile"} <= set(card["evaluation"]["model"])
    assert card["training_window"]["through"].startswith(ts.frame["_time"].iloc[-1].strftime("%Y-%m-%d"))
    assert result.model.trained_rows > result.evaluation.rows_fitted  # the deployed refit sees every row


def test_engagement_pipeline_predicts_and_scores_candidates(store):
    pieces, metrics = synthetic.pieces_and_metrics(240)
    as_of = pieces["published_at"].max() + pd.Timedelta(days=5)
    ts = build_training_set(pieces, metrics, "Europe/Berlin", window=10, as_of=as_of)
    result = train_and_evaluate(ts, None, FAST)
    ev = result.evaluation
    assert ev.model["mae_log"] < ev.baselines["trailing_median"]["mae_log"]
    assert result.gate_passed

    baselines = current_baselines(metrics, window=10, as_of=as_of)
    assert set(baselines) == {"facebook", "linkedin", "*"}
    upcoming = pd.DataFrame(
        [
            {
                "piece_id": "next:facebook:social_post",
                "platform": "facebook",
                "content_type": "social_post",
                "rendered": "Have you tried our compostable pods yet? Tell us what you think.",
                "keywords": ["compostable pods"],
            },
            {
                "piece_id": "next:facebook:ad_copy",
                "platform": "facebook",
                "content_type": "social_post",
                "rendered": "Our compostable pods are available in three new blends.",
                "keywords": ["compostable pods"],
            },
        ]
    )
    scored = predict(result.model, upcoming, baselines, "Europe/Berlin")
    assert list(scored.columns) == ["piece_id", "predicted_score", "predicted_relative", "predicted_value"]
    assert scored["predicted_score"].between(0, 1).all()
    assert (
        scored["predicted_score"].iloc[0] > scored["predicted_score"].iloc[1]
    )  # questions double engagement
    assert scored["predicted_value"].iloc[0] > baselines["facebook"]

    score = suite_predictor(result.model, baselines, tz="Europe/Berlin", keywords=["compostable pods"])
    spec = PieceSpec("next", "linkedin", "social_post", 30, 60)
    asking = score(
        spec, Draft(title="t", body="Have you tried our compostable pods yet? Tell us what you think.")
    )
    telling = score(spec, Draft(title="t", body="Our compostable pods are available in three new blends."))
    assert 0 <= telling < asking <= 1

    registry = ModelRegistry(store.paths.models_dir, "engagement")
    stored = register(registry, result.model, result.card, result.decision)
    now = dt.datetime.now(dt.UTC)
    with store.write() as conn:
        replace_rows(
            conn,
            "ml_model_runs",
            "model_version = ?",
            [stored.model_version],
            [model_run_row(registry.card(stored.version))],
        )
        rows = [
            {
                "piece_id": r.piece_id,
                "model_version": stored.model_version,
                "predicted_score": r.predicted_score,
                "predicted_at": now,
            }
            for r in scored.itertuples()
        ]
        replace_rows(conn, "ml_predictions", "model_version = ?", [stored.model_version], rows)
    runs = store.query("SELECT * FROM analytics.model_runs")
    assert len(runs) == 1
    run = runs[0]
    assert list(run)[:3] == ["model_version", "trained_at", "rows"]
    assert run["model_version"] == "engagement-v0001" and run["deployed"] is True
    assert run["reason"] == result.reason and run["mae_log"] == pytest.approx(ev.model["mae_log"])
    assert run["trailing_median_mae_log"] == pytest.approx(ev.baselines["trailing_median"]["mae_log"])
    predictions = store.query("SELECT * FROM analytics.predictions ORDER BY piece_id")
    assert list(predictions[0])[:4] == ["piece_id", "model_version", "predicted_score", "predicted_at"]
    assert [p["piece_id"] for p in predictions] == sorted(scored["piece_id"])
    assert np.isclose(
        predictions[1]["predicted_score"],
        scored.set_index("piece_id").loc["next:facebook:social_post", "predicted_score"],
    )
