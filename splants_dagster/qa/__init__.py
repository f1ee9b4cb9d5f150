"""Quality assurance for content pieces: seven checks, the QA score, decisions and auto-fixes.

Pure domain code (no Dagster): ``qa_report`` (``defs/qa/assets.py``) and ``splants qa`` (``cli/qa.py``)
both call :func:`review`. One module per check: ``grammar``, ``uniqueness``, ``brand_voice``,
``factual``, ``seo``, ``legal``, ``readability``; ``engine`` scores and decides, ``fixes`` repairs,
``assist`` adds the LLM judge and rewrite, ``reviews`` reads human decisions, ``campaign`` runs a whole
campaign (originals, variants, reviews) and builds the warehouse rows.

The names below are loaded on first use (PEP 562), so importing one check module (or ``qa.flesch`` from the
content scorer) does not import the whole engine, and the content suite and QA can import each other's
modules without a cycle.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_FROM_ENGINE = (
    "APPROVE_AT",
    "FLAG_BELOW",
    "MAX_ROUNDS",
    "PUBLISHABLE",
    "WEIGHTS",
    "Evaluation",
    "Judgment",
    "QAOutcome",
    "evaluate",
    "review",
    "review_sync",
)
_FROM_MODEL = ("CHECK_NAMES", "CheckResult", "Finding", "QAContext", "QAText", "spec_for")

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    if name in _FROM_ENGINE:
        return getattr(importlib.import_module("splants_dagster.qa.engine"), name)
    if name in _FROM_MODEL:
        return getattr(importlib.import_module("splants_dagster.qa.model"), name)
    try:  # check modules: ``from splants_dagster.qa import grammar``
        return importlib.import_module(f"splants_dagster.qa.{name}")
    except ModuleNotFoundError as exc:
        raise AttributeError(f"module 'splants_dagster.qa' has no attribute {name!r}") from exc


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
