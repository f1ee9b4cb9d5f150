"""Cost-control fixtures: a clean budget environment and synthetic ledgers written the way real calls are
(call journals ingested by a warehouse write session, so ``ledger_seq`` is assigned as in production)."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterable

import pytest

from splants_dagster.llm.base import CallRecord
from splants_dagster.llm.journal import CallJournal
from splants_dagster.warehouse.store import Warehouse

ENV = (
    "SPLANTS_MONTHLY_BUDGET_USD",
    "SPLANTS_STRATEGY",
    "SPLANTS_LLM_BATCH",
    "SPLANTS_LLM_STRATEGY",
    "SPLANTS_ALERT_WEBHOOK_URL",
    "SLACK_WEBHOOK_URL",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        if name in os.environ:
            monkeypatch.delenv(name)


def call(
    when: dt.datetime,
    usd: float,
    campaign_id: str | None = "synthetic",
    model: str = "gpt-4.1-mini",
    piece_id: str | None = None,
    cached: bool = False,
) -> CallRecord:
    return CallRecord(
        call_id=uuid.uuid4().hex,
        campaign_id=campaign_id,
        asset="content_suite",
        purpose="content.piece",
        piece_id=piece_id,
        provider="openai",
        model=model,
        prompt_tokens=0 if cached else 1000,
        completion_tokens=0 if cached else 500,
        cached_tokens=0,
        tokens_estimated=False,
        cost_usd=usd,
        cached=cached,
        latency_ms=10.0,
        status="ok",
        error=None,
        strategy="balanced",
        run_id="synthetic-run",
        called_at=when,
    )


def add_calls(store: Warehouse, records: Iterable[CallRecord]) -> None:
    """Journal the records, then a write session ingests them into the ledger and republishes the snapshot."""
    with CallJournal(store.paths.journal_dir) as journal:
        for record in records:
            journal.append(record)
    with store.write():
        pass


def spend(store: Warehouse, usd_by_time: Iterable[tuple[dt.datetime, float]], **kw) -> None:
    add_calls(store, [call(when, usd, **kw) for when, usd in usd_by_time])
