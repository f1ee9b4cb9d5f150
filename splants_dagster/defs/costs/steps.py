"""What generation steps (research, content, QA) ask the budget at step start, and the batch desk content
generation uses for campaigns that can wait.

At step start :func:`step_budget` reads the analysts' snapshot (read-only: it never holds a write session
during generation): this month's spend per day, the campaign's spend when it has a cap, and the strategy
``budget_status`` last recorded. The policy (``splants_dagster.costs.policy``) turns them into a
:class:`~splants_dagster.costs.policy.Decision`: the strategy, why, and whether to stop, pause
non-critical work, cap lengths or use the template writer only.
"""

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from splants_dagster.content.suite import SuiteContext, SuiteResult, check_draft, generate_suite
from splants_dagster.costs import ledger
from splants_dagster.costs.config import BudgetConfig
from splants_dagster.costs.policy import (
    BatchRoute,
    BudgetStatus,
    CampaignSpend,
    Decision,
    decide,
    month_key,
    route_batch,
    with_recorded,
)
from splants_dagster.defs.costs.resources import BudgetResource
from splants_dagster.defs.metadata import as_float
from splants_dagster.defs.resources import LLMResource, WarehouseResource
from splants_dagster.llm.batch import (
    BatchError,
    BatchItem,
    Deferred,
    DeferringClient,
    record_results,
)
from splants_dagster.llm.client import CallContext
from splants_dagster.warehouse.store import Warehouse, insert_dicts


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class StepBudget:
    config: BudgetConfig
    decision: Decision
    status: BudgetStatus | None = None
    campaign: CampaignSpend | None = None

    def metadata(self) -> dict[str, Any]:
        d, s = self.decision, self.status
        meta: dict[str, Any] = {
            "strategy": d.strategy,
            "strategy_reason": dg.MetadataValue.md(d.reason),
        }
        if s is not None and s.limited:
            meta |= {
                "budget_usd": as_float(s.budget_usd),
                "budget_spent_usd": as_float(s.spent_usd, 6),
                "budget_remaining_pct": as_float(s.remaining_pct, 2),
                "budget_forecast_usd": as_float(s.forecast_usd, 6),
            }
        if self.campaign is not None:
            meta |= {
                "campaign_cap_usd": as_float(self.campaign.cap_usd),
                "campaign_spent_usd": as_float(self.campaign.spent_usd, 6),
            }
        if d.pause_noncritical:
            meta["paused"] = "A/B variants and premium multi-model generation (forecast above budget)"
        return meta

    def stop_if_exhausted(self) -> None:
        """At 100% spent: fail the step before anything is generated or written, saying why."""
        if self.decision.exhausted:
            raise dg.Failure(description=self.decision.stop_message, metadata=self.metadata())


def step_budget(
    budget: BudgetResource,
    warehouse: WarehouseResource,
    llm: LLMResource,
    campaign_id: str | None,
    now: dt.datetime | None = None,
) -> StepBudget:
    config = budget.config()
    if not config.watches(campaign_id):
        return StepBudget(config, decide(None, config, llm.strategy))
    now = now or utc_now()
    cap = config.campaign_cap(campaign_id)
    with warehouse.store().read() as conn:
        status = ledger.month_status(conn, now, config) if config.monthly_budget_usd is not None else None
        spent = ledger.campaign_spend(conn, campaign_id) if cap is not None else None
        recorded = ledger.latest_status(conn, month_key(now))
    campaign = CampaignSpend(campaign_id, spent, cap) if cap is not None else None
    decision = with_recorded(decide(status, config, llm.strategy, campaign), recorded, status, config)
    return StepBudget(config, decision, status, campaign)


# ------------------------------------------------------------------------------------------ batches


@dataclass
class BatchDesk:
    """One campaign's provider batches during a content step: collect the finished ones (ledger rows at
    batch prices, replies into the response cache), submit what is still missing, record both."""

    store: Warehouse
    llm: LLMResource
    campaign_id: str
    run_id: str
    price_factor: float
    log: Any
    pending: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # llm_batches rows to upsert
    calls: list[dict[str, Any]] = field(default_factory=list)  # llm_batch_calls rows
    collected: list[str] = field(default_factory=list)
    submitted: list[str] = field(default_factory=list)

    def load(self) -> "BatchDesk":
        self.pending = self.store.query(
            "SELECT * FROM llm_batches WHERE campaign_id = ? AND status = 'submitted' ORDER BY submitted_at",
            [self.campaign_id],
        )
        return self

    def collect(self, client: Any, validate: Any) -> None:
        """Poll every pending batch; record the results of the finished ones."""
        still = []
        for row in self.pending:
            api = self.llm.batch_api(row["provider"])
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
        api = self.llm.batch_api(provider.name)
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
    context: dg.AssetExecutionContext,
    sb: StepBudget,
    llm: LLMResource,
    warehouse: WarehouseResource,
    ctx: SuiteContext,
) -> Generation:
    """The content suite under the budget's decision: the strategy's models, premium paused when the
    forecast is over budget, a hard stop at the remaining budget, and, when the campaign can wait, the
    provider's batch API (finished batches of this campaign are collected first)."""
    decision = sb.decision
    campaign_id = context.partition_key
    premium = False if decision.pause_noncritical else None
    primary, _, partner = llm.plan(decision.strategy, warehouse.data_dir)
    route = route_batch(
        decision,
        sb.config,
        provider=primary.name,
        start_date=ctx.brief.start_date,
        today=utc_now().date(),
        premium=partner is not None and premium is not False,
        cache=llm.cache and not llm.force_refresh,
    )
    desk = BatchDesk(
        warehouse.store(), llm, campaign_id, context.run.run_id, sb.config.batch.price_factor, context.log
    ).load()
    with llm.client(
        warehouse,
        campaign_id,
        "content_suite",
        context.run.run_id,
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
                    context.log.warning(f"{exc}: generating at once instead")
                    route = BatchRoute(False, f"batch submission failed ({exc}): generated at once")
                    result = client.run(generate_suite(ctx, client))
        else:
            result = client.run(generate_suite(ctx, client))
        totals = client.totals()
    return Generation(result, totals, route, desk, llm.label(decision.strategy, premium=premium))
