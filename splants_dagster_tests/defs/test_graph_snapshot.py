"""The asset graph against its committed snapshot (``graph_snapshot.json`` beside this file): asset keys
with their group, dependencies and partitions, asset checks, jobs with the assets they select, schedules,
sensors and resource keys. A change to the graph, meant or not, shows up in review as a diff of that file.

After a deliberate change, regenerate it and commit it with the change:

    SPLANTS_UPDATE_SNAPSHOT=1 .venv/bin/pytest splants_dagster_tests/defs/test_graph_snapshot.py
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg

from splants_dagster.definitions import defs

SNAPSHOT = Path(__file__).with_name("graph_snapshot.json")
UPDATE_ENV = "SPLANTS_UPDATE_SNAPSHOT"
REGENERATE = f"{UPDATE_ENV}=1 .venv/bin/pytest splants_dagster_tests/defs/test_graph_snapshot.py"


def partitions(definition: dg.PartitionsDefinition | None) -> str | None:
    """A partitions definition in one stable line (never the current partition keys)."""
    if definition is None:
        return None
    if isinstance(definition, dg.DynamicPartitionsDefinition):
        return f"dynamic {definition.name}"
    if isinstance(definition, dg.TimeWindowPartitionsDefinition):
        return (
            f"time window '{definition.cron_schedule}' {definition.timezone} from "
            f"{definition.start.date().isoformat()}, end offset {definition.end_offset}"
        )
    if isinstance(definition, dg.StaticPartitionsDefinition):
        return "static " + ", ".join(definition.get_partition_keys())
    if isinstance(definition, dg.MultiPartitionsDefinition):
        dims = "; ".join(f"{d.name}: {partitions(d.partitions_def)}" for d in definition.partitions_defs)
        return f"multi ({dims})"
    return type(definition).__name__


def graph_snapshot(definitions: dg.Definitions) -> dict[str, Any]:
    """The shape of the code location as plain, sorted JSON-able data."""
    graph = definitions.resolve_asset_graph()
    assets = {}
    checks = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "partitions": partitions(node.partitions_def),
            "kinds": sorted(node.kinds),
            "automation": node.automation_condition is not None,
        }
    for check_key in sorted(graph.asset_check_keys, key=lambda k: k.to_user_string()):
        spec = graph.get_check_spec(check_key)
        checks[check_key.to_user_string()] = {"blocking": spec.blocking}
    repo = definitions.get_repository_def()
    jobs = {
        job.name: {
            "assets": sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys),
            "partitions": partitions(job.partitions_def),
        }
        for job in sorted(repo.get_all_jobs(), key=lambda j: j.name)
        if not job.name.startswith("__")  # Dagster's implicit job of every asset
    }
    schedules = {
        s.name: {
            "cron": s.cron_schedule,
            "timezone": s.execution_timezone,
            "job": s.job_name,
            "default_status": s.default_status.value,
        }
        for s in sorted(repo.schedule_defs, key=lambda s: s.name)
    }
    sensors = {}
    for sensor in sorted(repo.sensor_defs, key=lambda s: s.name):
        selection = sensor.asset_selection
        sensors[sensor.name] = {
            "type": sensor.sensor_type.value,
            "jobs": sorted(t.job_name for t in sensor.targets),
            "assets": sorted(k.to_user_string() for k in selection.resolve(graph)) if selection else [],
            "default_status": sensor.default_status.value,
            "minimum_interval_seconds": sensor.minimum_interval_seconds,
        }
    return {
        "assets": assets,
        "asset_checks": checks,
        "jobs": jobs,
        "schedules": schedules,
        "sensors": sensors,
        "resources": sorted(definitions.resources or {}),
    }


def as_text(snapshot: dict[str, Any]) -> str:
    """Valid JSON with one line per asset, check, job, schedule and sensor, so a diff names what changed."""
    sections = []
    for name, body in sorted(snapshot.items()):
        if isinstance(body, dict):
            lines = [f"    {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(body.items())]
            inner = "{\n" + ",\n".join(lines) + "\n  }" if lines else "{}"
        else:
            inner = json.dumps(body)
        sections.append(f"  {json.dumps(name)}: {inner}")
    return "{\n" + ",\n".join(sections) + "\n}\n"


def current_snapshot(data_dir: Path) -> str:
    """The snapshot computed in a fresh interpreter: the report partitions take the brand's timezone when
    their module is first imported, so in a test worker that already loaded the definitions for another
    data dir (another brand, or none) the timezone would be that one's."""
    env = {**os.environ, "SPLANTS_DATA_DIR": str(data_dir)}
    code = "from splants_dagster_tests.defs.test_graph_snapshot import _print_snapshot; _print_snapshot()"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False, timeout=600
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def _print_snapshot() -> None:
    sys.stdout.write(as_text(graph_snapshot(defs())))


def test_asset_graph_matches_the_committed_snapshot(data_dir):
    current = current_snapshot(data_dir)
    if os.environ.get(UPDATE_ENV):
        SNAPSHOT.write_text(current)
        return
    assert SNAPSHOT.exists(), f"no {SNAPSHOT.name} yet: create it with `{REGENERATE}`"
    committed = SNAPSHOT.read_text()
    if current != committed:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                current.splitlines(keepends=True),
                fromfile=f"{SNAPSHOT.name} (committed)",
                tofile="the code location now",
            )
        )
        raise AssertionError(
            f"the asset graph changed:\n{diff}\nIf the change is meant, regenerate the snapshot and commit it:\n"
            f"    {REGENERATE}"
        )
