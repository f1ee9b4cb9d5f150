"""When the predictor retrains: the weekly cron and the eager predictor (declarative automation, evaluated
with ``dg.evaluate_automation_conditions``), the sensor that evaluates them, and the sensor that retrains
once enough new engagement has a final outcome."""

import datetime as dt
import json

import dagster as dg
import pytest

from splants_dagster.definitions import defs
from splants_dagster.defs.ml.assets import performance_training_set
from splants_dagster.defs.ml.resources import PredictorResource
from splants_dagster.defs.ml.sensors import ml_retrain_sensor
from splants_dagster_tests.ml.history import FIXED_END, seed_history

ML = dg.AssetSelection.assets("performance_training_set", "performance_predictor")
MONDAY = dt.datetime(2026, 11, 23, 3, 50, tzinfo=dt.UTC)  # ten minutes before the weekly tick


@pytest.fixture
def definitions(data_dir) -> dg.Definitions:
    return defs()


def requested(result) -> dict[str, int]:
    return {
        key: result.get_num_requested(dg.AssetKey(key))
        for key in ("performance_training_set", "performance_predictor")
    }


def test_automation_sensor_runs_by_default_over_both_assets(definitions):
    sensor = definitions.resolve_sensor_def("ml_automation_sensor")
    assert isinstance(sensor, dg.AutomationConditionSensorDefinition)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    graph = definitions.resolve_asset_graph()
    assert sensor.asset_selection.resolve(graph) == {
        dg.AssetKey("performance_training_set"),
        dg.AssetKey("performance_predictor"),
    }
    assert (
        definitions.resolve_sensor_def("ml_retrain_sensor").default_status == dg.DefaultSensorStatus.RUNNING
    )
    campaign = definitions.resolve_job_def("campaign_job")
    assert dg.AssetKey("content_predictions") in campaign.asset_layer.executable_asset_keys


def test_weekly_cron_after_new_engagement_and_eager_predictor(definitions, instance):
    def evaluate(minutes: int, cursor=None):
        return dg.evaluate_automation_conditions(
            defs=definitions,
            instance=instance,
            asset_selection=ML,
            evaluation_time=MONDAY + dt.timedelta(minutes=minutes),
            cursor=cursor,
        )

    result = evaluate(0)
    assert result.total_requested == 0
    result = evaluate(15, result.cursor)  # the tick passed, but no engagement arrived since
    assert result.total_requested == 0
    instance.report_runless_asset_event(dg.AssetMaterialization("engagement_metrics", partition="2026-11-22"))
    result = evaluate(20, result.cursor)
    # one run: the training set and, as it will change, the predictor
    assert requested(result) == {"performance_training_set": 1, "performance_predictor": 1}
    result = evaluate(30, result.cursor)
    assert result.total_requested == 0  # handled until next Monday

    # a training set rebuilt by hand (or by the retrain sensor's job without the predictor) → a new model
    instance.report_runless_asset_event(dg.AssetMaterialization("performance_training_set"))
    result = evaluate(40, result.cursor)
    assert requested(result) == {"performance_training_set": 0, "performance_predictor": 1}


def test_retrain_sensor_counts_new_final_outcomes(store, instance, resources):
    predictor = PredictorResource(candidates="small", min_rows=100, retrain_new_posts=50)
    sensor_resources = {"warehouse": resources["warehouse"], "predictor": predictor}

    def tick(cursor=None):
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources=sensor_resources) as ctx:
            return ml_retrain_sensor(ctx), ctx

    result, _ = tick()
    assert isinstance(result, dg.SkipReason) and "no warehouse snapshot" in result.skip_message

    seed_history(store, 80)
    result, _ = tick()
    assert "80 posts with a final outcome (< 100 needed to train the first model)" in result.skip_message

    seed_history(store, 40, seed=12, replace=False)
    result, _ = tick()
    (request,) = result.run_requests
    newest = store.query("SELECT max(published_at) AS t FROM engagement_metrics")[0]["t"]
    assert request.run_key == f"retrain:{newest.astimezone(dt.UTC).isoformat()}"
    assert request.tags["splants/new_posts"] == "120"
    cursor = result.cursor
    assert json.loads(cursor)["through"] == newest.astimezone(dt.UTC).isoformat()
    result, _ = tick(cursor)  # the same posts never trigger twice
    assert isinstance(result, dg.SkipReason) and result.skip_message.startswith("0 posts")

    # the training set now covers them; 30 newer posts are not enough, 60 are
    assert dg.materialize(
        [performance_training_set], instance=instance, resources={**resources, "predictor": predictor}
    ).success
    later = FIXED_END + dt.timedelta(days=20)
    seed_history(store, 30, seed=13, replace=False, end=later, days=10)
    result, _ = tick()
    assert "30 posts with a final outcome since 2025-06-0" in result.skip_message
    assert "(< 50 needed to retrain)" in result.skip_message
    seed_history(store, 30, seed=14, replace=False, end=later, days=10)
    result, _ = tick()
    assert len(result.run_requests) == 1 and result.run_requests[0].tags["splants/new_posts"] == "60"
