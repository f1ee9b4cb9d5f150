"""Legal and compliance: the claims lexicon, paid-post disclosure, CAN-SPAM for e-mail (an unsubscribe
line and a postal address) and the platform's length limit.

The claims lexicon (``rules/claims_lexicon.yaml``, shipped with the package) lists rules by category --
health and medical, financial and guarantees, environmental, endorsements, urgency and scarcity,
superlatives and awards -- each with its patterns, the guidance it comes from (FTC Green Guides, FTC
Endorsement Guides, CAP Code ...) and a fix. A rule is ``never`` allowed, allowed when an approved fact
states the claim (``fact``), or only when the fact states it together with its certification or standard
(``certified_fact``, environmental claims). Findings name the rule (``rule <id>``).

Every legal problem is an ``error``: a piece with one is never approved automatically, and a human
approval in the review file is refused while it fails (the human can reject it instead).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from splants_dagster.qa.claims import stem
from splants_dagster.qa.model import CheckResult, Finding, QAContext, QAText
from splants_dagster.qa.spans import excerpt, find_phrase, mask, sentence_spans
from splants_dagster.text import STOP_WORDS, normalise

LEXICON = "claims_lexicon.yaml"
CODES = {
    "health": "health_claim",
    "financial": "prohibited_claim",
    "guarantee": "prohibited_claim",
    "environmental": "environmental_claim",
    "endorsement": "endorsement_claim",
    "urgency": "urgency_claim",
    "superlative": "superlative_claim",
}
CERTIFICATION = re.compile(
    r"\b(?:certified|certification|certificate|accredited|verified by|audited|standard|en \d{4,5}|iso \d+|"
    r"pas \d+|tüv|ok compost|bpi|b corp|carbon trust|fsc|soil association|seedling)\b",
    re.I,
)


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    patterns: tuple[re.Pattern[str], ...]
    allowed_if: str  # never | fact | certified_fact
    guidance: str
    fix: str
    disclosure: bool = False


@functools.cache
def lexicon() -> tuple[Rule, ...]:
    """The claims lexicon's rules (loaded once from the package data)."""
    raw = yaml.safe_load(resources.files("splants_dagster.qa").joinpath("rules", LEXICON).read_text("utf-8"))
    return tuple(
        Rule(
            r["id"],
            r["category"],
            tuple(re.compile(p, re.I) for p in r["patterns"]),
            r.get("allowed_if", "never"),
            r["guidance"],
            r["fix"],
            bool(r.get("disclosure", False)),
        )
        for r in raw["rules"]
    )


def _fact_states(phrase: str, ctx: QAContext, certified: bool) -> str | None:
    """The id of an approved fact that states ``phrase`` (with its certification, if asked), or None."""
    words = {stem(w) for w in normalise(phrase) if w not in STOP_WORDS} or {
        stem(w) for w in normalise(phrase)
    }
    for ref, fact in ctx.facts.items():
        for sent in sentence_spans(fact) or []:
            have = {stem(w) for w in normalise(sent.text)}
            if words <= have and (not certified or CERTIFICATION.search(sent.text)):
                return ref
    return None


def lexicon_findings(text: QAText, ctx: QAContext) -> list[Finding]:
    findings: list[Finding] = []
    disclosed: bool | None = None
    for field, value in text.fields().items():
        masked = mask(value)
        taken: list[tuple[int, int]] = []
        for rule in lexicon():
            for pattern in rule.patterns:
                for m in pattern.finditer(masked):
                    if any(a < m.end() and m.start() < b for a, b in taken):
                        continue
                    allowed = None
                    if rule.allowed_if in ("fact", "certified_fact"):
                        allowed = _fact_states(m.group(0), ctx, rule.allowed_if == "certified_fact")
                    if allowed and rule.disclosure:
                        if disclosed is None:
                            disclosed = find_disclosure(text.rendered, ctx) is not None
                        allowed = allowed if disclosed else None
                    if allowed:
                        continue
                    taken.append((m.start(), m.end()))
                    needs = {
                        "never": "",
                        "fact": " and no approved fact states it",
                        "certified_fact": " and no approved fact states it with its certification",
                    }[rule.allowed_if]
                    findings.append(
                        Finding(
                            NAME,
                            CODES.get(rule.category, "prohibited_claim"),
                            f"'{value[m.start() : m.end()]}' is a prohibited claim ({rule.category}, rule "
                            f"{rule.id}){needs}: {rule.guidance}",
                            excerpt(value, m.start(), m.end()),
                            rule.fix,
                            "error",
                            field,
                            m.start(),
                            m.end(),
                            {
                                "rule": rule.id,
                                "category": rule.category,
                                "text": value[m.start() : m.end()],
                            },
                        )
                    )
    return findings


NAME = "legal"

DISCLOSURES = (
    "#ad",
    "#sponsored",
    "#paid",
    "#advertisement",
    "sponsored",
    "paid partnership",
    "advertisement",
)
UNSUBSCRIBE = re.compile(
    r"\bunsubscribe\b|\bopt[- ]out\b|\bmanage (?:your )?(?:e-?mail )?preferences\b", re.I
)
UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b")
US_ZIP = re.compile(r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b")
PO_BOX = re.compile(r"\bP\.?\s?O\.?\s+Box\s+\d+", re.I)
STREET = re.compile(
    r"\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Road|Rd|Lane|Ln|Avenue|Ave|Drive|Dr|Boulevard|"
    r"Blvd|Way|Court|Ct|Place|Pl|Square|Sq|Terrace|Close|Crescent|Parkway|Highway|Hwy)\b\.?"
)
DISCLOSURE_TYPES = ("social_post", "ad_copy", "video_script", "blog")
VISIBLE_CHARS = 125  # what a feed shows before "more": a disclosure must be seen without a click


def has_postal_address(text: str, ctx: QAContext) -> bool:
    address = ctx.brand.postal_address
    if address and re.sub(r"\W+", " ", address).strip().lower() in re.sub(r"\W+", " ", text).lower():
        return True
    return bool(UK_POSTCODE.search(text) or US_ZIP.search(text) or PO_BOX.search(text) or STREET.search(text))


def disclosure_markers(ctx: QAContext) -> list[str]:
    own = ctx.brand.required_disclosures.get("paid")
    return list(dict.fromkeys([*(x for x in [own] if x), *DISCLOSURES]))


def find_disclosure(rendered: str, ctx: QAContext) -> int | None:
    """Offset of the first disclosure in the published text, or None."""
    found = [s.start for m in disclosure_markers(ctx) for s in find_phrase(rendered, m)]
    return min(found) if found else None


def check(text: QAText, ctx: QAContext) -> CheckResult:
    findings: list[Finding] = lexicon_findings(text, ctx)
    rendered = text.rendered
    if ctx.paid and text.content_type in DISCLOSURE_TYPES:
        at = find_disclosure(rendered, ctx)
        marker = disclosure_markers(ctx)[0]
        if at is None:
            findings.append(
                Finding(
                    NAME,
                    "missing_disclosure",
                    "the campaign is paid/sponsored but the piece has no disclosure",
                    "",
                    f"start the post with '{marker}'",
                    "error",
                    fix={"disclosure": marker},
                )
            )
        elif text.content_type != "blog" and at > VISIBLE_CHARS:
            findings.append(
                Finding(
                    NAME,
                    "hidden_disclosure",
                    f"the disclosure appears only after {at} characters, below the fold",
                    excerpt(rendered, at, at + len(marker)),
                    f"move '{marker}' to the start",
                    "error",
                    fix={"disclosure": marker},
                )
            )
    if text.content_type == "email":
        body = text.body
        if not UNSUBSCRIBE.search(body):
            findings.append(
                Finding(
                    NAME,
                    "missing_unsubscribe",
                    "marketing e-mail without an unsubscribe line (CAN-SPAM / PECR)",
                    "",
                    "add the brand's e-mail footer with the unsubscribe link",
                    "error",
                    fix={"footer": True},
                )
            )
        if not has_postal_address(body, ctx):
            findings.append(
                Finding(
                    NAME,
                    "missing_postal_address",
                    "marketing e-mail without the sender's postal address (CAN-SPAM)",
                    "",
                    "add the brand's postal address to the footer",
                    "error",
                    fix={"footer": True},
                )
            )
    limit = text.spec.char_limit
    if limit is not None and len(rendered) > limit:
        findings.append(
            Finding(
                NAME,
                "over_length",
                f"{len(rendered)} characters; {text.platform} allows {limit}",
                rendered[limit - 20 : limit + 20],
                f"cut {len(rendered) - limit} characters",
                "error",
                "body",
                fix={"limit": limit},
            )
        )
    errors = sum(1 for f in findings if f.severity == "error")
    score = round(max(0.0, 1.0 - 0.5 * errors), 4)
    return CheckResult(NAME, score, errors == 0, tuple(findings), {"chars": len(rendered), "limit": limit})


def claims_rows(result: CheckResult) -> list[dict[str, Any]]:
    """The lexicon's prohibited claims of a legal result as ``qa_claims`` rows (like
    ``factual.claims_rows``): never supported, since no fact allowed them. The rule, its category and the
    matched text ride in the finding's ``fix`` (no auto-fix uses them: a prohibited claim is left to the
    LLM rewrite or a human)."""
    return [
        {
            "claim_text": f.fix["text"],
            "kind": f.fix["category"],
            "supported": False,
            "support_ref": f"legal/{f.fix['rule']}",
            "status": "prohibited",
            "field": f.field,
            "span_start": f.start,
            "span_end": f.end,
            "check": NAME,
        }
        for f in result.findings
        if f.fix and "rule" in f.fix
    ]
