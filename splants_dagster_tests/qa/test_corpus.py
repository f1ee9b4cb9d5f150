"""The hand-written corpus: every good piece passes every check, every bad one is caught by the right
check for the right reason (corpus.yaml says which)."""

import pytest

from splants_dagster.qa import CHECK_NAMES, evaluate
from splants_dagster_tests.qa.corpus import context_for, load_corpus, text_for

PIECES = load_corpus()["pieces"]
GOOD = [p for p in PIECES if p["expect"] == "approved"]
BAD = [p for p in PIECES if p["expect"] != "approved"]


def test_corpus_has_enough_good_and_bad_pieces():
    assert len(PIECES) >= 25 and len(GOOD) >= 8 and len(BAD) >= 17
    assert len({p["id"] for p in PIECES}) == len(PIECES)
    covered = {p["expect"]["check"] for p in BAD}
    assert covered == set(CHECK_NAMES), f"no bad piece for {set(CHECK_NAMES) - covered}"


@pytest.mark.parametrize("item", GOOD, ids=[p["id"] for p in GOOD])
def test_good_piece_passes_every_check(item):
    evaluation = evaluate(text_for(item), context_for(item))
    problems = {
        name: [f"{f.code}: {f.message}" for f in c.findings if f.severity != "info"]
        for name, c in evaluation.checks.items()
        if not c.passed
    }
    assert problems == {}
    assert evaluation.errors == []
    assert evaluation.decision() == "approved" and evaluation.score >= 0.8
    assert list(evaluation.checks) == list(CHECK_NAMES)
    assert all(0.0 <= c.score <= 1.0 for c in evaluation.checks.values())


@pytest.mark.parametrize("item", BAD, ids=[p["id"] for p in BAD])
def test_bad_piece_is_caught_by_the_right_check(item):
    expect = item["expect"]
    text = text_for(item)
    evaluation = evaluate(text, context_for(item))
    check = evaluation.checks[expect["check"]]
    found = [f for f in check.findings if f.code == expect["code"]]
    assert found, f"{expect['check']} reported {[f.code for f in check.findings]}, not {expect['code']}"
    if expect.get("fails", True):
        assert not check.passed
        assert evaluation.decision() != "approved"
    finding = found[0]
    assert finding.check == expect["check"] and finding.message and finding.suggestion
    if finding.start is not None:  # the span points at the problem in the named field
        value = text.fields()[finding.field]
        assert 0 <= finding.start < finding.end <= len(value)
        assert " ".join(value[finding.start : finding.end].split())[:40] in " ".join(finding.excerpt.split())
