"""Substance: does the piece say something specific to the brief, or is it stock phrases?

Each sentence of the body is **specific** when it names what the brief is about -- two or more terms of
the brief's facts, topic, product, audience or goal, or one such term with a number, or the call to
action / landing link -- and **stock** when it is built on a stock phrase (``rules/stock_phrases.yaml``:
"in today's fast-paced world", "take it to the next level", "we've got you covered" ...). The score is
the share of specific sentences, a stock sentence counting half when it is also specific and minus half
when it is not: filler with the right keywords sprinkled in stays well below 0.8. Below ``PASS_AT`` the
piece fails (``low_substance``); each stock phrase is a warning with its span.

The same measure feeds the ``quality`` component of the content suite's candidate score
(``scoring.quality_score``), so a template draft only beats a model's draft on substance when the
model's draft fails its checks.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import yaml

from splants_dagster.qa.claims import stem
from splants_dagster.qa.spans import excerpt, mask, sentence_spans
from splants_dagster.text import STOP_WORDS, normalise

NAME = "substance"
PASS_AT = 0.5
GENERIC = frozenset(
    [
        "people",
        "time",
        "today",
        "really",
        "great",
        "good",
        "make",
        "makes",
        "made",
        "want",
        "wants",
        "like",
        "love",
        "new",
        "way",
        "ways",
        "thing",
        "things",
        "every",
        "first",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "more",
        "most",
        "best",
        "better",
        "just",
        "also",
        "even",
        "still",
        "well",
        "help",
        "helps",
        "need",
        "needs",
        "know",
        "find",
        "get",
        "gets",
        "take",
        "takes",
        "home",
        "day",
        "days",
        "life",
        "world",
        "work",
        "works",
        "start",
        "brand",
    ]
)


@functools.cache
def stock_patterns() -> tuple[re.Pattern[str], ...]:
    raw = yaml.safe_load(
        resources.files("splants_dagster.qa").joinpath("rules", "stock_phrases.yaml").read_text("utf-8")
    )
    return tuple(re.compile(p, re.I) for p in raw["patterns"])


def specific_terms(texts: Iterable[str], exclude: Iterable[str] = ()) -> frozenset[str]:
    """The stems that make a sentence specific: content words of the brief's texts, minus the brand's
    own name (naming yourself is not substance) and generic words."""
    banned = {stem(w) for text in exclude for w in normalise(text)}
    out = set()
    for text in texts:
        for w in normalise(text or ""):
            if len(w) > 2 and w not in STOP_WORDS and w not in GENERIC and not w.isdigit():
                s = stem(w)
                if s not in banned:
                    out.add(s)
    return frozenset(out)


@dataclass(frozen=True)
class SubstanceResult:
    score: float
    sentences: int
    specific: int
    stock: list[tuple[int, int, str]]  # spans of stock phrases in the body
    vague: list[str]  # sentences that are neither specific nor a call to action


NUMBER = re.compile(r"\d|£|\$|€|%")


FOOTER = re.compile(r"\bunsubscribe\b|\byou are receiving this\b|\bopt[- ]out\b", re.I)


def measure(
    body: str, terms: frozenset[str], cta: str | None = None, link: str | None = None, footer: str = ""
) -> SubstanceResult:
    masked = mask(body)
    # greetings, sign-offs and the e-mail footer are neither substance nor filler
    sents = [
        s
        for s in sentence_spans(masked)
        if len(s.text.split()) >= 4 and not FOOTER.search(s.text) and not (footer and s.text in footer)
    ]
    stock_hits = [(m.start(), m.end(), m.group(0)) for p in stock_patterns() for m in p.finditer(masked)]
    cta_words = {stem(w) for w in normalise(cta or "") if w not in STOP_WORDS}
    total = 0.0
    specific = 0
    vague: list[str] = []
    for s in sents:
        stems = {stem(w) for w in normalise(s.text)}
        hits = len(stems & terms)
        original = body[s.start : s.end]
        is_cta = bool(cta_words) and len(cta_words & stems) >= max(1, len(cta_words) - 1)
        is_cta = is_cta or bool(link and link in original)
        is_specific = hits >= 2 or (hits >= 1 and bool(NUMBER.search(s.text))) or is_cta
        is_stock = any(s.start <= a < s.end for a, _, _ in stock_hits)
        if is_specific:
            specific += 1
            total += 0.5 if is_stock else 1.0
        else:
            total -= 0.5 if is_stock else 0.0
            vague.append(original)
    score = max(0.0, total / len(sents)) if sents else 0.0
    return SubstanceResult(round(min(1.0, score), 4), len(sents), specific, stock_hits, vague)


def context_terms(ctx) -> frozenset[str]:
    cached = ctx.__dict__.get("_substance_terms")
    if cached is None:
        texts = [*ctx.facts.values(), *ctx.support_texts.values(), " ".join(ctx.keywords)]
        texts += [str(t.get("quote", "")) for t in ctx.testimonials]
        cached = specific_terms(texts, exclude=[ctx.brand.name, ctx.link or "", ctx.brand.website or ""])
        ctx.__dict__["_substance_terms"] = cached
    return cached


def check(text, ctx):
    from splants_dagster.qa.model import CheckResult, Finding

    footer = "\n".join([*ctx.brand.required_disclosures.values(), ctx.brand.postal_address or ""])
    result = measure(text.body, context_terms(ctx), ctx.call_to_action or text.cta, ctx.link, footer)
    findings: list[Finding] = []
    for start, end, phrase in result.stock:
        findings.append(
            Finding(
                NAME,
                "stock_phrase",
                f"'{phrase}' is a stock phrase: it says nothing about this product or audience",
                excerpt(text.body, start, end),
                "replace it with an approved fact, the product or the reader's situation",
                "warning",
                "body",
                start,
                end,
            )
        )
    passed = result.score >= PASS_AT
    if not passed:
        findings.append(
            Finding(
                NAME,
                "low_substance",
                f"only {result.specific} of {result.sentences} sentences say something specific to the brief "
                f"(substance {result.score:.2f}, needs {PASS_AT:.2f})",
                excerpt(result.vague[0], 0, len(result.vague[0])) if result.vague else "",
                "state the brief's facts, name the product and the reader's situation; cut generic lines",
                "warning",
            )
        )
    details = {"sentences": result.sentences, "specific": result.specific, "stock_phrases": len(result.stock)}
    return CheckResult(NAME, result.score, passed, tuple(findings), details)
