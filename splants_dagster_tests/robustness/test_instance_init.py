"""Concurrent first starts on an empty $DAGSTER_HOME (#14 item 4): the instance is created once, under a
lock, and every process that started together works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg

from splants_dagster.paths import PROJECT_ROOT
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN

SPLANTS = str(Path(sys.executable).parent / "splants")


def test_three_cli_processes_started_together_on_an_empty_home_all_work(data_dir, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "deploy" / "dagster.yaml").read_text())
    env = {**os.environ, "DAGSTER_HOME": str(home), "SPLANTS_DATA_DIR": str(data_dir)}
    procs = [
        subprocess.Popen(
            [SPLANTS, "campaign", "sync"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outcomes = [(*p.communicate(timeout=180), p.returncode) for p in procs]
    for _out, err, code in outcomes:
        assert code == 0, err[-2000:]
        assert "alembic" not in err
    # each campaign was registered exactly once, and the instance stays usable afterwards
    with dg.DagsterInstance.from_config(str(home)) as instance:
        registered = instance.get_dynamic_partitions("campaigns")
        assert DEMO_CAMPAIGN in registered and len(set(registered)) == len(registered)
        assert sum(_newly_registered(out) for out, _, _ in outcomes) == len(registered)
        instance.add_dynamic_partitions("campaigns", ["later-campaign"])
        assert instance.get_runs() == []
    again = subprocess.run(
        [SPLANTS, "campaign", "sync"], env=env, capture_output=True, text=True, timeout=180
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert _newly_registered(again.stdout) == 0


def _newly_registered(out: str) -> int:
    return int(re.search(r"(\d+) newly registered", out).group(1))


def test_a_missing_home_folder_is_created_with_the_projects_instance_config(data_dir, tmp_path):
    """#17: every command works outside `make` (no DAGSTER_HOME prepared): the folder is created and gets
    deploy/dagster.yaml, as `make home` does."""
    home = tmp_path / "not-yet" / "dagster_home"
    env = {**os.environ, "DAGSTER_HOME": str(home), "SPLANTS_DATA_DIR": str(data_dir)}
    done = subprocess.run([SPLANTS, "campaign", "sync"], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert (home / "dagster.yaml").read_text() == (PROJECT_ROOT / "deploy" / "dagster.yaml").read_text()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert DEMO_CAMPAIGN in instance.get_dynamic_partitions("campaigns")


def test_without_dagster_home_the_project_local_instance_is_used(monkeypatch, tmp_path):
    from splants_dagster.cli import instance as cli_instance

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setattr(cli_instance, "default_dagster_home", lambda: tmp_path / ".dagster_home")
    home = cli_instance.ensure_dagster_home()
    assert home == tmp_path / ".dagster_home" and os.environ["DAGSTER_HOME"] == str(home)
    assert (home / "dagster.yaml").is_file()
    # the default is the checkout's own folder (what `make` exports), never the current directory
    monkeypatch.undo()
    assert cli_instance.default_dagster_home() == PROJECT_ROOT / ".dagster_home"
