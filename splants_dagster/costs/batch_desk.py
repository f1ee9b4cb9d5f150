"""Provider batches for content generation that can wait, and the content suite under the budget.

:class:`BatchDesk` keeps one campaign's provider batches during a content step: it collects the finished
ones (ledger rows at batch prices, replies into the response cache), submits what is still missing and
records both in ``llm_batches`` / ``llm_batch_calls``. :func:`generate_content` runs the content suite
under the step budget's decision: the strategy's models, premium paused when the forecast is over
budget, a hard stop at the remaining budget, and the batch route when the campaign can wait
(docs/costs.md). Pure Python: the Dagster ``budget`` resource wires it to a step.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from splants_dagster.content.suite import SuiteContext, SuiteResult, check_draft, generate_suite
from splants_dagster.costs.policy import BatchRoute, Decision, route_batch
from splants_dagster.costs.step_budget import StepBudget, utc_now
from splants_dagster.llm.batch import (
    BatchAPI,
    BatchError,
    BatchItem,
    Deferred,
    DeferringClient,
    record_results,
)
from splants_dagster.llm.client import CallContext, LLMClient
from splants_dagster.llm.routing import LLMRouter
from splants_dagster.warehouse.store import Warehouse, insert_dicts

# opens the step's LLM client: (strategy=, premium=, spend_limit_usd=) -> a context manager
ClientOpener = Callable[..., AbstractContextManager[LLMClient]]


@dataclass
class BatchDesk:
    """One campaign's provider batches during a content step: collect the finished ones (ledger rows at
    batch prices, replies into the response cache), submit what is still missing, record both."""

    store: Warehouse
    batch_api: Callable[[str], BatchAPI]  # provider name -> its batch API (LLMRouter.batch_api)
    campaign_id: str
    run_id: str
    price_factor: float
    log: Any
    pending: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # llm_batches rows to upsert
    calls: list[dict[str, Any]] = field(default_factory=list)  # llm_batch_calls rows
    collected: list[str] = field(default_factory=list)
    submitted: list[str] = field(default_factory=list)

    def load(self) -> BatchDesk:
        self.pending = self.store.query(
            "SELECT * FROM llm_batches WHERE campaign_id = ? AND status = 'submitted' ORDER BY submitted_at",
            [self.campaign_id],
        )
        return self

    def collect(self, client: Any, validate: Any) -> None:
        """Poll every pending batch; record the results of the finished ones."""
        still = []
        for row in self.pending:
            api = self.batch_api(row["provider"])
            try:
                state = api.status(row["batch_id"])
                results = api.results(state, row["model"]) if state.finished else None
            except BatchError as exc:
                self.log.warning(f"batch {row['batch_id']}: {exc}; trying again next run")
                still.append(row)
                continue
            if results is None:
                still.append(row)
                continue
            items = {i["custom_id"]: BatchItem(**i) for i in json.loads(row["items"])}
            ended = state.ended_at or utc_now()
            submitted = row["submitted_at"]
            done = record_results(
                results,
                items,
                batch_id=row["batch_id"],
                provider=row["provider"],
                model=row["model"],
                context=CallContext(self.campaign_id, row["asset"], self.run_id, row["strategy"]),
                price=client.price,
                price_factor=self.price_factor,
                journal=client.journal,
                cache=client.cache,
                validate=validate,
                called_at=ended,
                latency_ms=max(0.0, (ended - submitted).total_seconds() * 1000) if submitted else 0.0,
            )
            self.log.info(
                f"batch {row['batch_id']} ({state.provider_status}): {done.ok} ok, {done.rejected} rejected, "
                f"{done.errors} failed, ${done.cost_usd:.4f} at batch prices"
            )
            self.rows.append(
                {
                    **row,
                    "status": "collected",
                    "provider_status": state.provider_status,
                    "succeeded": done.ok,
                    "rejected": done.rejected,
                    "failed": done.errors,
                    "cost_usd": round(done.cost_usd, 10),
                    "ended_at": state.ended_at,
                    "collected_at": utc_now(),
                    "collected_run_id": self.run_id,
                }
            )
            self.calls += done.calls
            self.collected.append(row["batch_id"])
        self.pending = still

    def pending_keys(self) -> set[str]:
        return {i["cache_key"] for row in self.pending for i in json.loads(row["items"])}

    def submit(self, client: Any, deferring: DeferringClient, strategy: str) -> dict[str, Any] | None:
        """Send the deferred requests as one batch; None when there are none."""
        batch = deferring.batch_requests()
        if not batch:
            return None
        provider = client.provider
        api = self.batch_api(provider.name)
        state = api.submit(
            provider,
            [(cid, request) for cid, _, request in batch],
            {"splants_campaign": self.campaign_id, "splants_run": self.run_id},
        )
        row = {
            "batch_id": state.batch_id,
            "provider": provider.name,
            "model": provider.model,
            "campaign_id": self.campaign_id,
            "asset": "content_suite",
            "strategy": strategy,
            "status": "submitted",
            "provider_status": state.provider_status,
            "requests": len(batch),
            "succeeded": 0,
            "rejected": 0,
            "failed": 0,
            "cost_usd": 0.0,
            "submitted_at": utc_now(),
            "submitted_run_id": self.run_id,
            "ended_at": None,
            "collected_at": None,
            "collected_run_id": None,
            "error": None,
            "items": json.dumps([BatchItem.of(cid, key, req).to_dict() for cid, key, req in batch]),
        }
        self.rows.append(row)
        self.submitted.append(state.batch_id)
        return row

    def write(self, conn: Any) -> None:
        """Inside a write session: the batches' rows (upsert) and which ledger rows each produced."""
        for row in self.rows:
            updates = ", ".join(f"{c} = excluded.{c}" for c in row if c != "batch_id")
            insert_dicts(conn, "llm_batches", [row], tail=f" ON CONFLICT (batch_id) DO UPDATE SET {updates}")
        insert_dicts(conn, "llm_batch_calls", self.calls, tail=" ON CONFLICT DO NOTHING")

    def metadata(self) -> dict[str, Any]:
        return {
            "batches_collected": ", ".join(self.collected) or "none",
            "batches_submitted": ", ".join(self.submitted) or "none",
            "batches_pending": ", ".join(r["batch_id"] for r in self.pending) or "none",
        }


# ------------------------------------------------------------------------------------------ content


@dataclass
class Generation:
    result: SuiteResult | None  # None: deferred to a batch (nothing to write yet)
    totals: dict[str, Any]
    route: BatchRoute
    desk: BatchDesk
    label: str

    @property
    def deferred(self) -> bool:
        return self.result is None

    def reason(self, decision: Decision) -> str:
        """Why the pieces were made this way: the budget's reason, and the batch route when it applied."""
        if self.route.batch:
            return f"{decision.reason}; via batch: {self.route.reason}"
        if self.desk.collected:
            return f"{decision.reason}; batch results collected ({', '.join(self.desk.collected)}), the rest: {self.route.reason}"
        return decision.reason


def generate_content(
    sb: StepBudget,
    router: LLMRouter,
    open_client: ClientOpener,
    store: Warehouse,
    ctx: SuiteContext,
    *,
    campaign_id: str,
    run_id: str,
    data_dir: str,
    cache_reads: bool,
    log: Any,
) -> Generation:
    """The content suite under the budget's decision: the strategy's models, premium paused when the
    forecast is over budget, a hard stop at the remaining budget, and, when the campaign can wait, the
    provider's batch API (finished batches of this campaign are collected first). ``cache_reads``: the
    response cache is read (a cached reply makes a batch pointless)."""
    decision = sb.decision
    premium = False if decision.pause_noncritical else None
    primary, _, partner = router.plan(decision.strategy, data_dir)
    route = route_batch(
        decision,
        sb.config,
        provider=primary.name,
        start_date=ctx.brief.start_date,
        today=utc_now().date(),
        premium=partner is not None and premium is not False,
        cache=cache_reads,
    )
    desk = BatchDesk(store, router.batch_api, campaign_id, run_id, sb.config.batch.price_factor, log).load()
    with open_client(
        strategy=decision.strategy,
        premium=premium,
        spend_limit_usd=decision.spend_limit_usd,
    ) as client:
        if desk.pending:
            desk.collect(client, check_draft)
        result: SuiteResult | None
        if route.batch:
            deferring = DeferringClient(client, desk.pending_keys())
            try:
                result = client.run(generate_suite(ctx, deferring))
            except Deferred:
                result = None
            if deferring.deferred or deferring.waiting:
                result = None
                try:
                    desk.submit(client, deferring, decision.strategy)
                except BatchError as exc:
                    log.warning(f"{exc}: generating at once instead")
                    route = BatchRoute(False, f"batch submission failed ({exc}): generated at once")
                    result = client.run(generate_suite(ctx, client))
        else:
            result = client.run(generate_suite(ctx, client))
        totals = client.totals()
    return Generation(result, totals, route, desk, router.label(decision.strategy, premium=premium))
