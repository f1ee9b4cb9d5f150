"""Scoring, decisions and the auto-fix loop.

The overall QA score is the weighted mean of the eight checks. Decisions follow the SPLANTS workflow
guide: below 0.6 a piece is **flagged** for a human; from 0.6 to 0.8 it is **auto-fixed** (rule-based
fixes, plus an LLM rewrite of what is still failing when a real provider is configured), re-validated,
for at most two rounds; from 0.8 it is **approved**. Two things hold a piece back at any score: an
``error`` finding (legal, copied passage, unsupported fact, a claim the brand avoids, keyword stuffing)
and a failed check other than SEO (which is advisory). Such a piece goes through the fix rounds too when
it scores 0.6 or more, and is flagged if the problem survives them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from splants_dagster.qa import brand_voice, factual, grammar, legal, readability, seo, substance, uniqueness
from splants_dagster.qa.fixes import apply_fixes, shorten_to_limit
from splants_dagster.qa.model import CheckResult, Finding, QAContext, QAText

WEIGHTS: dict[str, float] = {
    "grammar": 0.10,
    "uniqueness": 0.15,
    "brand_voice": 0.10,
    "factual": 0.15,
    "seo": 0.10,
    "legal": 0.20,
    "readability": 0.10,
    "substance": 0.10,
}
FLAG_BELOW = 0.6
APPROVE_AT = 0.8
MAX_ROUNDS = 2
ADVISORY = ("seo",)  # a failed SEO check lowers the score but does not on its own hold a piece back
CHECKS = {
    "grammar": grammar,
    "uniqueness": uniqueness,
    "brand_voice": brand_voice,
    "factual": factual,
    "seo": seo,
    "legal": legal,
    "readability": readability,
    "substance": substance,
}
PASS_AT = {name: getattr(module, "PASS_AT", 1.0) for name, module in CHECKS.items()}
PUBLISHABLE = ("approved", "auto_fixed")
STATUSES = ("approved", "auto_fixed", "flagged", "rejected")


@dataclass(frozen=True)
class Judgment:
    """An LLM's verdict on one check: a score in [0, 1] and its findings."""

    score: float
    findings: tuple[Finding, ...] = ()
    model: str = ""


@dataclass(frozen=True)
class Evaluation:
    checks: Mapping[str, CheckResult]
    score: float

    @property
    def errors(self) -> list[Finding]:
        return [f for c in self.checks.values() for f in c.findings if f.severity == "error"]

    @property
    def approvable(self) -> bool:
        """Score from 0.8, no error finding, and every check passes (SEO is advisory)."""
        return (
            self.score >= APPROVE_AT
            and not self.errors
            and all(c.passed for name, c in self.checks.items() if name not in ADVISORY)
        )

    @property
    def failing(self) -> list[str]:
        return [name for name, c in self.checks.items() if not c.passed]

    def decision(self) -> str:
        """``approved``, ``auto_fix`` or ``flagged`` for a piece as it stands."""
        if self.score < FLAG_BELOW:
            return "flagged"
        return "approved" if self.approvable else "auto_fix"

    def summary(self) -> str:
        if not self.failing:
            return f"score {self.score:.2f}, every check passes"
        parts = []
        for name in self.failing:
            codes = list(dict.fromkeys(f.code for f in self.checks[name].findings if f.severity != "info"))
            parts.append(f"{name} ({', '.join(codes[:3]) or f'score {self.checks[name].score:.2f}'})")
        return f"score {self.score:.2f}; failing: " + "; ".join(parts)


def overall(checks: Mapping[str, CheckResult]) -> float:
    total = sum(WEIGHTS[n] for n in checks)
    return round(sum(WEIGHTS[n] * c.score for n, c in checks.items()) / total, 4) if total else 0.0


def blend(result: CheckResult, judgment: Judgment) -> CheckResult:
    """The rule-based result with an LLM judgment: the mean of both scores, and both sets of findings."""
    score = round((result.score + max(0.0, min(1.0, judgment.score))) / 2, 4)
    findings = result.findings + judgment.findings
    passed = score >= PASS_AT[result.name] and not any(f.severity == "error" for f in findings)
    details = {
        **result.details,
        "rule_score": result.score,
        "llm_score": judgment.score,
        "llm_model": judgment.model,
    }
    return CheckResult(result.name, score, passed, findings, details)


def evaluate(text: QAText, ctx: QAContext, judgments: Mapping[str, Judgment] | None = None) -> Evaluation:
    checks = {name: module.check(text, ctx) for name, module in CHECKS.items()}
    for name, judgment in (judgments or {}).items():
        if name in checks and judgment is not None:
            checks[name] = blend(checks[name], judgment)
    return Evaluation(checks, overall(checks))


class Assistant(Protocol):
    """LLM help for QA (see ``qa.assist.QAAssistant``): judge grammar and brand voice, rewrite."""

    async def judge_all(self, text: QAText, ctx: QAContext) -> dict[str, Judgment]: ...

    async def rewrite(self, text: QAText, evaluation: Evaluation, ctx: QAContext) -> QAText | None: ...


@dataclass
class Round:
    number: int
    text: QAText
    evaluation: Evaluation
    fixes: list[str] = field(default_factory=list)


@dataclass
class QAOutcome:
    """What QA decided for one piece: every round (0 = as written), the final text and status."""

    original: QAText
    status: str  # approved | auto_fixed | flagged
    rounds: list[Round]

    @property
    def final(self) -> QAText:
        return self.rounds[-1].text

    @property
    def evaluation(self) -> Evaluation:
        return self.rounds[-1].evaluation

    @property
    def score(self) -> float:
        return self.evaluation.score

    @property
    def fix_rounds(self) -> int:
        return len(self.rounds) - 1

    @property
    def fixes(self) -> list[str]:
        return [f"round {r.number}: {note}" for r in self.rounds for note in r.fixes]

    @property
    def reason(self) -> str:
        first, last = self.rounds[0].evaluation, self.evaluation
        if self.status == "approved":
            return f"approved at {last.score:.2f}"
        if self.status == "auto_fixed":
            return f"auto-fixed from {first.score:.2f} to {last.score:.2f} in {self.fix_rounds} round(s)"
        if self.fix_rounds == 0 and first.score < FLAG_BELOW:
            return f"flagged: score {first.score:.2f} is below {FLAG_BELOW}; {last.summary()}"
        return f"flagged after {self.fix_rounds} fix round(s): {last.summary()}"


async def _evaluate(text: QAText, ctx: QAContext, assistant: Assistant | None) -> Evaluation:
    judgments = await assistant.judge_all(text, ctx) if assistant is not None else None
    return evaluate(text, ctx, judgments)


async def review(
    text: QAText, ctx: QAContext, assistant: Assistant | None = None, max_rounds: int = MAX_ROUNDS
) -> QAOutcome:
    """Evaluate a piece, auto-fix it when the score calls for it, and decide."""
    evaluation = await _evaluate(text, ctx, assistant)
    rounds = [Round(0, text, evaluation)]
    decision = evaluation.decision()
    if decision != "auto_fix":
        return QAOutcome(text, decision, rounds)
    current = text
    for number in range(1, max_rounds + 1):
        fixed, notes = apply_fixes(current, evaluation, ctx)
        if assistant is not None:
            interim = evaluate(fixed, ctx)
            if not interim.approvable:
                rewritten = await assistant.rewrite(fixed, interim, ctx)
                if rewritten is not None and rewritten.digest() != fixed.digest():
                    fixed, more = shorten_to_limit(rewritten)
                    notes += [
                        f"llm: rewrote the failing parts ({', '.join(interim.failing) or 'score'})",
                        *more,
                    ]
        if fixed.digest() == current.digest():
            break
        current = fixed
        evaluation = await _evaluate(current, ctx, assistant)
        rounds.append(Round(number, current, evaluation, notes))
        if evaluation.approvable:
            return QAOutcome(text, "auto_fixed", rounds)
    return QAOutcome(text, "flagged", rounds)


def review_sync(text: QAText, ctx: QAContext, max_rounds: int = MAX_ROUNDS) -> QAOutcome:
    """:func:`review` without LLM help, for synchronous callers (CLI, tests)."""
    return asyncio.run(review(text, ctx, None, max_rounds))
