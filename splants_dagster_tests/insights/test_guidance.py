"""Supported insights into the next campaign: a real campaign never gets a demo insight, the prompt carries
the platform's guidance lines, the offline writer's post changes accordingly, and the piece records it."""

import asyncio
import datetime as dt

import pandas as pd
import pytest

from splants_dagster.campaigns.briefs import load_brand, load_brief
from splants_dagster.content.prompts import piece_request
from splants_dagster.content.suite import SuiteContext, generate_suite
from splants_dagster.content.writer import compose
from splants_dagster.insights.analysis import compute_insights
from splants_dagster.insights.data import campaign_insights, write_insights
from splants_dagster.insights.guidance import for_platform, usable, writer_choices
from splants_dagster.paths import PROJECT_ROOT
from splants_dagster.platforms import plan_suite
from splants_dagster.research.analysis import Research
from splants_dagster.text import hashtags
from splants_dagster_tests.content.test_content import payload
from splants_dagster_tests.insights.test_analysis import NOW, posts

REAL_ASK = "linkedin:engagement:question=ends_with_question"
DEMO_ASK = "demo:linkedin:engagement:question=ends_with_question"


def insight(insight_id, *, feature="question", level="ends_with_question", platform="linkedin", **kw):
    row = {
        "insight_id": insight_id,
        "platform": platform,
        "metric": "engagement",
        "feature": feature,
        "level": level,
        "direction": "higher",
        "effect": 0.7,
        "supported": True,
        "demo": False,
        "sentence": f"On {platform}, {feature}={level} got 2.0× the engagement",
    }
    return row | kw


def test_only_supported_insights_and_never_demo_ones_for_a_real_campaign():
    rows = [
        insight(REAL_ASK),
        insight(DEMO_ASK, demo=True, sentence="demo sentence"),
        insight("linkedin:engagement:emoji=with_emoji", feature="emoji", level="with_emoji", supported=False),
    ]
    real = usable(rows, demo_campaign=False)
    assert [i["id"] for i in real] == [REAL_ASK]
    demo = usable(rows, demo_campaign=True)
    assert {i["id"] for i in demo} == {REAL_ASK, DEMO_ASK}


def test_a_real_campaigns_prompts_never_carry_demo_insights(store):
    # real posts with no signal; simulated posts where questions double engagement
    frame = pd.concat([posts(40, effect=1.0), posts(40, demo=True, seed=5)], ignore_index=True)
    found = compute_insights(frame, "Bean Co", now=NOW)
    assert any(i.supported and i.demo for i in found)
    with store.write() as conn:
        write_insights(conn, found)
    rows = store.query("SELECT * FROM analytics.content_insights")
    assert len(rows) == len(found) and any(r["demo"] and r["supported"] for r in rows)

    real = campaign_insights(store, demo_campaign=False)
    assert real == []
    demo = campaign_insights(store, demo_campaign=True)
    assert demo and all(i["demo"] for i in demo)

    brief, _ = load_brief(PROJECT_ROOT / "data" / "campaigns" / "compostable-pods-launch.yaml")
    brand = load_brand(PROJECT_ROOT / "data" / "brand.yaml")
    spec = next(s for s in plan_suite(brief.id, ["linkedin"], ["social_post"]) if s.platform == "linkedin")
    for usable_insights, shown in ((real, False), (demo, True)):
        request = piece_request(
            spec, brief, brand, {}, None, insights=for_platform(usable_insights, "linkedin")
        )
        demo_sentence = next(i["sentence"] for i in demo if i["feature"] == "question")
        assert (demo_sentence in request.instruction) is shown
        assert ("insights" in request.payload) is shown


def test_prompt_without_insights_is_unchanged():
    brief, _ = load_brief(PROJECT_ROOT / "data" / "campaigns" / "compostable-pods-launch.yaml")
    brand = load_brand(PROJECT_ROOT / "data" / "brand.yaml")
    spec = next(s for s in plan_suite(brief.id, ["linkedin"], ["social_post"]) if s.platform == "linkedin")
    plain = piece_request(spec, brief, brand, {}, None)
    assert piece_request(spec, brief, brand, {}, None, insights=[]) == plain
    with_one = piece_request(
        spec, brief, brand, {}, None, insights=usable([insight(REAL_ASK)], demo_campaign=False)
    )
    assert with_one.shared_context == plain.shared_context  # the cached prefix stays identical
    assert "What went with higher engagement on this platform before" in with_one.instruction


@pytest.mark.parametrize("style", ["standard", "template"])
def test_the_offline_writer_follows_supported_insights(style):
    plain = compose(payload("linkedin", "social_post"), style)
    guided = usable(
        [
            insight(REAL_ASK),
            insight("linkedin:engagement:hashtags=0", feature="hashtags", level="0", effect=0.5),
        ],
        demo_campaign=False,
    )
    shaped = compose(payload("linkedin", "social_post") | {"insights": guided}, style)
    assert not plain["body"].rstrip().endswith("?") and plain["hashtags"]
    assert shaped["body"].rstrip().endswith("?")
    assert shaped["hashtags"] == [] and not hashtags(shaped["body"])
    assert (
        compose(payload("linkedin", "social_post") | {"insights": guided}, style) == shaped
    )  # deterministic


def test_cta_position_start_moves_the_call_to_action_after_the_hook():
    guided = usable(
        [insight("linkedin:engagement:cta_position=start", feature="cta_position", level="start")],
        demo_campaign=False,
    )
    assert writer_choices(guided) == {"cta_position": "start"}
    body = compose(payload("linkedin", "social_post") | {"insights": guided})["body"]
    plain = compose(payload("linkedin", "social_post"))["body"]
    assert plain.rstrip().endswith("https://example.test/oat")
    assert "Order ahead: https://example.test/oat" in body and not body.rstrip().endswith("example.test/oat")


def test_the_suite_records_which_insights_shaped_each_piece():
    brief, _ = load_brief(PROJECT_ROOT / "data" / "campaigns" / "compostable-pods-launch.yaml")
    brand = load_brand(PROJECT_ROOT / "data" / "brand.yaml")
    research = Research(brief.id, [], [], {}, [], [], "offline")
    guided = usable([insight(REAL_ASK)], demo_campaign=False)
    ctx = SuiteContext(
        brief=brief, brand=brand, research=research, source_texts={}, use_llm=False, insights=guided
    )
    result = asyncio.run(generate_suite(ctx, None))
    by_platform = {(p.spec.platform, p.spec.content_type): p for p in result.pieces}
    linkedin = by_platform[("linkedin", "social_post")]
    assert linkedin.insights_applied == [{"id": REAL_ASK, "sentence": guided[0]["sentence"], "demo": False}]
    assert linkedin.chosen.rendered.split("#")[0].rstrip().endswith("?")
    assert (
        '"id": "linkedin:engagement:question=ends_with_question"'
        in linkedin.row(brief.id)["insights_applied"]
    )
    twitter = by_platform[("twitter", "social_post")]
    assert twitter.insights_applied == [] and twitter.row(brief.id)["insights_applied"] is None
    assert isinstance(linkedin.created_at, dt.datetime)
