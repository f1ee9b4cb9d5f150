"""Quality assurance for content pieces: seven checks, the QA score, decisions and auto-fixes.

Pure domain code (no Dagster): ``qa_report`` (``defs/qa/assets.py``) and ``splants qa`` (``cli/qa.py``)
both call :func:`review`. One module per check: ``grammar``, ``uniqueness``, ``brand_voice``,
``factual``, ``seo``, ``legal``, ``readability``; ``engine`` scores and decides, ``fixes`` repairs,
``assist`` adds the LLM judge and rewrite, ``reviews`` reads human decisions, ``campaign`` runs a whole
campaign (originals, variants, reviews) and builds the warehouse rows.
"""

from splants_dagster.qa.engine import (
    APPROVE_AT,
    FLAG_BELOW,
    MAX_ROUNDS,
    PUBLISHABLE,
    WEIGHTS,
    Evaluation,
    Judgment,
    QAOutcome,
    evaluate,
    review,
    review_sync,
)
from splants_dagster.qa.model import CHECK_NAMES, CheckResult, Finding, QAContext, QAText, spec_for

__all__ = [
    "APPROVE_AT",
    "CHECK_NAMES",
    "FLAG_BELOW",
    "MAX_ROUNDS",
    "PUBLISHABLE",
    "WEIGHTS",
    "CheckResult",
    "Evaluation",
    "Finding",
    "Judgment",
    "QAContext",
    "QAOutcome",
    "QAText",
    "evaluate",
    "review",
    "review_sync",
    "spec_for",
]
