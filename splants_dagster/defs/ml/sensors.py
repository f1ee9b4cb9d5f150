"""When the predictor retrains.

- Weekly: ``performance_training_set`` carries ``AutomationCondition.on_cron`` (Mondays 04:00 UTC, once
  engagement has been updated since), and ``performance_predictor`` is ``eager`` (retrained whenever
  the training set changes). ``ml_automation_sensor`` evaluates both conditions; it runs by default.
- When enough new engagement has arrived: ``ml_retrain_sensor`` counts posts whose outcome has become
  final since the newest post in the current training set, and requests ``ml_training_job`` once there
  are ``retrain_new_posts`` of them (on a fresh install: once there are ``min_rows``, so the first model
  is trained as soon as the demo history lands). Simulated (demo) posts stop counting once any real
  engagement exists, as they stop being learned from (docs/ml.md, "Demo data kept apart").
"""

import datetime as dt
import json

import dagster as dg

from splants_dagster.defs.ml.jobs import ml_training_job
from splants_dagster.defs.ml.resources import PredictorResource
from splants_dagster.defs.resources import WarehouseResource
from splants_dagster.timeutil import as_utc
from splants_dagster.warehouse.queries import ml as ml_queries

FINAL_AFTER = dt.timedelta(days=2)  # as ml.features.piece_outcomes: younger posts are not final

ml_automation_sensor = dg.AutomationConditionSensorDefinition(
    "ml_automation_sensor",
    target=dg.AssetSelection.assets("performance_training_set", "performance_predictor"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Weekly training set (on_cron) and a new model whenever the training set changes (eager).",
)


@dg.sensor(
    job=ml_training_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Retrains the predictor when enough posts have a final outcome since the last training set.",
)
def ml_retrain_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, predictor: PredictorResource
) -> dg.SensorResult | dg.SkipReason:
    """Cursor: ``{"through": <newest publish time counted when a run was last requested>}``, so the same
    posts never trigger twice. Run key ``retrain:<that time>``."""
    store = warehouse.store()
    trained = ml_queries.training_set_extent(store)
    if trained is None:
        return dg.SkipReason("no warehouse snapshot yet")
    cursor = json.loads(context.cursor) if context.cursor else {}
    through = as_utc(trained["through"])
    requested = as_utc(cursor.get("through"))
    since = max([t for t in (through, requested) if t is not None], default=None)
    final_before = dt.datetime.now(dt.UTC) - FINAL_AFTER
    found = ml_queries.final_outcomes_since(store, final_before, since)
    new, newest = int(found["n"] or 0), as_utc(found["newest"])
    first = not trained["n"]
    needed = predictor.min_rows if first else predictor.retrain_new_posts
    what = "posts with a final outcome" + (f" since {since:%Y-%m-%d %H:%M} UTC" if since else "")
    if new < needed or newest is None:
        goal = "to train the first model" if first else "to retrain"
        return dg.SkipReason(f"{new} {what} (< {needed} needed {goal})")
    context.log.info(f"{new} {what}: requesting a retrain")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"retrain:{newest.isoformat()}",
                tags={"splants/trigger": "ml_retrain_sensor", "splants/new_posts": str(new)},
            )
        ],
        cursor=json.dumps({"through": newest.isoformat()}),
    )
