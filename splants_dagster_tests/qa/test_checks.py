"""Behaviour of individual checks beyond the corpus: what is not an error, and how scores move."""

import datetime as dt

from splants_dagster.qa import QAText, evaluate, factual, grammar, legal, seo, spec_for, uniqueness
from splants_dagster.qa.engine import WEIGHTS, overall
from splants_dagster.qa.factual import extract
from splants_dagster_tests.qa.corpus import CAMPAIGN, base_context


def post(body: str, platform: str = "facebook", ctype: str = "social_post", **fields) -> QAText:
    return QAText(
        f"{CAMPAIGN}:test", spec_for(CAMPAIGN, platform, ctype), fields.pop("title", "t"), body, **fields
    )


def codes(result) -> list[str]:
    return [f.code for f in result.findings]


def test_spelling_accepts_names_keywords_hashtags_urls_and_british_spelling():
    ctx = base_context()
    body = (
        "Hearth & Bean roasts specialty coffee in Leeds; the flavour and colour of our compostable pods "
        "will surprise you. We organised a tasting at the roastery, and PodCo Green came too. Email "
        "hello@hearthandbean.example or visit https://hearthandbean.example/xyzzy-pods #HearthAndBean #Qwrtzz"
    )
    assert codes(grammar.check(post(body), ctx)) == []


def test_spelling_flags_unknown_words_and_suggests_a_fix():
    result = grammar.check(post("We recieve fresh beans every week. Brew them at home."), base_context())
    (finding,) = result.findings
    assert finding.code == "spelling" and "'receive'" in finding.suggestion
    assert finding.fix == {"replace": "recieve", "with": "receive", "field": "body"}
    assert post("We recieve fresh beans").body[finding.start : finding.end] == "recieve"


def test_long_sentences_and_passive_voice_are_rules_not_spelling():
    long_one = " ".join(["we brew coffee"] * 12) + "."
    result = grammar.check(post(f"Start here. {long_one[0].upper()}{long_one[1:]}"), base_context())
    assert "long_sentence" in codes(result)


def test_small_counts_are_phrasing_but_statistics_need_support():
    found = [(c.kind, c.value) for c in extract("3 tips in five minutes; 40% off, £2.50, 3x faster, 2026")]
    assert ("percent", 40.0) in found and ("money", 2.5) in found and ("multiplier", 3.0) in found
    assert ("year", 2026.0) in found
    assert all(value not in (3.0, 5.0) or kind != "number" for kind, value in found)


def test_facts_of_the_brief_are_supported_and_competitor_pages_are_not():
    ctx = base_context()
    ok = post("The starter pack holds 30 pods and costs £12; a refill box follows every four weeks.")
    assert factual.check(ok, ctx).passed, factual.check(ok, ctx).findings
    competitor = factual.check(post("Pods break down in around 12 weeks; save 15% on every delivery."), ctx)
    assert {f.code for f in competitor.errors} == {"competitor_only"}
    assert all("competitor page sources/competitor-" in f.message for f in competitor.errors)
    start, end = ctx.dates
    dated = post(f"Pre-orders open on {start:%-d %B %Y} and close on {end:%-d %B}.")
    assert factual.check(dated, ctx).passed, factual.check(dated, ctx).findings  # brief start and end dates
    wrong = factual.check(
        post("Pods break down in 9 days, and 12 weeks in a cold bin. 2019 was our year."), ctx
    )
    assert [f.excerpt for f in wrong.findings if f.code == "unsupported_date"]
    assert not wrong.passed and wrong.score < 1


def test_named_claims_need_a_source_that_says_so():
    ctx = base_context()
    supported = post("Our pods are certified home compostable with the TÜV AUSTRIA OK compost HOME mark.")
    assert factual.check(supported, ctx).passed, factual.check(supported, ctx).findings
    unsupported = factual.check(post("Our pods are certified by the Soil Association."), ctx)
    assert {f.code for f in unsupported.errors} == {"unsupported_claim"}


def test_email_needs_unsubscribe_and_postal_address():
    ctx = base_context()
    body = "Hi there,\n\nNew pods are here.\n\nUnsubscribe: https://x.example/u\n\n{address}"
    with_us = legal.check(
        post(body.format(address="1600 Main Street, Springfield, IL 62701"), "email", "email"), ctx
    )
    assert with_us.passed
    with_po_box = legal.check(post(body.format(address="PO Box 42, Leeds LS1 4AB"), "email", "email"), ctx)
    assert with_po_box.passed
    without = legal.check(post(body.format(address="Thanks for reading"), "email", "email"), ctx)
    assert codes(without) == ["missing_postal_address"]


def test_disclosure_is_only_required_for_paid_campaigns():
    body = "Meet our compostable coffee pods. Pre-order the starter pack: https://hearthandbean.example/pods"
    assert legal.check(post(body), base_context(paid=False)).passed
    assert codes(legal.check(post(body), base_context(paid=True))) == ["missing_disclosure"]
    assert legal.check(post("Sponsored: " + body), base_context(paid=True)).passed


def test_variants_are_not_compared_with_their_own_original():
    body = "Love pod coffee but hate the waste? Our compostable coffee pods go in your compost heap, not the bin."
    ctx = base_context().with_siblings(
        {f"{CAMPAIGN}:x": body, f"{CAMPAIGN}:x~v1": body, f"{CAMPAIGN}:y": body},
        {f"{CAMPAIGN}:x~v1": f"{CAMPAIGN}:x"},
    )
    variant = QAText(
        f"{CAMPAIGN}:x~v1",
        spec_for(CAMPAIGN, "facebook", "social_post"),
        "t",
        body,
        variant_of=f"{CAMPAIGN}:x",
    )
    result = uniqueness.check(variant, ctx)
    assert result.details["most_similar_sibling"] == f"{CAMPAIGN}:y"  # the unrelated piece, not x
    assert "sibling_duplicate" in codes(result)
    alone = base_context().with_siblings({f"{CAMPAIGN}:x": body}, {})
    assert uniqueness.check(variant, alone).score == 1.0


def test_seo_without_keywords_scores_structure_only():
    from splants_dagster.qa.model import QAContext

    ctx = QAContext(base_context().brand)
    result = seo.check(post("Try our pods today. Learn more at https://x.example"), ctx)
    assert "no_keywords" in codes(result) and result.score == result.details["structure"]


def test_overall_score_is_the_weighted_mean():
    evaluation = evaluate(
        post(
            "Love our compostable coffee pods? Pre-order the starter pack: https://hearthandbean.example/pods"
        ),
        base_context(),
    )
    expected = sum(WEIGHTS[n] * c.score for n, c in evaluation.checks.items())
    assert abs(evaluation.score - expected) < 1e-3 and abs(sum(WEIGHTS.values()) - 1) < 1e-9
    assert overall(evaluation.checks) == evaluation.score
    brief_start = base_context().dates[0]
    assert isinstance(brief_start, dt.date)
