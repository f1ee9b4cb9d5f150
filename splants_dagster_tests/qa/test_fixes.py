"""The decision thresholds and the auto-fix loop."""

from splants_dagster.qa import APPROVE_AT, FLAG_BELOW, MAX_ROUNDS, QAText, evaluate, review_sync, spec_for
from splants_dagster_tests.qa.corpus import CAMPAIGN, base_context

LINK = "https://hearthandbean.example/pods"


def text(body: str, platform: str, ctype: str, **fields) -> QAText:
    return QAText(
        f"{CAMPAIGN}:{platform}:{ctype}",
        spec_for(CAMPAIGN, platform, ctype),
        fields.pop("title", "Pods"),
        body,
        cta="Pre-order the starter pack",
        **fields,
    )


def test_fixable_piece_is_raised_above_the_approval_threshold():
    email = text(
        "Hi there,\n\nOur eco-friendly compostable coffee pods are ready. You recieve the same rich cup from your "
        "pod machine, and the pod goes in your compost.\n\nPre-order the starter pack: "
        f"{LINK}\n\nWarm regards,\nThe Hearth & Bean team",
        "email",
        "email",
        title="Compostable coffee pods are here",
        subject="Compostable coffee pods are here",
        preheader="Great coffee from your pod machine, and a pod you can compost at home.",
    )
    ctx = base_context()
    before = evaluate(email, ctx)
    assert FLAG_BELOW <= before.score < APPROVE_AT
    assert {"missing_unsubscribe", "missing_postal_address"} <= {f.code for f in before.errors}

    outcome = review_sync(email, ctx)
    assert outcome.status == "auto_fixed"
    assert outcome.score >= APPROVE_AT and outcome.evaluation.errors == []
    assert 1 <= outcome.fix_rounds <= MAX_ROUNDS
    final = outcome.final.body
    assert "Unsubscribe any time: https://hearthandbean.example/unsubscribe" in final
    assert "12 Mill Lane, Leeds LS1 4AB" in final
    assert "eco-friendly" not in final and "lower-waste" in final and "receive" in final
    assert any("e-mail footer" in f for f in outcome.fixes) and any("recieve" in f for f in outcome.fixes)
    assert outcome.rounds[0].text == email  # round 0 is the text as written


def test_unfixable_piece_stays_flagged_and_legal_failures_are_never_approved():
    claim = text(
        f"Guaranteed results with our compostable coffee pods from Hearth & Bean. Pre-order the starter pack: {LINK}",
        "facebook",
        "ad_copy",
    )
    outcome = review_sync(claim, base_context())
    assert outcome.rounds[0].evaluation.score >= FLAG_BELOW  # it was worth trying to fix
    assert outcome.status == "flagged"
    assert not outcome.evaluation.checks["legal"].passed
    assert "prohibited_claim" in {f.code for f in outcome.evaluation.errors}
    assert "flagged" in outcome.reason


def test_low_score_is_flagged_without_fixing():
    bad = text(
        "GUARANTEED RESULTS!!! 97% of experts agree: our revolutionary pods cure insomnia, risk-free. "
        "Studies show they are the #1 pods. Only £1.99!!!",
        "twitter",
        "social_post",
    )
    outcome = review_sync(bad, base_context(paid=True))
    assert outcome.rounds[0].evaluation.score < FLAG_BELOW
    assert outcome.status == "flagged" and outcome.fix_rounds == 0 and outcome.fixes == []


def test_paid_post_over_the_limit_gets_its_disclosure_first_and_fits():
    tweet = text(
        "Love pod coffee but hate the waste? Our compostable coffee pods go in your garden compost heap, not "
        "the bin. You brew as usual, you get a rich cup of specialty coffee, and nothing goes to landfill. "
        f"Hearth & Bean roasts every batch by hand. Pre-order the starter pack: {LINK}",
        "twitter",
        "social_post",
        hashtags=("#CompostableCoffeePods", "#HearthAndBean"),
    )
    outcome = review_sync(tweet, base_context(paid=True))
    assert outcome.status == "auto_fixed"
    rendered = outcome.final.rendered
    assert rendered.startswith("#ad ") and len(rendered) <= 280
    assert rendered.rstrip().endswith(LINK) or LINK in rendered  # the call to action survives


def test_approved_piece_is_left_alone():
    good = text(
        f"Love pod coffee but hate the waste? Our compostable coffee pods go in your compost. Pre-order the starter pack: {LINK}",
        "twitter",
        "social_post",
    )
    outcome = review_sync(good, base_context())
    assert outcome.status == "approved" and outcome.final == good and outcome.fixes == []
