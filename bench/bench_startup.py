"""Loading the code location, and the memory of `make run` at rest (issue #17).

1. Load time: a bare ``import dagster`` and a code location load (``import splants_dagster.definitions as
   d; d.defs()``, what every run worker, code server and ``splants`` command pays), each in a fresh
   subprocess, best of 3 after one untimed run of each (warm: files in the OS cache, bytecode compiled),
   the two interleaved so a burst of load elsewhere on the machine hits both. Target: the ratio at most
   2.5, on CPU time (user + system: a quiet machine's wall time, which a busy one inflates); the wall
   times and the load average are reported beside it.
2. Idle memory: what ``make run`` starts, by running the same script (``deploy/run-local.sh``: the code
   server, the webserver, the daemon and the desk) on free ports with a scratch ``DAGSTER_HOME`` and data
   directory (``RELOAD=1`` in the environment measures ``make run RELOAD=1``). Once the UI answers and the
   code location has loaded, it rests ``SPLANTS_BENCH_IDLE_S`` seconds (default 30), waits until no run
   is in progress nor started or ended in the last 15 s (a fresh install's sensors start a few, and each
   run's worker lives only as long as its run), and sums the RSS of every process in the tree.
   Target: at most 700 MB. The data directory holds the demo's brand, models and sources but no
   campaign brief, so no campaign run starts.

``python -m bench startup`` prints the figures; ``SPLANTS_BENCH_SKIP_RSS=1`` measures the load time only.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RUN_SCRIPT = PROJECT_ROOT / "deploy" / "run-local.sh"  # what `make run` runs
BIN = Path(sys.executable).parent
BARE = "import dagster"
LOCATION = "import splants_dagster.definitions as d; d.defs()"
REPEATS = 3
TARGET_RATIO = 2.5
TARGET_RSS_MB = 700
IDLE_S = float(os.environ.get("SPLANTS_BENCH_IDLE_S", "30"))
START_TIMEOUT_S = 300.0
RUN_WAIT_S = 900.0  # the longest wait for runs started by sensors on a fresh install to end


def scratch_env(root: Path) -> dict[str, str]:
    """The environment of a fresh install under ``root``: its own Dagster instance and data directory
    (the demo's inputs minus the campaign briefs), no provider keys, the venv first on PATH."""
    home, data = root / "dagster_home", root / "data"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    data.mkdir(parents=True, exist_ok=True)
    for entry in (PROJECT_ROOT / "data").iterdir():
        if entry.name in {"brand.yaml", "models.yaml", "sources"}:
            (shutil.copytree if entry.is_dir() else shutil.copy)(entry, data / entry.name)
    (data / "campaigns").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "ANTHROPIC", "SPLANTS_"))}
    env.update(
        DAGSTER_HOME=str(home),
        SPLANTS_DATA_DIR=str(data),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


@dataclass(frozen=True)
class Timing:
    wall_s: float
    cpu_s: float  # user + system time of the process


def timed(code: str, env: dict[str, str]) -> Timing:
    """Wall and CPU time of ``python -c code`` in a fresh process (interpreter start included, as a CLI
    pays). Nothing else is a child of this process meanwhile, so the children's rusage delta is its own."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise RuntimeError(f"`python -c {code!r}` failed:\n{out.stderr[-4000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(wall, cpu)


def load_times(repeats: int = REPEATS) -> dict:
    """Best of ``repeats`` for both, with the ratio. The verdict uses CPU time: on a quiet machine it is the
    wall time, and unlike wall time it does not grow when other processes compete for the cores (the
    wall figures are reported beside it, with the machine's load average)."""
    with tempfile.TemporaryDirectory(prefix="splants-bench-startup-") as tmp:
        env = scratch_env(Path(tmp))
        timed(BARE, env)  # untimed: warm the file cache and the bytecode
        timed(LOCATION, env)
        bare: list[Timing] = []
        location: list[Timing] = []
        for _ in range(repeats):  # interleaved, so a burst of load elsewhere hits both
            bare.append(timed(BARE, env))
            location.append(timed(LOCATION, env))
    cpu_ratio = min(t.cpu_s for t in location) / min(t.cpu_s for t in bare)
    wall_ratio = min(t.wall_s for t in location) / min(t.wall_s for t in bare)
    return {
        "bare_import_dagster": {
            "wall_s": [round(t.wall_s, 3) for t in bare],
            "cpu_s": [round(t.cpu_s, 3) for t in bare],
        },
        "code_location_load": {
            "wall_s": [round(t.wall_s, 3) for t in location],
            "cpu_s": [round(t.cpu_s, 3) for t in location],
        },
        "bare_best_cpu_s": round(min(t.cpu_s for t in bare), 3),
        "location_best_cpu_s": round(min(t.cpu_s for t in location), 3),
        "ratio": round(cpu_ratio, 2),
        "wall_ratio": round(wall_ratio, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "target_ratio": TARGET_RATIO,
        "meets_target": cpu_ratio <= TARGET_RATIO,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


LOCATION_LOADED = "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"
RUNS = "{ runsOrError { ... on Runs { results { runId status startTime endTime } } } }"
DONE = {"SUCCESS", "FAILURE", "CANCELED"}
SETTLE_S = 15.0  # a finished run's worker exits within this (it is a child of the code server until then)


def graphql(base: str, query: str) -> dict:
    """The ``data`` of a GraphQL answer from the webserver ({} when it does not answer yet)."""
    import httpx

    try:
        reply = httpx.post(f"{base}/graphql", json={"query": query}, timeout=10).json()
    except (httpx.HTTPError, ValueError):
        return {}
    return reply.get("data") or {}


def location_loaded(base: str) -> bool:
    """The webserver answers and reports every code location as LOADED."""
    entries = (graphql(base, LOCATION_LOADED).get("workspaceOrError") or {}).get("locationEntries") or []
    return bool(entries) and all(e.get("loadStatus") == "LOADED" for e in entries)


@dataclass(frozen=True)
class RunActivity:
    runs: int
    in_progress: int
    last_change: float  # epoch seconds of the latest start or end of a run (0: none)


def run_activity(base: str) -> RunActivity | None:
    """What the instance's runs are doing (None: no answer)."""
    runs = (graphql(base, RUNS).get("runsOrError") or {}).get("results")
    if runs is None:
        return None
    busy = [r for r in runs if r["status"] not in DONE]
    times = [t for r in runs for t in (r.get("startTime"), r.get("endTime")) if t]
    return RunActivity(len(runs), len(busy), max(times, default=0.0))


def sample_at_rest(base: str, procs: list[subprocess.Popen]) -> tuple[list[dict], RunActivity | None, float]:
    """The memory of the tree at a moment when no run is in progress nor has started or ended in the last
    ``SETTLE_S`` seconds, checked before and after the sample (a fresh install's sensors start a few runs,
    demo engagement history and reports, whose workers live as long as their run). Gives up waiting after
    ``RUN_WAIT_S`` and samples anyway (the answer says so). Returns (rows, activity, seconds waited)."""
    started_at = time.monotonic()
    while True:
        before = run_activity(base)
        quiet = (
            before is not None and before.in_progress == 0 and time.time() - before.last_change >= SETTLE_S
        )
        if quiet or time.monotonic() - started_at > RUN_WAIT_S:
            rows = tree_memory(procs)
            after = run_activity(base)
            if after == before or not quiet:
                return rows, after, time.monotonic() - started_at
        time.sleep(5)


def wait_for(check: Callable[[], bool], timeout: float, what: str, procs: list[subprocess.Popen]) -> float:
    """Seconds until ``check()`` holds; an error when one of ``procs`` exits first or time runs out."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"process {proc.pid} exited with {proc.returncode} before {what}")
        time.sleep(1)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc: the bench runs on Linux, like the other benches here)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # the command name (field 2) may hold spaces and parentheses: the ppid follows its last ")"
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of one process in MB; PSS splits shared pages between the processes that map them."""
    rss = pss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) / 1024
    return rss, pss or rss


def tree_memory(roots: list[subprocess.Popen]) -> list[dict]:
    """RSS (what the issue measured) and PSS of every process in the trees under ``roots``."""
    rows = []
    for root in roots:
        for pid in [root.pid, *children(root.pid)]:
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
                rss, pss = memory_mb(pid)
                rows.append(
                    {"pid": pid, "what": describe(cmdline), "rss_mb": round(rss, 1), "pss_mb": round(pss, 1)}
                )
    return rows


def describe(cmdline: list[str]) -> str:
    """A short name for a process of the tree from its command line."""
    words = [Path(a).name if a.startswith("/") else a for a in cmdline if a and not a.startswith("--")][:4]
    text = " ".join(words)
    return text if len(text) <= 80 else text[:77] + "..."


@contextlib.contextmanager
def started(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A process in its own session; on exit its whole group gets SIGINT (what Ctrl-C on ``make run``
    sends), then SIGTERM, then SIGKILL."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            args, env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            for sig, wait_s in ((signal.SIGINT, 60), (signal.SIGTERM, 20), (signal.SIGKILL, 10)):
                if proc.poll() is not None:
                    break
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(wait_s)


def idle_rss(idle_s: float = IDLE_S) -> dict:
    with tempfile.TemporaryDirectory(prefix="splants-bench-rss-") as tmp:
        root = Path(tmp)
        env = scratch_env(root)
        web, desk_port, grpc = free_port(), free_port(), free_port()
        env.update(
            HOST="127.0.0.1",
            PORT=str(web),
            DESK_HOST="127.0.0.1",
            DESK_PORT=str(desk_port),
            GRPC_PORT=str(grpc),
            BIN=str(BIN),
            RELOAD=os.environ.get("RELOAD", "0"),  # as `make run` (RELOAD=1: the reload proxy as well)
        )
        base = f"http://127.0.0.1:{web}"
        with started([str(RUN_SCRIPT)], env, root / "run.log") as proc:
            procs = [proc]
            try:
                ready_s = wait_for(lambda: location_loaded(base), START_TIMEOUT_S, "the code location", procs)
                wait_for(lambda: answers(f"http://127.0.0.1:{desk_port}/"), 60, "the desk", procs)
            except RuntimeError as err:
                log = (root / "run.log").read_text(errors="replace")[-4000:]
                raise RuntimeError(f"{err}\n--- run.log (end)\n{log}") from None
            time.sleep(idle_s)
            rows, activity, waited_s = sample_at_rest(base, procs)
    total = sum(r["rss_mb"] for r in rows)
    return {
        "command": f"deploy/run-local.sh (make run RELOAD={env['RELOAD']})",
        "ready_s": round(ready_s, 1),
        "idle_s": idle_s,
        "runs_so_far": activity.runs if activity else None,
        "waited_for_runs_s": round(waited_s, 1),
        "runs_in_progress_at_sample": activity.in_progress if activity else None,
        "processes": sorted(rows, key=lambda r: -r["rss_mb"]),
        "total_rss_mb": round(total, 1),
        "total_pss_mb": round(sum(r["pss_mb"] for r in rows), 1),
        "target_rss_mb": TARGET_RSS_MB,
        "meets_target": total <= TARGET_RSS_MB,
    }


def run() -> dict:
    print(f"code location load vs bare `import dagster`, best of {REPEATS} (fresh processes) ...", flush=True)
    load = load_times()
    verdict = "PASS" if load["meets_target"] else "FAIL"
    print(
        f"import dagster {load['bare_best_cpu_s']}s, code location {load['location_best_cpu_s']}s (CPU, best of "
        f"{REPEATS}): {load['ratio']}x (target <= {TARGET_RATIO}x): {verdict}; wall-time ratio "
        f"{load['wall_ratio']}x at load average {load['load_average'][0]} on {load['cpus']} CPUs",
        flush=True,
    )
    result: dict = {"load": load}
    if os.environ.get("SPLANTS_BENCH_SKIP_RSS"):
        return result
    print(f"`make run` idle memory: starting {RUN_SCRIPT.name}, then {IDLE_S:.0f}s at rest ...", flush=True)
    rss = idle_rss()
    verdict = "PASS" if rss["meets_target"] else "FAIL"
    print(f"{rss['command']}: {rss['total_rss_mb']} MB RSS (target <= {TARGET_RSS_MB} MB): {verdict}")
    for row in rss["processes"]:
        print(f"  {row['rss_mb']:7.1f} MB  {row['what']}")
    result["idle_rss"] = rss
    return result
