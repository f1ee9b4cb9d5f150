"""The SDK-backed providers against fake servers speaking the real wire formats: what goes over the wire,
how usage is read, and how errors are classified (no SDK method is patched)."""

import asyncio

import pytest

from splants_dagster.campaigns.briefs import load_brand, load_brief
from splants_dagster.content.prompts import audience_request, keywords_request
from splants_dagster.llm.anthropic_provider import AnthropicProvider
from splants_dagster.llm.base import LLMError
from splants_dagster.llm.openai_provider import OpenAIProvider
from splants_dagster.paths import PROJECT_ROOT
from splants_dagster_tests.llm.conftest import ANTHROPIC_KEY, OPENAI_KEY
from splants_dagster_tests.llm.fakes import FakeAnthropic, FakeOpenAI


def requests():
    brief, _ = load_brief(PROJECT_ROOT / "data" / "campaigns" / "compostable-pods-launch.yaml")
    brand = load_brand(PROJECT_ROOT / "data" / "brand.yaml")
    return keywords_request(brief, brand, ["pods"]), audience_request(brief, brand, [])


def run(provider, *reqs):
    async def main():
        try:
            return [await provider.complete(r) for r in reqs]
        finally:
            await provider.aclose()

    return asyncio.run(main())


def test_openai_wire_format_usage_and_prompt_caching():
    kw, audience = requests()
    with FakeOpenAI(OPENAI_KEY) as server:
        provider = OpenAIProvider(model="gpt-4.1-mini", api_key=OPENAI_KEY, base_url=server.base_url)
        first, second = run(provider, kw, audience)
    sent = [r.json() for r in server.requests]
    assert [r.headers["authorization"] for r in server.requests] == [f"Bearer {OPENAI_KEY}"] * 2
    for body, req in zip(sent, (kw, audience), strict=True):
        assert body["model"] == "gpt-4.1-mini"
        assert body["messages"][0] == {"role": "system", "content": req.system}
        assert body["messages"][1]["content"].startswith(req.shared_context)  # shared prefix first
        assert body["max_completion_tokens"] == req.max_tokens
        assert body["response_format"] == {"type": "json_object"}
    # both calls share the prefix, so they share a prompt_cache_key
    assert sent[0]["prompt_cache_key"] == sent[1]["prompt_cache_key"]
    assert first.usage.cached_tokens == 0 and second.usage.cached_tokens > 0
    assert second.usage.prompt_tokens == server.ledger.billed[1]["usage"]["prompt_tokens"]
    assert (
        second.usage.cached_tokens
        == server.ledger.billed[1]["usage"]["prompt_tokens_details"]["cached_tokens"]
    )
    assert first.finish_reason == "stop" and first.text.startswith("{")


def test_compatible_server_gets_widely_supported_parameters():
    kw, _ = requests()
    with FakeOpenAI("not-needed") as server:
        provider = OpenAIProvider(
            name="openai_compatible", model="llama3.1", api_key="not-needed", base_url=server.base_url
        )
        (reply,) = run(provider, kw)
    body = server.requests[0].json()
    assert body["max_tokens"] == kw.max_tokens and "max_completion_tokens" not in body
    assert "prompt_cache_key" not in body
    assert reply.provider == "openai_compatible" and reply.model == "llama3.1"


def test_anthropic_wire_format_cache_breakpoint_and_usage():
    kw, audience = requests()
    with FakeAnthropic(ANTHROPIC_KEY) as server:
        provider = AnthropicProvider(
            model="claude-haiku-4-5", api_key=ANTHROPIC_KEY, base_url=server.base_url, timeout_s=5
        )
        first, second = run(provider, kw, audience)
    body = server.requests[0].json()
    assert body["system"] == [{"type": "text", "text": kw.system}]
    shared, instruction = body["messages"][0]["content"]
    assert shared == {"type": "text", "text": kw.shared_context, "cache_control": {"type": "ephemeral"}}
    assert instruction == {"type": "text", "text": kw.instruction}
    assert "temperature" not in body  # not accepted by the current Messages API
    # first call writes the cache, the second reads it; prompt_tokens counts all input tokens
    u1, u2 = (b["usage"] for b in server.ledger.billed)
    assert first.usage.cache_write_tokens == u1["cache_creation_input_tokens"] > 0
    assert second.usage.cached_tokens == u2["cache_read_input_tokens"] > 0
    assert second.usage.prompt_tokens == u2["input_tokens"] + u2["cache_read_input_tokens"]
    assert first.finish_reason == second.finish_reason == "stop"


@pytest.mark.parametrize(
    ("fault", "retryable", "text"),
    [
        ("429", True, "HTTP 429"),
        ("500", True, "HTTP 500"),
        ("529", True, "HTTP 529"),
        ("reset", True, "connection failed"),
        ("401", False, "HTTP 401"),
    ],
)
@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_errors_are_classified(kind, fault, retryable, text):
    kw, _ = requests()
    fake = FakeOpenAI if kind == "openai" else FakeAnthropic
    key = OPENAI_KEY if kind == "openai" else ANTHROPIC_KEY
    with fake(key, script=lambda call: fault, retry_after={"retry-after": "7"}) as server:
        cls = OpenAIProvider if kind == "openai" else AnthropicProvider
        provider = cls(model="m", api_key=key, base_url=server.base_url, timeout_s=5)
        with pytest.raises(LLMError) as err:
            run(provider, kw)
    assert err.value.retryable is retryable
    assert text in str(err.value) and str(err.value).startswith(f"{kind}/m: ")
    if fault == "429":
        assert err.value.retry_after == 7.0 and "Retry-After 7s" in str(err.value)


def test_timeout_is_retryable():
    kw, _ = requests()
    with FakeOpenAI(OPENAI_KEY, script=lambda call: "timeout", timeout_sleep_s=1.0) as server:
        provider = OpenAIProvider(model="m", api_key=OPENAI_KEY, base_url=server.base_url, timeout_s=0.3)
        with pytest.raises(LLMError, match="timeout") as err:
            run(provider, kw)
    assert err.value.retryable


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_truncation_and_refusal_reach_the_validator_as_finish_reasons(kind):
    kw, audience = requests()
    script = {"keywords": "truncated", "audience": "refusal"}
    fake = FakeOpenAI if kind == "openai" else FakeAnthropic
    key = OPENAI_KEY if kind == "openai" else ANTHROPIC_KEY
    with fake(key, script=lambda call: script[call.task]) as server:
        cls = OpenAIProvider if kind == "openai" else AnthropicProvider
        cut, refused = run(cls(model="m", api_key=key, base_url=server.base_url, timeout_s=5), kw, audience)
    assert cut.finish_reason == "length"
    assert refused.finish_reason == "refusal" and "can't help" in refused.text
    assert cut.usage.completion_tokens > 0  # billed: the ledger must still see the tokens


def test_repr_never_shows_the_key():
    provider = OpenAIProvider(model="m", api_key=OPENAI_KEY)
    assert OPENAI_KEY not in repr(provider)
