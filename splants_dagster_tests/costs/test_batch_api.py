"""Batch submit, poll and collect through the official SDKs against fake batch endpoints on 127.0.0.1;
results land in the ledger at batch prices (once, however often collected) and in the response cache."""

import pytest

from splants_dagster.campaigns.briefs import find_brief, load_brand
from splants_dagster.content.prompts import piece_request
from splants_dagster.content.suite import check_draft
from splants_dagster.llm.anthropic_provider import AnthropicProvider
from splants_dagster.llm.base import Usage
from splants_dagster.llm.batch import (
    AnthropicBatchAPI,
    BatchError,
    BatchItem,
    OpenAIBatchAPI,
    custom_id,
    record_results,
)
from splants_dagster.llm.cache import ResponseCache
from splants_dagster.llm.client import CallContext
from splants_dagster.llm.journal import CallJournal, read_journal
from splants_dagster.llm.openai_provider import OpenAIProvider
from splants_dagster.llm.pricing import load_models
from splants_dagster.paths import PROJECT_ROOT
from splants_dagster.platforms import plan_suite
from splants_dagster_tests.costs.fakes import FakeAnthropicBatches, FakeOpenAIBatches

KEY = "sk-test-batch-5e1f0c2d9a8b7c6d"
MODELS = load_models(PROJECT_ROOT / "data" / "models.yaml")


def requests(n=3):
    _, brief, _ = find_brief(PROJECT_ROOT / "data" / "campaigns", "compostable-pods-launch")
    brand = load_brand(PROJECT_ROOT / "data" / "brand.yaml")
    specs = plan_suite(brief.id, brief.platforms, brief.content_types, brief.word_targets())[1 : n + 1]
    return [piece_request(s, brief, brand, {"keywords": []}, {"title": "T", "summary": "S"}) for s in specs]


def collect(tmp_path, api, state, provider, items, model):
    results = api.results(state, model)
    with CallJournal(tmp_path / "journal") as journal:
        cache = ResponseCache(tmp_path / "journal", None)
        done = record_results(
            results,
            items,
            batch_id=state.batch_id,
            provider=provider,
            model=model,
            context=CallContext("c1", "content_suite", "run-2", "economy"),
            price=MODELS.cost,
            price_factor=0.5,
            journal=journal,
            cache=cache,
            validate=check_draft,
        )
        cache.close()
    return done, read_journal(journal.path) if journal.path.exists() else []


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_submit_poll_collect_at_half_price(tmp_path, kind):
    fake_cls, api_cls, provider_cls, model = {
        "openai": (FakeOpenAIBatches, OpenAIBatchAPI, OpenAIProvider, "gpt-4o-mini"),
        "anthropic": (FakeAnthropicBatches, AnthropicBatchAPI, AnthropicProvider, "claude-haiku-4-5"),
    }[kind]
    reqs = requests()
    with fake_cls(KEY) as server:
        provider = provider_cls(model=model, api_key=KEY, base_url=server.base_url, timeout_s=10)
        api = api_cls(api_key=KEY, base_url=server.base_url)
        batch = [(custom_id(i, r.cache_key(kind, model)), r) for i, r in enumerate(reqs)]
        state = api.submit(provider, batch, {"splants_campaign": "c1"})
        assert not state.finished and state.batch_id
        assert not api.status(state.batch_id).finished
        failing = batch[2][0]
        server.finish(fail={failing})
        state = api.status(state.batch_id)
        assert state.finished and state.succeeded == 2 and state.failed == 1
        items = {cid: BatchItem.of(cid, r.cache_key(kind, model), r) for cid, r in batch}
        done, ledger = collect(tmp_path, api, state, kind, items, model)
        again, _ = collect(tmp_path, api, state, kind, items, model)
    # the request bodies are the synchronous provider's
    sent = [server.batch_lines[state.batch_id][i]["body"] for i in range(3)] if kind == "openai" else None
    if sent:
        assert sent[0] == provider.params(reqs[0])
    assert (done.ok, done.rejected, done.errors) == (2, 0, 1)
    billed = server.batch_billed
    full = 0.0
    for b in billed:
        u = b["usage"]
        if kind == "openai":
            full += MODELS.cost(
                kind,
                model,
                Usage(
                    u["prompt_tokens"], u["completion_tokens"], u["prompt_tokens_details"]["cached_tokens"]
                ),
            )
        else:
            read, write = u["cache_read_input_tokens"], u["cache_creation_input_tokens"]
            full += MODELS.cost(
                kind,
                model,
                Usage(u["input_tokens"] + read + write, u["output_tokens"], read, cache_write_tokens=write),
            )
    assert done.cost_usd == pytest.approx(full * 0.5) and done.cost_usd > 0
    assert [r.status for r in ledger].count("ok") == 2 and [r.status for r in ledger].count("error") == 1
    assert {r.strategy for r in ledger} == {"economy"} and all(r.called_at for r in ledger)
    # collected twice: the same call ids, so the warehouse ingests them once
    assert {c["call_id"] for c in again.calls} == {c["call_id"] for c in done.calls}
    cached = ResponseCache(tmp_path / "journal", None)
    assert not cached.get(items[failing].cache_key)


def test_errors_are_redacted_and_raised_as_batch_errors():
    with FakeOpenAIBatches(KEY) as server:
        api = OpenAIBatchAPI(api_key="sk-wrong-key-123456", base_url=server.base_url)
        with pytest.raises(BatchError, match="HTTP 401") as err:
            api.status("batch_0001")
    assert "sk-wrong-key-123456" not in str(err.value)
