"""Faults through dg.materialize: ~30% of requests fail (429 / 500 / timeout / reset), replies come back
unusable, or a piece never gets a usable reply. The ledger must match what the servers billed exactly."""

import pytest

from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, materialize_campaign
from splants_dagster_tests.llm.conftest import llm_resource
from splants_dagster_tests.llm.fakes import FakeOpenAI, hashed_faults
from splants_dagster_tests.llm.test_campaign_providers import CORE, PIECES, calls, expected_cost


def run_core(instance, resources, **kw):
    return materialize_campaign(instance, resources, DEMO_CAMPAIGN, selection=CORE, **kw)


def test_campaign_completes_through_injected_faults_and_the_ledger_matches_the_server(
    instance, resources, store, data_dir
):
    with FakeOpenAI("sk-test-faults-0123456789", script=hashed_faults(), timeout_sleep_s=3.0) as server:
        llm = llm_resource(server, timeout_s=1.5, max_attempts=4)
        result = run_core(instance, {**resources, "llm": llm})
    assert result.success
    failed, billed = server.ledger.failed, server.ledger.billed
    assert len(failed) >= 4 and set(failed) == {"429", "500", "timeout", "reset"}
    assert 0.15 <= len(failed) / len(server.requests) <= 0.5  # roughly the 30% injected
    ledger = calls(store)
    replies = [c for c in ledger if c["status"] in ("ok", "rejected")]
    errors = [c for c in ledger if c["status"] == "error"]
    # every billed call exactly once, every failed request exactly once, nothing else
    assert len(replies) == len(billed) == 2 + PIECES
    assert len(errors) == len(failed)
    assert sorted(e["error"].split(": ", 1)[1].split()[0] for e in errors) == sorted(
        {"429": "HTTP", "500": "HTTP", "timeout": "no", "reset": "connection"}[f] for f in failed
    )
    assert sum(c["cost_usd"] for c in ledger) == pytest.approx(
        expected_cost(data_dir, "gpt-4.1-mini", billed)
    )
    assert all(e["cost_usd"] == 0 for e in errors)
    assert {e["attempt"] for e in errors} <= {1, 2} and max(c["attempt"] for c in replies) >= 2


def test_unusable_replies_are_rejected_retried_and_never_stored(instance, resources, store):
    # (the Anthropic mapping of max_tokens / refusal stop reasons is covered in test_providers)
    cycle = ("malformed", "empty", "truncated", "refusal")

    def script(call):
        if call.task == "piece" and call.attempt == 1:
            return cycle[int(call.fingerprint[:4], 16) % 4]
        return None

    with FakeOpenAI("sk-test-x-0123456789", script=script) as fake:
        result = run_core(instance, {**resources, "llm": llm_resource(fake)})
    assert result.success
    ledger = calls(store)
    rejected = [c for c in ledger if c["status"] == "rejected"]
    assert len(rejected) == PIECES and all(c["cost_usd"] > 0 for c in rejected)
    assert len([c for c in ledger if c["status"] in ("ok", "rejected")]) == len(fake.ledger.billed)
    reasons = " ".join(c["error"] for c in rejected)
    assert any(word in reasons for word in ("not valid JSON", "empty text", "cut off", "refused"))
    texts = store.query("SELECT body FROM content_candidates UNION ALL SELECT body FROM content_pieces")
    assert texts and not any("sorry" in t["body"].lower() or not t["body"].strip() for t in texts)
    cached = store.query("SELECT text FROM llm_cache")
    assert len(cached) == 2 + PIECES and all(c["text"].startswith("{") for c in cached)


def test_a_piece_without_a_usable_reply_fails_the_step_clearly_and_a_retry_pays_only_for_it(
    instance, resources, store
):
    bad = "twitter:ad_copy"

    def script(call):
        return "malformed" if call.task == "piece" and "ad copy for twitter" in call.instruction else None

    with FakeOpenAI("sk-test-y-0123456789", script=script) as server:
        llm = llm_resource(server, max_attempts=3)
        result = run_core(instance, {**resources, "llm": llm}, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        message = failure.event_specific_data.error.message
        assert f"{DEMO_CAMPAIGN}:{bad}" in message and "unusable reply after 3 attempt(s)" in message
        assert store.query("SELECT count(*) AS n FROM content_pieces") == [{"n": 0}]  # nothing written

        with store.write():  # the failed step's calls and accepted replies reach the warehouse anyway
            pass
        rejected = store.query("SELECT piece_id FROM llm_calls WHERE status = 'rejected'")
        assert [r["piece_id"] for r in rejected] == [f"{DEMO_CAMPAIGN}:{bad}"] * 3

        server.script = None  # the model behaves again: the retry only pays for the missing piece
        before = len(server.requests)
        retry = materialize_campaign(
            instance, {**resources, "llm": llm}, DEMO_CAMPAIGN, selection=["content_suite"]
        )
        assert retry.success and len(server.requests) == before + 1
    assert store.query("SELECT count(*) AS n FROM content_pieces") == [{"n": PIECES}]
