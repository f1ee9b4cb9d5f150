"""The LLM client assets use: bounded concurrency, timing, and a ledger record for every call."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from splants_dagster.llm.base import CallRecord, LLMError, LLMRequest, LLMResponse, Provider, Usage
from splants_dagster.llm.journal import CallJournal

PriceFn = Callable[[str, str, Usage], float]


def free(_provider: str, _model: str, _usage: Usage) -> float:
    return 0.0


@dataclass
class CallContext:
    """Who is calling: lands on every ledger row."""

    campaign_id: str | None
    asset: str
    run_id: str | None = None
    strategy: str | None = None


class LLMClient:
    def __init__(
        self,
        provider: Provider,
        journal: CallJournal,
        context: CallContext,
        *,
        price: PriceFn = free,
        concurrency: int = 4,
    ):
        self.provider = provider
        self.journal = journal
        self.context = context
        self.price = price
        self.concurrency = max(1, concurrency)

    @property
    def records(self) -> list[CallRecord]:
        return self.journal.records

    async def complete(self, request: LLMRequest) -> LLMResponse:
        started = time.perf_counter()
        try:
            response = await self.provider.complete(request)
        except LLMError as exc:
            self._record(request, None, started, status="error", error=str(exc))
            raise
        self._record(request, response, started)
        return response

    def _record(
        self,
        request: LLMRequest,
        response: LLMResponse | None,
        started: float,
        *,
        status: str = "ok",
        error: str | None = None,
        cached: bool = False,
    ) -> CallRecord:
        usage = response.usage if response else Usage(0, 0)
        provider = response.provider if response else self.provider.name
        model = response.model if response else self.provider.model
        record = CallRecord(
            call_id=uuid.uuid4().hex,
            campaign_id=self.context.campaign_id,
            asset=self.context.asset,
            purpose=request.purpose,
            piece_id=request.piece_id,
            provider=provider,
            model=model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cached_tokens=usage.cached_tokens,
            tokens_estimated=usage.estimated,
            cost_usd=0.0 if cached else self.price(provider, model, usage),
            cached=cached,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            status=status,
            error=error,
            strategy=self.context.strategy,
            run_id=self.context.run_id,
            called_at=dt.datetime.now(dt.UTC),
        )
        self.journal.append(record)
        return record

    async def complete_many(self, requests: Sequence[LLMRequest]) -> list[LLMResponse]:
        """All requests, at most ``concurrency`` in flight; results in request order."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(req: LLMRequest) -> LLMResponse:
            async with gate:
                return await self.complete(req)

        return list(await asyncio.gather(*(one(r) for r in requests)))

    def run(self, coro):
        """Run a coroutine from synchronous asset code."""
        return asyncio.run(coro)

    def totals(self) -> dict[str, float | int]:
        recs = self.records
        return {
            "calls": len(recs),
            "prompt_tokens": sum(r.prompt_tokens for r in recs),
            "completion_tokens": sum(r.completion_tokens for r in recs),
            "cost_usd": round(sum(r.cost_usd for r in recs), 6),
            "cache_hits": sum(1 for r in recs if r.cached),
        }
