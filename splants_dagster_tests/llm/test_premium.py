"""Premium multi-model mode: OpenAI and Anthropic both draft, a merge call combines; its fallbacks."""

import pytest

from splants_dagster.campaigns.briefs import load_brand, load_brief
from splants_dagster.content.suite import SuiteContext, generate_suite
from splants_dagster.llm.anthropic_provider import AnthropicProvider
from splants_dagster.llm.base import LLMError
from splants_dagster.llm.client import CallContext, LLMClient
from splants_dagster.llm.journal import CallJournal
from splants_dagster.llm.offline import OfflineProvider
from splants_dagster.llm.openai_provider import OpenAIProvider
from splants_dagster.llm.retry import RetryPolicy
from splants_dagster.paths import PROJECT_ROOT
from splants_dagster.research.analysis import http_client, load_sources, research_campaign
from splants_dagster_tests.llm.conftest import ANTHROPIC_KEY, OPENAI_KEY, llm_resource
from splants_dagster_tests.llm.fakes import FakeAnthropic, FakeOpenAI
from splants_dagster_tests.llm.test_campaign_providers import PIECES, calls, run_core


def test_premium_campaign_drafts_twice_and_merges(instance, resources, store, fake_openai, fake_anthropic):
    llm = llm_resource(fake_openai, fake_anthropic, strategy="quality")
    assert "premium: openai/gpt-4.1 and anthropic/claude-opus-4-6 draft, openai merges" in llm.label()
    assert run_core(instance, {**resources, "llm": llm}).success
    ledger = calls(store)
    research = {(c["provider"], c["model"], c["purpose"]) for c in ledger if c["asset"] == "research_brief"}
    assert research == {
        ("openai", "gpt-4.1", "research.keywords"),
        ("openai", "gpt-4.1", "research.audience"),
    }
    content = [(c["piece_id"], c["provider"], c["purpose"]) for c in ledger if c["asset"] == "content_suite"]
    assert len(content) == 3 * PIECES
    for piece_id in {p for p, _, _ in content}:
        assert sorted((prov, purpose) for p, prov, purpose in content if p == piece_id) == [
            ("anthropic", "content.piece"),
            ("openai", "content.merge"),
            ("openai", "content.piece"),
        ]
    assert {c["strategy"] for c in ledger} == {"quality"}
    candidates = store.query("SELECT piece_id, strategy, provider, title FROM content_candidates")
    by_piece: dict[str, set] = {}
    for c in candidates:
        by_piece.setdefault(c["piece_id"], set()).add((c["strategy"], c["provider"]))
    assert len(by_piece) == PIECES
    assert set(map(frozenset, by_piece.values())) == {
        frozenset(
            {
                ("standard", "openai"),
                ("standard", "anthropic"),
                ("premium", "openai"),
                ("template", "template"),
            }
        )
    }
    assert all(c["title"].startswith("Merged: ") for c in candidates if c["strategy"] == "premium")
    merges = [r.json() for r in fake_openai.requests if "merge the drafts" in r.body.decode()]
    assert len(merges) == PIECES
    pillar = next(m["messages"][1]["content"] for m in merges if "write the blog for blog" in str(m))
    # both drafts (each provider writes in its own voice) reach the merge
    assert "Draft A:" in pillar and "Openai tested" in pillar and "Anthropic tested" in pillar


@pytest.fixture
def suite_ctx(paths):
    brief, _ = load_brief(PROJECT_ROOT / "data" / "campaigns" / "compostable-pods-launch.yaml")
    brand = load_brand(PROJECT_ROOT / "data" / "brand.yaml")
    with http_client(5) as http:
        docs = load_sources([s.ref for s in brief.source_entries()], PROJECT_ROOT / "data", http)
    offline = LLMClient(OfflineProvider(), CallJournal(paths.journal_dir), CallContext(brief.id, "research"))
    research = offline.run(research_campaign(brief, brand, docs, offline))
    offline.journal.close()
    return SuiteContext(brief=brief, brand=brand, research=research, source_texts={})


def premium_client(paths, oa, an):
    openai = OpenAIProvider(model="gpt-4.1", api_key=OPENAI_KEY, base_url=oa.base_url, timeout_s=2)
    anthropic = AnthropicProvider(
        model="claude-opus-4-6", api_key=ANTHROPIC_KEY, base_url=an.base_url, timeout_s=2
    )
    return LLMClient(
        openai,
        CallJournal(paths.journal_dir),
        CallContext("c1", "content_suite", strategy="quality"),
        concurrency=8,
        fallbacks=[anthropic],
        retry=RetryPolicy(2, 0.001, 0.01),
        premium_partner=anthropic,
    )


def test_one_draft_failing_leaves_the_other(paths, suite_ctx):
    with FakeOpenAI(OPENAI_KEY) as oa, FakeAnthropic(ANTHROPIC_KEY, script=lambda call: "500") as an:
        llm = premium_client(paths, oa, an)
        result = llm.run(generate_suite(suite_ctx, llm))
    assert not result.failures and len(result.pieces) == PIECES
    for piece in result.pieces:
        assert {(c.strategy, c.provider) for c in piece.candidates} == {
            ("standard", "openai"),
            ("template", "template"),
        }
    assert not [r for r in llm.records if r.purpose == "content.merge"]
    errors = [r for r in llm.records if r.provider == "anthropic"]
    assert len(errors) == 2 * PIECES and {r.status for r in errors} == {"error"}


def test_merge_failing_keeps_the_better_scored_draft(paths, suite_ctx):
    def merge_breaks(call):
        return "malformed" if call.task == "merge" else None

    with (
        FakeOpenAI(OPENAI_KEY, script=merge_breaks) as oa,
        FakeAnthropic(ANTHROPIC_KEY, script=merge_breaks) as an,
    ):
        llm = premium_client(paths, oa, an)
        result = llm.run(generate_suite(suite_ctx, llm))
    assert not result.failures and len(result.pieces) == PIECES
    for piece in result.pieces:
        strategies = sorted((c.strategy, c.provider) for c in piece.candidates)
        assert strategies == [("standard", "anthropic"), ("standard", "openai"), ("template", "template")]
        assert piece.chosen.total == max(c.total for c in piece.candidates)
    merges = [r for r in llm.records if r.purpose == "content.merge"]
    # each merge: two rejected tries on openai, then two on anthropic as the recorded fallback
    assert len(merges) == 4 * PIECES and {r.status for r in merges} == {"rejected"}
    assert {r.fallback_from for r in merges if r.provider == "anthropic"} == {"openai/gpt-4.1"}


def test_both_drafts_failing_fails_the_piece(paths, suite_ctx):
    with (
        FakeOpenAI(OPENAI_KEY, script=lambda call: "500") as oa,
        FakeAnthropic(ANTHROPIC_KEY, script=lambda call: "429") as an,
    ):
        llm = premium_client(paths, oa, an)
        with pytest.raises(LLMError, match="both premium drafts failed") as err:
            llm.run(generate_suite(suite_ctx, llm))
    assert "HTTP 500" in str(err.value) and "HTTP 429" in str(err.value)
    assert {r.status for r in llm.records} == {"error"}
