"""API keys never appear in the Dagster event log, compute logs, asset metadata, the warehouse, the data
dir, Python logs or exceptions, even when a hostile server echoes the key back in its error messages."""

import logging
from pathlib import Path

import dagster as dg
import duckdb

from splants_dagster.defs.resources import LLMResource
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, materialize_campaign
from splants_dagster_tests.llm.conftest import FAST
from splants_dagster_tests.llm.fakes import FakeAnthropic, FakeOpenAI
from splants_dagster_tests.llm.test_campaign_providers import CORE

OPENAI_SECRET = "sk-proj-LEAKCHECK-7d1e5a9c3b8f4e2d6a0c9b7e5f3d1a8c"
ANTHROPIC_SECRET = "sk-ant-api03-LEAKCHECK-4c8e2a6d0f9b7c5e3a1d8f6b4e2c0a9d"
SECRETS = (OPENAI_SECRET, ANTHROPIC_SECRET)


def files_under(*roots: Path):
    for root in roots:
        for path in Path(root).rglob("*"):
            if path.is_file():
                yield path


def duckdb_strings(path: Path) -> str:
    """Every text value of every table (files may store strings compressed, so grep the values too)."""
    conn = duckdb.connect(str(path), read_only=True)
    try:
        columns = conn.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' OR data_type LIKE '%[]'"
        ).fetchall()
        values = []
        for schema, table, column in columns:
            rows = conn.execute(f'SELECT CAST("{column}" AS VARCHAR) FROM "{schema}"."{table}"').fetchall()
            values += [r[0] or "" for r in rows]
        return "\n".join(values)
    finally:
        conn.close()


def test_api_keys_never_leak(instance, resources, store, data_dir, monkeypatch, caplog, capfd):
    caplog.set_level(logging.DEBUG)  # the SDKs' and httpx's debug logging included
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_SECRET)
    first_call = {"done": False}

    def once_401(call):  # the very first OpenAI call is refused, echoing the key
        if not first_call["done"]:
            first_call["done"] = True
            return "401"
        return None

    with (
        FakeOpenAI(OPENAI_SECRET, script=once_401, echo_key_on_401=True) as oa,
        FakeAnthropic(ANTHROPIC_SECRET, echo_key_on_401=True) as an,
    ):
        endpoints = {"openai_base_url": oa.base_url, "anthropic_base_url": an.base_url}
        llm = LLMResource.from_env(**endpoints, **FAST)
        ok = materialize_campaign(instance, {**resources, "llm": llm}, DEMO_CAMPAIGN, selection=CORE)
        assert ok.success

        # a run that fails: both servers reject every call, echoing the key
        oa.script = an.script = lambda call: "401"
        failed = materialize_campaign(
            instance,
            {**resources, "llm": LLMResource.from_env(**endpoints, **FAST, force_refresh=True)},
            DEMO_CAMPAIGN,
            selection=["research_brief"],
            raise_on_error=False,
        )
        assert not failed.success
    # the servers really did echo the keys, and the ledger kept a (redacted) trace of it
    assert "401" in oa.ledger.failed and "401" in an.ledger.failed
    with store.write():
        pass
    haystacks: dict[str, str] = {}
    for run in (ok, failed):
        haystacks[f"event log {run.run_id}"] = "\n".join(
            dg.serialize_value(e) for e in instance.all_logs(run.run_id)
        )
        haystacks[f"run {run.run_id}"] = dg.serialize_value(instance.get_run_by_id(run.run_id))
    for path in files_under(instance.root_directory, data_dir):
        haystacks[str(path)] = path.read_bytes().decode("latin-1")
        if path.suffix == ".duckdb":
            haystacks[f"{path} values"] = duckdb_strings(path)
    haystacks["python logs"] = caplog.text
    out, err = capfd.readouterr()
    haystacks["stdout"], haystacks["stderr"] = out, err
    assert any(name.endswith((".out", ".err", ".complete")) for name in haystacks)  # compute logs scanned
    leaks = [name for name, text in haystacks.items() for secret in SECRETS if secret in text]
    assert leaks == []
    assert caplog.text  # the scan saw real log output
    errors = store.query("SELECT error FROM llm_calls WHERE status = 'error'")
    # every refusal echoed a key and is stored redacted; a retried transient error (a connection the
    # loaded fake server dropped) carries no key and no redaction, and the leak scan above covers it
    refusals = [e["error"] for e in errors if "HTTP 401" in e["error"]]
    assert refusals and all("[redacted]" in e for e in refusals)
    failure = next(e for e in failed.all_events if e.event_type_value == "STEP_FAILURE")
    assert "HTTP 401 Incorrect API key provided: [redacted]" in failure.event_specific_data.error.to_string()
