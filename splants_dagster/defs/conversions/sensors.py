"""Conversion sensors. Each reads file stats or a few rows of the analysts' snapshot, keeps a cursor and
explains every skip.

- ``conversions_inbox_sensor``: a file dropped in ``inbox/conversions/`` → a ``conversions_job`` run
  (run key ``conversions:<file>:<mtime>``: once per version of a file).
- ``goal_pace_sensor``: a campaign at or past the halfway point of its goal window whose pace is below
  1 − ``SPLANTS_GOAL_OFF_PACE_MARGIN`` → one alert (log, webhook, Slack), once per campaign and window
  (the cursor remembers it). Progress from demo data is alerted separately, labelled ``[demo]``; a goal
  counting conversions from two or more systems carries its ``source_warning``.
"""

import json
from typing import Any

import dagster as dg

from splants_dagster.alerts.channels import Alert
from splants_dagster.conversions.files import inbox_files
from splants_dagster.conversions.goals import off_pace
from splants_dagster.conversions.imports import conversions_inbox, relative
from splants_dagster.defs.alerts.resources import AlertsResource
from splants_dagster.defs.conversions.jobs import conversions_job
from splants_dagster.defs.conversions.resources import ConversionsResource
from splants_dagster.defs.engagement.windows import tick_result
from splants_dagster.defs.resources import ProjectResource, WarehouseResource
from splants_dagster.warehouse.queries import conversions as conversion_queries


@dg.sensor(
    job=conversions_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Imports conversion files dropped in inbox/conversions/ and refreshes goal progress.",
)
def conversions_inbox_sensor(
    context: dg.SensorEvaluationContext, project: ProjectResource, warehouse: WarehouseResource
) -> dg.SensorResult:
    """Cursor: {file: mtime_ns} of the files seen. A file whose version is already recorded in
    ``conversion_files`` is not requested again (e.g. imported by ``splants conversions import``)."""
    seen: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
    inbox = conversions_inbox(project.paths.root)
    loads = conversion_queries.loaded_file_versions(warehouse.store())
    requests, current = [], {}
    for path in inbox_files(inbox):
        rel, mtime = relative(inbox, path), path.stat().st_mtime_ns
        current[rel] = mtime
        if seen.get(rel) == mtime or loads.get(rel) == mtime:
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"conversions:{rel}:{mtime}",
                run_config={"ops": {"conversion_file_imports": {"config": {"files": [rel]}}}},
                tags={"splants/trigger": "conversions_inbox_sensor", "splants/file": rel[:200]},
            )
        )
    return tick_result(
        requests,
        json.dumps(current, sort_keys=True),
        f"{len(current)} file(s) in {inbox}, none new or changed",
    )


def pace_alert(rows: list[dict[str, Any]], margin: float, demo: bool) -> Alert:
    """One alert for the campaigns newly off pace; demo progress is labelled as such."""
    n = len(rows)
    title = f"{n} campaign goal{'s' if n != 1 else ''} off pace"
    text = (
        f"Past the halfway point of the goal window with pace below {1 - margin:.0%} of plan "
        "(see analytics.goal_progress; pace = actual / (target × elapsed share of the window))."
    )
    if any(r.get("source_warning") for r in rows):
        text += " Some actuals count conversions from two or more systems: see source_warning."
    if demo:
        title = f"[demo] {title} (simulated conversions)"
        text = "Demo conversions (is_demo = true), not real customers. " + text
    return Alert(
        source="goal_pace_sensor",
        title=title,
        severity="info" if demo else "warning",
        text=text,
        items=[
            {
                "campaign": r["campaign_id"],
                "metric": r["metric"],
                "target": f"{r['target']:g}",
                "actual": f"{r['actual']:g}",
                "pace": f"{r['pace']:.2f}",
                "forecast": f"{r['forecast']:.0f}" if r["forecast"] is not None else "",
                "day": f"{r['days_elapsed']} of {r['window_days']}",
                **({"demo": True} if demo else {}),
                **({"source_warning": r["source_warning"]} if r.get("source_warning") else {}),
            }
            for r in rows
        ],
    )


def alert_key(row: dict[str, Any]) -> str:
    """A campaign's goal window: alerted once (a demo campaign re-anchored to a new window may alert again)."""
    return f"{row['campaign_id']}@{row['window_start']}"


@dg.sensor(
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts once per campaign when its goal is off pace at or after the window's halfway point.",
)
def goal_pace_sensor(
    context: dg.SensorEvaluationContext,
    warehouse: WarehouseResource,
    conversions: ConversionsResource,
    alerts: AlertsResource,
) -> dg.SensorResult:
    """Cursor: the sorted list of ``campaign@window_start`` keys already alerted."""
    alerted = set(json.loads(context.cursor)) if context.cursor else set()
    rows = conversion_queries.measured_goal_progress(warehouse.store())
    if rows is None:
        return dg.SensorResult(skip_reason=dg.SkipReason("no warehouse snapshot yet"), cursor=context.cursor)
    margin = conversions.off_pace_margin
    fresh = [
        r
        for r in rows
        if r["status"] == "behind"
        and off_pace(r["elapsed_fraction"] or 0.0, r["pace"], margin)
        and alert_key(r) not in alerted
    ]
    if not fresh:
        return dg.SensorResult(
            skip_reason=dg.SkipReason(
                f"{len(rows)} measurable goal(s); none newly off pace (pace < {1 - margin:.2f} past halfway)"
            ),
            cursor=json.dumps(sorted(alerted)),
        )
    for demo in (False, True):
        batch = [r for r in fresh if bool(r["is_demo"]) == demo]
        if batch:
            alerts.send(pace_alert(batch, margin, demo), context.log)
    alerted |= {alert_key(r) for r in fresh}
    return dg.SensorResult(
        skip_reason=dg.SkipReason(f"alerted {len(fresh)} campaign(s) off pace"),
        cursor=json.dumps(sorted(alerted)),
    )
