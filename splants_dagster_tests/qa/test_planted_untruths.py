"""Issue #15, evidence: a provider whose drafts carry planted untruths never gets one approved.

A fake OpenAI server on loopback (real wire format, the official SDK on our side) writes every piece of the
demo pods campaign from the approved facts it receives in the prompt, and plants one untruth of a different
kind in eight of the ten pieces (the pillar and the Facebook ad stay clean as controls): an invented
statistic, testimony, social proof, an award, a competitor's offer, a health claim, fake scarcity, and a
small-number claim the facts do not make. Its QA judge is fooled (it scores everything 0.95) and its
rewrite is stubborn (it sends the copy back unchanged), so only the deterministic checks stand between the
untruth and publishing. The whole campaign job runs; every piece (A/B variants included) that carried an
untruth ends either fixed (the final text no longer contains it) or flagged by a truth check, and
``analytics.claims`` lists each planted claim as unsupported.
"""

from __future__ import annotations

import json
import re
import shutil
from typing import Any

import dagster as dg
import pytest

from splants_dagster.definitions import build_all_resources
from splants_dagster.defs.resources import LLMResource
from splants_dagster.paths import PROJECT_ROOT, DataPaths
from splants_dagster.warehouse.store import Warehouse
from splants_dagster_tests.conftest import DEMO_INPUTS
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, materialize_campaign
from splants_dagster_tests.llm.fakes import Call, FakeOpenAI, write_reply

KEY = "sk-test-planted-3c9e1a7b5d2f4e6a8c0b"

# (platform, content type) -> (kind, planted sentence, the part that must not survive approval)
PLANTED: dict[tuple[str, str], tuple[str, str, str]] = {
    ("email", "email"): (
        "statistic",
        "83% of pod users would switch to compostable coffee pods tomorrow.",
        "83%",
    ),
    ("linkedin", "social_post"): (
        "testimony",
        "Our customers tell us these are the only pods they will ever buy.",
        "customers tell us",
    ),
    ("instagram", "social_post"): (
        "social proof",
        "Join 10,000 happy home brewers who already made the switch.",
        "10,000 happy home brewers",
    ),
    ("facebook", "social_post"): (
        "award",
        "Winner of the 2025 Great Taste Award for compostable coffee.",
        "Great Taste Award",
    ),
    ("twitter", "social_post"): (
        "competitor offer",
        "Save 15% on every delivery.",
        "15%",
    ),
    ("twitter", "ad_copy"): (
        "health claim",
        "Every cup boosts your immune system.",
        "boosts your immune system",
    ),
    ("linkedin", "ad_copy"): (
        "scarcity",
        "Only 50 starter packs left, so order today.",
        "Only 50 starter packs left",
    ),
    ("instagram", "ad_copy"): (
        "small number",
        "A fresh refill box arrives every seven days.",
        "every seven days",
    ),
}
CLEAN = {("blog", "blog"), ("facebook", "ad_copy")}
TRUTH_CHECKS = {"factual", "legal", "substance", "uniqueness"}
TASK = re.compile(r"## Task: write the (.+?) for (\w+)")


def approved_facts(shared: str) -> list[str]:
    block = shared.split("## Approved claims\n", 1)[1]
    facts = []
    for line in block.splitlines():
        if not line.startswith("- "):
            break
        if not line.startswith(("- Testimonial", "- Source")):
            facts.append(line[2:])
    return facts


def planted_piece(call: Call, platform: str, ctype: str) -> dict[str, Any]:
    """A draft built only from the approved facts, plus the planted untruth for this piece."""
    facts = approved_facts(call.shared)
    link = "https://hearthandbean.example/pods"
    cta = "Pre-order the starter pack"
    untruth = PLANTED.get((platform, ctype), (None, "", ""))[1]
    if ctype == "blog":
        sections = [
            "Hearth & Bean compostable coffee pods are here for your pod machine.",
            f"## What is in the starter pack\n\n{facts[0]} {facts[2]}",
            f"## Where the specialty coffee comes from\n\n{facts[3]} {facts[4]}",
            f"## What happens to a used pod\n\n{facts[1]} {facts[6]}",
            f"## How a refill works\n\n{facts[5]}",
            f"## Pre-order\n\n{cta}: {link}",
        ]
        body = "\n\n".join(sections)
    elif ctype == "email":
        body = (
            f"Hi there,\n\nOur compostable coffee pods are ready for pre-order. {facts[0]} {untruth}\n\n"
            f"{facts[1]} {facts[6]}\n\n{cta}: {link}\n\nYou are receiving this email because you subscribed "
            "at hearthandbean.example. Unsubscribe any time: https://hearthandbean.example/unsubscribe. "
            "Hearth & Bean, 12 Mill Lane, Leeds LS1 4AB, UK."
        )
    else:
        body = f"Hearth & Bean compostable coffee pods: {facts[0]} {untruth} {cta}: {link}".replace("  ", " ")
    title = subject = "Compostable coffee pods from Hearth & Bean"
    if untruth and "This is an A/B variant" in call.instruction:
        # a variant keeps only its hook or headline: the model puts the untruth right there
        body = f"{untruth} {body.replace(untruth, '')}".replace("  ", " ")
        title = subject = untruth.rstrip(".")
    return {
        "title": title,
        "body": body,
        "hashtags": ["#HearthAndBean"] if platform in ("instagram", "twitter") else [],
        "cta": cta,
        "seo_title": "Compostable coffee pods for your pod machine",
        "meta_description": (
            "Hearth & Bean compostable coffee pods: what the starter pack holds, where the coffee comes "
            "from, and what happens to a used pod."
        ),
        "subject": subject,
        "preheader": "The starter pack holds 30 pods and costs £12, and they fit Nespresso Original.",
    }


class PlantingOpenAI(FakeOpenAI):
    """Writes pieces with planted untruths; a fooled judge and a rewrite that changes nothing."""

    def ok(self, call: Call, text: str, finish: str, cache_prefix: str) -> dict[str, Any]:
        task = TASK.search(call.instruction)
        if task:
            ctype = task.group(1).replace(" ", "_")
            text = json.dumps(planted_piece(call, task.group(2), ctype))
        elif "## Task: fix the copy" in call.instruction:
            copy = call.instruction.split("<untrusted-data>\n", 1)[1].split("\n</untrusted-data>", 1)[0]
            text = json.dumps(json.loads(copy))
        elif call.task == "piece":  # a QA judge's question: it sees nothing wrong
            text = json.dumps({"score": 0.95, "findings": []})
        else:  # research (keywords, audience): the ordinary fake answer
            text = json.dumps(write_reply(call, self.kind))
        return super().ok(call, text, finish, cache_prefix)


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    """The demo pods campaign's whole job against the planting server, in a temp data dir."""
    root = tmp_path_factory.mktemp("planted") / "data"
    root.mkdir()
    for name in DEMO_INPUTS:
        src = PROJECT_ROOT / "data" / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    with pytest.MonkeyPatch.context() as mp, PlantingOpenAI(KEY) as server:
        mp.setenv("SPLANTS_DATA_DIR", str(root))
        for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "SPLANTS_LLM_PROVIDER", "SPLANTS_LLM_STRATEGY"):
            mp.delenv(key, raising=False)
        mp.setenv("SPLANTS_LLM_BASE_URL", server.base_url)
        mp.setenv("SPLANTS_LLM_MODEL", "gpt-4.1-mini")
        mp.setenv("SPLANTS_LLM_API_KEY", KEY)
        llm = LLMResource.from_env(timeout_s=5.0, backoff_base_s=0.01, backoff_max_s=0.05)
        resources = {**build_all_resources(root), "llm": llm}
        with dg.instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 1}}}) as instance:
            result = materialize_campaign(instance, resources, raise_on_error=False)
    done = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
    assert {"content_suite", "qa_report"} <= done, done
    # the server wrote the pieces and their variants, and the QA assistant asked it to judge and rewrite
    assert any("This is an A/B variant" in c.instruction for c in server.calls)
    assert any("## Task: fix the copy" in c.instruction for c in server.calls)
    return result, Warehouse(DataPaths.at(root))


def _key(piece_id: str) -> tuple[str, str]:
    _, platform, ctype = piece_id.split("~")[0].split(":")
    return platform, ctype


def published(piece: dict) -> str:
    """What readers see: a short post's title is only a label (the platform shows the rendered body)."""
    if _key(piece["piece_id"])[1] in ("social_post", "ad_copy"):
        return piece["rendered"]
    fields = ("title", "body", "rendered", "seo_title", "meta_description", "subject", "preheader", "cta")
    return "\n".join(piece[f] or "" for f in fields)


def test_no_piece_with_a_planted_untruth_is_approved(planted_run):
    result, store = planted_run
    drafts = store.query(
        "SELECT piece_id, body, chosen FROM content_candidates WHERE campaign_id = ? AND strategy = 'standard'",
        [DEMO_CAMPAIGN],
    )
    for key, (kind, sentence, _) in PLANTED.items():  # every planted untruth was offered as a draft
        assert [d for d in drafts if _key(d["piece_id"]) == key and sentence in d["body"]], kind
    pieces = store.query(
        "SELECT piece_id, title, body, rendered, seo_title, meta_description, subject, preheader, cta "
        "FROM content_pieces WHERE campaign_id = ?",
        [DEMO_CAMPAIGN],
    )
    status = {
        r["piece_id"]: r
        for r in store.query(
            "SELECT piece_id, status, failing_checks FROM qa_status WHERE campaign_id = ?", [DEMO_CAMPAIGN]
        )
    }
    assert {_key(p["piece_id"]) for p in pieces} == set(PLANTED) | CLEAN
    outcomes: dict[str, str] = {}
    for piece in pieces:
        key = _key(piece["piece_id"])
        if key in CLEAN:
            continue
        kind, _, marker = PLANTED[key]
        final = published(piece)
        row = status[piece["piece_id"]]
        if marker.lower() not in final.lower():
            outcomes[piece["piece_id"]] = row["status"]  # dropped at drafting or fixed by QA
        else:
            assert row["status"] == "flagged", (kind, piece["piece_id"], row)
            assert TRUTH_CHECKS & set(row["failing_checks"]), (kind, row["failing_checks"])
            outcomes[piece["piece_id"]] = "flagged"
    # variants carried the untruth into QA: each was fixed or flagged there, not approved as written
    variants = {p: o for p, o in outcomes.items() if p.endswith("~v1")}
    assert len(variants) == len(PLANTED), variants
    assert set(variants.values()) <= {"auto_fixed", "flagged"}, variants
    failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
    if "flagged" in outcomes.values():  # the blocking check stops publishing while a flagged piece stands
        assert "no_flagged_pieces" in failed


def test_analytics_claims_lists_every_planted_untruth_as_unsupported(planted_run):
    _, store = planted_run
    claims = store.query(
        "SELECT piece_id, claim_text, kind, supported FROM analytics.claims WHERE campaign_id = ?",
        [DEMO_CAMPAIGN],
    )
    for key, (kind, sentence, marker) in PLANTED.items():
        mine = [c for c in claims if _key(c["piece_id"]) == key]
        hits = [c for c in mine if marker.lower() in c["claim_text"].lower() or c["claim_text"] in sentence]
        assert hits, (kind, mine)
        assert not any(c["supported"] for c in hits), (kind, hits)
    for key in CLEAN:  # the controls state approved facts only
        assert not [c for c in claims if _key(c["piece_id"]) == key and not c["supported"]], key
