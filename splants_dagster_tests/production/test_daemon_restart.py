"""The real dagster-daemon on the PostgreSQL instance, killed mid-way and restarted: no schedule or sensor
tick is lost and no run is left stuck."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from splants_dagster.paths import PROJECT_ROOT
from splants_dagster_tests.production.conftest import service_env

pytestmark = [pytest.mark.services, pytest.mark.slow]
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def start_daemon(env: dict, workspace: Path, log: Path) -> subprocess.Popen:
    # its own process group: the code server it spawns outlives a SIGKILL of the daemon (an orphan in the
    # same group), and the teardown kills the whole group
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(workspace)],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(predicate, timeout: float, what: str, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def test_daemon_killed_and_restarted_loses_no_ticks(prod_home, pg_url, data_dir, tmp_path):
    import dagster as dg

    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: splants_dagster_tests.production.daemon_location\n"
        f"      working_directory: {PROJECT_ROOT}\n"
    )
    env = service_env(data_dir, prod_home, pg_url)
    # keep what the caller put first on the path (the faketime shim of docs/time.md, when run under it)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH", ""), str(PROJECT_ROOT)) if p)
    log = tmp_path / "daemon.log"
    instance = dg.DagsterInstance.get()

    def schedule_ticks():
        return (
            instance.get_ticks(
                next(
                    s for s in instance.all_instigator_state() if s.name == "every_minute_catalog"
                ).instigator_origin_id,
                next(
                    s for s in instance.all_instigator_state() if s.name == "every_minute_catalog"
                ).selector_id,
            )
            if any(s.name == "every_minute_catalog" for s in instance.all_instigator_state())
            else []
        )

    def sensor_ticks():
        states = [s for s in instance.all_instigator_state() if s.name == "campaign_brief_sensor"]
        return instance.get_ticks(states[0].instigator_origin_id, states[0].selector_id) if states else []

    daemon = start_daemon(env, workspace, log)
    groups = [daemon.pid]
    try:
        # first scheduled tick, and its run in flight
        wait_for(lambda: [t for t in schedule_ticks() if t.status.value == "SUCCESS"], 100, "a schedule tick")
        wait_for(lambda: instance.get_runs(), 30, "a run")
        assert sensor_ticks(), "the brief sensor ticked"
        daemon.send_signal(signal.SIGKILL)  # the daemon dies mid-way (runs it launched keep going)
        daemon.wait(10)
        killed_at = dt.datetime.now(dt.UTC)
        # stay down across the next scheduled minute
        missed_minute = (killed_at + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
        # back right after it: Dagster catches up only the latest missed tick of a schedule without
        # partitions, so the new daemon must be up before the minute after (a loaded machine needs the time)
        time.sleep(max(0.0, (missed_minute - dt.datetime.now(dt.UTC)).total_seconds()) + 1)
        sensor_ticks_before = len(sensor_ticks())
        daemon = start_daemon(env, workspace, log)
        groups.append(daemon.pid)
        # the scheduler catches up the minute it missed while down
        wait_for(
            lambda: any(
                t.timestamp >= missed_minute.timestamp() - 1 and t.status.value == "SUCCESS"
                for t in schedule_ticks()
            ),
            90,
            "the missed schedule tick to be caught up",
        )
        wait_for(lambda: len(sensor_ticks()) > sensor_ticks_before, 60, "the sensor to tick again")
        # the ticks so far and every run that exists now (a successful tick has created its runs); the
        # schedule keeps adding a run a minute, which a loaded machine may not drain, so later ones are not
        # waited for
        checked = [t for t in schedule_ticks() if t.status.value == "SUCCESS"]
        run_ids = {r.run_id for r in instance.get_runs()}
        wait_for(
            lambda: all(instance.get_run_by_id(i).status.value in TERMINAL for i in run_ids),
            420,  # the brief sensor's demo campaign runs included: minutes on a busy 2-core machine
            "every run launched so far to finish",
            2,
        )
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
        for group in groups:  # code servers orphaned by the killed daemon, and anything else left behind
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
    minutes = sorted(
        {dt.datetime.fromtimestamp(t.timestamp, dt.UTC).replace(second=0, microsecond=0) for t in checked}
    )
    assert missed_minute in minutes, (minutes, missed_minute, log.read_text()[-3000:])
    for a, b in itertools.pairwise(minutes):
        assert b - a == dt.timedelta(minutes=1), f"tick gap between {a} and {b}"
    runs = [instance.get_run_by_id(i) for i in run_ids]
    assert runs and all(r.status.value in TERMINAL for r in runs), [(r.run_id, r.status) for r in runs]
    scheduled = {i for t in checked for i in t.run_ids}
    assert len(scheduled) == len(minutes) and scheduled <= run_ids
    assert all(instance.get_run_by_id(i).status.value == "SUCCESS" for i in scheduled)
