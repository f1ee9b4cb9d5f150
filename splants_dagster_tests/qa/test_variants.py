"""A/B variants differ from their original in exactly the named dimension."""

import json

import pytest

from splants_dagster.campaigns.briefs import load_brand, load_brief
from splants_dagster.content.suite import parse_draft
from splants_dagster.content.variants import apply_variant, dimensions_for, plan_variants, variant_request
from splants_dagster.content.writer import compose
from splants_dagster.llm.offline import OfflineProvider
from splants_dagster.qa import QAText, spec_for
from splants_dagster_tests.qa.corpus import CAMPAIGN, DATA


@pytest.fixture(scope="module")
def brief_brand():
    brief, _ = load_brief(DATA / "campaigns" / f"{CAMPAIGN}.yaml")
    return brief, load_brand(DATA / "brand.yaml")


def original(brief, brand, platform, ctype) -> QAText:
    from splants_dagster.content.prompts import piece_request

    spec = spec_for(CAMPAIGN, platform, ctype, brief.word_targets())
    draft = compose(dict(piece_request(spec, brief, brand, {}, None).payload))
    return QAText(
        spec.piece_id,
        spec,
        draft["title"],
        draft["body"],
        tuple(draft["hashtags"]),
        draft.get("seo_title"),
        draft.get("meta_description"),
        draft.get("subject"),
        draft.get("preheader"),
        draft.get("cta"),
    )


def generate(plan, text, brief, brand):
    import asyncio

    request = variant_request(plan, text, brief, brand, {}, None)
    assert request.purpose == "content.variant" and request.piece_id == plan.piece_id
    reply = asyncio.run(OfflineProvider().complete(request))
    return apply_variant(text, parse_draft(reply.text), plan)


def test_dimensions_cycle_per_content_type(brief_brand):
    brief, brand = brief_brand
    tweet = original(brief, brand, "twitter", "social_post")
    plans = plan_variants(tweet, 5, "friendly", "Pre-order the starter pack")
    assert [p.dimension for p in plans] == ["hook", "cta", "tone", "length", "hook"]
    assert [p.piece_id for p in plans][:2] == [f"{tweet.piece_id}~v1", f"{tweet.piece_id}~v2"]
    assert dimensions_for("blog")[0] == "headline" and dimensions_for("email")[0] == "headline"
    assert plans[2].payload["tone"] == "conversational" and plans[3].max_words_cap < len(tweet.body.split())


@pytest.mark.parametrize(
    "platform,ctype,count",
    [("twitter", "social_post", 4), ("blog", "blog", 4), ("email", "email", 4), ("facebook", "ad_copy", 2)],
)
def test_each_variant_changes_only_its_dimension(brief_brand, platform, ctype, count):
    brief, brand = brief_brand
    text = original(brief, brand, platform, ctype)
    for plan in plan_variants(text, count, brief.tone, brief.call_to_action):
        variant = generate(plan, text, brief, brand)
        assert variant.variant_of == text.piece_id and variant.variant_dimension == plan.dimension
        assert variant.digest() != text.digest(), plan.dimension
        if plan.dimension == "headline":
            changed = (variant.subject, variant.title) if ctype == "email" else (variant.title,)
            assert all(c != getattr(text, "subject" if ctype == "email" else "title") for c in changed)
            assert variant.body == text.body
        elif plan.dimension == "hook":
            first_old, first_new = text.body.split(". ")[0], variant.body.split(". ")[0]
            assert first_old != first_new and variant.body.endswith(text.body[-60:])
        elif plan.dimension == "cta":
            assert variant.cta == plan.payload["cta"] != text.cta
            assert variant.body == text.body.replace(text.cta, variant.cta)
        elif plan.dimension == "length":
            assert len(variant.body.split()) < len(text.body.split())
        assert variant.spec == text.spec and len(variant.rendered) <= (text.spec.char_limit or 10**9)


def test_offline_writer_honours_tone_and_cta_of_a_variant(brief_brand):
    brief, brand = brief_brand
    text = original(brief, brand, "facebook", "social_post")
    plans = {p.dimension: p for p in plan_variants(text, 3, brief.tone, brief.call_to_action)}
    from splants_dagster.content.prompts import piece_request

    payload = dict(piece_request(text.spec, brief, brand, {}, None, variant=plans["cta"].payload).payload)
    assert compose(payload)["cta"] == plans["cta"].payload["cta"]
    tone_payload = dict(
        piece_request(text.spec, brief, brand, {}, None, variant=plans["tone"].payload).payload
    )
    assert json.dumps(compose(tone_payload)) != json.dumps(
        compose(dict(piece_request(text.spec, brief, brand, {}, None).payload))
    )
