"""An LLM server that accepts connections and never answers: the step reports progress while it waits and
fails at its deadline naming the provider and endpoint (issue #14 item 9), in a Dagster run and in
``splants demo``. Loopback only; the deadlines are seconds, set through the real settings."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from splants_dagster.defs.resources import LLMResource
from splants_dagster.llm.base import LLMError, LLMResponse, Usage
from splants_dagster.llm.client import CallContext, LLMClient, StepDeadlineError
from splants_dagster.llm.journal import CallJournal
from splants_dagster.llm.openai_provider import OpenAIProvider
from splants_dagster.llm.validate import check_reply
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, materialize_campaign
from splants_dagster_tests.llm.fakes import SilentServer
from splants_dagster_tests.llm.test_client import kw_request

ROOT = Path(__file__).resolve().parents[2]
SPLANTS = str(Path(os.sys.executable).parent / "splants")


def step_error(event) -> str:
    """The step's error message and its causes (Dagster wraps what the asset raised)."""
    parts, error = [], event.step_failure_data.error
    while error is not None:
        parts.append(error.message)
        error = error.cause
    return "\n".join(parts)


@pytest.fixture
def silent():
    with SilentServer() as server:
        yield server


class Lines:
    """A logger stand-in that keeps what was logged."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, msg: str) -> None:
        self.lines.append(("info", msg))

    def warning(self, msg: str) -> None:
        self.lines.append(("warning", msg))


def test_client_deadline_cancels_and_names_the_endpoint(tmp_path, silent):
    provider = OpenAIProvider(model="m", api_key="k", base_url=silent.base_url, timeout_s=60, name="openai")
    log = Lines()
    with CallJournal(tmp_path) as journal:
        client = LLMClient(
            provider,
            journal,
            CallContext("c", "research_brief"),
            concurrency=2,
            deadline_s=1.0,
            progress_every_s=0.2,
            log=log,
        )
        with pytest.raises(StepDeadlineError) as caught:
            client.run(client.complete_many([kw_request(1), kw_request(2), kw_request(3)]))
    message = str(caught.value)
    assert message.startswith(
        f"LLM provider openai at {silent.base_url} did not answer within 1 s (step deadline"
    )
    assert f"calls outstanding: openai at {silent.base_url} (2 calls)" in message  # concurrency 2
    assert client.outstanding() == []  # cancelled, not left running
    levels = [
        level for level, line in log.lines if line.startswith(f"LLM: waiting on openai at {silent.base_url}")
    ]
    # info while the oldest call is young, a warning once it has waited two intervals: the warning must come,
    # and never be followed by info (the first tick may already be late on a loaded machine, so info may not)
    assert "warning" in levels
    assert "info" not in levels[levels.index("warning") :]


def test_no_deadline_no_progress_for_a_quick_step(tmp_path):
    class Quick:
        name, model, is_offline = "quick", "q", False

        async def complete(self, request):
            return LLMResponse('{"keywords": []}', "quick", "q", Usage(1, 1))

    log = Lines()
    with CallJournal(tmp_path) as journal:
        client = LLMClient(Quick(), journal, CallContext("c", "a"), deadline_s=None, log=log)
        assert client.run(client.complete(kw_request())).text == '{"keywords": []}'
    assert log.lines == []


def test_json_nested_past_the_parser_limit_is_an_unusable_reply():
    deep = "[" * 200_000 + "]" * 200_000
    with pytest.raises(LLMError, match="nested too deeply") as caught:
        check_reply(kw_request(), LLMResponse(deep, "openai", "m", Usage(1, 1)))
    assert caught.value.retryable


def test_research_step_fails_at_its_deadline_naming_the_provider(instance, resources, silent):
    llm = LLMResource(
        base_url=silent.base_url,
        model="hung-model",
        timeout_s=60.0,  # the per-request timeout alone would wait a minute per attempt
        step_deadline_s=3.0,  # the first calls pass the response cache and spend guard first (slow on a loaded CI)
        progress_every_s=0.25,
    )
    result = materialize_campaign(
        instance,
        {**resources, "llm": llm},
        selection=["campaign_brief", "research_brief"],
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failure.step_key == "research_brief"
    message = step_error(failure)
    assert f"LLM provider openai_compatible at {silent.base_url} did not answer within 3 s" in message
    assert "step deadline" in message
    assert silent.accepted >= 1
    logs = [r.user_message for r in instance.all_logs(result.run_id)]
    waiting = [m for m in logs if m.startswith("LLM: waiting on openai_compatible at " + silent.base_url)]
    assert waiting, logs[-20:]
    assert "step deadline in" in waiting[-1]
    # nothing was written for the failed step
    assert not result.asset_materializations_for_node("research_brief")


def test_deadline_and_progress_interval_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SPLANTS_LLM_STEP_DEADLINE_S", "42")
    monkeypatch.setenv("SPLANTS_LLM_PROGRESS_S", "3")
    monkeypatch.setenv("SPLANTS_LLM_TIMEOUT_S", "30")
    llm = LLMResource.from_env()
    assert (llm.step_deadline_s, llm.progress_every_s, llm.timeout_s) == (42.0, 3.0, 30.0)
    monkeypatch.setenv("SPLANTS_LLM_STEP_DEADLINE_S", "0")
    assert LLMResource.from_env().step_deadline_s == 0.0  # 0: no deadline


@pytest.mark.slow
def test_demo_against_a_silent_server_fails_naming_it(data_dir, tmp_path, silent):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "deploy" / "dagster.yaml").read_text())
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SPLANTS_DATA_DIR": str(data_dir),
        "SPLANTS_LLM_BASE_URL": silent.base_url,
        "SPLANTS_LLM_MODEL": "hung-model",
        # 8 s: the research step's first calls pass its response cache and spend guard (warehouse reads)
        # before they reach the server, which on a loaded 2-core CI machine took up to 2 s of the clock
        "SPLANTS_LLM_STEP_DEADLINE_S": "8",
        "SPLANTS_LLM_PROGRESS_S": "1",
    }
    demo = subprocess.run(
        [SPLANTS, "demo", "--campaign", DEMO_CAMPAIGN], capture_output=True, text=True, env=env, timeout=240
    )
    assert demo.returncode == 1
    out = demo.stdout + demo.stderr
    # progress while waiting (a warning once the oldest call has waited two intervals: the demo's log level)
    assert f"LLM: waiting on openai_compatible at {silent.base_url}" in out
    assert f"LLM provider openai_compatible at {silent.base_url} did not answer within 8 s" in out
