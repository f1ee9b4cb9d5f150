"""The LLM client against fake servers: retries and backoff, unusable replies, fallback, the concurrency
bound, and the response cache with its warehouse journal. Every attempt must be one ledger row."""

import asyncio
import dataclasses
import datetime as dt
import shutil

import pytest

from splants_dagster.campaigns.briefs import load_brand, load_brief
from splants_dagster.content.prompts import audience_request, keywords_request
from splants_dagster.llm.anthropic_provider import AnthropicProvider
from splants_dagster.llm.base import LLMError
from splants_dagster.llm.cache import CacheEntry, ResponseCache, SnapshotLookup
from splants_dagster.llm.client import CallContext, LLMClient
from splants_dagster.llm.journal import CallJournal
from splants_dagster.llm.openai_provider import OpenAIProvider
from splants_dagster.llm.pricing import load_models
from splants_dagster.llm.retry import RetryPolicy
from splants_dagster.paths import PROJECT_ROOT
from splants_dagster_tests.llm.conftest import ANTHROPIC_KEY, OPENAI_KEY
from splants_dagster_tests.llm.fakes import FakeAnthropic, FakeOpenAI

MODELS = load_models(PROJECT_ROOT / "data" / "models.yaml")


def kw_request(n: int = 0):
    brief, _ = load_brief(PROJECT_ROOT / "data" / "campaigns" / "compostable-pods-launch.yaml")
    brand = load_brand(PROJECT_ROOT / "data" / "brand.yaml")
    return keywords_request(brief, brand, [f"term {n}"])


def audience():
    brief, _ = load_brief(PROJECT_ROOT / "data" / "campaigns" / "compostable-pods-launch.yaml")
    return audience_request(brief, load_brand(PROJECT_ROOT / "data" / "brand.yaml"), [])


def openai(server, model="gpt-4.1-mini"):
    return OpenAIProvider(model=model, api_key=OPENAI_KEY, base_url=server.base_url, timeout_s=2)


def anthropic(server, model="claude-haiku-4-5"):
    return AnthropicProvider(model=model, api_key=ANTHROPIC_KEY, base_url=server.base_url, timeout_s=2)


def client(paths, primary, *, fallbacks=(), cache=None, concurrency=4, attempts=4, max_retry_after=1.0):
    return LLMClient(
        primary,
        CallJournal(paths.journal_dir),
        CallContext("c1", "test_asset", "run-1", "balanced"),
        price=MODELS.cost,
        concurrency=concurrency,
        fallbacks=fallbacks,
        retry=RetryPolicy(attempts, 0.001, 0.01, max_retry_after),
        cache=cache,
    )


def rows(llm):
    return [(r.provider, r.status, r.attempt, r.fallback_from) for r in llm.records]


def test_every_attempt_is_a_row_and_only_replies_are_billed(paths):
    plan = {1: "429", 2: "500"}
    with FakeOpenAI(OPENAI_KEY, script=lambda call: plan.get(call.attempt)) as server:
        llm = client(paths, openai(server))
        reply = llm.run(llm.complete(kw_request()))
    assert reply.text.startswith("{")
    assert rows(llm) == [
        ("openai", "error", 1, None),
        ("openai", "error", 2, None),
        ("openai", "ok", 3, None),
    ]
    first, second, ok = llm.records
    assert "HTTP 429" in first.error and "retrying in" in first.error
    assert "HTTP 500" in second.error
    assert first.cost_usd == second.cost_usd == 0 and first.prompt_tokens == 0
    usage = server.ledger.billed[0]["usage"]
    assert ok.prompt_tokens == usage["prompt_tokens"] and ok.completion_tokens == usage["completion_tokens"]
    assert ok.cost_usd == pytest.approx(
        (usage["prompt_tokens"] * 0.40 + usage["completion_tokens"] * 1.60) / 1e6
    )
    assert (ok.strategy, ok.campaign_id, ok.asset, ok.run_id) == ("balanced", "c1", "test_asset", "run-1")
    assert server.ledger.failed == ["429", "500"]


def test_bounded_attempts_then_a_clear_failure_and_no_offline_substitute(paths):
    with FakeOpenAI(OPENAI_KEY, script=lambda call: "500") as server:
        llm = client(paths, openai(server), attempts=3)
        with pytest.raises(LLMError) as err:
            llm.run(llm.complete(kw_request()))
    message = str(err.value)
    assert "research.keywords failed on openai/gpt-4.1-mini" in message
    assert "gave up after 3 attempt(s)" in message and "HTTP 500" in message
    assert rows(llm) == [("openai", "error", n, None) for n in (1, 2, 3)]
    assert len(server.requests) == 3


def test_non_retryable_error_is_not_retried(paths):
    with FakeOpenAI(OPENAI_KEY, script=lambda call: "401") as server:
        llm = client(paths, openai(server))
        with pytest.raises(LLMError, match="HTTP 401"):
            llm.run(llm.complete(kw_request()))
    assert len(server.requests) == 1 and rows(llm) == [("openai", "error", 1, None)]


def test_fallback_to_the_other_provider_is_recorded(paths):
    # a Retry-After longer than we are willing to wait moves on at once
    with (
        FakeOpenAI(OPENAI_KEY, script=lambda call: "429", retry_after={"retry-after": "120"}) as oa,
        FakeAnthropic(ANTHROPIC_KEY) as an,
    ):
        llm = client(paths, openai(oa), fallbacks=[anthropic(an)])
        reply = llm.run(llm.complete(kw_request()))
    assert reply.provider == "anthropic"
    assert rows(llm) == [("openai", "error", 1, None), ("anthropic", "ok", 1, "openai/gpt-4.1-mini")]
    assert "Retry-After 120s" in llm.records[0].error and llm.records[0].error.endswith("(Retry-After 120s)")
    assert llm.totals()["fallback_calls"] == 1


@pytest.mark.parametrize("fault", ["truncated", "empty", "malformed", "refusal"])
def test_unusable_reply_is_billed_rejected_and_retried(paths, fault):
    with FakeOpenAI(OPENAI_KEY, script=lambda call: fault if call.attempt == 1 else None) as server:
        llm = client(paths, openai(server))
        reply = llm.run(llm.complete(kw_request()))
    assert rows(llm) == [("openai", "rejected", 1, None), ("openai", "ok", 2, None)]
    rejected = llm.records[0]
    assert rejected.cost_usd > 0 and rejected.completion_tokens > 0  # the provider billed it
    expected = {
        "truncated": "cut off by the token limit",
        "empty": "empty text",
        "malformed": "not valid JSON",
        "refusal": "refused",
    }
    assert expected[fault] in rejected.error
    first, second = (r.json() for r in server.requests)
    assert "could not be used" in second["messages"][1]["content"]
    assert second["messages"][1]["content"].startswith(first["messages"][1]["content"].split("## Task")[0])
    if fault == "truncated":
        assert second["max_completion_tokens"] > first["max_completion_tokens"]
    assert reply.text.startswith("{")


def test_always_unusable_fails_clearly_after_bounded_attempts(paths):
    with FakeOpenAI(OPENAI_KEY, script=lambda call: "malformed") as server:
        llm = client(paths, openai(server), attempts=3)
        with pytest.raises(LLMError, match=r"unusable reply after 3 attempt\(s\): reply is not valid JSON"):
            llm.run(llm.complete(kw_request()))
    assert [r.status for r in llm.records] == ["rejected"] * 3
    assert len(server.ledger.billed) == 3 and all(r.cost_usd > 0 for r in llm.records)


def test_concurrency_is_bounded(paths):
    with FakeOpenAI(OPENAI_KEY, latency_s=0.05) as server:
        llm = client(paths, openai(server), concurrency=3)
        replies = llm.run(llm.complete_many([kw_request(i) for i in range(12)]))
    assert len(replies) == 12 and len(server.requests) == 12
    assert 1 < server.ledger.max_in_flight <= 3


def test_cache_hit_costs_nothing_and_calls_nobody(paths):
    cache = ResponseCache(paths.journal_dir, lookup=None)
    with FakeOpenAI(OPENAI_KEY) as server:
        llm = client(paths, openai(server), cache=cache)
        first = llm.run(llm.complete(kw_request()))
        again = llm.run(llm.complete(kw_request()))
    assert len(server.requests) == 1 and again.text == first.text
    hit = llm.records[1]
    assert (hit.cached, hit.cost_usd, hit.prompt_tokens, hit.status) == (True, 0.0, 0, "ok")


def test_cache_entries_reach_the_warehouse_without_a_write_session_during_generation(paths, store):
    with FakeOpenAI(OPENAI_KEY) as server:
        cache = ResponseCache(paths.journal_dir, lookup=None)
        llm = client(paths, openai(server), cache=cache)
        reply = llm.run(llm.complete(kw_request()))
        llm.close()
        llm.journal.close()
        journal = next(paths.journal_dir.glob("cache-*.jsonl"))
        copy = journal.read_text()
        with store.write():  # any later write session ingests the cache journal
            pass
        key = kw_request().cache_key("openai", "gpt-4.1-mini")
        lookup = SnapshotLookup(store)
        assert lookup(key)["text"] == reply.text
        lookup.close()
        # a replayed journal does not duplicate; an older entry does not replace a newer one
        older = CacheEntry.from_row(__import__("json").loads(copy.splitlines()[0]))
        older = dataclasses.replace(older, text="{}", created_at=older.created_at - dt.timedelta(days=1))
        (paths.journal_dir / "cache-replay.jsonl").write_text(copy + older.to_json() + "\n")
        with store.write():
            pass
        assert store.query("SELECT count(*) AS n, min(text) AS t FROM llm_cache") == [
            {"n": 1, "t": reply.text}
        ]
        # a new client reading the snapshot is served from the cache
        fresh = client(paths, openai(server), cache=ResponseCache(paths.journal_dir, SnapshotLookup(store)))
        again = fresh.run(fresh.complete(kw_request()))
        fresh.close()
    assert again.text == reply.text and len(server.requests) == 1
    assert fresh.records[0].cached


def test_cached_reply_failing_todays_validation_is_generated_afresh(paths):
    cache = ResponseCache(paths.journal_dir, lookup=None)
    with FakeOpenAI(OPENAI_KEY) as server:
        llm = client(paths, openai(server), cache=cache)
        llm.run(llm.complete(kw_request()))

        def stricter(reply):
            if "relevance" in reply.text and len(server.requests) == 1:
                raise LLMError("no longer acceptable", retryable=True)

        llm.run(llm.complete(kw_request(), validate=stricter))
    assert len(server.requests) == 2 and not llm.records[1].cached


def test_one_client_serves_several_event_loops(paths):
    # assets call client.run() more than once; each run has its own loop and SDK HTTP pool
    with FakeOpenAI(OPENAI_KEY) as server:
        llm = client(paths, openai(server))
        llm.run(llm.complete(kw_request(1)))
        llm.run(llm.complete(audience()))
        asyncio.run(llm.complete(kw_request(2)))
    assert [r.status for r in llm.records] == ["ok"] * 3
    shutil.rmtree(paths.journal_dir, ignore_errors=True)
