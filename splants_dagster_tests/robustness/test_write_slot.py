"""Slow remote work never holds the warehouse write slot.

Research (fetching sources), content and QA (calling a model) used to take the single ``duckdb_write`` pool
slot for the whole step, so one slow source or provider stalled every warehouse writer. Now they take no
pool slot and write in short ``Warehouse.write()`` sessions, serialised across processes by the
warehouse's own lock. The proof: while a step is held inside its remote work (a loopback source or model
that waits for the test to let it answer), another process materializes a ``duckdb_write`` asset on the
same Dagster instance and finishes; afterwards the ``write_sessions`` audit shows no two write sessions
overlapped. With the old pool the other process would wait for the slot until the step ended (the test
would hit its subprocess timeout instead).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import dagster as dg
import pytest

from splants_dagster.definitions import build_all_resources
from splants_dagster.defs.research.resources import ResearchWebResource
from splants_dagster.defs.resources import LLMResource
from splants_dagster.paths import PROJECT_ROOT, DataPaths
from splants_dagster.research.fetch import ALLOW_ENV, DEADLINE_ENV
from splants_dagster.warehouse.store import Warehouse
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, FakeServer, Reply, materialize_campaign
from splants_dagster_tests.llm.fakes import FakeOpenAI

PAGE = b"""<html><head><title>Pod Guide</title></head><body><article><h1>Pod Guide</h1>
<p>Compostable coffee pods break down in a home compost heap. Home compostable pods need no industrial
facility, and compostable coffee pods keep aluminium out of landfill.</p></article></body></html>"""

# the other process only has to import Dagster and write once; this is a hang guard, not a speed target
OTHER_WRITER_TIMEOUT_S = 240

WRITER = """
import json, os, sys
import dagster as dg
from splants_dagster.defs.campaigns.assets import campaign_catalog
from splants_dagster.definitions import build_all_resources

resources = build_all_resources(sys.argv[1])
with dg.DagsterInstance.get() as instance:
    result = dg.materialize(
        [campaign_catalog],
        instance=instance,
        resources={k: resources[k] for k in ("project", "warehouse")},
        raise_on_error=False,
    )
print(json.dumps({"success": result.success, "pid": os.getpid()}))
"""


class Gate:
    """Holds remote work (a source or a model reply) until the test opens it."""

    def __init__(self) -> None:
        self.armed = False
        self.arrived = threading.Event()
        self.opened = threading.Event()

    def hold(self) -> None:
        if self.armed:
            self.arrived.set()
            self.opened.wait(OTHER_WRITER_TIMEOUT_S + 60)


@pytest.fixture
def shared_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A Dagster instance on disk (the ``duckdb_write`` pool at 1), shared with a second process."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "concurrency:\n  pools:\n    default_limit: 1\ntelemetry:\n  enabled: false\n"
    )
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        yield instance


def write_elsewhere(data_dir: Path) -> dict:
    """Another process (its own run) materializes a ``duckdb_write`` asset on the same instance."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", WRITER, str(data_dir)],
            cwd=PROJECT_ROOT,
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            timeout=OTHER_WRITER_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the other process's warehouse write waited on the step's remote work")
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_held(instance, resources, stage: str, gate: Gate, data_dir: Path) -> dg.ExecuteInProcessResult:
    """Materialize ``stage`` in a thread; while the gate holds it in its remote work, write from another
    process; then let the remote work answer and return the stage's result."""
    results: list = []
    gate.armed = True
    thread = threading.Thread(
        target=lambda: results.append(
            materialize_campaign(instance, resources, selection=[stage], raise_on_error=False)
        ),
        daemon=True,
    )
    thread.start()
    try:
        assert gate.arrived.wait(OTHER_WRITER_TIMEOUT_S), f"{stage} never reached its remote work"
        other = write_elsewhere(data_dir)
        assert other["success"], other
        assert thread.is_alive() and not results  # the stage was still waiting on its remote work
    finally:
        gate.opened.set()
        thread.join(OTHER_WRITER_TIMEOUT_S)
    assert results and results[0].success
    sessions = assert_writes_never_overlapped(data_dir)
    pids = [s["pid"] for s in sessions]
    assert other["pid"] in pids and pids[-1] == os.getpid()  # the stage wrote last, after the other
    return results[0]


def assert_writes_never_overlapped(data_dir: Path) -> list[dict]:
    sessions = Warehouse(DataPaths.at(data_dir)).query(
        "SELECT pid, started_at, ended_at FROM write_sessions ORDER BY started_at"
    )
    for before, after in itertools.pairwise(sessions):
        assert before["ended_at"] <= after["started_at"], (before, after)
    return sessions


@pytest.mark.slow  # a second Python process importing Dagster: ~20-40 s on 2 busy cores
def test_a_slow_source_does_not_hold_other_writers(data_dir, shared_instance, resources, monkeypatch):
    gate = Gate()

    def slow_source(rec):
        gate.hold()
        return Reply(raw=PAGE, headers={"content-type": "text/html"})

    with FakeServer(slow_source) as source:
        monkeypatch.setenv(ALLOW_ENV, "127.0.0.1")
        # the gate decides when the source answers, not the deadline or the read timeout
        monkeypatch.setenv(DEADLINE_ENV, str(OTHER_WRITER_TIMEOUT_S + 120))
        resources["research_web"] = ResearchWebResource(timeout_s=OTHER_WRITER_TIMEOUT_S + 120)
        brief = data_dir / "campaigns" / f"{DEMO_CAMPAIGN}.yaml"
        brief.write_text(brief.read_text().replace("\nsources:\n", f"\nsources:\n  - {source.url}/pods\n", 1))
        assert materialize_campaign(shared_instance, resources, selection=["campaign_brief"]).success
        result = run_held(shared_instance, resources, "research_brief", gate, data_dir)
    meta = result.asset_materializations_for_node("research_brief")[0].metadata
    assert meta["sources_ok"].value == 3  # the slow source was read in the end, with the two files
    catalog = Warehouse(DataPaths.at(data_dir)).query("SELECT count(*) n FROM brief_files")
    assert catalog[0]["n"] >= 1  # the other process's write landed


@pytest.mark.slow
def test_a_slow_model_does_not_hold_other_writers_in_content_and_qa(data_dir, shared_instance, monkeypatch):
    gate = Gate()
    with FakeOpenAI("sk-test-write-slot", script=lambda call: gate.hold()) as model:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-write-slot")
        resources = build_all_resources(data_dir)
        resources["llm"] = LLMResource.from_env(openai_base_url=model.base_url, timeout_s=600.0)
        selection = ["campaign_brief", "research_brief"]
        assert materialize_campaign(shared_instance, resources, selection=selection).success
        run_held(shared_instance, resources, "content_suite", gate, data_dir)
        gate.arrived.clear()
        gate.opened.clear()
        run_held(shared_instance, resources, "qa_report", gate, data_dir)


def test_remote_work_steps_take_no_write_pool():
    """The steps that fetch or call a model take no ``duckdb_write`` slot (the tests above show why);
    the warehouse lock alone serialises their writes."""
    from splants_dagster.definitions import defs

    pools = {
        key.to_user_string(): a.op.pool
        for a in defs().assets
        if isinstance(a, dg.AssetsDefinition)
        for key in a.keys
    }
    assert {k: pools[k] for k in ("research_brief", "content_suite", "qa_report")} == {
        "research_brief": None,
        "content_suite": None,
        "qa_report": None,
    }
