"""Every few minutes: publish what is due. The sensor reads the analysts' snapshot (never blocks a writer)
and requests a ``publish_job`` run only when an approved item is due, an interrupted one needs
reconciling, or a webhook is waiting. An item held for review counts only once something a batch would
act on is newer than its hold: a person's decision (``splants review``), ``publishing.yaml`` or the
campaign's review file."""

import datetime as dt
import hashlib
import json

import dagster as dg

from splants_dagster.defs.publishing.jobs import PUBLISHING_TAGS, publish_job
from splants_dagster.defs.resources import WarehouseResource
from splants_dagster.publishing import review, state
from splants_dagster.warehouse.queries import publishing as publishing_queries

ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
BUCKET_MINUTES = 10


def _mtime(path) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    except OSError:
        return None


def _actionable(rows: list[dict], decided: dict, paths) -> list[dict]:
    """Due rows a batch would act on: held ones only when a decision or a config file changed since."""
    config = _mtime(paths.root / review.CONFIG_FILE)
    out = []
    for r in rows:
        since = r.get("state_updated_at")
        if r["status"] in review.HELD_STATUSES and since is not None:
            newer = [
                decided.get(r["piece_id"]),
                config,
                _mtime(paths.reviews_dir / f"{r['campaign_id']}.yaml"),
            ]
            if not any(t is not None and t > since for t in newer):
                continue
        out.append(r)
    return out


@dg.sensor(
    job=publish_job,
    minimum_interval_seconds=180,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every 3 minutes: a publishing run when approved items are due (or webhooks are waiting).",
)
def publish_due_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    """run_key = due set digest + a 10-minute bucket: the same due set is requested at most once per bucket,
    so an item whose run died is tried again a little later rather than never."""
    active = context.instance.get_runs(
        filters=dg.RunsFilter(job_name=publish_job.name, statuses=ACTIVE), limit=1
    )
    if active:
        return dg.SkipReason(f"publishing run {active[0].run_id} is {active[0].status.value}; waiting for it")
    now = dt.datetime.now(dt.UTC)
    store = warehouse.store()
    with store.read() as conn:
        decided = publishing_queries.latest_decisions(conn)
        due = _actionable(state.due_rows(conn, now), decided, store.paths)
        hooks = len(state.due_webhooks(conn, now))
        upcoming = publishing_queries.next_unpublished_slot(conn, now)
    if not due and not hooks:
        after = f"; next slot {upcoming:%Y-%m-%d %H:%M} UTC" if upcoming else "; nothing scheduled ahead"
        return dg.SkipReason(f"nothing due (approved and unpublished) and no webhook waiting{after}")
    digest = hashlib.sha256(
        json.dumps(
            sorted((r["piece_id"], r["platform"], r["status"], int(r["attempts"])) for r in due)
        ).encode()
        + str(hooks).encode()
        + str(max((at for r in due if (at := decided.get(r["piece_id"]))), default="")).encode()
    ).hexdigest()[:12]
    bucket = now.replace(minute=now.minute - now.minute % BUCKET_MINUTES, second=0, microsecond=0)
    run_key = f"publish:{bucket:%Y%m%dT%H%M}:{digest}"
    if context.cursor and json.loads(context.cursor).get("run_key") == run_key:
        return dg.SkipReason(
            f"{len(due)} item(s) due, already requested in this {BUCKET_MINUTES}-minute window"
        )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=run_key, tags={**PUBLISHING_TAGS, "splants/trigger": "publish_due_sensor"})
        ],
        cursor=json.dumps({"run_key": run_key, "due": len(due), "webhooks": hooks}),
    )
