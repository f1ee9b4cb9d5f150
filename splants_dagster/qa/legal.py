"""Legal and compliance: prohibited claims, health claims, paid-post disclosure, CAN-SPAM for e-mail
(an unsubscribe line and a postal address) and the platform's length limit.

Every legal problem is an ``error``: a piece with one is never approved automatically, and a human
approval in the review file is refused while it fails (the human can reject it instead).
"""

from __future__ import annotations

import re

from splants_dagster.qa.model import CheckResult, Finding, QAContext, QAText
from splants_dagster.qa.spans import excerpt, find_phrase, mask

NAME = "legal"

PROHIBITED = (
    "guaranteed results",
    "results guaranteed",
    "guaranteed to work",
    "guaranteed income",
    "100% guaranteed",
    "risk-free",
    "risk free",
    "no risk",
    "zero risk",
    "100% safe",
    "completely safe",
    "miracle cure",
    "miracle results",
    "get rich quick",
    "instant results",
    "lose weight fast",
    "no side effects",
    "fda approved",
    "doctor recommended",
)
HEALTH = re.compile(
    r"\b(cures?|cured|curing|heals?|healing|treats?|prevents?|reverses?|fights?|eliminates?)\b"
    r"[^.!?\n]{0,40}?\b(cancer|diabetes|disease|diseases|illness|anxiety|depression|arthritis|covid(?:-19)?|"
    r"infections?|obesity|insomnia|alzheimer'?s|dementia|heart disease|high blood pressure|acne|eczema|"
    r"the flu)\b",
    re.I,
)
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
    findings: list[Finding] = []
    for field, value in text.fields().items():
        masked = mask(value)
        for claim in PROHIBITED:
            for span in find_phrase(masked, claim):
                findings.append(
                    Finding(
                        NAME,
                        "prohibited_claim",
                        f"'{value[span.start : span.end]}' is a prohibited claim (advertising codes forbid "
                        "promising results or absence of risk)",
                        excerpt(value, span.start, span.end),
                        "describe what the product does and what customers can expect, without promises",
                        "error",
                        field,
                        span.start,
                        span.end,
                    )
                )
        for m in HEALTH.finditer(masked):
            findings.append(
                Finding(
                    NAME,
                    "health_claim",
                    f"'{m.group(0)}' is a health claim (only authorised claims may be made about food and drink)",
                    excerpt(value, m.start(), m.end()),
                    "remove the health claim",
                    "error",
                    field,
                    m.start(),
                    m.end(),
                )
            )

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
