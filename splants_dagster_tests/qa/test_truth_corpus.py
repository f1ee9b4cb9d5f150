"""Precision and recall of the truth checks (factual, legal, uniqueness, substance) on a labelled corpus
of 52 drafts across platforms; clean drafts, which state only the brief's approved facts, must pass."""

from __future__ import annotations

import functools

import pytest

from splants_dagster.qa import QAText, evaluate, spec_for
from splants_dagster_tests.qa.corpus import CAMPAIGN, base_context
from splants_dagster_tests.qa.corpus_truth import CTA, DRAFTS, EARLIER, TRUTH_CHECKS

RECALL_FLOOR = 0.9
PRECISION_FLOOR = 0.9
KINDS_COVERED = {
    "percent", "money", "duration", "count", "comparison", "superlative", "award", "social_proof",
    "testimony", "quote", "experience", "scarcity", "research",
}  # fmt: skip


def text_of(item: dict) -> QAText:
    spec = spec_for(CAMPAIGN, item["platform"], item["content_type"])
    body = item["body"]
    title = "Compostable coffee pods" if item["content_type"] in ("blog", "email") else "post"
    extra = {}
    if item["content_type"] == "email":
        extra = {"subject": "Compostable coffee pods", "preheader": "The starter pack, 30 pods for £12."}
    return QAText(f"{CAMPAIGN}:{item['id']}", spec, title, body, cta=CTA.split(":")[0], **extra)


@functools.cache
def results() -> dict[str, dict[str, bool]]:
    ctx = base_context(False, tuple(sorted(EARLIER.items())))
    out = {}
    for item in DRAFTS:
        evaluation = evaluate(text_of(item), ctx)
        out[item["id"]] = {name: not evaluation.checks[name].passed for name in TRUTH_CHECKS}
    return out


def table() -> dict[str, dict[str, float]]:
    rows = {}
    for check in TRUTH_CHECKS:
        tp = sum(1 for d in DRAFTS if check in d["flags"] and results()[d["id"]][check])
        fp = sum(1 for d in DRAFTS if check not in d["flags"] and results()[d["id"]][check])
        fn = sum(1 for d in DRAFTS if check in d["flags"] and not results()[d["id"]][check])
        rows[check] = {
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0,
            "positives": tp + fn,
        }
    return rows


def test_corpus_is_large_and_covers_every_kind_of_untruth():
    assert len(DRAFTS) >= 40 and len({d["id"] for d in DRAFTS}) == len(DRAFTS)
    assert {d["platform"] for d in DRAFTS} == {
        "blog",
        "twitter",
        "linkedin",
        "instagram",
        "facebook",
        "email",
    }
    assert sum(1 for d in DRAFTS if not d["flags"]) >= 10
    assert all(any(check in d["flags"] for d in DRAFTS) for check in TRUTH_CHECKS)
    ctx = base_context(False, tuple(sorted(EARLIER.items())))
    kinds = set()
    for item in DRAFTS:
        factual = evaluate(text_of(item), ctx).checks["factual"]
        kinds |= {f.claim["kind"] for f in factual.errors if f.claim}
    assert kinds >= KINDS_COVERED, KINDS_COVERED - kinds


@pytest.mark.parametrize("item", [d for d in DRAFTS if not d["flags"]], ids=lambda d: d["id"])
def test_clean_drafts_are_not_flagged(item):
    flagged = [name for name, bad in results()[item["id"]].items() if bad]
    assert flagged == []


def test_precision_and_recall_per_check(capsys):
    rows = table()
    with capsys.disabled():
        print("\ncheck        precision  recall  positives")
        for check, r in rows.items():
            print(f"{check:<12} {r['precision']:>9.2f}  {r['recall']:>6.2f}  {r['positives']:>9}")
    missed = {
        check: [d["id"] for d in DRAFTS if check in d["flags"] and not results()[d["id"]][check]]
        for check in TRUTH_CHECKS
    }
    extra = {
        check: [d["id"] for d in DRAFTS if check not in d["flags"] and results()[d["id"]][check]]
        for check in TRUTH_CHECKS
    }
    for check, r in rows.items():
        assert r["recall"] >= RECALL_FLOOR, (check, missed[check])
        assert r["precision"] >= PRECISION_FLOOR, (check, extra[check])


def test_every_untrue_draft_is_kept_from_approval():
    ctx = base_context(False, tuple(sorted(EARLIER.items())))
    for item in DRAFTS:
        if item["flags"]:
            assert evaluate(text_of(item), ctx).decision() != "approved", item["id"]
