"""A deterministic copywriter: composes marketing text from the brief, brand profile and research.

It serves two roles, both without any network:
- ``style="standard"`` is what the offline LLM provider returns (labelled ``model="offline"``);
- ``style="template"`` is the template-based candidate (fixed AIDA / problem-solution skeletons) that
  competes with the LLM draft for every piece, whatever the provider.
The same seed always gives the same text, so runs are reproducible.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from typing import Any

from splants_dagster.platforms import (
    EMAIL_PREHEADER_RANGE,
    EMAIL_SUBJECT_MAX,
    META_DESCRIPTION_RANGE,
    SEO_TITLE_MAX,
)
from splants_dagster.text import truncate_words, word_count

TONE_OPENERS: dict[str, list[str]] = {
    "professional": ["In practice,", "Put simply,", "The evidence is clear:", "For most teams,"],
    "casual": ["Honestly,", "Here's the thing:", "Real talk:", "So,"],
    "enthusiastic": ["Here's the exciting part:", "Good news!", "This is where it gets fun:", "Ready?"],
    "conversational": ["You might be wondering,", "Think about it:", "Let's be honest,", "Picture this:"],
    "authoritative": ["The data points one way:", "Experience shows", "Make no mistake:", "Fundamentally,"],
    "friendly": ["Happily,", "Good to know:", "Here's a tip:", "We've got you:"],
    "humorous": ["Plot twist:", "Spoiler alert:", "No cape required:", "Fun fact (really):"],
    "inspirational": [
        "Imagine what changes when",
        "Every big shift starts small:",
        "Here's the opportunity:",
        "It begins with one step:",
    ],
}

CTA_DEFAULTS = ["Learn more", "Get started today", "See how it works", "Try it this week", "Join us"]
# what a keyword slot says once the keywords' budgets are spent (reads well in every template)
NEUTRAL_REFERENCES = ["this approach", "the switch", "a better routine"]


@dataclass(frozen=True)
class Ctx:
    """Everything the writer knows, flattened from the request payload."""

    piece: dict[str, Any]
    brief: dict[str, Any]
    brand: dict[str, Any]
    research: dict[str, Any]
    pillar: dict[str, Any] | None
    variant: dict[str, Any] | None
    uses: dict[str, int] = field(default_factory=dict)

    def keyword_budget(self, keyword: str) -> int:
        """How often a keyword may appear in the body: about 1.5% of the target words (SEO density stays
        under the 2.5% stuffing line), at least once."""
        target = (int(self.piece.get("min_words", 50)) + int(self.piece.get("max_words", 100))) / 2
        return max(1, int(0.015 * target / max(1, len(keyword.split()))))

    def keyword(self, slot: int) -> str:
        """The keyword for a template slot ({kw}=0, {kw2}=1, {kw3}=2): the slot's own keyword while its
        budget lasts, then another keyword with budget left, then a neutral phrase."""
        kws = self.keywords
        order = [kws[slot % len(kws)], *(k for k in kws if k != kws[slot % len(kws)])]
        for keyword in order:
            if self.uses.get(keyword, 0) < self.keyword_budget(keyword):
                self.uses[keyword] = self.uses.get(keyword, 0) + 1
                return keyword
        fallback = NEUTRAL_REFERENCES[sum(self.uses.values()) % len(NEUTRAL_REFERENCES)]
        self.uses["(neutral)"] = self.uses.get("(neutral)", 0) + 1
        return fallback

    @property
    def keywords(self) -> list[str]:
        ranked = [k for k in self.research.get("keywords", []) if k]
        own = list(self.brief.get("keywords", []))
        merged = list(dict.fromkeys(own + ranked))
        return merged or [self.topic_short]

    @property
    def primary(self) -> str:
        return self.keywords[0]

    @property
    def topic(self) -> str:
        return self.brief["topic"].rstrip(".")

    @property
    def topic_short(self) -> str:
        return truncate_words(self.topic, 48).rstrip("…")

    @property
    def audience(self) -> str:
        return self.brief["audience"].rstrip(".")

    @property
    def audience_short(self) -> str:
        # "busy parents in Leeds who want ..." -> "busy parents in Leeds"
        head = re.split(r"\b(who|that|which|looking|wanting|with)\b|,", self.audience)[0].strip()
        short = truncate_words(head or self.audience, 40).rstrip("…")
        return lower_first(short)

    @property
    def brand_name(self) -> str:
        return self.brand["name"]

    @property
    def tone(self) -> str:
        # a tone variant names the tone it is written in
        if self.variant_dimension == "tone" and (self.variant or {}).get("tone"):
            return self.variant["tone"]
        return self.brief.get("tone", "professional")

    @property
    def cta(self) -> str:
        # a CTA variant names its call to action
        if self.variant_dimension == "cta" and (self.variant or {}).get("cta"):
            return self.variant["cta"]
        return self.brief.get("call_to_action") or CTA_DEFAULTS[0]

    @property
    def variant_dimension(self) -> str | None:
        return (self.variant or {}).get("dimension")

    @property
    def link(self) -> str | None:
        return self.brief.get("link")

    @property
    def pains(self) -> list[str]:
        return self.research.get("pain_points") or [f"finding time to get {self.primary} right"]

    @property
    def questions(self) -> list[str]:
        return self.research.get("questions") or [f"What should you know about {self.primary}?"]

    @property
    def motivations(self) -> list[str]:
        return self.research.get("motivations") or [f"better results from {self.primary}"]


def lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word looks like a name or acronym (``UK``, ``iPhone``)."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


class Deck:
    """Draws templates without repetition; reshuffles only once every template has been used."""

    def __init__(self, pool: list[str], rng: random.Random):
        self.pool, self.rng, self.cards = pool, rng, []

    def draw(self) -> str:
        if not self.cards:
            self.cards = self.rng.sample(self.pool, k=len(self.pool))
        return self.cards.pop()


def rotate(options: list[str], ctx: Ctx, offset: int = 0) -> str:
    """A different option per platform, so pieces of one suite do not open with the same line."""
    from splants_dagster.platforms import CONTENT_TYPES, PLATFORMS

    platform = ctx.piece.get("platform", "blog")
    index = PLATFORMS.index(platform) if platform in PLATFORMS else 0
    ctype = ctx.piece.get("content_type", "blog")
    index += 3 * (CONTENT_TYPES.index(ctype) if ctype in CONTENT_TYPES else 0) + offset
    return options[index % len(options)]


def seed_for(*parts: str) -> int:
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest()[:12], 16)


def compose(payload: dict[str, Any], style: str = "standard") -> dict[str, Any]:
    """A draft (title, body, hashtags, cta, and the type's extra fields) as a JSON-ready dict."""
    ctx = Ctx(
        piece=payload["piece"],
        brief=payload["brief"],
        brand=payload["brand"],
        research=payload.get("research", {}),
        pillar=payload.get("pillar"),
        variant=payload.get("variant"),
    )
    variant_seed = (ctx.variant or {}).get("dimension", "") + str((ctx.variant or {}).get("index", ""))
    rng = random.Random(seed_for(ctx.piece["piece_id"], style, variant_seed))
    ctype = ctx.piece["content_type"]
    if ctype in ("blog", "landing_page", "press_release", "product_description"):
        draft = _long_form(ctx, rng, style)
    elif ctype == "email":
        draft = _email(ctx, rng, style)
    elif ctype == "video_script":
        draft = _video(ctx, rng, style)
    else:
        draft = _short_post(ctx, rng, style)
    draft["hashtags"] = _hashtags(ctx, rng)
    draft.setdefault("cta", ctx.cta)
    return draft


# ---------------------------------------------------------------- long form
# Templates put keywords only where grammatical number does not matter ("with {kw}", "about {kw}"), so
# "compostable coffee pods" and "email marketing" both read correctly.


def _title(ctx: Ctx, rng: random.Random, style: str) -> str:
    kw = _title_case(ctx.primary)
    aud = _title_case(ctx.audience_short)
    ctype = ctx.piece["content_type"]
    if ctype == "press_release":
        options = [f"{ctx.brand_name} Announces {kw}", f"{ctx.brand_name} Introduces {kw} for {aud}"]
    elif ctype == "product_description":
        options = [f"{kw} by {ctx.brand_name}", f"Meet {kw} from {ctx.brand_name}"]
    elif style == "template":
        options = [f"{kw}: What to Know Before You Switch", f"The Simple Guide to {kw}"]
    else:
        options = [
            f"{kw}: A Practical Guide for {aud}",
            f"{kw}, Explained: What Works and Why",
            f"A Friendly Guide to {kw}",
            f"Getting {kw} Right: A Practical Guide",
        ]
    fitting = [o for o in options if len(o) <= SEO_TITLE_MAX]
    if not fitting:
        return truncate_words(f"{kw}: A Guide", SEO_TITLE_MAX).rstrip("…")
    if ctx.variant_dimension in ("hook", "headline"):
        # the original's choice (same seed, no variant), moved on by the variant's index
        base = random.Random(seed_for(ctx.piece["piece_id"], style, "")).choice(fitting)
        return fitting[(fitting.index(base) + int(ctx.variant.get("index", 1))) % len(fitting)]
    return rng.choice(fitting)


def _title_case(text: str) -> str:
    small = {"a", "an", "and", "the", "of", "in", "for", "to", "on", "with", "or", "at", "by"}
    out = []
    for i, word in enumerate(text.split()):
        if word.isupper() and len(word) > 1:
            out.append(word)
        elif i and word.lower() in small:
            out.append(word.lower())
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


def _meta_description(ctx: Ctx) -> str:
    low, high = META_DESCRIPTION_RANGE
    extra = ", ".join(ctx.keywords[1:3])
    candidates = [
        f"What {ctx.audience_short} should know about {ctx.primary}: practical steps from {ctx.brand_name}"
        + (f", covering {extra}," if extra else ",")
        + " plus the mistakes to avoid.",
        f"What to know about {ctx.primary}: practical steps from {ctx.brand_name}"
        + (f", covering {extra}," if extra else ",")
        + " plus the mistakes to avoid.",
        f"What to know about {ctx.primary}: practical, honest steps from {ctx.brand_name}, plus the mistakes to avoid.",
        f"A practical guide to {ctx.primary} from {ctx.brand_name}: what works, what to avoid and how to start.",
    ]
    for text in candidates:
        if low <= len(text) <= high:
            return text
    shortest = min(candidates, key=len)
    if len(shortest) > high:
        return truncate_words(shortest, high)
    return truncate_words(f"{shortest} {ctx.cta} today.", high)


SECTION_HEADS_STANDARD = [
    "{kw}: why it matters to {aud}",
    "{question}",
    "Getting started with {kw2}",
    "Mistakes to avoid with {kw}",
    "What to look for in {kw3}",
    "How {brand} approaches {kw}",
    "Measuring the difference",
]
SECTION_HEADS_TEMPLATE = [
    "The problem",
    "A better way",
    "Step by step",
    "What you get",
]

LONG_SENTENCES = [
    "{opener} switching to {kw} is less about buying something new and more about making better everyday choices.",
    "Many {aud} tell us their biggest frustration is {pain}.",
    "That is exactly where {kw} can help.",
    "Start small: pick one routine, change it, and see what happens over a few weeks.",
    "When {aud} focus on {motivation}, the rest tends to follow.",
    "A question we hear often is this one: {question}",
    "The short answer is to choose an option that fits the way you already live.",
    "You do not need to change everything at once to see a difference.",
    "Look for clear labels, honest claims and a supplier who answers your questions.",
    "Small, steady improvements add up faster than occasional big efforts.",
    "At {brand}, we see this pattern again and again.",
    "Think of it as a habit rather than a one-off project.",
    "It helps to write down what you do today before you decide what to change.",
    "Ask what happens to a product after you have finished with it.",
    "Compare the options side by side, and weigh convenience against long-term cost.",
    "Most people find the second week easier than the first.",
    "Share what you learn with friends, because good habits spread.",
    "If something does not work for you, adjust it rather than giving up.",
    "Good choices should feel easy, not like a sacrifice.",
    "The details matter: materials, sourcing and how things are made all play a part.",
    "{opener} the best results come from consistency rather than perfection.",
    "Quality and responsibility do not have to pull in opposite directions.",
    "Plan a quick review after a month to see what has changed.",
    "Questions are welcome, and curiosity is a great place to begin.",
    "Every improvement is worth celebrating, however small.",
    "Practical guidance beats perfect theory when your days are busy.",
    "Everything we say about {kw} should be something you can check for yourself.",
    "If you are new to {kw2}, begin with the basics and build from there.",
    "For {aud}, the right choice is the one that survives a busy Monday morning.",
    "We would rather give you honest answers about {kw} than clever slogans.",
    "A little planning now saves a lot of frustration later.",
    "The best routine is the one you will actually keep.",
]

TEMPLATE_STEPS = [
    "First, look at what you use today and how often.",
    "Second, switch one thing to a better option and keep everything else the same.",
    "Third, give it a month and notice what has changed.",
]


class _Slots(dict):
    """Template values; keyword slots are resolved only when a template uses them (budgeted)."""

    def __init__(self, ctx: Ctx, values: dict[str, str]):
        super().__init__(values)
        self.ctx = ctx

    def __missing__(self, key: str) -> str:
        slots = {"kw": 0, "kw2": 1, "kw3": 2}
        if key not in slots:
            raise KeyError(key)
        return self.ctx.keyword(slots[key])


def _fill(template: str, ctx: Ctx, rng: random.Random) -> str:
    question = rng.choice(ctx.questions).rstrip("?") + "?"
    values = {
        "aud": ctx.audience_short,
        "brand": ctx.brand_name,
        "pain": lower_first(rng.choice(ctx.pains).rstrip(".")),
        "motivation": lower_first(rng.choice(ctx.motivations).rstrip(".")),
        "question": upper_first(question),
        "opener": rng.choice(TONE_OPENERS.get(ctx.tone, TONE_OPENERS["professional"])),
        "cta": ctx.cta,
    }
    text = template.format_map(_Slots(ctx, values))
    return re.sub(r"\.\.+", ".", upper_first(text))


def _paragraph(ctx: Ctx, rng: random.Random, deck: Deck, n: int) -> str:
    return " ".join(_fill(deck.draw(), ctx, rng) for _ in range(n))


def _long_form(ctx: Ctx, rng: random.Random, style: str) -> dict[str, Any]:
    spec = ctx.piece
    target = (spec["min_words"] + spec["max_words"]) // 2
    title = _title(ctx, rng, style)
    deck = Deck(LONG_SENTENCES, rng)
    if spec["content_type"] == "press_release":
        intro = (
            f"{ctx.brand_name} today announced {lower_first(ctx.topic_short)}. "
            f"The launch is aimed at {ctx.audience_short} and centres on {ctx.primary}."
        )
    elif style == "template":
        intro = (
            f"If {lower_first(ctx.pains[0])} sounds familiar, you are not alone. This {_kind_word(spec['content_type'])} "
            f"sets out the problem, a better way with {ctx.primary}, and the steps to get there."
        )
    else:
        intro = (
            f"{upper_first(ctx.questions[0].rstrip('?'))}? For {ctx.audience_short}, the answer shapes everyday "
            f"decisions. In this {_kind_word(spec['content_type'])}, {ctx.brand_name} explains what to know about "
            f"{ctx.primary}, where it helps most, and how to get started without the guesswork."
        )
    blocks = [intro]
    if style == "template":
        heads = list(SECTION_HEADS_TEMPLATE)
    else:
        heads = [
            SECTION_HEADS_STANDARD[0],
            *rng.sample(SECTION_HEADS_STANDARD[1:], k=len(SECTION_HEADS_STANDARD) - 1),
        ]
    used_heads: set[str] = set()
    for head_template in heads:
        if word_count("\n".join(blocks)) >= target - 60:
            break
        head = upper_first(_fill(head_template, ctx, rng))
        if head in used_heads:
            continue
        used_heads.add(head)
        if style == "template" and head_template == "Step by step":
            paragraphs = [" ".join(TEMPLATE_STEPS), _paragraph(ctx, rng, deck, 3)]
        else:
            paragraphs = [_paragraph(ctx, rng, deck, rng.randint(3, 5)) for _ in range(2)]
        blocks.append(f"## {head}\n\n" + "\n\n".join(paragraphs))
    while word_count("\n".join(blocks)) < spec["min_words"]:
        blocks.append(_paragraph(ctx, rng, deck, 4))
    closing = f"## Next steps\n\n{_fill(deck.draw(), ctx, rng)} {ctx.cta}"
    closing += f": {ctx.link}" if ctx.link else f" with {ctx.brand_name}."
    blocks.append(closing)
    body = "\n\n".join(blocks)
    while word_count(body) > spec["max_words"] and len(blocks) > 3:
        blocks.pop(-2)
        body = "\n\n".join(blocks)
    return {
        "title": title,
        "seo_title": title,
        "meta_description": _meta_description(ctx),
        "body": body,
    }


def _kind_word(content_type: str) -> str:
    return {"blog": "guide", "landing_page": "page", "product_description": "overview"}.get(
        content_type, "article"
    )


# ---------------------------------------------------------------- short posts

HOOKS = [
    "{question}",
    "Tired of {pain}?",
    "{opener} {kw} can be simpler than you think.",
    "What if getting {kw} right took five minutes?",
    "3 things {aud} often get wrong about {kw}.",
]
VALUE_LINES = [
    "Our new guide explains {kw2} in plain English.",
    "Small switches add up to {motivation}.",
    "We break down what works, what doesn't, and where to start.",
    "No jargon, just practical steps you can use today.",
    "Made for {aud} who want {motivation}.",
    "Honest answers, no hype.",
]
# the problem-solution template's three beats, each with several phrasings (picked by the piece's seed,
# so two campaigns built on the same template do not read alike)
TEMPLATE_PROBLEM = ["Tired of {pain}?", "Still dealing with {pain}?", "Done with {pain}?", "Sick of {pain}?"]
TEMPLATE_TURN = [
    "There is an easier way.",
    "It does not have to be hard.",
    "We made it simple.",
    "Good news: it gets easier.",
]
TEMPLATE_ANSWER = ["Meet {kw}.", "Say hello to {kw}.", "Try {kw}.", "Discover {kw}."]
PLATFORM_CLOSERS = {
    "instagram": "Save this for later and share it with a friend who needs it.",
    "facebook": "What would you add? Tell us in the comments.",
    "linkedin": "How does your team approach this? We'd love to hear.",
    "pinterest": "Pin it for your next shopping list.",
}
AD_HEADLINES = [
    "{kw}, made simple.",
    "Meet {kw} from {brand}.",
    "{kw} without the compromise.",
    "The easy switch to {kw}.",
    "Better {kw3}, starting today.",
]
AD_LINES = [
    "Designed for {aud}.",
    "Get {motivation} without the hassle.",
    "Honest answers and no hype.",
    "Simple, friendly and made for your routine.",
]


def _variant_opening(options: list[str], ctx: Ctx, offset: int) -> str:
    """The opening line; a hook variant asked to keep the keyword (``variant["keyword"]``) picks, by its
    index, one of the other openings that name the primary keyword."""
    variant = ctx.variant or {}
    if ctx.variant_dimension in ("hook", "headline") and variant.get("keyword"):
        original = rotate(options, ctx, 0)
        keeping = [o for o in options if "{kw}" in o and o != original]
        if keeping:
            return rotate(keeping, ctx, int(variant.get("index", 1)) - 1)
    return rotate(options, ctx, offset)


def _short_post(ctx: Ctx, rng: random.Random, style: str) -> dict[str, Any]:
    spec = ctx.piece
    limit = spec.get("char_limit") or 5000
    dimension = (ctx.variant or {}).get("dimension")
    shift = (ctx.variant or {}).get("index", 0) if dimension in ("hook", "headline") else 0
    if spec["content_type"] == "ad_copy":
        offset = shift + (2 if style == "template" else 0)
        headline = _fill(_variant_opening(AD_HEADLINES, ctx, offset), ctx, rng)
        lines = [headline, _fill(rotate(AD_LINES, ctx, 1 if style == "template" else 0), ctx, rng)]
    elif style == "template":
        lines = [
            _fill(rng.choice(TEMPLATE_PROBLEM), ctx, rng),
            rng.choice(TEMPLATE_TURN),
            _fill(rng.choice(TEMPLATE_ANSWER), ctx, rng),
        ]
    else:
        lines = [_fill(_variant_opening(HOOKS, ctx, shift), ctx, rng)]
        lines += [_fill(t, ctx, rng) for t in rng.sample(VALUE_LINES, k=2)]
        closer = PLATFORM_CLOSERS.get(spec["platform"])
        if closer:
            lines.append(closer)
    cta = (
        ctx.cta
        if dimension != "cta" or (ctx.variant or {}).get("cta")
        else rotate(CTA_DEFAULTS[1:], ctx, (ctx.variant or {}).get("index", 0))
    )
    closing = f"{cta}: {ctx.link}" if ctx.link else f"{cta}."
    body_lines = [*lines, closing]
    body = " ".join(body_lines)
    # drop value lines (never the hook or the call to action) until it fits
    while (word_count(body) > spec["max_words"] or len(body) > limit - 60) and len(body_lines) > 2:
        body_lines.pop(-2)
        body = " ".join(body_lines)
    deck = Deck(LONG_SENTENCES, rng)
    while word_count(body) < spec["min_words"] and style != "template":
        extra = _fill(deck.draw(), ctx, rng)
        if len(body) + len(extra) > limit - 60:
            break
        body_lines.insert(-1, extra)
        body = " ".join(body_lines)
    return {"title": truncate_words(lines[0], 80), "body": body, "cta": cta}


# ---------------------------------------------------------------- email


def _email(ctx: Ctx, rng: random.Random, style: str) -> dict[str, Any]:
    spec = ctx.piece
    subject_opts = [
        f"{upper_first(ctx.primary)}: your quick guide",
        f"New from {ctx.brand_name}: {ctx.primary}",
        f"5 minutes to better {ctx.primary}",
    ]
    index = (
        (ctx.variant or {}).get("index", 0)
        if (ctx.variant or {}).get("dimension") in ("hook", "headline")
        else 0
    )
    subject = subject_opts[index % len(subject_opts)] if style != "template" else subject_opts[1]
    subject = truncate_words(subject, EMAIL_SUBJECT_MAX)
    pre_low, pre_high = EMAIL_PREHEADER_RANGE
    preheader = truncate_words(
        f"Practical tips on {ctx.primary} for {ctx.audience_short}, plus one easy first step.", pre_high
    )
    if len(preheader) < pre_low:
        preheader = truncate_words(preheader + " Read it in under five minutes.", pre_high)
    deck = Deck(LONG_SENTENCES, rng)
    benefits = [f"- {_fill(t, ctx, rng)}" for t in rng.sample(VALUE_LINES[:5], k=3)]
    if style == "template":
        parts = [
            "Hi there,",
            f"If {lower_first(ctx.pains[0])} sounds familiar, this email is for you.",
            f"There is a better way, and it starts with {ctx.primary}. Here is how to get going:\n"
            + "\n".join(f"- {s}" for s in TEMPLATE_STEPS),
            _paragraph(ctx, rng, deck, 3),
        ]
    else:
        parts = [
            "Hi there,",
            _paragraph(ctx, rng, deck, 3),
            "Here's what you'll find inside:\n" + "\n".join(benefits),
            _paragraph(ctx, rng, deck, 3),
        ]
    target = (spec["min_words"] + spec["max_words"]) // 2
    while word_count("\n\n".join(parts)) < target - 30:
        parts.append(_paragraph(ctx, rng, deck, 3))
    parts.append(f"{ctx.cta}: {ctx.link}" if ctx.link else f"{ctx.cta} by replying to this email.")
    parts.append(f"Warm regards,\nThe {ctx.brand_name} team")
    footer = ctx.brand.get("required_disclosures", {}).get("email")
    if footer:
        parts.append(footer)
    return {"title": subject, "subject": subject, "preheader": preheader, "body": "\n\n".join(parts)}


# ---------------------------------------------------------------- video

VISUALS = [
    "close-up of the product",
    "quick cut of a busy morning",
    "on-screen text with the key tip",
    "presenter speaking to camera",
    "before / after split screen",
]


def _video(ctx: Ctx, rng: random.Random, style: str) -> dict[str, Any]:
    spec = ctx.piece
    hook = _fill(rotate(HOOKS, ctx, (ctx.variant or {}).get("index", 0)), ctx, rng)
    scenes = [f"[HOOK] {hook}"]
    deck = Deck(LONG_SENTENCES, rng)
    target = (spec["min_words"] + spec["max_words"]) // 2
    n = 1
    while word_count("\n".join(scenes)) < target - 25:
        scenes.append(f"[SCENE {n}] ({VISUALS[(n - 1) % len(VISUALS)]}) {_paragraph(ctx, rng, deck, 2)}")
        n += 1
    scenes.append(
        f"[CTA] {ctx.cta}" + (f" at {ctx.link}" if ctx.link else f". Follow {ctx.brand_name} for more.")
    )
    return {"title": truncate_words(hook, 90), "body": "\n\n".join(scenes), "hook": hook}


# ---------------------------------------------------------------- hashtags


def _hashtags(ctx: Ctx, rng: random.Random) -> list[str]:
    rule_max = int(ctx.piece.get("max_hashtags", 0))
    if rule_max <= 0:
        return []
    tags = []
    for kw in ctx.keywords[:6]:
        tag = "#" + "".join(w.capitalize() for w in re.findall(r"[A-Za-z0-9]+", kw))
        if 2 < len(tag) <= 30:
            tags.append(tag)
    tags.extend(ctx.brand.get("default_hashtags", []))
    unique = list(dict.fromkeys(tags))
    return unique[:rule_max]
