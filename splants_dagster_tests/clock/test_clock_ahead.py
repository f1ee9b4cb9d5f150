"""The date-sensitive code with the system clock moved by Debian's ``faketime`` (libfaketime): a year ahead
and on the two DST-change days of the brand's timezone (Europe/London). Each check is a real subprocess
(pytest, ``splants``) started under ``faketime``, so every clock it reads is moved: Python's, DuckDB's and
those of the processes it starts. See ``docs/time.md``."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from splants_dagster.campaigns.briefs import resolve_relative_date
from splants_dagster.paths import PROJECT_ROOT
from splants_dagster_tests.clock.faketime import (
    A_YEAR_AHEAD,
    LONDON_DST_ENDS,
    LONDON_DST_STARTS,
    faketime_binary,
    faketime_env,
    under_faketime,
)

pytestmark = pytest.mark.slow
SPLANTS = str(Path(sys.executable).parent / "splants")

# fast tests of what depends on "now": scheduling (windows, DST), due times, engagement windows, budget
# month boundaries, brief validation against today
DATE_SENSITIVE = [
    "splants_dagster_tests/test_timeutil.py",
    "splants_dagster_tests/campaigns/test_briefs.py",
    "splants_dagster_tests/publishing/test_scheduling.py",
    "splants_dagster_tests/costs/test_policy.py",
    "splants_dagster_tests/costs/test_budget_sensor.py::test_reads_only_new_ledger_rows",
    "splants_dagster_tests/publishing/test_assets.py::test_sensor_requests_a_tagged_run_only_when_something_is_due",
    "splants_dagster_tests/engagement/test_sensors.py::test_inbox_sensor_imports_each_file_version_once_then_rebuilds_its_days",
]

PROBE = """
import datetime as dt, json, threading, time, duckdb
t0 = time.monotonic()
time.sleep(0.05)
threading.Event().wait(0.05)
print(json.dumps({"now": dt.datetime.now(dt.UTC).isoformat(), "duckdb": str(duckdb.connect().execute("SELECT current_date").fetchone()[0]),
                  "waited": time.monotonic() - t0}))
"""


SENSOR_TICK = """
import json, os, dagster as dg
from splants_dagster.defs.campaigns.sensors import campaign_brief_sensor
from splants_dagster.defs.resources import ProjectResource
with dg.instance_for_test() as instance:
    project = ProjectResource(data_dir=os.environ["SPLANTS_DATA_DIR"])
    result = campaign_brief_sensor(dg.build_sensor_context(instance=instance, resources={"project": project}))
    print(json.dumps(sorted({r.partition_key for r in result.run_requests or [] if r.partition_key})))
"""


def _at(spec: str) -> dt.datetime:
    return dt.datetime.fromisoformat(spec).replace(tzinfo=dt.UTC)


def _run(at: str, argv: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        under_faketime(at, argv), env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_python_under_faketime_reads_the_moved_clock_and_still_waits():
    """The harness itself: the clock starts at the given instant and runs, DuckDB sees it too, and sleeps
    and timed waits return (libfaketime 0.9.10 would hang or fail them without the shim)."""
    faketime_binary()
    out = _run(LONDON_DST_STARTS, [sys.executable, "-c", PROBE], faketime_env(), timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    probe = json.loads(out.stdout)
    now = dt.datetime.fromisoformat(probe["now"])
    assert _at(LONDON_DST_STARTS) <= now < _at(LONDON_DST_STARTS) + dt.timedelta(minutes=1)
    assert probe["duckdb"] == "2027-03-28" and 0.1 <= probe["waited"] < 30


@pytest.mark.parametrize("at", [A_YEAR_AHEAD, LONDON_DST_STARTS, LONDON_DST_ENDS])
def test_date_sensitive_tests_pass_with_the_clock_moved(at: str, tmp_path: Path):
    faketime_binary()
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "t")]
    out = _run(at, [*argv, *DATE_SENSITIVE], faketime_env())
    assert out.returncode == 0, f"at {at} UTC:\n{out.stdout[-4000:]}\n{out.stderr[-2000:]}"
    assert " passed" in out.stdout and " failed" not in out.stdout


def _demo_dir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    tmp_path.mkdir(exist_ok=True)
    data, home = tmp_path / "data", tmp_path / "dagster_home"
    data.mkdir()
    home.mkdir()
    for name in ("brand.yaml", "models.yaml", "campaigns", "sources"):
        src = PROJECT_ROOT / "data" / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, data / name)
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")  # as `make home` does
    env = {k: v for k, v in faketime_env().items() if not k.startswith(("OPENAI", "ANTHROPIC", "SPLANTS_"))}
    env.update(SPLANTS_DATA_DIR=str(data), DAGSTER_HOME=str(home))
    return data, env


def test_make_run_and_make_demo_a_year_ahead_lie_ahead_of_the_clock(tmp_path: Path):
    """`make run` (campaign sync) and `make demo` with the clock a year ahead: every demo brief's window is
    resolved from that day, the demo campaign's schedule lies ahead of the clock, and nothing is due at once,
    as on the day the demo was written."""
    faketime_binary()
    data, env = _demo_dir(tmp_path)
    today = _at(A_YEAR_AHEAD).date()
    briefs = {p.stem: yaml.safe_load(p.read_text()) for p in sorted((data / "campaigns").glob("*.yaml"))}
    expected = {
        cid: resolve_relative_date(b["start_date"], today)
        if b.get("demo")
        else dt.date.fromisoformat(str(b["start_date"]))
        for cid, b in briefs.items()
    }
    assert all(start > today for start in expected.values()), expected

    sync = _run(A_YEAR_AHEAD, [SPLANTS, "campaign", "sync"], env)
    assert sync.returncode == 0, sync.stderr[-2000:]
    registry = json.loads((data / "warehouse" / "brief_registry.json").read_text())
    assert {cid: dt.date.fromisoformat(r["start_date"]) for cid, r in registry.items()} == expected

    # the daemon's path (`make run` leaves new briefs to the brief sensor): one tick on a fresh copy
    sensor_data, sensor_env = _demo_dir(tmp_path / "sensor")
    tick = _run(A_YEAR_AHEAD, [sys.executable, "-c", SENSOR_TICK], sensor_env)
    assert tick.returncode == 0, tick.stderr[-2000:]
    assert json.loads(tick.stdout.strip().splitlines()[-1]) == sorted(expected)
    sensed = json.loads((sensor_data / "warehouse" / "brief_registry.json").read_text())
    assert {cid: dt.date.fromisoformat(r["start_date"]) for cid, r in sensed.items()} == expected

    campaign = "compostable-pods-launch"
    demo = _run(A_YEAR_AHEAD, [SPLANTS, "demo", "--campaign", campaign], env)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    with duckdb.connect(str(data / "analytics.duckdb"), read_only=True) as con:
        start, days = con.execute(
            "SELECT start_date, duration_days FROM analytics.campaigns WHERE campaign_id = ?", [campaign]
        ).fetchone()
        first, last, n = con.execute(
            "SELECT min(publish_at), max(publish_at), count(*) FROM analytics.schedule WHERE campaign_id = ?",
            [campaign],
        ).fetchone()
    assert start == expected[campaign] and n > 0
    window_end = dt.datetime.combine(start + dt.timedelta(days=days + 1), dt.time(), dt.UTC)
    assert _at(A_YEAR_AHEAD) < first <= last < window_end

    publish = _run(A_YEAR_AHEAD, [SPLANTS, "publish", "--dry-run"], env)
    assert publish.returncode == 0, publish.stderr[-2000:]
    assert "nothing due" in publish.stdout, publish.stdout[-2000:]
