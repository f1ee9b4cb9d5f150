"""The LLM-assisted judge and rewrite, through the real LLM client and a provider written here (the
``Provider`` protocol of llm/base.py): what QA does when a real model is configured."""

import asyncio
import json

from splants_dagster.llm.base import LLMError, LLMRequest, LLMResponse, Provider, Usage
from splants_dagster.llm.client import CallContext, LLMClient
from splants_dagster.llm.journal import CallJournal
from splants_dagster.qa import QAText, review, spec_for
from splants_dagster.qa.assist import QAAssistant
from splants_dagster_tests.qa.corpus import CAMPAIGN, base_context

LINK = "https://hearthandbean.example/pods"


class ScriptedModel:
    """A model that judges every piece 0.6 with one finding, and rewrites by dropping a claim."""

    name = "scripted"
    model = "qa-judge-1"
    is_offline = False

    def __init__(self, rewrite=None, fail: set[str] | None = None):
        self.requests: list[LLMRequest] = []
        self.rewrite_fn = rewrite
        self.fail = fail or set()

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        if request.purpose in self.fail:
            raise LLMError("upstream said no", retryable=False)
        piece = request.payload["piece"]
        if request.purpose in ("qa.grammar", "qa.brand_voice"):
            reply = {
                "score": 0.6,
                "findings": [
                    {
                        "excerpt": piece["body"].split()[0],
                        "message": f"{request.purpose} nit",
                        "suggestion": "tighten",
                    }
                ],
            }
        elif request.purpose == "qa.rewrite":
            reply = {"title": piece["title"], "body": self.rewrite_fn(piece["body"])}
        else:
            raise LLMError(f"unexpected purpose {request.purpose}")
        text = json.dumps(reply)
        return LLMResponse(text, self.name, self.model, Usage(len(request.prompt_text) // 4, len(text) // 4))


def run(provider: Provider, text: QAText, tmp_path, **kw):
    async def go():
        with CallJournal(tmp_path / "journal") as journal:
            client = LLMClient(provider, journal, CallContext(CAMPAIGN, "qa_report"))
            assistant = QAAssistant(client, base_context().brand)
            outcome = await review(text, base_context(), assistant, **kw)
            return outcome, assistant, list(journal.records)

    return asyncio.run(go())


def piece(body: str) -> QAText:
    return QAText(
        f"{CAMPAIGN}:facebook:ad_copy",
        spec_for(CAMPAIGN, "facebook", "ad_copy"),
        "Pods",
        body,
        cta="Pre-order the starter pack",
    )


def test_provider_protocol_is_the_real_interface():
    assert isinstance(ScriptedModel(), Provider)


def test_judge_is_blended_with_the_rules(tmp_path):
    model = ScriptedModel()
    text = piece(
        f"Our compostable coffee pods from Hearth & Bean go in your compost. Pre-order the starter pack: {LINK}"
    )
    outcome, assistant, records = run(model, text, tmp_path)
    grammar = outcome.rounds[0].evaluation.checks["grammar"]
    assert grammar.details["rule_score"] == 1.0 and grammar.details["llm_score"] == 0.6
    assert grammar.score == 0.8 and grammar.details["llm_model"] == "scripted/qa-judge-1"
    judged = [f for f in grammar.findings if f.code == "llm_judge"]
    assert judged and judged[0].message == "qa.grammar nit" and judged[0].start == 0
    assert sorted(r.purpose for r in records) == ["qa.brand_voice", "qa.grammar"]
    assert all(r.asset == "qa_report" and r.provider == "scripted" for r in records)
    assert assistant.problems == []


def test_rewrite_fixes_what_the_rules_cannot(tmp_path):
    model = ScriptedModel(rewrite=lambda body: body.replace("Guaranteed results: ", ""))
    text = piece(
        f"Guaranteed results: compostable coffee pods from Hearth & Bean. Pre-order the starter pack: {LINK}"
    )
    outcome, _assistant, records = run(model, text, tmp_path)
    assert outcome.status == "auto_fixed"
    assert "Guaranteed" not in outcome.final.body and outcome.evaluation.checks["legal"].passed
    assert any(f.startswith("round 1: llm: rewrote") for f in outcome.fixes)
    rewrite = next(r for r in model.requests if r.purpose == "qa.rewrite")
    assert "prohibited claim" in rewrite.instruction and rewrite.piece_id == text.piece_id
    assert "qa.rewrite" in {r.purpose for r in records}


def test_rewrite_that_does_not_help_ends_flagged_after_two_rounds(tmp_path):
    model = ScriptedModel(rewrite=lambda body: body + " Really.")
    text = piece(
        f"Guaranteed results: compostable coffee pods from Hearth & Bean. Pre-order the starter pack: {LINK}"
    )
    outcome, _assistant, _records = run(model, text, tmp_path)
    assert outcome.status == "flagged" and outcome.fix_rounds == 2
    assert sum(1 for r in model.requests if r.purpose == "qa.rewrite") == 2


def test_failed_calls_leave_the_rule_based_result(tmp_path):
    model = ScriptedModel(fail={"qa.grammar", "qa.brand_voice"})
    text = piece(
        f"Our compostable coffee pods from Hearth & Bean go in your compost. Pre-order the starter pack: {LINK}"
    )
    outcome, assistant, records = run(model, text, tmp_path)
    assert outcome.status == "approved"
    assert "llm_score" not in outcome.evaluation.checks["grammar"].details
    assert len(assistant.problems) == 2 and {r.status for r in records} == {"error"}
