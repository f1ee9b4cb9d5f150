"""The Dagster instance the CLI runs on: created under a lock, and cleared of runs whose CLI process died.

Why (issue #14):
- Concurrent first starts. ``splants demo`` and ``splants campaign sync`` started together on an empty
  $DAGSTER_HOME each created the SQLite storages and stamped their schema version at once, leaving
  ``alembic_version`` with two heads and the instance unusable. Every CLI process opens the instance while
  holding an exclusive ``fcntl`` lock on ``$DAGSTER_HOME/.splants-instance.lock``, so the first one creates
  the schema and the others find it ready.
- Killed runs. A CLI run executes in the CLI process (``execute_in_process``). SIGKILL or a terminal closed
  mid-run leaves the run ``STARTED`` and its ``duckdb_write`` pool slot claimed, so every later run waits on
  the slot forever. No Dagster daemon can tell: run monitoring only checks runs that a run launcher
  started, and ``free_slots_after_run_end_seconds`` only frees slots of runs that already ended. So every
  CLI run records its process (host, pid, process start time) in run tags, and each CLI command, before it
  runs anything, fails the runs of this host whose process is gone and frees their slots, then frees the
  slots still held by any run that has ended (e.g. one marked failed in the UI). A run that waits for a
  slot does this again every few seconds, so a holder that dies while it waits does not block it.

Runs of another host are left alone (their process cannot be checked from here); runs launched by the
daemon carry no such tags and stay with Dagster's run monitoring (see docs/deploy.md).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PID_TAG = "splants/pid"
HOST_TAG = "splants/host"
PROCESS_START_TAG = "splants/process_start"
LOCK_FILE = ".splants-instance.lock"


@contextmanager
def instance_lock(home: Path) -> Iterator[None]:
    """Hold the exclusive lock of the instance in ``home`` (blocks until other CLI processes release it)."""
    with open(home / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Reaped:
    run_id: str
    why: str


def default_dagster_home() -> Path:
    """Where the instance lives when ``DAGSTER_HOME`` is not set: the project-local ``.dagster_home/`` that
    ``make run`` uses (in a checkout), else ``~/.splants/dagster_home``."""
    from splants_dagster.paths import PROJECT_ROOT

    if (PROJECT_ROOT / "deploy" / "dagster.yaml").is_file():
        return PROJECT_ROOT / ".dagster_home"
    return Path.home() / ".splants" / "dagster_home"


def ensure_dagster_home() -> Path:
    """``$DAGSTER_HOME``, or the default above (set in this process's environment); the folder is created and
    gets the project's ``dagster.yaml`` (``deploy/``, production when ``SPLANTS_INSTANCE=production``) when it
    has none, exactly as ``make home`` does. So every ``splants`` command works without ``make``."""
    from splants_dagster.paths import PROJECT_ROOT

    home = Path(os.environ.get("DAGSTER_HOME") or default_dagster_home()).expanduser()
    os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    production = os.environ.get("SPLANTS_INSTANCE", "local") == "production"
    source = PROJECT_ROOT / "deploy" / ("dagster.production.yaml" if production else "dagster.yaml")
    if not target.exists() and source.is_file():
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)  # atomic: concurrent first starts never read half a file
    return home


def open_instance() -> tuple[object, list[Reaped]]:
    """The instance of $DAGSTER_HOME, created under the instance lock, with dead CLI runs reaped."""
    import dagster as dg

    home = ensure_dagster_home()
    with instance_lock(Path(home)):
        instance = dg.DagsterInstance.get()
        reaped = reap_dead_runs(instance)
    return instance, reaped


def _process_stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (state first), or None when there is no such process (or no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def owner_tags() -> dict[str, str]:
    """Run tags naming this process, so a later CLI command can tell when the run's process is gone."""
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    stat = _process_stat(os.getpid())
    if stat:
        tags[PROCESS_START_TAG] = stat[19]  # field 22: start time in clock ticks since boot
    return tags


def _owner_gone(tags: dict[str, str]) -> str | None:
    """Why the process that ran a run (per its tags) no longer exists, or None while it may be alive."""
    try:
        pid = int(tags[PID_TAG])
    except (KeyError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"its process {pid} has exited"
    except PermissionError:
        return None  # a process of another user: alive
    stat = _process_stat(pid)
    if stat is None:
        return None
    if stat[0] in ("Z", "X"):
        return f"its process {pid} was killed"
    recorded = tags.get(PROCESS_START_TAG)
    if recorded and stat[19] != recorded:
        return f"its process {pid} has exited (the pid now belongs to another process)"
    return None


def reap_dead_runs(instance) -> list[Reaped]:
    """Fail the unfinished CLI runs of this host whose process is gone, and free the pool slots of every
    run that has ended; returns what was done, for the CLI to say."""
    import dagster as dg

    reaped: list[Reaped] = []
    unfinished = instance.get_run_records(
        filters=dg.RunsFilter(
            statuses=[
                dg.DagsterRunStatus.NOT_STARTED,
                dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.STARTED,
                dg.DagsterRunStatus.CANCELING,
            ],
            tags={HOST_TAG: socket.gethostname()},
        )
    )
    for record in unfinished:
        run = record.dagster_run
        why = _owner_gone(run.tags)
        if why is None:
            continue
        instance.report_run_failed(
            run, message=f"Marked failed by the splants CLI: {why} before the run finished."
        )
        reaped.append(Reaped(run.run_id, why))

    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return reaped
    holders = set(storage.get_concurrency_run_ids())  # runs with steps waiting in a pool queue
    for key in storage.get_concurrency_keys():
        holders |= {slot.run_id for slot in storage.get_concurrency_info(key).claimed_slots}
    if not holders:
        return reaped
    known = {
        r.dagster_run.run_id: r.dagster_run
        for r in instance.get_run_records(dg.RunsFilter(run_ids=list(holders)))
    }
    for run_id in sorted(holders):
        run = known.get(run_id)
        if run is None or run.is_finished:
            storage.free_concurrency_slots_for_run(run_id)
            if run_id not in {r.run_id for r in reaped}:
                status = run.status.value if run else "deleted"
                reaped.append(Reaped(run_id, f"it had ended ({status}) but still held a pool slot"))
    return reaped


def pool_holders(instance, pool: str, own_run_id: str) -> list[str]:
    """The runs other than ``own_run_id`` that hold a slot of ``pool`` now."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    return sorted({s.run_id for s in info.claimed_slots if s.run_id and s.run_id != own_run_id})
