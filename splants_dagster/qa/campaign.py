"""QA of a whole campaign: every original piece, the A/B variants of the approved ones, the human review
decisions, and the rows ``qa_report`` writes. Pure: the caller loads the inputs and writes the rows.

Re-runs are idempotent. Auto-fixed text is written back to ``content_pieces``; ``qa_originals`` keeps
the text QA started from, and when ``content_pieces`` still holds QA's own output the next run starts
again from that original (so the same fixes and decisions are recorded, not "approved at first sight").
Variants are reused while their source (the original's final text and the variant plan) is unchanged,
so a re-run after a review does not pay for, or change, variants already being tested.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from splants_dagster.campaigns.briefs import BrandProfile, CampaignBrief
from splants_dagster.content.scoring import score_columns, score_piece, weighted_total
from splants_dagster.content.suite import DraftError, allowed_links, parse_draft, parse_draft_dict
from splants_dagster.content.variants import VariantPlan, apply_variant, plan_variants, variant_request
from splants_dagster.llm.base import LLMError
from splants_dagster.qa import factual, legal
from splants_dagster.qa.engine import PUBLISHABLE, WEIGHTS, Assistant, QAOutcome, review
from splants_dagster.qa.flesch import measure
from splants_dagster.qa.model import CHECK_NAMES, QAContext, QAText, spec_for
from splants_dagster.qa.reviews import Applied, ReviewEntry, apply_decision
from splants_dagster.qa.seo import piece_text
from splants_dagster.research.analysis import Research
from splants_dagster.text import sentences, word_count

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass
class CampaignInputs:
    campaign_id: str
    brief: CampaignBrief
    brand: BrandProfile
    research: Research | None
    sources: dict[str, str]
    pieces: list[dict[str, Any]]  # content_pieces rows of the originals (variant_of IS NULL)
    stored_originals: dict[str, dict[str, Any]] = field(default_factory=dict)  # qa_originals rows
    stored_variants: dict[str, dict[str, Any]] = field(default_factory=dict)  # variants rows
    earlier: dict[str, str] = field(default_factory=dict)  # other campaigns' pieces: id -> body
    reviews: dict[str, ReviewEntry] = field(default_factory=dict)
    previous_reviews: dict[str, dict[str, Any]] = field(default_factory=dict)  # qa_reviews rows
    review_file: str | None = None
    source_roles: dict[str, str] = field(default_factory=dict)  # research source ref -> role
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass
class PieceQA:
    base: QAText  # the text QA started from
    outcome: QAOutcome
    status: str
    decided_by: str
    note: str
    row: dict[str, Any]  # the content_pieces row as it must be after QA
    changed: bool  # whether content_pieces must be updated (originals) / is new (variants)
    review: Applied | None = None
    plan: VariantPlan | None = None
    source_hash: str | None = None
    draft_json: str | None = None
    provider: str | None = None
    model: str | None = None
    created_at: dt.datetime | None = None

    @property
    def piece_id(self) -> str:
        return self.base.piece_id

    @property
    def is_variant(self) -> bool:
        return self.base.variant_of is not None


@dataclass
class CampaignQA:
    campaign_id: str
    pieces: dict[str, PieceQA]
    now: dt.datetime
    notes: list[str] = field(default_factory=list)  # variants that could not be generated
    review_notes: list[str] = field(default_factory=list)  # review entries that did not take effect
    review_rows: list[dict[str, Any]] = field(default_factory=list)
    base_adjustments: dict[str, list[str]] = field(default_factory=dict)

    def results_rows(self) -> list[dict[str, Any]]:
        rows = []
        for p in self.pieces.values():
            last = p.outcome.rounds[-1].number
            for r in p.outcome.rounds:
                for name, c in r.evaluation.checks.items():
                    rows.append(
                        {
                            "piece_id": p.piece_id,
                            "campaign_id": self.campaign_id,
                            "check": name,
                            "score": c.score,
                            "passed": c.passed,
                            "findings_count": len(c.findings),
                            "round": r.number,
                            "checked_at": self.now,
                            "is_final": r.number == last,
                            "errors_count": len(c.errors),
                        }
                    )
        return rows

    def findings_rows(self) -> list[dict[str, Any]]:
        rows = []
        for p in self.pieces.values():
            last = p.outcome.rounds[-1].number
            for r in p.outcome.rounds:
                for name, c in r.evaluation.checks.items():
                    for f in c.findings:
                        rows.append(
                            {
                                "piece_id": p.piece_id,
                                "campaign_id": self.campaign_id,
                                "check": name,
                                "excerpt": f.excerpt,
                                "message": f.message,
                                "suggestion": f.suggestion,
                                "severity": f.severity,
                                "round": r.number,
                                "code": f.code,
                                "field": f.field,
                                "span_start": f.start,
                                "span_end": f.end,
                                "is_final": r.number == last,
                            }
                        )
        return rows

    def claims_rows(self) -> list[dict[str, Any]]:
        """Every claim of every round, supported or not, for ``qa_claims`` / ``analytics.claims``: the
        factual check's claims, and the legal lexicon's prohibited claims (health, urgency, green claims
        ...; ``kind`` = the rule's category, ``status`` prohibited, ``support_ref`` legal/<rule id>)."""
        rows = []
        for p in self.pieces.values():
            last = p.outcome.rounds[-1].number
            for r in p.outcome.rounds:
                found = []
                if (result := r.evaluation.checks.get("factual")) is not None:
                    found += factual.claims_rows(result)
                if (result := r.evaluation.checks.get("legal")) is not None:
                    found += legal.claims_rows(result)
                for row in found:
                    rows.append(
                        {
                            "piece_id": p.piece_id,
                            "campaign_id": self.campaign_id,
                            **row,
                            "round": r.number,
                            "is_final": r.number == last,
                        }
                    )
        return rows

    def status_rows(self, previous: Mapping[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        previous = previous or {}
        rows = []
        for p in self.pieces.values():
            o = p.outcome
            decided_at = self.now
            before = previous.get(p.piece_id)
            if before and before.get("decided_by") == p.decided_by and before.get("status") == p.status:
                decided_at = before.get("decided_at") or self.now  # the decision stands since then
            rows.append(
                {
                    "piece_id": p.piece_id,
                    "campaign_id": self.campaign_id,
                    "qa_score": o.score,
                    "status": p.status,
                    "rounds": o.fix_rounds,
                    "fixes": o.fixes,
                    "decided_by": p.decided_by,
                    "decided_at": decided_at,
                    "note": p.note,
                    "automated_status": o.status,
                    "initial_score": o.rounds[0].evaluation.score,
                    "failing_checks": o.evaluation.failing,
                    "variant_of": p.base.variant_of,
                    "text_hash": o.final.digest(),
                    "checked_at": self.now,
                }
            )
        return rows

    def variant_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "piece_id": p.piece_id,
                "campaign_id": self.campaign_id,
                "variant_of": p.base.variant_of,
                "dimension": p.plan.dimension,
                "created_at": p.created_at or self.now,
                "variant_index": p.plan.index,
                "hint": p.plan.hint,
                "source_hash": p.source_hash,
                "draft_json": p.draft_json,
                "provider": p.provider,
                "model": p.model,
            }
            for p in self.pieces.values()
            if p.is_variant and p.plan is not None
        ]

    def original_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "piece_id": p.piece_id,
                "campaign_id": self.campaign_id,
                "original_json": p.base.to_json(),
                "adjustments": list(self.base_adjustments.get(p.piece_id, [])),
                "original_hash": p.base.digest(),
                "final_hash": p.outcome.final.digest(),
                "updated_at": self.now,
            }
            for p in self.pieces.values()
            if not p.is_variant
        ]

    def status_counts(self) -> dict[str, int]:
        counts = {s: 0 for s in ("approved", "auto_fixed", "flagged", "rejected")}
        for p in self.pieces.values():
            counts[p.status] = counts.get(p.status, 0) + 1
        return counts

    def pass_rates(self) -> dict[str, float]:
        """The share of pieces (variants included) passing each check."""
        pieces = list(self.pieces.values())
        return {
            name: sum(1 for p in pieces if p.outcome.evaluation.checks[name].passed) / max(1, len(pieces))
            for name in CHECK_NAMES
        }

    def summary_rows(self) -> list[dict[str, Any]]:
        """One row per piece: status, QA score, fix rounds, who decided, failing checks."""
        return [
            {
                "piece": p.piece_id,
                "status": p.status,
                "qa_score": p.outcome.score,
                "rounds": p.outcome.fix_rounds,
                "by": p.decided_by,
                "failing": ", ".join(p.outcome.evaluation.failing),
            }
            for p in self.pieces.values()
        ]

    def worst_findings(self, limit: int = 15) -> list[dict[str, Any]]:
        """The most serious findings (errors first, then by check weight and score), info ones left out."""
        rows: list[dict[str, Any]] = []
        for p in self.pieces.values():
            for name, c in p.outcome.evaluation.checks.items():
                for f in c.findings:
                    if f.severity == "info":
                        continue
                    rows.append(
                        {
                            "piece": p.piece_id,
                            "status": p.status,
                            "check": name,
                            "severity": f.severity,
                            "excerpt": f.excerpt[:80],
                            "message": f.message,
                            "suggestion": f.suggestion,
                            "_key": (SEVERITY_ORDER[f.severity], -WEIGHTS[name], c.score),
                        }
                    )
        rows.sort(key=lambda r: r["_key"])
        return rows[:limit]


def brief_statements(brief: CampaignBrief) -> dict[str, str]:
    """The brief's own fields as approved statements (``brief:topic`` ...): a piece may say what the
    brief says (its topic, goal, audience, call to action, link and keywords)."""
    fields = {
        "topic": brief.topic,
        "goal": brief.goal,
        "audience": brief.audience,
        "call_to_action": brief.call_to_action or "",
        "link": brief.link or "",
        "keywords": "\n".join(brief.keywords),
    }
    return {k: v for k, v in fields.items() if v}


def approved_facts(brief: CampaignBrief, brand: BrandProfile) -> dict[str, str]:
    """Fact id -> statement: ``brief:1`` ... for the brief's facts, ``brand:1`` ... for the brand's."""
    facts = {f"brief:{i}": f for i, f in enumerate(getattr(brief, "facts", None) or [], start=1)}
    facts.update({f"brand:{i}": f for i, f in enumerate(getattr(brand, "facts", None) or [], start=1)})
    return facts


def _testimonials(*owners: Any) -> list[dict[str, Any]]:
    out = []
    for owner in owners:
        for t in getattr(owner, "testimonials", None) or []:
            data = t.model_dump() if hasattr(t, "model_dump") else dict(t)
            if data.get("consent"):
                out.append(data)
    return out


def source_roles(brief: CampaignBrief) -> dict[str, str]:
    """Source ref -> role (own | competitor | reference) as the brief declares them."""
    entries = brief.source_entries() if hasattr(brief, "source_entries") else []
    return {e.ref: e.role for e in entries}


def qa_context_for(
    brief: CampaignBrief,
    brand: BrandProfile,
    sources: Mapping[str, str] | None = None,
    *,
    roles: Mapping[str, str] | None = None,
    research: Research | None = None,
    earlier: Mapping[str, str] | None = None,
) -> QAContext:
    """The one way a campaign's QA context is built (``qa_report``, ``splants qa --brief``, tests).

    ``sources``: ref -> text of the research sources; ``roles``: ref -> role, from the research rows
    (a ref the rows do not name takes the brief's role for it, else ``reference``). Claims are supported
    by what people approved (the brief, its facts, the brand, consented testimonials, own pages), never by
    model output such as the research's audience insights."""
    ranked = [k.keyword for k in research.keywords] if research else []
    declared = source_roles(brief)
    all_roles = {ref: (roles or {}).get(ref) or declared.get(ref) or "reference" for ref in (sources or {})}
    return QAContext(
        brand,
        keywords=[*brief.keywords, *ranked] if brief.keywords else ranked,
        support_texts=brief_statements(brief),
        sources=dict(sources or {}),
        earlier=dict(earlier or {}),
        paid=brief.paid,
        link=brief.link,
        tone=brief.tone,
        call_to_action=brief.call_to_action,
        dates=(brief.start_date, brief.end_date),
        facts=approved_facts(brief, brand),
        testimonials=_testimonials(brief, brand),
        source_roles=all_roles,
    )


def suite_qa_context(suite: Any) -> QAContext:
    """The QA context of a content suite's campaign (``content.SuiteContext``), built once per suite so
    candidate scoring judges substance and truth against the same facts as QA."""
    cached = suite.__dict__.get("_qa_context")
    if cached is None:
        cached = qa_context_for(suite.brief, suite.brand, suite.source_texts, research=suite.research)
        suite.__dict__["_qa_context"] = cached
    return cached


def build_context(inputs: CampaignInputs) -> QAContext:
    return qa_context_for(
        inputs.brief,
        inputs.brand,
        inputs.sources,
        roles=inputs.source_roles,
        research=inputs.research,
        earlier=inputs.earlier,
    )


def _row_after(row: dict[str, Any], text: QAText, adjustments: list[str]) -> dict[str, Any]:
    out = dict(row)
    out.update(
        {
            "piece_id": text.piece_id,
            "title": text.title,
            "body": text.body,
            "rendered": text.rendered,
            "seo_title": text.seo_title,
            "meta_description": text.meta_description,
            "subject": text.subject,
            "preheader": text.preheader,
            "cta": text.cta,
            "hashtags": list(text.hashtags),
            "word_count": word_count(text.body),
            "char_count": len(text.rendered),
            "flesch_reading_ease": round(measure(text.body).flesch_reading_ease, 1),
            "adjustments": adjustments,
            "variant_of": text.variant_of,
            "variant_dimension": text.variant_dimension,
        }
    )
    return out


def generation_scores(text: QAText, ctx: QAContext, others: dict[str, str]) -> dict[str, Any]:
    """The content suite's candidate scores for a variant, so variants compare with their original."""
    scores = score_piece(
        piece_text(text),
        text.spec,
        keywords=ctx.keywords,
        link=ctx.link,
        avoid_words=ctx.brand.avoid_words,
        call_to_action=ctx.call_to_action,
        others=others,
        sources=ctx.sources,
        qa_context=ctx,
    ).components()
    total, used = weighted_total(scores)
    return score_columns(scores, total, used)


def _apply_review(
    inputs: CampaignInputs, piece: PieceQA, notes: list[str], review_rows: list[dict[str, Any]]
) -> None:
    entry = inputs.reviews.get(piece.piece_id)
    if entry is None:
        return
    text_hash = piece.base.digest()
    previous = inputs.previous_reviews.get(piece.piece_id)
    legal_ok = piece.outcome.evaluation.checks["legal"].passed
    applied = apply_decision(entry, piece.outcome.status, legal_ok, text_hash, previous)
    piece.review = applied
    piece.status, piece.decided_by = applied.status, applied.decided_by
    piece.note = applied.note if applied.record else f"{piece.note}; {applied.note}"
    if not applied.record:
        notes.append(f"{piece.piece_id}: {applied.note}")
    recorded = (
        previous if previous is not None and previous.get("entry_hash") == entry.fingerprint() else None
    )
    review_rows.append(
        {
            "piece_id": piece.piece_id,
            "campaign_id": inputs.campaign_id,
            "decision": entry.decision,
            "reviewer": entry.by,
            "note": entry.note,
            "entry_hash": entry.fingerprint(),
            "text_hash": recorded["text_hash"] if recorded is not None else text_hash,
            "outcome": applied.outcome,
            "review_file": inputs.review_file,
            "first_seen_at": recorded["first_seen_at"] if recorded is not None else inputs.now,
            "applied_at": inputs.now,
        }
    )


def _pillar_summary(text: QAText) -> dict[str, Any]:
    return {"title": text.title, "summary": " ".join(sentences(text.body)[:2])[:400]}


async def run_campaign(
    inputs: CampaignInputs,
    llm,
    assistant: Assistant | None = None,
    concurrency: int = 4,
) -> CampaignQA:
    """QA every original piece, make and QA the variants of the publishable ones, apply the reviews.

    ``llm`` is the LLM client variants are generated with (purpose ``content.variant``).
    """
    ctx = build_context(inputs)
    brief = inputs.brief
    gate = asyncio.Semaphore(max(1, concurrency))
    notes: list[str] = []
    review_notes: list[str] = []
    review_rows: list[dict[str, Any]] = []

    current: dict[str, QAText] = {}
    bases: dict[str, QAText] = {}
    base_adjustments: dict[str, list[str]] = {}
    rows = {r["piece_id"]: r for r in inputs.pieces}
    for pid, row in rows.items():
        spec = spec_for(inputs.campaign_id, row["platform"], row["content_type"], brief.word_targets())
        now_text = QAText.from_row(row, spec)
        current[pid] = now_text
        stored = inputs.stored_originals.get(pid)
        if stored and stored.get("final_hash") == now_text.digest() and stored.get("original_json"):
            bases[pid] = QAText.from_json(stored["original_json"], spec)
            base_adjustments[pid] = list(stored.get("adjustments") or [])
        else:
            bases[pid] = now_text
            base_adjustments[pid] = list(row.get("adjustments") or [])
    ctx = ctx.with_siblings({k: v.body for k, v in bases.items()}, {})

    async def qa(text: QAText, context: QAContext) -> QAOutcome:
        async with gate:
            return await review(text, context, assistant)

    outcomes = await asyncio.gather(*(qa(bases[pid], ctx) for pid in rows))
    pieces: dict[str, PieceQA] = {}
    for pid, outcome in zip(rows, outcomes, strict=True):
        final = outcome.final
        adjustments = base_adjustments[pid] + [f"qa {fix}" for fix in outcome.fixes]
        after = _row_after(rows[pid], final, adjustments)
        changed = (
            final.digest() != current[pid].digest() or list(rows[pid].get("adjustments") or []) != adjustments
        )
        piece = PieceQA(bases[pid], outcome, outcome.status, "qa", outcome.reason, after, changed)
        _apply_review(inputs, piece, review_notes, review_rows)
        pieces[pid] = piece

    # ---- A/B variants of the publishable originals
    research_summary = inputs.research.summary_for_prompts() if inputs.research else {}
    pillar = next((p for p in pieces.values() if p.base.spec.is_pillar), None)
    plans: list[tuple[PieceQA, VariantPlan]] = []
    keyword = ctx.keywords[0] if ctx.keywords else None
    if brief.variants:
        for piece in pieces.values():
            if piece.status in PUBLISHABLE:
                final = piece.outcome.final
                for plan in plan_variants(final, brief.variants, brief.tone, brief.call_to_action, keyword):
                    plans.append((piece, plan))

    async def make(piece: PieceQA, plan: VariantPlan):
        original = piece.outcome.final
        source = plan.source_hash(original)
        stored = inputs.stored_variants.get(plan.piece_id)
        if stored and stored.get("source_hash") == source and stored.get("draft_json"):
            draft = parse_draft_dict(json.loads(stored["draft_json"]))
            return draft, source, stored.get("provider"), stored.get("model"), stored.get("created_at")
        summary = None if original.spec.is_pillar or pillar is None else _pillar_summary(pillar.outcome.final)
        request = variant_request(plan, original, brief, inputs.brand, research_summary, summary)
        async with gate:
            reply = await llm.complete(request)
        draft = parse_draft(reply.text, reply.finish_reason)
        return draft, source, reply.provider, reply.model, None

    made = await asyncio.gather(*(make(p, plan) for p, plan in plans), return_exceptions=True)
    variant_texts: list[tuple[PieceQA, VariantPlan, QAText, tuple]] = []
    for (piece, plan), result in zip(plans, made, strict=True):
        if isinstance(result, BaseException):
            if not isinstance(result, (LLMError, DraftError)):
                raise result
            notes.append(f"{plan.piece_id}: variant not generated: {result}")
            continue
        draft = result[0]
        allowed = allowed_links(brief.link, inputs.brand)
        variant_texts.append((piece, plan, apply_variant(piece.outcome.final, draft, plan, allowed), result))

    everything = {pid: p.outcome.final.body for pid, p in pieces.items()}
    everything.update({v.piece_id: v.body for _, _, v, _ in variant_texts})
    relation = {v.piece_id: v.base_id for _, _, v, _ in variant_texts}
    vctx = ctx.with_siblings(everything, relation)
    voutcomes = await asyncio.gather(*(qa(v, vctx) for _, _, v, _ in variant_texts))
    for (piece, plan, vtext, (draft, source, provider, model, created)), outcome in zip(
        variant_texts, voutcomes, strict=True
    ):
        final = outcome.final
        others = {k: b for k, b in everything.items() if relation.get(k, k) != vtext.base_id}
        row = _row_after(piece.row, final, [f"qa {fix}" for fix in outcome.fixes])
        row.update(generation_scores(final, ctx, others))
        row.update(
            {
                "candidate_strategy": "variant",
                "provider": provider,
                "model": model,
                "generation_strategy": None,
                "created_at": created or inputs.now,
            }
        )
        vpiece = PieceQA(
            vtext,
            outcome,
            outcome.status,
            "qa",
            outcome.reason,
            row,
            True,
            plan=plan,
            source_hash=source,
            draft_json=json.dumps(asdict(draft), ensure_ascii=False, sort_keys=True),
            provider=provider,
            model=model,
            created_at=created or inputs.now,
        )
        _apply_review(inputs, vpiece, review_notes, review_rows)
        pieces[vpiece.piece_id] = vpiece

    unknown = sorted(set(inputs.reviews) - set(pieces))
    for pid in unknown:
        review_notes.append(f"{pid}: no such piece in this campaign; entry ignored ({inputs.review_file})")
    return CampaignQA(
        inputs.campaign_id, pieces, inputs.now, notes, review_notes, review_rows, base_adjustments
    )
