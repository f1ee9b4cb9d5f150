"""Candidate scoring: quality, SEO, readability, uniqueness and predicted performance, and their total.

The weights are the SPLANTS design's (quality .30, SEO .20, readability .20, uniqueness .15, predicted
performance .15). A component that is not available (e.g. no trained predictor yet) is left out and the
remaining weights are renormalised; callers record which components were used.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from splants_dagster.platforms import (
    EMAIL_PREHEADER_RANGE,
    EMAIL_SUBJECT_MAX,
    META_DESCRIPTION_RANGE,
    SEO_TITLE_MAX,
    PieceSpec,
)
from splants_dagster.qa.flesch import Readability, measure
from splants_dagster.text import (
    contains_phrase,
    count_phrase,
    hashtags,
    longest_shared_run,
    normalise,
    sentences,
    shingles,
    words,
)

WEIGHTS: dict[str, float] = {
    "quality": 0.30,
    "seo": 0.20,
    "readability": 0.20,
    "uniqueness": 0.15,
    "predicted_performance": 0.15,
}
SEO_WEIGHTS = {"presence": 0.35, "density": 0.25, "placement": 0.20, "structure": 0.20}
CTA_WORDS = re.compile(
    r"\b(learn more|get started|sign up|subscribe|shop|buy|order|book|join|try|download|discover|"
    r"register|contact|visit|read more|see how|claim|reply|follow|start)\b",
    re.I,
)
COPY_RUN = 12


def weighted_total(
    scores: Mapping[str, float | None], weights: Mapping[str, float] = WEIGHTS
) -> tuple[float, list[str]]:
    """The weighted total over available components (renormalised) and the list of components used."""
    present = {k: float(v) for k, w in weights.items() if w > 0 and (v := scores.get(k)) is not None}
    used = list(present)
    if not used:
        return 0.0, []
    norm = sum(weights[k] for k in used)
    total = sum(weights[k] * v for k, v in present.items()) / norm
    return round(total, 4), used


def score_columns(scores: Mapping[str, float | None], total: float, components: list[str]) -> dict[str, Any]:
    """Scores as the warehouse stores them (``content_pieces``, ``content_candidates``, variants)."""
    return {
        "quality_score": scores.get("quality"),
        "seo_score": scores.get("seo"),
        "readability_score": scores.get("readability"),
        "uniqueness_score": scores.get("uniqueness"),
        "predicted_score": scores.get("predicted_performance"),
        "total_score": total,
        "score_components": ",".join(components),
    }


@dataclass(frozen=True)
class PieceText:
    """The fields of a piece that scoring looks at."""

    title: str
    body: str
    hashtags: list[str] = field(default_factory=list)
    seo_title: str | None = None
    meta_description: str | None = None
    subject: str | None = None
    preheader: str | None = None
    cta: str | None = None
    rendered: str = ""

    @property
    def full_text(self) -> str:
        return "\n".join(x for x in (self.title, self.body) if x)


def _band(value: float, low: float, high: float, zero_low: float, zero_high: float) -> float:
    """1 inside [low, high]; linear to 0 at zero_low / zero_high."""
    if low <= value <= high:
        return 1.0
    if value < low:
        return max(0.0, (value - zero_low) / (low - zero_low)) if low > zero_low else 0.0
    return max(0.0, (zero_high - value) / (zero_high - high)) if zero_high > high else 0.0


@dataclass(frozen=True)
class SeoResult:
    score: float
    presence: float
    density: float
    placement: float
    structure: float
    details: dict[str, Any]


def seo_score(piece: PieceText, keywords: list[str], spec: PieceSpec, link: str | None = None) -> SeoResult:
    """The SPLANTS SEO formula: presence .35, density .25, placement .20, structure .20."""
    kws = [k for k in keywords if k][:5]
    text = piece.full_text
    total_words = max(1, len(words(piece.body)))
    if not kws:
        return SeoResult(0.0, 0.0, 0.0, 0.0, 0.0, {"reason": "no keywords"})
    primary, others = kws[0], kws[1:]
    hits = {k: contains_phrase(text, k) for k in kws}
    presence = (2 * hits[primary] + sum(hits[k] for k in others)) / (2 + len(others))

    occurrences = count_phrase(piece.body, primary)
    if spec.is_long_form or total_words >= 150:
        density_pct = 100 * occurrences * len(primary.split()) / total_words
        density = _band(density_pct, 0.5, 2.5, 0.0, 5.0)
    else:
        density_pct = 100 * occurrences * len(primary.split()) / total_words
        density = (
            1.0
            if 1 <= occurrences <= 2
            else (0.0 if occurrences == 0 else max(0.0, 1 - 0.3 * (occurrences - 2)))
        )

    first_100 = " ".join(words(piece.body)[:100])
    headings = " ".join(re.findall(r"^#{2,3}\s+(.+)$", piece.body, re.M))
    secondary_spot = " ".join(x for x in (headings, piece.meta_description or "", piece.subject or "") if x)
    placement = (
        0.4 * contains_phrase(piece.seo_title or piece.title, primary)
        + 0.3 * contains_phrase(first_100, primary)
        + 0.3
        * (contains_phrase(secondary_spot, primary) if secondary_spot else contains_phrase(text, primary))
    )

    checks: dict[str, bool] = {}
    if spec.content_type in ("blog", "landing_page"):
        low, high = META_DESCRIPTION_RANGE
        checks["seo_title_len"] = 0 < len(piece.seo_title or piece.title) <= SEO_TITLE_MAX
        checks["meta_description_len"] = low <= len(piece.meta_description or "") <= high
        checks["h2_sections"] = len(re.findall(r"^##\s+", piece.body, re.M)) >= 3
        checks["cta_or_link"] = bool(CTA_WORDS.search(piece.body) or "http" in piece.body)
    elif spec.content_type == "email":
        low, high = EMAIL_PREHEADER_RANGE
        checks["subject_len"] = 0 < len(piece.subject or "") <= EMAIL_SUBJECT_MAX
        checks["preheader_len"] = low <= len(piece.preheader or "") <= high
        checks["cta_or_link"] = bool(CTA_WORDS.search(piece.body) or "http" in piece.body)
        checks["paragraphs"] = piece.body.count("\n\n") >= 2
    else:
        limit = spec.char_limit
        checks["hashtags_within_rule"] = len(piece.hashtags) <= spec.hashtags.max_count
        checks["fits_platform"] = limit is None or len(piece.rendered or piece.body) <= limit
        checks["cta"] = bool(CTA_WORDS.search(piece.body) or (piece.cta and piece.cta in piece.body))
        checks["link"] = (link is None) or (link in piece.body)
    structure = sum(checks.values()) / len(checks)

    parts = {"presence": presence, "density": density, "placement": placement, "structure": structure}
    score = sum(SEO_WEIGHTS[k] * v for k, v in parts.items())
    return SeoResult(
        round(score, 4),
        round(presence, 4),
        round(density, 4),
        round(placement, 4),
        round(structure, 4),
        {
            "primary_keyword": primary,
            "occurrences": occurrences,
            "density_pct": round(density_pct, 2),
            "keywords_present": [k for k, v in hits.items() if v],
            "structure_checks": checks,
        },
    )


def readability_score(piece: PieceText, spec: PieceSpec) -> tuple[float, Readability]:
    measured = measure(piece.body)
    return round(measured.score(spec.readability_target), 4), measured


@dataclass(frozen=True)
class QualityResult:
    score: float
    parts: dict[str, float]


SUBSTANCE_SHARE = 0.6  # of the quality score: what the piece says weighs more than how it is laid out
UNTRUE_FACTOR = 0.3  # quality left to a piece with an unsupported claim or a claims-lexicon breach


def quality_score(
    piece: PieceText,
    spec: PieceSpec,
    avoid_words: list[str] | None = None,
    cta: str | None = None,
    qa_context: Any = None,
) -> QualityResult:
    """Craft heuristics (length on target, fits the platform, a call to action, a hook, no repetition, no
    words the brand avoids, varied sentences) and substance: the share of sentences specific to the brief
    (``qa.substance``; with a ``qa_context``, its facts and brief, otherwise the keywords alone are not
    enough and only stock phrases count against). With a ``qa_context`` a piece that makes an unsupported
    claim or breaks a claims-lexicon rule keeps only ``UNTRUE_FACTOR`` of its quality, so a template draft
    wins over a model's draft only when the model's draft fails those checks."""
    body_words = words(piece.body)
    n = len(body_words)
    low, high = spec.min_words, spec.max_words
    parts: dict[str, float] = {}
    parts["length"] = round(_band(n, low, high, low * 0.4, high * 1.8), 4)
    limit = spec.char_limit
    parts["fits_platform"] = 1.0 if limit is None or len(piece.rendered or piece.body) <= limit else 0.0
    parts["call_to_action"] = (
        1.0 if (CTA_WORDS.search(piece.body) or (cta and cta.lower() in piece.body.lower())) else 0.0
    )
    sents = sentences(piece.body)
    first = sents[0] if sents else ""
    parts["hook"] = (
        1.0 if (first.endswith("?") or re.search(r"\d", first) or len(first.split()) <= 12) else 0.5
    )
    tokens = normalise(piece.body)
    doubled = sum(1 for a, b in itertools.pairwise(tokens) if a == b and len(a) > 2)
    dup_sentences = len(sents) - len({s.lower() for s in sents})
    parts["no_repetition"] = max(0.0, 1.0 - 0.25 * doubled - 0.2 * dup_sentences)
    avoid_hits = [w for w in (avoid_words or []) if contains_phrase(piece.full_text, w)]
    parts["brand_words"] = max(0.0, 1.0 - 0.25 * len(avoid_hits))
    lengths = [len(s.split()) for s in sents]
    variety = statistics.pstdev(lengths) if len(lengths) > 2 else 4.0
    parts["sentence_variety"] = 1.0 if variety >= 3 else 0.6
    craft = sum(parts.values()) / len(parts)
    substance, truthful = _substance_and_truth(piece, spec, cta, qa_context)
    parts["substance"] = round(substance, 4)
    parts["truthful"] = 1.0 if truthful else 0.0
    score = (1 - SUBSTANCE_SHARE) * craft + SUBSTANCE_SHARE * substance
    if not truthful:
        score *= UNTRUE_FACTOR
    return QualityResult(round(score, 4), parts)


def _substance_and_truth(
    piece: PieceText, spec: PieceSpec, cta: str | None, qa_context: Any
) -> tuple[float, bool]:
    # imported here: the QA package imports this module (COPY_RUN)
    from splants_dagster.qa import substance as substance_check

    if qa_context is None:
        stock = sum(1 for p in substance_check.stock_patterns() for _ in p.finditer(piece.body))
        n = max(1, len(sentences(piece.body)))
        return max(0.0, 1.0 - stock / n), True
    from splants_dagster.qa import factual, legal
    from splants_dagster.qa.model import QAText

    text = QAText(
        "candidate",
        spec,
        piece.title,
        piece.body,
        tuple(piece.hashtags),
        piece.seo_title,
        piece.meta_description,
        piece.subject,
        piece.preheader,
        piece.cta,
    )
    result = substance_check.check(text, qa_context)
    truthful = not factual.check(text, qa_context).errors and not legal.lexicon_findings(text, qa_context)
    return result.score, truthful


@dataclass(frozen=True)
class UniquenessResult:
    score: float
    max_overlap: float
    most_similar: str | None
    copied_words: int
    copied_from: str | None


def uniqueness_score(
    text: str, others: Mapping[str, str], sources: Mapping[str, str], shingle_size: int = 5
) -> UniquenessResult:
    """1 − the largest share of this text's 5-word shingles found in another piece or a source.

    A run of ``COPY_RUN`` (12) or more consecutive words copied from a source scores 0.
    """
    tokens = normalise(text)
    mine = shingles(tokens, shingle_size)
    best, best_ref = 0.0, None
    for ref, other in {**others, **sources}.items():
        theirs = shingles(normalise(other), shingle_size)
        if mine and theirs:
            overlap = len(mine & theirs) / len(mine)
            if overlap > best:
                best, best_ref = overlap, ref
    copied, copied_from = 0, None
    for ref, src in sources.items():
        run, _ = longest_shared_run(tokens, normalise(src), COPY_RUN)
        if run > copied:
            copied, copied_from = run, ref
    score = 0.0 if copied >= COPY_RUN else max(0.0, 1.0 - best)
    return UniquenessResult(round(score, 4), round(best, 4), best_ref, copied, copied_from)


def hashtag_count(text: str) -> int:
    return len(hashtags(text))


@dataclass(frozen=True)
class PieceScores:
    """The four scores of a piece (quality, SEO, readability, uniqueness) with their details."""

    quality: QualityResult
    seo: SeoResult
    readability: float
    measured: Readability
    uniqueness: UniquenessResult

    def components(self, predicted: float | None = None) -> dict[str, float | None]:
        """The scores by component, as :func:`weighted_total` takes them."""
        return {
            "quality": self.quality.score,
            "seo": self.seo.score,
            "readability": self.readability,
            "uniqueness": self.uniqueness.score,
            "predicted_performance": predicted,
        }


def score_piece(
    piece: PieceText,
    spec: PieceSpec,
    *,
    keywords: list[str],
    link: str | None,
    avoid_words: list[str] | None,
    call_to_action: str | None,
    others: Mapping[str, str],
    sources: Mapping[str, str],
    qa_context: Any = None,
) -> PieceScores:
    """Every score a candidate piece gets: what generation ranks candidates by and QA compares variants on.
    ``qa_context`` (``qa.campaign.qa_context_for``) lets quality judge substance and truth by the brief."""
    readability, measured = readability_score(piece, spec)
    return PieceScores(
        quality=quality_score(piece, spec, avoid_words, call_to_action, qa_context),
        seo=seo_score(piece, keywords, spec, link),
        readability=readability,
        measured=measured,
        uniqueness=uniqueness_score(piece.body, others, sources),
    )
