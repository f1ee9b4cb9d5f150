"""Brand voice against ``brand.yaml``: words and claims to avoid, required terms, tone markers and the
reading level, plus hype, shouting and exclamation marks.

Tone words (``warm``, ``honest``, ...) are descriptions, not words expected in the copy, so each known one
maps to observable markers: ``warm`` -> the reader is addressed (you / your, we / our), ``honest`` -> no
hype words, ``practical`` -> concrete actions, ``curious`` -> a question. Tone words without a marker are
ignored (the LLM judge, when configured, reads the ``voice`` sentence as a whole).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from splants_dagster.qa.flesch import measure
from splants_dagster.qa.model import CheckResult, Finding, QAContext, QAText
from splants_dagster.qa.spans import EMAIL, excerpt, find_phrase, mask, sentence_spans
from splants_dagster.text import URL

NAME = "brand_voice"
PASS_AT = 0.75

# Neutral wording for common buzzwords (used by the auto-fix; others are simply removed).
REPLACEMENTS: dict[str, str] = {
    "revolutionary": "new",
    "game-changer": "improvement",
    "game changer": "improvement",
    "game-changing": "useful",
    "synergy": "balance",
    "synergies": "shared benefits",
    "eco-friendly": "lower-waste",
    "eco friendly": "lower-waste",
    "cutting-edge": "modern",
    "world-class": "excellent",
    "best-in-class": "excellent",
    "disruptive": "different",
    "leverage": "use",
    "unleash": "discover",
    "seamless": "smooth",
    "seamlessly": "smoothly",
    "next-level": "better",
    "amazing": "excellent",
    "incredible": "impressive",
    "unbelievable": "remarkable",
    "mind-blowing": "striking",
    "insane": "remarkable",
}
HYPE = (
    "amazing",
    "incredible",
    "unbelievable",
    "mind-blowing",
    "insane",
    "best ever",
    "world-class",
    "cutting-edge",
    "once in a lifetime",
    "life-changing",
    "jaw-dropping",
    "epic",
)
ACTIONS = re.compile(
    r"\b(start|try|pick|choose|check|compare|look for|switch|order|pre-order|book|join|visit|read|save|"
    r"plan|ask|write down|step|how to|tip)\b",
    re.I,
)
YOU = re.compile(r"\b(you|your|you're|you'll|you've|yours)\b", re.I)
WE = re.compile(r"\b(we|our|us|we're|we've|we'll)\b", re.I)
CONTRACTION = re.compile(r"\b\w+(?:'|’)(?:s|re|ve|ll|d|t|m)\b", re.I)
ACRONYM_OK = re.compile(r"^(HOOK|SCENE|CTA|FAQ|USA|UK|EU|NHS|HTML|SEO|ASAP|DIY|TÜV|HOME|OK)$")

Marker = tuple[str, Callable[[str, list[str]], bool], str]
MARKERS: dict[str, list[Marker]] = {
    "warm": [
        (
            "addresses the reader",
            lambda t, s: bool(YOU.search(t) or WE.search(t)),
            "speak to the reader: 'you', 'we'",
        )
    ],
    "friendly": [
        ("addresses the reader", lambda t, s: bool(YOU.search(t)), "talk to the reader directly with 'you'")
    ],
    "conversational": [
        ("asks or addresses", lambda t, s: "?" in t or bool(YOU.search(t)), "ask the reader a question")
    ],
    "casual": [
        ("contractions", lambda t, s: bool(CONTRACTION.search(t)), "use contractions (we're, you'll)")
    ],
    "honest": [("no hype", lambda t, s: not any(find_phrase(t, h) for h in HYPE), "drop the hype words")],
    "practical": [
        ("concrete actions", lambda t, s: bool(ACTIONS.search(t)), "give the reader a concrete next step")
    ],
    "curious": [("a question", lambda t, s: "?" in t, "open a question the reader cares about")],
    "professional": [
        ("calm punctuation", lambda t, s: t.count("!") <= max(1, len(s) // 4), "fewer exclamation marks")
    ],
    "authoritative": [
        ("calm punctuation", lambda t, s: t.count("!") <= max(1, len(s) // 4), "fewer exclamation marks")
    ],
    "inspirational": [
        (
            "addresses the reader",
            lambda t, s: bool(YOU.search(t)),
            "speak to the reader's ambitions with 'you'",
        )
    ],
}


def shouted_words(text: str) -> list[re.Match[str]]:
    """Words of four or more capitals that are not known acronyms or script marks."""
    return [m for m in re.finditer(r"\b[A-Z]{4,}\b", text) if not ACRONYM_OK.match(m.group(0))]


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _has_term(text: str, term: str) -> bool:
    if find_phrase(text, term):
        return True
    flat = _squash(text)
    return _squash(term) in flat or _squash(term.replace("&", "and")) in flat


def _scan(text: QAText, phrase: str) -> list[tuple[str, int, int, str]]:
    hits = []
    for field, value in text.fields().items():
        for span in find_phrase(mask(value), phrase):
            hits.append((field, span.start, span.end, value[span.start : span.end]))
    return hits


def check(text: QAText, ctx: QAContext) -> CheckResult:
    brand = ctx.brand
    findings: list[Finding] = []
    penalty = 0.0
    short = text.content_type in ("social_post", "ad_copy")

    for word in brand.avoid_words:
        hits = _scan(text, word)
        for field, start, end, found in hits:
            replacement = REPLACEMENTS.get(word.lower())
            findings.append(
                Finding(
                    NAME,
                    "avoid_word",
                    f"'{found}' is on the brand's list of words to avoid",
                    excerpt(text.fields()[field], start, end),
                    f"use '{replacement}' instead" if replacement else "remove it or say it plainly",
                    "warning",
                    field,
                    start,
                    end,
                    {"replace": found, "with": replacement or "", "field": field},
                )
            )
        if hits:
            penalty += 0.15
    for claim in brand.avoid_claims:
        hits = _scan(text, claim)
        for field, start, end, found in hits:
            findings.append(
                Finding(
                    NAME,
                    "avoid_claim",
                    f"'{found}' is a claim the brand does not make",
                    excerpt(text.fields()[field], start, end),
                    "remove the claim or replace it with a specific, checkable fact",
                    "error",
                    field,
                    start,
                    end,
                )
            )
        if hits:
            penalty += 0.4
    everything = "\n".join([*(mask(v, URL, EMAIL) for v in text.fields().values()), " ".join(text.hashtags)])
    for term in brand.required_terms:
        if not _has_term(everything, term):
            findings.append(
                Finding(
                    NAME,
                    "required_term",
                    f"'{term}' (a required term) does not appear",
                    "",
                    f"mention '{term}' once, naturally",
                    "info" if short else "warning",
                )
            )
            penalty += 0.03 if short else 0.1

    body = mask(text.body)
    sentences = [s.text for s in sentence_spans(body)]
    for hype in HYPE:
        if any(hype.lower() == w.lower() for w in brand.avoid_words):
            continue  # already reported as an avoided word
        for span in find_phrase(body, hype):
            replacement = REPLACEMENTS.get(hype)
            findings.append(
                Finding(
                    NAME,
                    "hype",
                    f"'{text.body[span.start : span.end]}' is hype, not information",
                    excerpt(text.body, span.start, span.end),
                    f"say what is actually good about it{f' (or: {replacement!r})' if replacement else ''}",
                    "warning",
                    "body",
                    span.start,
                    span.end,
                    {"replace": text.body[span.start : span.end], "with": replacement or "", "field": "body"},
                )
            )
            penalty += 0.05
    shouting = shouted_words(body)
    if len(shouting) >= 2:
        first = shouting[0]
        findings.append(
            Finding(
                NAME,
                "shouting",
                f"{len(shouting)} words in capitals read as shouting",
                excerpt(text.body, first.start(), first.end()),
                "use normal capitalisation; emphasis comes from the words",
                "warning",
                "body",
                first.start(),
                first.end(),
                {"lowercase": [m.group(0) for m in shouting]},
            )
        )
        penalty += 0.15
    bangs = body.count("!")
    if bangs > max(1, len(sentences) // 3):
        findings.append(
            Finding(
                NAME,
                "exclamation",
                f"{bangs} exclamation marks in {len(sentences)} sentences",
                "",
                "keep at most one exclamation mark per three sentences",
                "warning",
                fix={"exclamations": max(1, len(sentences) // 3)},
            )
        )
        penalty += 0.1

    if len(sentences) >= 3:
        tones = list(dict.fromkeys([*(w.lower() for w in brand.tone_words), (ctx.tone or "").lower()]))
        done: set[str] = set()
        for tone in tones:
            for label, test, advice in MARKERS.get(tone, []):
                if label in done:
                    continue
                done.add(label)
                if not test(body, sentences):
                    findings.append(
                        Finding(
                            NAME,
                            "tone_marker",
                            f"tone '{tone}': no sign of '{label}'",
                            "",
                            advice,
                            "info",
                        )
                    )
                    penalty += 0.05

    grade = None
    if brand.reading_level is not None and len(text.body.split()) >= 20:
        grade = measure(text.body).flesch_kincaid_grade
        over = grade - (brand.reading_level + 2)
        if over > 0:
            findings.append(
                Finding(
                    NAME,
                    "reading_level",
                    f"reads at grade {grade:.1f}; the brand writes for grade {brand.reading_level:g}",
                    "",
                    "use shorter sentences and everyday words",
                    "warning",
                )
            )
            penalty += min(0.3, 0.05 * over)

    score = round(max(0.0, 1.0 - penalty), 4)
    passed = score >= PASS_AT and not any(f.severity == "error" for f in findings)
    return CheckResult(NAME, score, passed, tuple(findings), {"fk_grade": grade})
