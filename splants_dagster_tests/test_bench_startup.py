"""The startup bench's measuring code (``python -m bench startup``): the process tree it sums, the memory
it reads, the scratch install it loads the code location in. No timings or memory figures are asserted."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench import bench_startup
from splants_dagster.paths import PROJECT_ROOT

PARENT_OF_TWO = """
import subprocess, sys, time
kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) for _ in range(2)]
print("ready", flush=True)
time.sleep(60)
"""


def test_tree_memory_sums_a_process_and_all_its_children():
    parent = subprocess.Popen([sys.executable, "-c", PARENT_OF_TWO], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "ready"
        kids = bench_startup.children(parent.pid)
        rows = bench_startup.tree_memory([parent])
    finally:
        for pid in bench_startup.children(parent.pid):
            subprocess.run(["kill", str(pid)], check=False)
        parent.kill()
        parent.wait()
    assert len(kids) == 2
    assert {r["pid"] for r in rows} == {parent.pid, *kids}
    assert all(r["rss_mb"] > 0 and r["pss_mb"] > 0 for r in rows)
    assert all(r["what"].startswith("python") for r in rows), rows


def test_scratch_env_is_a_fresh_install_without_briefs_or_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-the-bench")
    monkeypatch.setenv("SPLANTS_DATA_DIR", str(PROJECT_ROOT / "data"))
    env = bench_startup.scratch_env(tmp_path)
    assert "OPENAI_API_KEY" not in env
    assert env["SPLANTS_DATA_DIR"] == str(tmp_path / "data")
    assert (tmp_path / "dagster_home" / "dagster.yaml").is_file()
    assert (tmp_path / "data" / "brand.yaml").is_file()
    assert list((tmp_path / "data" / "campaigns").iterdir()) == []  # no brief: no run starts while idle


def test_timed_reports_a_failing_load_with_its_error(tmp_path):
    env = bench_startup.scratch_env(tmp_path)
    with pytest.raises(RuntimeError, match=r"No module named 'splants_dagster\.no_such_module'"):
        bench_startup.timed("import splants_dagster.no_such_module", env)
