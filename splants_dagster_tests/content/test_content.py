"""Drafts from model replies, platform fitting, and the deterministic writer."""

import json

import pytest

from splants_dagster.content.suite import (
    Draft,
    DraftError,
    fit_to_platform,
    parse_draft,
    render,
    strip_foreign_links,
)
from splants_dagster.content.writer import compose
from splants_dagster.platforms import plan_suite
from splants_dagster.text import hashtags, word_count


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


FACTS = [
    "The oat latte costs £3.20 in every Leeds shop.",
    "It is made with Oatly Barista and a double shot of our house espresso.",
    "Order ahead in the app and skip the queue at the counter.",
    "The cups are paper and the lids are recyclable.",
    "Every shop opens at 6:30 on weekdays.",
    "The oat latte comes in regular and large.",
]


def payload(platform, ctype, facts=tuple(FACTS), **variant):
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
        "claims": {"facts": list(facts), "testimonials": []},
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
    # the writer stops when the facts run out instead of padding: within the length score's soft band
    assert s.min_words * 0.35 <= n <= s.max_words * 1.1, (n, s.min_words, s.max_words)
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


@pytest.mark.parametrize(
    ("platform", "ctype"),
    [("blog", "blog"), ("twitter", "social_post"), ("email", "email"), ("linkedin", "ad_copy")],
)
def test_writer_states_only_the_facts_it_is_given(platform, ctype):
    """No invented testimony, social proof or statistics; without facts, no numbers at all."""
    import re

    with_facts = json.dumps(compose(payload(platform, ctype)), ensure_ascii=False)
    without = compose(payload(platform, ctype, facts=()))
    text = json.dumps(without, ensure_ascii=False)
    for phrase in ("tell us", "we see", "again and again", "most people", "second week", "many "):
        assert phrase not in with_facts.lower() and phrase not in text.lower()
    assert not re.findall(r"\d", re.sub(r"https?://\S+", "", without["body"]))
    assert "£3.20" in with_facts or ctype != "blog"
    assert word_count(without["body"]) < word_count(json.loads(with_facts)["body"]) or ctype != "blog"


BRAND_FACTS = ["Bean Co roasts every batch in Leeds.", "UK delivery is free on orders over £25."]
NO_FACT_BRIEFS = {
    "invoices": {
        "id": "invoices",
        "topic": "Launch of our invoicing app for freelance designers and photographers",
        "goal": "300 trial sign-ups",
        "audience": "Freelance designers who hate chasing late payments",
        "keywords": ["invoicing app", "late payments"],
        "tone": "professional",
    },
    "yoga": {
        "id": "yoga",
        "topic": "New year beginner yoga classes for people who have never tried yoga",
        "goal": "Sell 40 passes",
        "audience": "Adults over 40 who want gentle exercise",
        "keywords": ["beginner yoga", "gentle exercise"],
        "tone": "inspirational",
    },
}
NO_FACT_TYPES = [
    ("blog", "blog"),
    ("blog", "press_release"),
    ("linkedin", "social_post"),
    ("facebook", "ad_copy"),
    ("email", "email"),
    ("youtube", "video_script"),
]


def no_fact_draft(campaign, platform, ctype):
    s = spec(platform, ctype)
    data = payload(platform, ctype, facts=BRAND_FACTS)
    data["piece"]["piece_id"] = s.piece_id.replace("c1", campaign)
    data["brief"] = NO_FACT_BRIEFS[campaign]
    data["brand"] = {**data["brand"], "facts": BRAND_FACTS}
    data["pillar"] = {"points": []}
    return compose(data)


@pytest.mark.parametrize(("platform", "ctype"), NO_FACT_TYPES)
def test_without_brief_facts_the_writer_uses_the_brief_not_the_brands_facts(platform, ctype):
    """A brief with no facts: copy from its topic, audience and keywords -- the primary keyword named, not
    stuffed, the brand's (shared) facts stated at most once, nothing promised as "the facts", and no
    5-word phrase of its own wording shared with another facts-less campaign of the same brand (the QA
    uniqueness check flags > 15 % across campaigns)."""
    from splants_dagster.text import normalise, shingles

    drafts = {c: no_fact_draft(c, platform, ctype) for c in NO_FACT_BRIEFS}
    for campaign, draft in drafts.items():
        body = draft["body"]
        primary = NO_FACT_BRIEFS[campaign]["keywords"][0]
        # QA calls it stuffing from 3 mentions in a short long-form body, from 4 in a short piece
        assert 1 <= body.lower().count(primary) <= (2 if platform == "blog" else 3), (campaign, body)
        assert all(body.count(f.rstrip(".")) <= 1 for f in BRAND_FACTS), body
        assert "the facts" not in json.dumps(draft).lower()
        assert "300" not in body  # the goal is not copy

    approved = set().union(*(shingles(normalise(t), 5) for t in [*BRAND_FACTS, "Unsubscribe: x"]))
    first, second = (set(shingles(normalise(d["body"]), 5)) for d in drafts.values())
    shared = (first - approved) & second  # as QA measures it: approved wording is not reuse
    assert len(shared) / len(first) < 0.15, sorted(shared)
