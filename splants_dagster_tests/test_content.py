"""Drafts from model replies, platform fitting, and the deterministic writer."""

import json

import pytest

from splants_dagster.content import (
    Draft,
    DraftError,
    fit_to_platform,
    parse_draft,
    render,
    strip_foreign_links,
)
from splants_dagster.platforms import plan_suite
from splants_dagster.text import hashtags, word_count
from splants_dagster.writer import compose


def spec(platform, ctype):
    return next(
        s for s in plan_suite("c1", [platform], [ctype]) if (s.platform, s.content_type) == (platform, ctype)
    )


@pytest.mark.parametrize(
    ("text", "finish", "message"),
    [
        ("", "stop", "empty text"),
        ('{"body": "half', "length", "cut off by the token limit"),
        ("I'm sorry, I can't help with that.", "stop", "model refused"),
        ("not json at all", "stop", "not valid JSON"),
        ('{"title": "x"}', "stop", "no 'body'"),
        ('["a list"]', "stop", "not an object"),
    ],
)
def test_unusable_replies_are_rejected_as_retryable(text, finish, message):
    with pytest.raises(DraftError, match=message) as exc:
        parse_draft(text, finish)
    assert exc.value.retryable


def test_reply_in_code_fence_is_accepted():
    draft = parse_draft('```json\n{"title": "T", "body": "Body text", "hashtags": ["a", "#b"]}\n```')
    assert draft.title == "T" and draft.hashtags == ["#a", "#b"]


def test_twitter_fit_caps_hashtags_and_length():
    s = spec("twitter", "social_post")
    long_body = "Coffee pods that compost at home are here. " * 12 + "Learn more today."
    draft = Draft("t", long_body, hashtags=["#One", "#Two", "#Three", "#Four"])
    fitted, notes = fit_to_platform(draft, s)
    rendered = render(fitted, s)
    assert len(rendered) <= 280
    assert len(hashtags(rendered)) <= 2
    assert any("hashtags cut" in n for n in notes) and any("body shortened" in n for n in notes)


def test_instagram_hashtags_go_to_the_end_max_ten():
    s = spec("instagram", "social_post")
    tags = [f"#Tag{i}" for i in range(14)]
    draft = Draft("t", "Morning coffee #Tag0 done right. Try it.", hashtags=tags)
    fitted, _ = fit_to_platform(draft, s)
    rendered = render(fitted, s)
    body, _, tail = rendered.rpartition("\n\n")
    assert hashtags(body) == [] and len(hashtags(tail)) == 10


def test_blog_has_no_hashtags():
    fitted, _ = fit_to_platform(Draft("t", "Text #NoTags here", hashtags=["#x"]), spec("blog", "blog"))
    assert fitted.hashtags == [] and "#" not in render(fitted, spec("blog", "blog"))


def payload(platform, ctype, **variant):
    s = spec(platform, ctype)
    return {
        "piece": {
            "piece_id": s.piece_id,
            "platform": platform,
            "content_type": ctype,
            "min_words": s.min_words,
            "max_words": s.max_words,
            "char_limit": s.char_limit,
            "max_hashtags": s.hashtags.max_count,
        },
        "brief": {
            "topic": "Our new oat latte for commuters",
            "goal": "Sell lattes",
            "audience": "Commuters in Leeds",
            "keywords": ["oat latte", "dairy free coffee"],
            "tone": "casual",
            "call_to_action": "Order ahead",
            "link": "https://example.test/oat",
        },
        "brand": {
            "name": "Bean Co",
            "default_hashtags": ["#BeanCo"],
            "required_disclosures": {"email": "Unsubscribe: x"},
        },
        "research": {},
        "variant": variant or None,
    }


@pytest.mark.parametrize(
    ("platform", "ctype"),
    [
        ("blog", "blog"),
        ("twitter", "social_post"),
        ("linkedin", "ad_copy"),
        ("email", "email"),
        ("youtube", "video_script"),
        ("blog", "landing_page"),
        ("blog", "press_release"),
    ],
)
def test_writer_is_deterministic_and_on_target(platform, ctype):
    first, second = compose(payload(platform, ctype)), compose(payload(platform, ctype))
    assert first == second
    s = spec(platform, ctype)
    n = word_count(first["body"])
    assert s.min_words * 0.8 <= n <= s.max_words * 1.1, (n, s.min_words, s.max_words)
    assert "oat latte" in json.dumps(first).lower()
    if ctype == "email":
        assert first["subject"] and len(first["subject"]) <= 60 and 40 <= len(first["preheader"]) <= 130
        assert "Unsubscribe: x" in first["body"]
    if ctype == "video_script":
        assert first["body"].startswith("[HOOK]") and "[CTA]" in first["body"]
    if (platform, ctype) == ("blog", "blog"):
        assert len(first["seo_title"]) <= 60 and 120 <= len(first["meta_description"]) <= 160
        assert first["body"].count("\n## ") >= 3


def test_template_style_differs_from_standard():
    assert compose(payload("blog", "blog"), "template")["body"] != compose(payload("blog", "blog"))["body"]


def test_variants_change_the_named_dimension():
    base = compose(payload("twitter", "social_post"))
    hook = compose(payload("twitter", "social_post", dimension="hook", index=1))
    cta = compose(payload("twitter", "social_post", dimension="cta", index=1))
    assert hook["title"] != base["title"]
    assert cta["cta"] != base["cta"]


def test_links_outside_the_brief_and_brand_are_removed():
    allowed = {"https://shop.example/oat", "https://shop.example", "https://shop.example/unsubscribe"}
    draft = Draft(
        "Oat lattes",
        "Try it: https://attacker.example/x now. Order: https://shop.example/oat\n\n"
        "Unsubscribe: https://shop.example/unsubscribe.",
        cta="Go to http://attacker.example",
        meta_description="See https://attacker.example",
    )
    cleaned, removed = strip_foreign_links(draft, allowed)
    assert removed == ["https://attacker.example/x", "http://attacker.example", "https://attacker.example"]
    assert "attacker" not in f"{cleaned.body} {cleaned.cta} {cleaned.meta_description}"
    assert "https://shop.example/oat" in cleaned.body and "https://shop.example/unsubscribe" in cleaned.body
    unchanged, none = strip_foreign_links(Draft("t", "Order: https://shop.example/oat"), allowed)
    assert none == [] and unchanged.body == "Order: https://shop.example/oat"
