"""The LLM client assets use: response cache, bounded concurrency, retries, fallback, and a ledger record
for every call.

For each request the client

1. serves it from the response cache when an accepted reply for (provider, model, prompt, parameters) is
   there (a ``cached=True`` ledger row, zero tokens and cost);
2. otherwise calls the provider, at most ``concurrency`` calls in flight per client, retrying failures that
   may pass (429, 5xx, timeouts, dropped connections) with exponential backoff and jitter that honours
   ``Retry-After``, and retrying unusable replies (empty, cut off, refused, malformed) with a corrected
   request; each attempt is its own ledger row (``status`` ok / rejected / error, ``attempt`` n);
3. when a provider has used up its attempts, moves on to the next configured provider (a fallback: its
   rows carry ``fallback_from``); when none is left it raises ``LLMError`` naming every failure. It never
   substitutes the offline writer for a real model.

Accepted replies go to the cache journal, billed calls to the call journal, the moment they return.

A step's LLM work has a deadline (``deadline_s``, measured from the client's creation, retries and fallbacks
included): past it, the outstanding calls are cancelled and :class:`StepDeadlineError` names the provider
and endpoint that did not answer. While calls are outstanding a progress line is logged every
``progress_every_s`` seconds (a warning once the oldest call has waited two intervals), so a server that
accepts connections and never answers is visible in the run log long before the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from splants_dagster.llm.base import CallRecord, LLMError, LLMRequest, LLMResponse, Provider, Usage
from splants_dagster.llm.cache import CacheEntry, ResponseCache
from splants_dagster.llm.journal import CallJournal
from splants_dagster.llm.retry import RetryPolicy
from splants_dagster.llm.validate import check_reply, retry_request

PriceFn = Callable[[str, str, Usage], float]
Validator = Callable[[LLMResponse], object]


def free(_provider: str, _model: str, _usage: Usage) -> float:
    return 0.0


@dataclass
class CallContext:
    """Who is calling: lands on every ledger row."""

    campaign_id: str | None
    asset: str
    run_id: str | None = None
    strategy: str | None = None


def label(provider: Provider) -> str:
    return f"{provider.name}/{provider.model}"


def where(provider: Provider) -> str:
    """``openai at https://...`` (the endpoint, when the provider has one)."""
    endpoint = getattr(provider, "endpoint", None)
    return f"{provider.name} at {endpoint}" if endpoint else provider.name


class StepDeadlineError(LLMError):
    """The step's LLM work did not finish within its deadline."""

    def __init__(self, message: str):
        super().__init__(message, retryable=False)


class LLMClient:
    def __init__(
        self,
        provider: Provider,
        journal: CallJournal,
        context: CallContext,
        *,
        price: PriceFn = free,
        concurrency: int = 4,
        fallbacks: Sequence[Provider] = (),
        retry: RetryPolicy | None = None,
        cache: ResponseCache | None = None,
        premium_partner: Provider | None = None,
        deadline_s: float | None = None,
        progress_every_s: float = 15.0,
        log: logging.Logger | None = None,
    ):
        self.provider = provider
        self.journal = journal
        self.context = context
        self.price = price
        self.concurrency = max(1, concurrency)
        self.fallbacks = list(fallbacks)
        self.retry = retry or RetryPolicy()
        self.cache = cache
        # with the primary provider, the second drafter of premium mode (see llm/premium.py)
        self.premium_partner = premium_partner
        self._gate: asyncio.Semaphore | None = None
        self._gate_loop: asyncio.AbstractEventLoop | None = None
        self.deadline_s = deadline_s or None  # None / 0: no deadline
        self.progress_every_s = progress_every_s
        self.log = log
        # the step's LLM clock starts at its first LLM call (``run``), so the step's own work before it
        # (reading sources, loading libraries on first use) does not eat into the deadline
        self._started: float | None = None
        self._in_flight: dict[int, tuple[Provider, float]] = {}  # provider calls awaiting an answer
        self._last_provider: Provider = provider

    @property
    def records(self) -> list[CallRecord]:
        return self.journal.records

    @property
    def premium_available(self) -> bool:
        return self.premium_partner is not None

    def providers(self) -> list[Provider]:
        seen: list[Provider] = []
        for p in [self.provider, *self.fallbacks, self.premium_partner]:
            if p is not None and all(p is not q for q in seen):
                seen.append(p)
        return seen

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate_loop is not loop:
            self._gate, self._gate_loop = asyncio.Semaphore(self.concurrency), loop
        return self._gate

    # ------------------------------------------------------------------ calls

    async def complete(
        self, request: LLMRequest, *, validate: Validator | None = None, provider: Provider | None = None
    ) -> LLMResponse:
        """The accepted reply to ``request``. ``validate`` may raise ``LLMError`` to reject a reply (it is
        then retried); ``provider`` pins the call to one provider (no fallback)."""
        route = [provider] if provider is not None else [self.provider, *self.fallbacks]
        for candidate in route:
            hit = self.cached_reply(request, candidate, validate)
            if hit is not None:
                return hit
        failures: list[str] = []
        for i, candidate in enumerate(route):
            fallback_from = label(route[0]) if i else None
            try:
                return await self._attempts(request, candidate, validate, fallback_from)
            except LLMError as exc:
                failures.append(str(exc))
        what = request.purpose + (f" for {request.piece_id}" if request.piece_id else "")
        tried = " → ".join(label(p) for p in route)
        raise LLMError(f"{what} failed on {tried}: " + " | ".join(failures), retryable=False)

    def cached_reply(
        self, request: LLMRequest, provider: Provider, validate: Validator | None
    ) -> LLMResponse | None:
        if self.cache is None or provider.is_offline:
            return None
        started = time.perf_counter()
        entry = self.cache.get(request.cache_key(provider.name, provider.model))
        if entry is None:
            return None
        response = entry.response()
        try:
            check_reply(request, response)
            if validate:
                validate(response)
        except LLMError:
            return None  # accepted under older rules, not these: generate afresh
        self._record(request, response, started, provider, cached=True)
        return response

    async def _attempts(
        self, request: LLMRequest, provider: Provider, validate: Validator | None, fallback_from: str | None
    ) -> LLMResponse:
        policy = self.retry
        current = request
        for attempt in range(1, policy.max_attempts + 1):
            failure: LLMError | None = None
            async with self._semaphore():
                started = time.perf_counter()
                ticket = object()
                self._in_flight[id(ticket)] = (provider, time.monotonic())
                self._last_provider = provider
                try:
                    response = await provider.complete(current)
                except LLMError as exc:
                    failure, response = exc, None
                finally:
                    del self._in_flight[id(ticket)]
            if failure is not None:
                delay = policy.delay(attempt, failure.retry_after) if failure.retryable else None
                note = f"; retrying in {delay:.2f}s" if delay is not None else ""
                self._record(
                    current,
                    None,
                    started,
                    provider,
                    status="error",
                    error=f"{failure}{note}",
                    attempt=attempt,
                    fallback_from=fallback_from,
                )
                if delay is None:
                    if failure.retryable:
                        raise LLMError(f"gave up after {attempt} attempt(s), last: {failure}")
                    raise failure
                await asyncio.sleep(delay)
                continue
            assert response is not None  # no failure: the provider returned a reply
            try:
                check_reply(current, response)
                if validate:
                    validate(response)
            except LLMError as problem:
                self._record(
                    current,
                    response,
                    started,
                    provider,
                    status="rejected",
                    error=str(problem),
                    attempt=attempt,
                    fallback_from=fallback_from,
                )
                if not problem.retryable or attempt >= policy.max_attempts:
                    raise LLMError(
                        f"{label(provider)}: unusable reply after {attempt} attempt(s): {problem}",
                        retryable=False,
                    ) from None
                current = retry_request(request, problem)
                continue
            record = self._record(
                current, response, started, provider, attempt=attempt, fallback_from=fallback_from
            )
            self._remember(request, provider, response, record)
            return response
        raise AssertionError("unreachable: the loop returns or raises")

    def _remember(self, request: LLMRequest, provider: Provider, response: LLMResponse, record: CallRecord):
        if self.cache is None or provider.is_offline:
            return
        self.cache.put(
            CacheEntry(
                cache_key=request.cache_key(provider.name, provider.model),
                provider=provider.name,
                model=provider.model,
                purpose=request.purpose,
                piece_id=request.piece_id,
                campaign_id=self.context.campaign_id,
                text=response.text,
                finish_reason=response.finish_reason,
                prompt_tokens=response.usage.prompt_tokens,
                completion_tokens=response.usage.completion_tokens,
                cached_tokens=response.usage.cached_tokens,
                cost_usd=record.cost_usd,
                source_call_id=record.call_id,
                created_at=record.called_at,
            )
        )

    def _record(
        self,
        request: LLMRequest,
        response: LLMResponse | None,
        started: float,
        provider: Provider | None = None,
        *,
        status: str = "ok",
        error: str | None = None,
        cached: bool = False,
        attempt: int = 1,
        fallback_from: str | None = None,
    ) -> CallRecord:
        provider = provider or self.provider
        usage = response.usage if response is not None and not cached else Usage(0, 0)
        record = CallRecord(
            call_id=uuid.uuid4().hex,
            campaign_id=self.context.campaign_id,
            asset=self.context.asset,
            purpose=request.purpose,
            piece_id=request.piece_id,
            provider=provider.name,
            model=provider.model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cached_tokens=usage.cached_tokens,
            tokens_estimated=usage.estimated,
            cost_usd=0.0 if cached or response is None else self.price(provider.name, provider.model, usage),
            cached=cached,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            status=status,
            error=error,
            strategy=self.context.strategy,
            run_id=self.context.run_id,
            called_at=dt.datetime.now(dt.UTC),
            attempt=attempt,
            fallback_from=fallback_from,
            cache_write_tokens=usage.cache_write_tokens,
        )
        self.journal.append(record)
        return record

    async def complete_many(self, requests: Sequence[LLMRequest]) -> list[LLMResponse]:
        """All requests (at most ``concurrency`` in flight); results in request order."""
        return list(await asyncio.gather(*(self.complete(r) for r in requests)))

    # ------------------------------------------------------------------ lifecycle

    def run(self, coro):
        """Run a coroutine from synchronous asset code within the step's deadline, logging progress while
        calls are outstanding (then close the providers' HTTP pools)."""

        if self._started is None:
            self._started = time.monotonic()

        async def main():
            watcher = asyncio.create_task(self._report_progress())
            task = asyncio.ensure_future(coro)
            try:
                remaining = self.remaining_s()
                done, _ = await asyncio.wait(
                    {task}, timeout=None if remaining is None else max(0.0, remaining)
                )
                if not done:
                    error = self._deadline_error()  # while the calls are still outstanding
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                    raise error
                return task.result()
            finally:
                watcher.cancel()
                await self.aclose()

        return asyncio.run(main())

    def remaining_s(self) -> float | None:
        if self.deadline_s is None:
            return None
        return self.deadline_s - self._llm_time()

    def _llm_time(self) -> float:
        """Seconds since the step's first LLM call (0 before it)."""
        return 0.0 if self._started is None else time.monotonic() - self._started

    def outstanding(self) -> list[tuple[Provider, float]]:
        """(provider, seconds waited) of the calls awaiting an answer, the longest wait first."""
        now = time.monotonic()
        return sorted(((p, now - t) for p, t in self._in_flight.values()), key=lambda x: -x[1])

    def _waiting_on(self) -> str:
        calls = self.outstanding()
        by: dict[str, int] = {}
        for provider, _ in calls:
            by[where(provider)] = by.get(where(provider), 0) + 1
        return ", ".join(f"{name} ({n} call{'s' if n > 1 else ''})" for name, n in by.items())

    def _deadline_error(self) -> StepDeadlineError:
        calls = self.outstanding()
        limit = f"{self.deadline_s:g} s (step deadline, SPLANTS_LLM_STEP_DEADLINE_S)"
        if calls:
            provider, _ = calls[0]
            tail = f"; calls outstanding: {self._waiting_on()}" if len(calls) > 1 else ""
            return StepDeadlineError(f"LLM provider {where(provider)} did not answer within {limit}{tail}")
        return StepDeadlineError(
            f"the step's LLM work did not finish within {limit}; last provider called: "
            f"{where(self._last_provider)}"
        )

    async def _report_progress(self) -> None:
        if self.log is None:
            return
        while True:
            await asyncio.sleep(self.progress_every_s)
            calls = self.outstanding()
            if not calls:
                continue
            oldest = calls[0][1]
            elapsed = self._llm_time()
            left = self.remaining_s()
            deadline = f"; step deadline in {max(0.0, left):.0f} s" if left is not None else ""
            line = (
                f"LLM: waiting on {self._waiting_on()}; oldest call {oldest:.0f} s, "
                f"step LLM time {elapsed:.0f} s{deadline}"
            )
            if oldest >= 2 * self.progress_every_s:
                self.log.warning(line)
            else:
                self.log.info(line)

    async def aclose(self) -> None:
        for provider in self.providers():
            closer = getattr(provider, "aclose", None)
            if closer is not None:
                await closer()

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()

    def totals(self) -> dict[str, float | int]:
        recs = self.records
        return {
            "calls": len(recs),
            "prompt_tokens": sum(r.prompt_tokens for r in recs),
            "completion_tokens": sum(r.completion_tokens for r in recs),
            "cached_tokens": sum(r.cached_tokens for r in recs),
            "cost_usd": round(sum(r.cost_usd for r in recs), 6),
            "cache_hits": sum(1 for r in recs if r.cached),
            "failed_attempts": sum(1 for r in recs if r.status != "ok"),
            "fallback_calls": sum(1 for r in recs if r.fallback_from),
        }
