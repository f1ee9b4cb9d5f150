"""The content suite: a pillar blog post plus one piece per compatible (platform × content type).

For each piece several candidates are produced (``standard`` from the configured LLM, ``template`` from
the deterministic template writer, and in premium mode a second ``standard`` draft by the other provider
plus the ``premium`` merge of both) and the best by weighted score is kept. Every piece is fitted to its
platform's rules (hashtag count and placement, character limits) before scoring, and the adjustments are
recorded.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from splants_dagster.campaigns.briefs import BrandProfile, CampaignBrief
from splants_dagster.content.prompts import piece_request
from splants_dagster.content.scoring import PieceText, score_columns, score_piece, weighted_total
from splants_dagster.content.writer import compose, pillar_points
from splants_dagster.insights.guidance import applied_record, for_platform
from splants_dagster.llm.base import LLMError, LLMRequest, LLMResponse
from splants_dagster.llm.premium import premium_complete
from splants_dagster.platforms import (
    EMAIL_SUBJECT_MAX,
    META_DESCRIPTION_RANGE,
    SEO_TITLE_MAX,
    PieceSpec,
    plan_suite,
)
from splants_dagster.research.analysis import Research, parse_json_object
from splants_dagster.text import (
    URL,
    contains_phrase,
    plain_text,
    sentences,
    strip_hashtags,
    truncate_words,
    word_count,
)
from splants_dagster.text import hashtags as find_hashtags


@dataclass
class Draft:
    title: str
    body: str
    hashtags: list[str] = field(default_factory=list)
    cta: str | None = None
    seo_title: str | None = None
    meta_description: str | None = None
    subject: str | None = None
    preheader: str | None = None


class DraftError(LLMError):
    """A model reply that cannot become a piece (empty, truncated, refused, malformed)."""


REFUSAL = re.compile(r"^\s*(i'm sorry|i am sorry|i can(?:'|no)t help|i cannot|as an ai)\b", re.I)


def parse_draft(text: str, finish_reason: str = "stop") -> Draft:
    """A draft from a model's JSON reply; raises DraftError (retryable) for anything unusable."""
    if finish_reason in ("length", "max_tokens"):
        raise DraftError("model output was cut off by the token limit (finish_reason=length)", retryable=True)
    if not text or not text.strip():
        raise DraftError("model returned empty text", retryable=True)
    if REFUSAL.match(text):
        raise DraftError(f"model refused: {text.strip()[:120]!r}", retryable=True)
    try:
        data = parse_json_object(text)
    except LLMError as exc:
        raise DraftError(str(exc), retryable=True) from None
    body = data.get("body")
    if not isinstance(body, str) or not body.strip():
        raise DraftError("model reply has no 'body' text", retryable=True)
    if REFUSAL.match(body):
        raise DraftError(f"model refused: {body.strip()[:120]!r}", retryable=True)
    tags = data.get("hashtags") or []
    if not isinstance(tags, list):
        tags = [str(tags)]

    def opt(key: str) -> str | None:
        value = data.get(key)
        return value.strip() if isinstance(value, str) and value.strip() else None

    title = opt("title") or truncate_words(plain_text(body).strip().splitlines()[0], 90)
    return Draft(
        title=title,
        body=body.strip(),
        hashtags=[t if str(t).startswith("#") else f"#{t}" for t in (str(x).strip() for x in tags) if t],
        cta=opt("cta"),
        seo_title=opt("seo_title"),
        meta_description=opt("meta_description"),
        subject=opt("subject"),
        preheader=opt("preheader"),
    )


def render(draft: Draft, spec: PieceSpec) -> str:
    """The text as it would be published on the platform (hashtags placed by the platform's rule)."""
    rule = spec.hashtags
    if rule.placement == "none" or not draft.hashtags:
        return draft.body
    missing = [t for t in draft.hashtags if t.lower() not in draft.body.lower()]
    if not missing:
        return draft.body
    sep = " " if rule.placement == "inline" else "\n\n"
    return f"{draft.body}{sep}{' '.join(missing)}"


def fit_to_platform(draft: Draft, spec: PieceSpec) -> tuple[Draft, list[str]]:
    """Apply the platform's hard rules; returns the fitted draft and what was changed."""
    notes: list[str] = []
    rule = spec.hashtags
    tags = list(dict.fromkeys(draft.hashtags + find_hashtags(draft.body)))
    body = draft.body
    if rule.placement in ("none", "end") and find_hashtags(body):
        body = strip_hashtags(body)
        notes.append(f"moved hashtags out of the body ({rule.placement} placement)")
    if len(tags) > rule.max_count:
        notes.append(f"hashtags cut from {len(tags)} to {rule.max_count}")
        dropped = tags[rule.max_count :]
        tags = tags[: rule.max_count]
        for tag in dropped:
            body = re.sub(rf"\s*{re.escape(tag)}\b", "", body)
    fitted = replace(draft, body=body, hashtags=tags)
    if draft.seo_title and len(draft.seo_title) > SEO_TITLE_MAX:
        fitted.seo_title = truncate_words(draft.seo_title, SEO_TITLE_MAX).rstrip("…")
        notes.append("seo_title shortened to 60 characters")
    if draft.meta_description and len(draft.meta_description) > META_DESCRIPTION_RANGE[1]:
        fitted.meta_description = truncate_words(draft.meta_description, META_DESCRIPTION_RANGE[1])
        notes.append("meta description shortened to 160 characters")
    if draft.subject and len(draft.subject) > EMAIL_SUBJECT_MAX:
        fitted.subject = truncate_words(draft.subject, EMAIL_SUBJECT_MAX)
        notes.append("email subject shortened to 60 characters")
    limit = spec.char_limit
    if limit is not None:
        while len(render(fitted, spec)) > limit and fitted.hashtags:
            fitted.hashtags = fitted.hashtags[:-1]
            notes.append("dropped a hashtag to fit the character limit")
        over = len(render(fitted, spec)) - limit
        if over > 0:
            fitted.body = _shorten(fitted.body, len(fitted.body) - over)
            notes.append(f"body shortened by {over} characters to fit {limit}")
    return fitted, notes


def _shorten(body: str, max_chars: int) -> str:
    """Drop whole sentences from the middle (keeping the hook and the call to action), then cut."""
    sents = sentences(body)
    while len(" ".join(sents)) > max_chars and len(sents) > 2:
        sents.pop(-2)
    text = " ".join(sents)
    return truncate_words(text, max_chars)


@dataclass
class Candidate:
    strategy: str  # standard | template | premium
    draft: Draft
    provider: str
    model: str
    adjustments: list[str]
    rendered: str
    scores: dict[str, float | None] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    total: float = 0.0
    components: list[str] = field(default_factory=list)


@dataclass
class Piece:
    spec: PieceSpec
    chosen: Candidate
    candidates: list[Candidate]
    created_at: dt.datetime
    variant_of: str | None = None
    variant_dimension: str | None = None
    # the supported insights this piece's prompt (and the offline writer) were given (docs/insights.md)
    insights_applied: list[dict[str, Any]] = field(default_factory=list)

    @property
    def piece_id(self) -> str:
        return self.spec.piece_id

    @property
    def draft(self) -> Draft:
        return self.chosen.draft

    def summary(self) -> dict[str, Any]:
        """The compact view derived pieces get of the pillar: its title, opening, and the statements they
        may draw on (the offline writer composes derived pieces from them)."""
        return {
            "title": self.draft.title,
            "summary": " ".join(sentences(self.draft.body)[:2])[:400],
            "points": pillar_points(self.draft.body),
        }

    def row(self, campaign_id: str, strategy: str | None = None) -> dict[str, Any]:
        d, c = self.draft, self.chosen
        return {
            "piece_id": self.piece_id,
            "campaign_id": campaign_id,
            "platform": self.spec.platform,
            "content_type": self.spec.content_type,
            "is_pillar": self.spec.is_pillar,
            "title": d.title,
            "body": d.body,
            "rendered": c.rendered,
            "seo_title": d.seo_title,
            "meta_description": d.meta_description,
            "subject": d.subject,
            "preheader": d.preheader,
            "cta": d.cta,
            "hashtags": d.hashtags,
            "word_count": word_count(d.body),
            "char_count": len(c.rendered),
            **score_columns(c.scores, c.total, c.components),
            "flesch_reading_ease": c.details.get("flesch_reading_ease"),
            "candidate_strategy": c.strategy,
            "provider": c.provider,
            "model": c.model,
            "generation_strategy": strategy,
            "adjustments": c.adjustments,
            "variant_of": self.variant_of,
            "variant_dimension": self.variant_dimension,
            "created_at": self.created_at,
            "insights_applied": json.dumps(self.insights_applied) if self.insights_applied else None,
        }

    def candidate_rows(self, campaign_id: str) -> list[dict[str, Any]]:
        """One ``content_candidates`` row per candidate, the chosen one flagged."""
        return [
            {
                "piece_id": self.piece_id,
                "campaign_id": campaign_id,
                "strategy": c.strategy,
                "provider": c.provider,
                "model": c.model,
                "chosen": c is self.chosen,
                **score_columns(c.scores, c.total, c.components),
                "title": c.draft.title,
                "body": c.draft.body,
                "details": json.dumps(c.details),
                "created_at": self.created_at,
            }
            for c in self.candidates
        ]


def limit_problems(pieces: list[Piece]) -> list[dict]:
    """Pieces over their platform's character limit or hashtag count."""
    problems = []
    for p in pieces:
        limit = p.spec.char_limit
        if limit is not None and len(p.chosen.rendered) > limit:
            problems.append({"piece": p.piece_id, "problem": f"{len(p.chosen.rendered)} chars > {limit}"})
        if len(p.draft.hashtags) > p.spec.hashtags.max_count:
            problems.append(
                {
                    "piece": p.piece_id,
                    "problem": f"{len(p.draft.hashtags)} hashtags > {p.spec.hashtags.max_count}",
                }
            )
    return problems


def keyword_problems(pieces: list[Piece], keywords: list[str]) -> list[dict]:
    """Pieces that mention no campaign keyword (the pillar: not the primary one)."""
    problems = []
    for p in pieces:
        text = f"{p.draft.title}\n{p.chosen.rendered}"
        if p.spec.is_pillar and keywords and not contains_phrase(text, keywords[0]):
            problems.append({"piece": p.piece_id, "problem": f"primary keyword {keywords[0]!r} missing"})
        elif not any(contains_phrase(text, k) for k in keywords[:8]):
            problems.append({"piece": p.piece_id, "problem": "no campaign keyword in the text"})
    return problems


Predictor = Callable[[PieceSpec, Draft], float | None]


@dataclass
class SuiteContext:
    brief: CampaignBrief
    brand: BrandProfile
    research: Research
    source_texts: dict[str, str]
    predictor: Predictor | None = None
    max_words_cap: int | None = None
    use_llm: bool = True
    # supported insights this campaign may use (``insights.guidance.usable``), every platform's
    insights: list[dict[str, Any]] = field(default_factory=list)

    def allowed_links(self) -> set[str]:
        return allowed_links(self.brief.link, self.brand)

    @property
    def keywords(self) -> list[str]:
        ranked = [k.keyword for k in self.research.keywords]
        return list(dict.fromkeys([*(k.lower() for k in self.brief.keywords), *ranked]))


def _qa_context(ctx: SuiteContext):
    from splants_dagster.qa.campaign import suite_qa_context  # QA imports this module

    return suite_qa_context(ctx)


def score_candidate(cand: Candidate, spec: PieceSpec, ctx: SuiteContext, others: dict[str, str]) -> Candidate:
    d = cand.draft
    text = PieceText(
        title=d.title,
        body=d.body,
        hashtags=d.hashtags,
        seo_title=d.seo_title,
        meta_description=d.meta_description,
        subject=d.subject,
        preheader=d.preheader,
        cta=d.cta,
        rendered=cand.rendered,
    )
    scored = score_piece(
        text,
        spec,
        keywords=ctx.keywords,
        link=ctx.brief.link,
        avoid_words=ctx.brand.avoid_words,
        call_to_action=ctx.brief.call_to_action,
        others=others,
        sources=ctx.source_texts,
        qa_context=_qa_context(ctx),
    )
    seo, quality, unique = scored.seo, scored.quality, scored.uniqueness
    cand.scores = scored.components(ctx.predictor(spec, d) if ctx.predictor else None)
    cand.total, cand.components = weighted_total(cand.scores)
    cand.details = {
        "flesch_reading_ease": round(scored.measured.flesch_reading_ease, 1),
        "flesch_kincaid_grade": round(scored.measured.flesch_kincaid_grade, 1),
        "seo": {
            "presence": seo.presence,
            "density": seo.density,
            "placement": seo.placement,
            "structure": seo.structure,
            **seo.details,
        },
        "quality": quality.parts,
        "uniqueness": {
            "max_overlap": unique.max_overlap,
            "most_similar": unique.most_similar,
            "copied_words": unique.copied_words,
        },
    }
    return cand


def allowed_links(link: str | None, brand: BrandProfile) -> set[str]:
    """The only URLs a piece may carry: the brief's link, the brand website, and URLs the brand's own
    disclosures contain (e.g. the unsubscribe page). Anything else (say, a link a research page tried to
    plant through the model) is removed from every model-written text: drafts, variants and rewrites."""
    links = {link, brand.website}
    for text in brand.required_disclosures.values():
        links.update(URL.findall(text))
    return {u.rstrip(".,;:)") for u in links if u}


def strip_links(text: str, allowed: set[str]) -> tuple[str, list[str]]:
    """``text`` without URLs outside ``allowed`` (a URL under an allowed one counts as allowed)."""
    removed: list[str] = []

    def keep(match: re.Match) -> str:
        url = match.group(0).rstrip(".,;:)")
        if any(url == a or url.startswith(a.rstrip("/") + "/") for a in allowed):
            return match.group(0)
        removed.append(url)
        return match.group(0)[len(url) :]

    cleaned = URL.sub(keep, text)
    if not removed:
        return text, []
    cleaned = re.sub(r"\(\s*\)|:\s*(?=\n|$)", "", cleaned)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip(), removed


def strip_foreign_links(draft: Draft, allowed: set[str]) -> tuple[Draft, list[str]]:
    """The draft without URLs outside ``allowed``, and the URLs removed."""
    removed: list[str] = []
    fields: dict[str, Any] = {}
    for name in ("title", "body", "cta", "meta_description", "subject", "preheader", "seo_title"):
        value = getattr(draft, name)
        if value:
            cleaned, gone = strip_links(value, allowed)
            if gone:
                fields[name] = cleaned
                removed += gone
    return (replace(draft, **fields) if removed else draft), list(dict.fromkeys(removed))


def _candidate(strategy: str, draft: Draft, spec: PieceSpec, provider: str, model: str) -> Candidate:
    fitted, notes = fit_to_platform(draft, spec)
    return Candidate(strategy, fitted, provider, model, notes, render(fitted, spec))


def template_draft(spec: PieceSpec, payload: dict[str, Any]) -> Draft:
    return parse_draft_dict(compose(payload, style="template"))


def parse_draft_dict(data: dict[str, Any]) -> Draft:
    return Draft(
        title=data.get("title") or "",
        body=data["body"],
        hashtags=list(data.get("hashtags") or []),
        cta=data.get("cta"),
        seo_title=data.get("seo_title"),
        meta_description=data.get("meta_description"),
        subject=data.get("subject"),
        preheader=data.get("preheader"),
    )


def check_draft(reply: LLMResponse) -> None:
    """Rejects a reply that cannot become a piece, so the LLM client retries it and never caches it."""
    parse_draft(reply.text, reply.finish_reason)


async def _llm_candidates(spec: PieceSpec, request: LLMRequest, llm) -> list[Candidate]:
    """``standard``: one draft by the configured model. In premium mode (OpenAI and Anthropic configured,
    strategy quality) both draft in parallel (two ``standard`` candidates) and a merge call adds the
    ``premium`` candidate; if one draft fails the other stands alone, if the merge fails the drafts compete
    as usual. Raises LLMError when no draft could be made."""
    if getattr(llm, "premium_available", False):
        outcome = await premium_complete(llm, request, validate=check_draft)
        replies = [("standard", r) for r in outcome.drafts]
        if outcome.merged is not None:
            replies.append(("premium", outcome.merged))
    else:
        replies = [("standard", await llm.complete(request, validate=check_draft))]
    return [
        _candidate(strategy, parse_draft(r.text, r.finish_reason), spec, r.provider, r.model)
        for strategy, r in replies
    ]


async def _generate_piece(
    spec: PieceSpec, ctx: SuiteContext, llm, pillar: Piece | None, others: dict[str, str]
) -> Piece:
    request = piece_request(
        spec,
        ctx.brief,
        ctx.brand,
        ctx.research.summary_for_prompts(),
        pillar.summary() if pillar else None,
        max_words_cap=ctx.max_words_cap,
        insights=(insights := for_platform(ctx.insights, spec.platform)),
    )
    candidates: list[Candidate] = []
    if ctx.use_llm:
        candidates += await _llm_candidates(spec, request, llm)
    candidates.append(
        _candidate("template", template_draft(spec, dict(request.payload)), spec, "template", "template")
    )
    allowed = ctx.allowed_links()
    for cand in candidates:
        cand.draft, removed = strip_foreign_links(cand.draft, allowed)
        if removed:
            cand.adjustments.append(
                "removed link(s) not in the brief or brand profile: " + ", ".join(removed)
            )
            cand.rendered = render(cand.draft, spec)
        score_candidate(cand, spec, ctx, others)
    chosen = max(candidates, key=lambda c: c.total)
    return Piece(spec, chosen, candidates, dt.datetime.now(dt.UTC), insights_applied=applied_record(insights))


@dataclass
class SuiteResult:
    pieces: list[Piece]
    failures: dict[str, str]


async def generate_suite(ctx: SuiteContext, llm) -> SuiteResult:
    """The pillar first (derived pieces summarise it), then every derived piece concurrently."""
    specs = plan_suite(ctx.brief.id, ctx.brief.platforms, ctx.brief.content_types, ctx.brief.word_targets())
    pillar_spec, derived = specs[0], specs[1:]
    pillar = await _generate_piece(pillar_spec, ctx, llm, None, {})
    others = {pillar.piece_id: pillar.draft.body}
    results = await asyncio.gather(
        *(_generate_piece(s, ctx, llm, pillar, others) for s in derived), return_exceptions=True
    )
    pieces, failures = [pillar], {}
    for spec, result in zip(derived, results, strict=True):
        if isinstance(result, BaseException):
            if not isinstance(result, LLMError):
                raise result
            failures[spec.piece_id] = str(result)
        else:
            pieces.append(result)
    # uniqueness of each piece against all the others (the pillar included) now that all exist
    bodies = {p.piece_id: p.draft.body for p in pieces}
    for piece in pieces:
        rest = {k: v for k, v in bodies.items() if k != piece.piece_id}
        for cand in piece.candidates:
            score_candidate(cand, piece.spec, ctx, rest)
        piece.chosen = max(piece.candidates, key=lambda c: c.total)
    return SuiteResult(pieces, failures)
