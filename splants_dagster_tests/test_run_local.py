"""``deploy/run-local.sh`` (what ``make run`` runs, and the startup bench measures): it starts the code
server, the webserver, the daemon and the desk with the right arguments, and Ctrl-C, or any of them ending,
stops all four. The four commands are stand-ins that handle signals as Dagster does (SIGTERM mapped to
SIGINT's handler), so a child that inherited an ignored SIGINT would never stop; the real stack is started
by the startup bench and the end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from splants_dagster.paths import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "deploy" / "run-local.sh"
COMMANDS = ("splants", "dagster", "dagster-webserver", "dagster-daemon")

STAND_IN = """
import os, signal, sys, time
from pathlib import Path

log = Path(os.environ["STAND_IN_LOG"])
name = Path(sys.argv[0]).name
if sys.argv[1:2] == ["campaign"]:
    sys.exit(0)
signal.signal(signal.SIGTERM, signal.getsignal(signal.SIGINT))  # what Dagster's processes do
with log.open("a") as out:
    out.write(f"start {os.getpid()} {name} {' '.join(sys.argv[1:])}\\n")
ends = time.monotonic() + float(os.environ.get("STAND_IN_EXIT_" + name.replace("-", "_"), "120"))
try:
    while time.monotonic() < ends:
        time.sleep(0.05)
except KeyboardInterrupt:
    with log.open("a") as out:
        out.write(f"stop {os.getpid()} {name}\\n")
"""


@pytest.fixture
def stand_ins(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in COMMANDS:
        path = bin_dir / name
        path.write_text(f"#!{sys.executable}\n{STAND_IN}")
        path.chmod(0o755)
    log = tmp_path / "calls.log"
    log.touch()
    env = {
        **os.environ,
        "BIN": str(bin_dir),
        "PORT": "3999",
        "DESK_PORT": "3998",
        "GRPC_PORT": "3997",
        "DAGSTER_HOME": str(tmp_path / "home"),
        "SPLANTS_DATA_DIR": str(tmp_path / "data"),
        "STAND_IN_LOG": str(log),
    }
    return env, log


def started(log: Path, count: int = 4, timeout: float = 30) -> dict[str, str]:
    """{command: arguments} once ``count`` stand-ins have started."""
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        lines = [line.split(" ", 3) for line in log.read_text().splitlines() if line.startswith("start ")]
        if len(lines) >= count:
            return {parts[2]: parts[3] if len(parts) > 3 else "" for parts in lines}
        time.sleep(0.1)
    raise AssertionError(f"only these started: {log.read_text()!r}")


def stopped(log: Path) -> set[str]:
    return {line.split()[2] for line in log.read_text().splitlines() if line.startswith("stop ")}


def run_script(env: dict[str, str], tmp_path: Path) -> subprocess.Popen:
    # its own session, like a terminal's foreground job: Ctrl-C is SIGINT to that process group
    return subprocess.Popen(
        [str(SCRIPT)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def test_starts_the_four_processes_and_ctrl_c_stops_them_all(stand_ins, tmp_path):
    env, log = stand_ins
    proc = run_script(env, tmp_path)
    try:
        args = started(log)
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert args["dagster"].startswith("api grpc -h 127.0.0.1 -p 3997 -m splants_dagster.definitions")
    assert args["dagster-webserver"] == "-h 127.0.0.1 -p 3999 -w deploy/workspace.run.yaml"
    assert args["dagster-daemon"] == "run -w deploy/workspace.run.yaml"
    assert args["splants"] == "desk --host 127.0.0.1 --port 3998 --dagster-url http://127.0.0.1:3999"
    assert "Dagster UI: http://127.0.0.1:3999" in out and "Desk:       http://127.0.0.1:3998" in out
    assert stopped(log) == set(COMMANDS)  # each one stopped cleanly (KeyboardInterrupt), none left behind
    assert proc.returncode == 130


def test_reload_puts_the_reloading_code_server_in_front(stand_ins, tmp_path):
    env, log = stand_ins
    proc = run_script({**env, "RELOAD": "1"}, tmp_path)
    try:
        args = started(log)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=60)
    assert args["dagster"].startswith("code-server start -h 127.0.0.1 -p 3997")


def test_when_one_process_ends_the_others_are_stopped(stand_ins, tmp_path):
    env, log = stand_ins
    proc = run_script({**env, "STAND_IN_EXIT_dagster_daemon": "1"}, tmp_path)
    try:
        started(log)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert stopped(log) == {"splants", "dagster", "dagster-webserver"}
