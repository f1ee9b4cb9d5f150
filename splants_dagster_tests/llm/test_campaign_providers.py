"""The demo campaign through dg.materialize with each real provider (fake servers, official SDKs): costs
from reported usage × models.yaml prices, prompt caching, and the response cache on re-runs."""

import pytest

from splants_dagster.defs.resources import LLMResource
from splants_dagster.llm.base import Usage
from splants_dagster.llm.pricing import load_models
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, materialize_campaign
from splants_dagster_tests.llm.conftest import llm_resource
from splants_dagster_tests.llm.fakes import FakeOpenAI

CORE = ["campaign_brief", "research_brief", "content_suite"]
PIECES = 10  # the demo brief plans a pillar and nine derived pieces


def run_core(instance, resources, **kw):
    return materialize_campaign(instance, resources, DEMO_CAMPAIGN, selection=CORE, **kw)


def calls(store, run_id=None):
    sql = "SELECT * FROM analytics.llm_calls WHERE campaign_id = ?"
    params = [DEMO_CAMPAIGN]
    if run_id:
        sql += " AND run_id = ?"
        params.append(run_id)
    return store.query(sql + " ORDER BY called_at", params)


def expected_cost(data_dir, model, billed, anthropic=False):
    price = load_models(data_dir / "models.yaml").price_of(model)
    total = 0.0
    for b in billed:
        u = b["usage"]
        if anthropic:
            read, write = u["cache_read_input_tokens"], u["cache_creation_input_tokens"]
            usage = Usage(
                u["input_tokens"] + read + write, u["output_tokens"], read, cache_write_tokens=write
            )
        else:
            usage = Usage(
                u["prompt_tokens"], u["completion_tokens"], u["prompt_tokens_details"]["cached_tokens"]
            )
        total += price.cost(usage)
    return total


def test_openai_campaign_then_cached_rerun_then_forced_refresh(
    instance, resources, store, data_dir, fake_openai
):
    resources = {**resources, "llm": llm_resource(fake_openai)}
    first = run_core(instance, resources)
    assert first.success
    assert len(fake_openai.requests) == 2 + PIECES
    ledger = calls(store)
    assert {(c["provider"], c["model"], c["strategy"], c["status"]) for c in ledger} == {
        ("openai", "gpt-4.1-mini", "balanced", "ok")
    }
    assert not any(c["cached"] or c["tokens_estimated"] for c in ledger)
    # cost = reported usage × models.yaml prices; the suite's shared prefix was served from the prompt cache
    assert sum(c["cost_usd"] for c in ledger) == pytest.approx(
        expected_cost(data_dir, "gpt-4.1-mini", fake_openai.ledger.billed)
    )
    assert sum(c["cached_tokens"] for c in ledger if c["asset"] == "content_suite") > 0
    candidates = store.query(
        "SELECT piece_id, provider, model FROM content_candidates WHERE strategy = 'standard' ORDER BY piece_id"
    )
    assert len(candidates) == PIECES and {(c["provider"], c["model"]) for c in candidates} == {
        ("openai", "gpt-4.1-mini")
    }
    meta = first.asset_materializations_for_node("content_suite")[0].metadata
    assert meta["llm"].value.startswith("openai/gpt-4.1-mini (strategy balanced)")
    assert meta["cost_usd"].value > 0
    bodies = store.query("SELECT piece_id, body FROM content_pieces ORDER BY piece_id")

    again = run_core(instance, resources)
    assert again.success
    assert len(fake_openai.requests) == 2 + PIECES  # not one provider call
    rerun = calls(store, again.run_id)
    assert len(rerun) == 2 + PIECES
    assert all(c["cached"] and c["cost_usd"] == 0 and c["prompt_tokens"] == 0 for c in rerun)
    assert store.query("SELECT piece_id, body FROM content_pieces ORDER BY piece_id") == bodies
    meta = again.asset_materializations_for_node("content_suite")[0].metadata
    assert meta["cost_usd"].value == 0 and meta["llm_calls"].value == PIECES

    refresh = {**resources, "llm": llm_resource(fake_openai, force_refresh=True)}
    forced = run_core(instance, refresh)
    assert forced.success and len(fake_openai.requests) == 2 * (2 + PIECES)
    assert not any(c["cached"] for c in calls(store, forced.run_id))


def test_anthropic_campaign_uses_the_cache_breakpoint(instance, resources, store, data_dir, fake_anthropic):
    resources = {**resources, "llm": llm_resource(anthropic=fake_anthropic)}
    assert run_core(instance, resources).success
    ledger = calls(store)
    assert {(c["provider"], c["model"]) for c in ledger} == {("anthropic", "claude-sonnet-4-6")}
    for request in fake_anthropic.requests:
        blocks = request.json()["messages"][0]["content"]
        assert blocks[0]["cache_control"] == {"type": "ephemeral"}
    content = [c for c in ledger if c["asset"] == "content_suite"]
    # one call wrote the suite's shared prefix to the cache, the others read it at the cached rate
    assert sum(1 for c in content if c["cache_write_tokens"]) == 1
    assert sum(1 for c in content if c["cached_tokens"]) == PIECES - 1
    assert sum(c["cost_usd"] for c in ledger) == pytest.approx(
        expected_cost(data_dir, "claude-sonnet-4-6", fake_anthropic.ledger.billed, anthropic=True)
    )


def test_openai_compatible_server_from_environment(instance, resources, store, monkeypatch):
    with FakeOpenAI("local-key") as server:
        monkeypatch.setenv("SPLANTS_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("SPLANTS_LLM_MODEL", "llama3.1")
        monkeypatch.setenv("SPLANTS_LLM_API_KEY", "local-key")
        llm = LLMResource.from_env(timeout_s=5.0)
        assert llm.label() == "openai_compatible/llama3.1 (strategy balanced)"
        result = run_core(instance, {**resources, "llm": llm})
        assert result.success
    ledger = calls(store)
    assert len(ledger) == 2 + PIECES and len(server.requests) == 2 + PIECES
    assert {(c["provider"], c["model"], c["cost_usd"]) for c in ledger} == {
        ("openai_compatible", "llama3.1", 0.0)
    }
    assert all(r.json()["max_tokens"] > 0 for r in server.requests)


def test_no_key_means_offline_and_the_label_says_so(monkeypatch):
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "SPLANTS_LLM_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    llm = LLMResource.from_env()
    assert llm.provider_impl().is_offline
    assert "offline" in llm.label() and "not a language model" in llm.label()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    llm = LLMResource.from_env()
    assert llm.label().startswith("openai/gpt-4.1-mini") and "sk-from-env" not in repr(llm.openai_api_key)
    assert llm.label("quality").startswith("openai/gpt-4.1 (strategy quality)")


def test_explicit_provider_without_its_key_fails_clearly():
    import dagster as dg

    with pytest.raises(dg.Failure, match="ANTHROPIC_API_KEY is not set"):
        LLMResource(provider="anthropic").plan()
    with pytest.raises(dg.Failure, match="strategy 'luxury'"):
        LLMResource().plan("luxury")
