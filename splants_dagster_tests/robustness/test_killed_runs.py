"""A CLI run killed mid-way (SIGKILL: no cleanup at all) must not block the next run (#14 item 1).

Each test kills the real ``splants`` process at several steps, one after another on the same instance and
data, then lets the next command run to the end: it must reap the dead run (failed, pool slot freed), not
wait for the slot, and leave the warehouse with the same row counts as a clean run in a fresh data dir.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from splants_dagster.paths import PROJECT_ROOT
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN

pytestmark = pytest.mark.slow

SPLANTS = str(Path(sys.executable).parent / "splants")
# ledgers of every attempt, not the warehouse's contents: a killed run's write sessions and LLM calls did
# happen (and the calls are paid for), so they stay on record
ATTEMPT_LOGS = {"write_sessions", "llm_calls"}
# the pools of deploy/dagster.yaml (granularity op: each pool step claims a slot, as in the CLI's runs)
POOLS = {"concurrency": {"pools": {"default_limit": 1, "granularity": "op"}}}


def _setup(root: Path) -> dict[str, str]:
    """A data dir with the demo inputs (the demo campaign only) and an empty local DAGSTER_HOME."""
    data = root / "data"
    (data / "campaigns").mkdir(parents=True)
    for name in ("brand.yaml", "models.yaml"):
        shutil.copy(PROJECT_ROOT / "data" / name, data / name)
    shutil.copytree(PROJECT_ROOT / "data" / "sources", data / "sources")
    brief = f"{DEMO_CAMPAIGN}.yaml"
    shutil.copy(PROJECT_ROOT / "data" / "campaigns" / brief, data / "campaigns" / brief)
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "deploy" / "dagster.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "ANTHROPIC", "SPLANTS_LLM"))}
    return {
        **env,
        "DAGSTER_HOME": str(home),
        "SPLANTS_DATA_DIR": str(data),
        "SPLANTS_ENGAGEMENT_SIMULATOR": "0",
        "PYTHONPATH": str(PROJECT_ROOT),  # this checkout's code, also in the installed `splants` script
    }


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([SPLANTS, *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-3000:])
    return done


def _started_step(home: Path, job: str, step: str | None) -> str | None:
    """The id of an unfinished ``job`` run in which ``step`` (or any step) has started. Reads the local
    instance's SQLite files directly, read-only: opening a DagsterInstance in a poll loop is too slow to
    catch a step of a few hundred milliseconds on a loaded machine."""
    try:
        with closing(sqlite3.connect(f"file:{home}/history/runs.db?mode=ro", uri=True, timeout=5)) as runs:
            run_ids = [
                r[0]
                for r in runs.execute(
                    "SELECT run_id FROM runs WHERE pipeline_name = ? AND status IN ('NOT_STARTED', 'STARTED')",
                    [job],
                )
            ]
        for run_id in run_ids:
            events = home / "history" / "runs" / f"{run_id}.db"
            if not events.exists():
                continue
            with closing(sqlite3.connect(f"file:{events}?mode=ro", uri=True, timeout=5)) as log:
                steps = {
                    r[0]
                    for r in log.execute(
                        "SELECT step_key FROM event_logs WHERE dagster_event_type = 'STEP_START'"
                    )
                }
            if steps and (step is None or step in steps):
                return run_id
    except sqlite3.OperationalError:  # not created yet, or being written: look again
        return None
    return None


def _kill_when_started(env: dict[str, str], args: tuple[str, ...], job: str, step: str | None) -> str:
    """Start ``splants *args``, SIGKILL it as soon as ``step`` (or any step) of a ``job`` run has started,
    and return that run's id."""
    proc = subprocess.Popen(
        [SPLANTS, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    home = Path(env["DAGSTER_HOME"])
    try:
        while (run_id := _started_step(home, job, step)) is None:
            assert proc.poll() is None, (
                f"{args} ended before {job}/{step} started: {proc.stderr.read()[-3000:]}"
            )
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        return run_id
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        proc.stderr.close()


def _row_counts(data: Path) -> dict[str, int]:
    counts = {}
    for db in sorted(data.rglob("*.duckdb")):
        with duckdb.connect(str(db), read_only=True) as conn:
            tables = conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
            ).fetchall()
            for schema, table in tables:
                if table in ATTEMPT_LOGS:
                    continue
                n = conn.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
                counts[f"{db.relative_to(data)}:{schema}.{table}"] = n
    return counts


def _assert_reaped(env: dict[str, str], killed: list[str]) -> None:
    """The killed runs are failed (by the next CLI command) and no run holds a pool slot any more."""
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        for run_id in killed:
            assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
            failures = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
            assert "Marked failed by the splants CLI: its process" in failures[-1].dagster_event.message
        assert not instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        storage = instance.event_log_storage
        for pool in storage.get_concurrency_keys():
            info = storage.get_concurrency_info(pool)
            assert not info.claimed_slots and not info.pending_steps, pool  # every slot is free again


def test_demo_killed_at_research_content_and_qa_then_the_next_demo_completes(tmp_path):
    demo = ("demo", "--campaign", DEMO_CAMPAIGN)
    clean = _setup(tmp_path / "clean")
    _run(clean, *demo)

    env = _setup(tmp_path / "killed")
    _run(env, "campaign", "sync")
    killed = [
        _kill_when_started(env, demo, "campaign_job", step)
        for step in ("research_brief", "content_suite", "qa_report")
    ]
    final = _run(env, *demo)
    assert f"reaped run {killed[-1]}: its process" in final.stderr
    assert f"{DEMO_CAMPAIGN}: run" in final.stdout and "succeeded" in final.stdout
    _assert_reaped(env, killed)
    assert _row_counts(Path(env["SPLANTS_DATA_DIR"])) == _row_counts(Path(clean["SPLANTS_DATA_DIR"]))


SAMPLE_EXPORT = (
    "date,external_id,platform,impressions,reach,likes\n"
    "2026-11-01,a,instagram,900,700,60\n2026-11-02,a,instagram,300,200,12\n"
    "2026-11-01,b,twitter,1200,0,40\n2026-11-03,b,twitter,450,0,9\n"
)


def test_engagement_import_killed_in_either_job_then_the_next_import_completes(tmp_path):
    export = tmp_path / "posts.csv"
    export.write_text(SAMPLE_EXPORT)
    args = ("engagement", "import", str(export))
    clean = _setup(tmp_path / "clean")
    _run(clean, *args)

    env = _setup(tmp_path / "killed")
    killed = [
        _kill_when_started(env, args, "engagement_import_job", None),
        _kill_when_started(env, args, "engagement_job", None),
    ]
    final = _run(env, *args)
    assert "loaded generic/posts.csv" in " ".join(final.stdout.split())
    assert f"reaped run {killed[-1]}: its process" in final.stderr
    _assert_reaped(env, killed)
    assert _row_counts(Path(env["SPLANTS_DATA_DIR"])) == _row_counts(Path(clean["SPLANTS_DATA_DIR"]))


@dg.op(pool="duckdb_write")
def _write_once() -> int:
    return 1


@dg.job
def _one_writer():
    _write_once()


def test_a_step_blocked_on_the_pool_says_which_run_holds_it(monkeypatch):
    """The progress line of a waiting run names the pool and the run holding it, and the run goes on as
    soon as the slot is freed."""
    import io
    import threading

    from rich.console import Console

    from splants_dagster.cli import console as cli_console
    from splants_dagster.cli.instance import owner_tags

    screen = io.StringIO()
    monkeypatch.setattr(cli_console, "console", Console(file=screen, force_terminal=True, width=200))
    with dg.instance_for_test(overrides=POOLS) as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots("duckdb_write", 1)
        # a live run (of this very process) in its pool step
        holder = instance.create_run_for_job(
            _one_writer, tags=owner_tags(), status=dg.DagsterRunStatus.STARTED
        )
        assert storage.claim_concurrency_slot("duckdb_write", holder.run_id, "_write_once").is_claimed
        outcome = {}
        worker = threading.Thread(
            target=lambda: outcome.update(result=cli_console.run_with_progress(_one_writer, instance, "tiny"))
        )
        worker.start()
        try:
            for _ in range(600):
                if f"waiting for pool duckdb_write (held by run {holder.run_id})" in screen.getvalue():
                    break
                worker.join(0.1)
            assert (
                f"tiny: _write_once waiting for pool duckdb_write (held by run {holder.run_id})"
                in screen.getvalue()
            )
            assert worker.is_alive()  # still waiting
        finally:
            storage.free_concurrency_slots_for_run(holder.run_id)
            worker.join(120)
        assert outcome["result"].success
        run = instance.get_run_by_id(outcome["result"].run_id)
        assert run.tags["splants/pid"] == str(os.getpid())  # what a later command reaps it by


def test_the_runs_of_a_dead_process_are_failed_and_their_slots_freed():
    """What the next CLI command does before it runs anything: a run whose process is gone is failed and
    its slot freed; a live process's run and its slot are left alone; an ended run's slot is freed."""
    from splants_dagster.cli.instance import owner_tags, reap_dead_runs

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with dg.instance_for_test(overrides=POOLS) as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots("duckdb_write", 3)
        alive_tags = owner_tags()
        dead_tags = {**alive_tags, "splants/pid": str(dead.pid)}
        dead_tags.pop("splants/process_start", None)
        runs = {
            name: instance.create_run_for_job(_one_writer, tags=tags, status=dg.DagsterRunStatus.STARTED)
            for name, tags in (("dead", dead_tags), ("alive", alive_tags))
        }
        ended = instance.create_run_for_job(_one_writer, tags=alive_tags, status=dg.DagsterRunStatus.STARTED)
        for run in (*runs.values(), ended):  # each holds a slot, as a run in its pool step does
            assert storage.claim_concurrency_slot("duckdb_write", run.run_id, "_write_once").is_claimed
        # an ended run that still holds its slot (e.g. marked failed in the UI; that does not free slots)
        instance.report_run_failed(ended, message="marked failed by hand")
        reaped = {r.run_id: r.why for r in reap_dead_runs(instance)}
        assert reaped == {
            runs["dead"].run_id: f"its process {dead.pid} has exited",
            ended.run_id: "it had ended (FAILURE) but still held a pool slot",
        }
        assert instance.get_run_by_id(runs["dead"].run_id).status == dg.DagsterRunStatus.FAILURE
        holders = {s.run_id for s in storage.get_concurrency_info("duckdb_write").claimed_slots}
        assert holders == {runs["alive"].run_id}
        assert instance.get_run_by_id(runs["alive"].run_id).status == dg.DagsterRunStatus.STARTED
        assert reap_dead_runs(instance) == []  # nothing more to do
