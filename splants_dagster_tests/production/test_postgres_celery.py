"""The production instance on the real PostgreSQL, concurrent runs, and Celery workers on loopback."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from splants_dagster.paths import PROJECT_ROOT, DataPaths
from splants_dagster.warehouse.store import Warehouse
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, require_service
from splants_dagster_tests.production.conftest import service_env

pytestmark = [pytest.mark.services, pytest.mark.slow]


WINTER_BRIEF = """
id: {id}
topic: Our winter single-origin filter coffee subscription for slow weekend mornings
goal: Sign up 150 new subscribers before January
audience: Filter coffee enthusiasts who brew at home on weekends
keywords: [filter coffee subscription, single origin, pour over, weekend brewing]
platforms: [blog, twitter, email]
content_types: [blog, social_post, email]
tone: conversational
start_date: {start}
duration_days: 14
call_to_action: Start your subscription
link: https://hearthandbean.example/subscribe
"""


def add_second_campaign(data_dir: Path, campaign_id: str = "winter-subscription") -> str:
    """A second, genuinely different campaign (a copy of the demo would be flagged by QA as duplicate
    content, correctly, and stop at the blocking gate)."""
    (data_dir / "campaigns" / f"{campaign_id}.yaml").write_text(
        WINTER_BRIEF.format(id=campaign_id, start=dt.date.today() + dt.timedelta(days=7))
    )
    return campaign_id


def launch(env: dict, campaign_id: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "splants_dagster_tests.production.launch", campaign_id],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 600) -> dict:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the run did not end within {timeout:.0f} s; its last events:\n{err[-4000:]}")
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def assert_writes_never_overlapped(data_dir: Path) -> list[dict]:
    sessions = Warehouse(DataPaths.at(data_dir)).query(
        "SELECT pid, started_at, ended_at FROM write_sessions ORDER BY started_at"
    )
    for before, after in itertools.pairwise(sessions):
        assert before["ended_at"] <= after["started_at"], (before, after)
    return sessions


def test_campaigns_run_on_postgres_and_concurrent_runs_serialize_writes(prod_home, pg_url, data_dir):
    import psycopg2

    second = add_second_campaign(data_dir)
    env = service_env(data_dir, prod_home, pg_url)
    procs = [launch(env, DEMO_CAMPAIGN), launch(env, second)]
    results = [finish(p) for p in procs]
    assert all(r["success"] for r in results), results

    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT status, count(*) FROM runs GROUP BY status")
        assert dict(cur.fetchall()) == {"SUCCESS": 2}
        cur.execute(
            "SELECT count(DISTINCT asset_key) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
        )
        assert cur.fetchone()[0] >= 3  # brief, research, content (and the later stages of the campaign job)
        cur.execute(
            "SELECT count(DISTINCT partition) FROM dynamic_partitions WHERE partitions_def_name = 'campaigns'"
        )
        assert cur.fetchone()[0] == 2

    sessions = assert_writes_never_overlapped(data_dir)
    assert len({s["pid"] for s in sessions}) == 2  # both run processes wrote, one at a time
    store = Warehouse(DataPaths.at(data_dir))
    counts = store.query(
        "SELECT campaign_id, count(*) n FROM analytics.content WHERE variant_of IS NULL GROUP BY 1 ORDER BY 1"
    )
    assert counts[0] == {"campaign_id": DEMO_CAMPAIGN, "n": 10} and counts[1]["campaign_id"] == second


@pytest.fixture
def celery_workers(prod_home, pg_url, data_dir):
    """Two real Celery worker processes (dagster_celery.app) consuming the local RabbitMQ."""
    require_service("RabbitMQ", port=5672)
    queue = f"splants-test-{os.getpid()}-{time.time_ns()}"
    env = service_env(data_dir, prod_home, pg_url, DAGSTER_CELERY_BROKER_HOST="127.0.0.1")
    celery = str(Path(sys.executable).parent / "celery")
    workers = [
        subprocess.Popen(
            [
                celery,
                "-A",
                "dagster_celery.app",
                "worker",
                "-Q",
                queue,
                "-n",
                f"w{i}-{queue}@%h",
                "--concurrency",
                "1",
                "--prefetch-multiplier",
                "1",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for i in (1, 2)
    ]
    time.sleep(8)  # let both workers connect
    try:
        assert all(w.poll() is None for w in workers), [
            w.stderr.read()[-2000:] for w in workers if w.poll() is not None
        ]
        yield env, queue
    finally:
        for w in workers:
            os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            try:
                w.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(w.pid, signal.SIGKILL)


def test_celery_workers_run_the_steps_and_writes_stay_serialized(celery_workers, data_dir):
    import dagster as dg

    env, queue = celery_workers
    second = add_second_campaign(data_dir)
    run_env = {**env, "SPLANTS_EXECUTOR": "celery", "SPLANTS_CELERY_QUEUE": queue}
    procs = [launch(run_env, DEMO_CAMPAIGN), launch(run_env, second)]
    results = [finish(p) for p in procs]
    assert all(r["success"] for r in results), results

    launcher_pids = {p.pid for p in procs}
    step_pids = set()
    with dg.DagsterInstance.get() as instance:
        for r in results:
            for event in instance.all_logs(r["run_id"]):
                if event.dagster_event and event.dagster_event.event_type_value == "STEP_START":
                    step_pids.add(event.dagster_event.pid)
            engine = [
                e.message
                for e in instance.all_logs(r["run_id"])
                if e.dagster_event and e.dagster_event.event_type_value == "ENGINE_EVENT"
            ]
            assert any("celery" in m.lower() for m in engine), engine[:3]
    assert len(step_pids) >= 2, step_pids  # steps ran on at least two worker processes
    assert not step_pids & launcher_pids  # and not in the processes that launched the runs
    assert_writes_never_overlapped(data_dir)
