"""Readability: Flesch reading ease of the body against the platform's target range
(``platforms.READABILITY_TARGETS``), scored by ``readability.Readability.score``: 1 inside the range,
falling as the text gets harder (0 at 25 points below) or, more gently, easier than the range. Only
text that is too hard fails the check."""

from __future__ import annotations

from splants_dagster.qa.flesch import measure
from splants_dagster.qa.model import CheckResult, Finding, QAContext, QAText
from splants_dagster.qa.spans import excerpt, mask, sentence_spans

NAME = "readability"
PASS_AT = 0.75


def _hardest(body: str, n: int = 1):
    spans = sentence_spans(mask(body))

    def weight(s) -> float:
        ws = s.text.split()
        return len(ws) + sum(len(w) for w in ws) / max(1, len(ws))

    return sorted(spans, key=weight, reverse=True)[:n]


def check(text: QAText, _ctx: QAContext | None = None) -> CheckResult:
    measured = measure(text.body)
    low, high = text.spec.readability_target
    ease = measured.flesch_reading_ease
    score = round(measured.score((low, high)), 4)
    findings: list[Finding] = []
    if ease < low:
        hardest = _hardest(text.body)
        s = hardest[0] if hardest else None
        findings.append(
            Finding(
                "readability",
                "too_hard",
                f"Flesch reading ease {ease:.0f} is below the {text.platform} target {low:.0f}-{high:.0f} "
                f"(grade {measured.flesch_kincaid_grade:.1f})",
                excerpt(text.body, s.start, s.end, context=0) if s else "",
                "shorter sentences and shorter words; the hardest sentence is quoted",
                "warning",
                "body",
                s.start if s else None,
                s.end if s else None,
                {"split": True},
            )
        )
    elif ease > high:
        findings.append(
            Finding(
                "readability",
                "too_simple",
                f"Flesch reading ease {ease:.0f} is above the {text.platform} target {low:.0f}-{high:.0f}: "
                "it may read as choppy",
                "",
                "join some short sentences and add specifics",
                "info",
            )
        )
    # easier than the range lowers the score but is not a failure: plain words never hurt a reader
    passed = score >= PASS_AT or ease > high
    details = {
        "flesch_reading_ease": round(ease, 1),
        "flesch_kincaid_grade": round(measured.flesch_kincaid_grade, 1),
        "target": [low, high],
    }
    return CheckResult("readability", score, passed, tuple(findings), details)
