"""Factual accuracy: every checkable claim of a piece must trace to an approved statement.

The claims and their support are defined in :mod:`splants_dagster.qa.claims` (numbers with units,
money, percentages, durations and counts in digits or words, comparisons, superlatives, awards and
certifications, social proof, testimony and quotations, experience claims, scarcity and urgency, appeals
to research). Each claim becomes a finding carrying the claim as data (``Finding.claim``: kind, text,
span, supported, support): an ``error`` when it is unsupported (the message says why: nothing states it,
only a competitor's page does, a reference source says it but is not cited, a quote without a consented
testimonial), an ``info`` naming the fact or source when it is supported. :func:`claims_rows` turns them
into rows for ``qa_claims``.
"""

from __future__ import annotations

from typing import Any

from splants_dagster.qa.claims import Claim, Verdict, extract_claims, judge, numbers, words_value
from splants_dagster.qa.model import CheckResult, Finding, QAContext, QAText
from splants_dagster.qa.spans import excerpt

NAME = "factual"
PASS_AT = 0.75

__all__ = ["NAME", "PASS_AT", "check", "claims_rows", "extract", "words_value"]

WHAT = {
    "percent": "percentage",
    "money": "amount of money",
    "multiplier": "multiplier",
    "duration": "duration",
    "count": "count",
    "number": "number",
    "year": "year",
    "date": "date",
    "comparison": "comparison",
    "superlative": "superlative",
    "award": "award or certification",
    "social_proof": "social proof",
    "testimony": "testimony",
    "quote": "quotation",
    "experience": "experience claim",
    "scarcity": "scarcity or urgency claim",
    "research": "appeal to research",
}
FIXES = {
    "competitor_only": "a competitor's page is evidence about the competitor, never about us: remove the claim "
    "or add an approved fact to the brief",
    "uncited_reference": "name the source in the sentence (e.g. 'according to ...') or remove the claim",
    "unattributed_quote": "name the customer the quote comes from, or remove it",
}


def extract(text: str, *, all_numbers: bool = False) -> list[Claim]:
    """The numeric claims of ``text`` (see :func:`splants_dagster.qa.claims.numbers`)."""
    return numbers(text, all_numbers=all_numbers)


def _code(v: Verdict) -> str:
    if v.code in ("competitor_only", "uncited_reference", "unattributed_quote"):
        return v.code
    if v.claim.kind in ("date", "year"):
        return "unsupported_date"
    if v.claim.numeric:
        return "unsupported_number"
    if v.claim.kind in ("quote", "testimony"):
        return "unsupported_testimony"
    return "unsupported_claim"


def _finding(field: str, value: str, v: Verdict) -> Finding:
    c = v.claim
    data = {
        "kind": c.kind,
        "text": c.text,
        "span": [c.start, c.end],
        "supported": v.supported,
        "support": v.support,
        "status": v.code,
    }
    what = WHAT.get(c.kind, "claim")
    if v.supported:
        return Finding(
            NAME,
            "supported_claim",
            f"the {what} '{c.text}' is supported by {v.support}",
            excerpt(value, c.start, c.end),
            "",
            "info",
            field,
            c.start,
            c.end,
            claim=data,
        )
    why = v.note or "it is not in the approved facts, the brief or the brand's own sources"
    return Finding(
        NAME,
        _code(v),
        f"the {what} '{c.text}' is unsupported: {why}",
        excerpt(value, c.start, c.end),
        FIXES.get(
            v.code, "state only approved facts: add it to the brief's facts (with its source) or remove it"
        ),
        "error",
        field,
        c.start,
        c.end,
        claim=data,
    )


def check(text: QAText, ctx: QAContext) -> CheckResult:
    evidence = ctx.evidence
    findings: list[Finding] = []
    numeric_errors = other_errors = 0
    for field, value in text.fields().items():
        for claim in extract_claims(value):
            verdict = judge(claim, evidence, value)
            findings.append(_finding(field, value, verdict))
            if not verdict.supported:
                if claim.numeric:
                    numeric_errors += 1
                else:
                    other_errors += 1
    score = round(max(0.0, 1.0 - 0.35 * numeric_errors - 0.25 * other_errors), 4)
    errors = numeric_errors + other_errors
    passed = score >= PASS_AT and errors == 0
    details = {
        "claims_checked": len(findings),
        "claims_unsupported": errors,
        "claims": [f.claim for f in findings],
    }
    return CheckResult(NAME, score, passed, tuple(findings), details)


def claims_rows(result: CheckResult) -> list[dict[str, Any]]:
    """The claims of a factual result as ``qa_claims`` rows (without piece, campaign and round)."""
    rows = []
    for f in result.findings:
        if f.claim is None:
            continue
        rows.append(
            {
                "claim_text": f.claim["text"],
                "kind": f.claim["kind"],
                "supported": bool(f.claim["supported"]),
                "support_ref": f.claim["support"],
                "status": f.claim["status"],
                "field": f.field,
                "span_start": f.start,
                "span_end": f.end,
                "check": NAME,
            }
        )
    return rows
