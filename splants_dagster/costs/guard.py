"""Spending controls inside a generation step.

- :class:`SpendGuard` wraps the step's providers: before every billed call it compares what the step has
  spent (its own ledger records) with what was left of the budget when the step started, and refuses the
  call once that is used up. The piece fails, so the suite step fails and writes nothing: no half-written
  campaign. Calls already in flight when the limit is reached still complete (at most ``concurrency``).
- :class:`CacheFirstClient` (economy): before paying for the economy model, reuse an accepted reply that a
  higher tier already paid for, from the response cache (a ledger row ``cached = true`` at zero cost).
- :class:`PausedVariants`: hands A/B variant requests back unanswered while non-critical generation is
  paused, so QA keeps its stored variants and simply makes no new ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from splants_dagster.llm.base import LLMError, LLMRequest, LLMResponse, Provider
from splants_dagster.llm.client import LLMClient, Validator
from splants_dagster.llm.journal import CallJournal


class BudgetExhausted(LLMError):
    pass


class SpendGuard:
    def __init__(self, limit_usd: float, journal: CallJournal, describe: str = "budget"):
        self.limit_usd = limit_usd
        self.journal = journal
        self.describe = describe

    def spent(self) -> float:
        return sum(r.cost_usd for r in self.journal.records)

    def check(self) -> None:
        spent = self.spent()
        if spent >= self.limit_usd:
            raise BudgetExhausted(
                f"{self.describe} exhausted during this step (${spent:.4f} spent of the ${self.limit_usd:.4f} "
                "that was left): no further LLM calls",
                retryable=False,
            )

    def wrap(self, provider: Provider | None) -> Any:
        if provider is None or provider.is_offline:
            return provider
        return GuardedProvider(provider, self.check)


class GuardedProvider:
    """``provider`` with a check before every call; everything else passes through."""

    def __init__(self, inner: Provider, check: Callable[[], None]):
        self._inner = inner
        self._check = check
        self.name = inner.name
        self.model = inner.model
        self.is_offline = inner.is_offline

    def __getattr__(self, item: str) -> Any:
        return getattr(self._inner, item)

    def __repr__(self) -> str:
        return f"Guarded({self._inner!r})"

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self._check()
        return await self._inner.complete(request)

    async def aclose(self) -> None:
        closer = getattr(self._inner, "aclose", None)
        if closer is not None:
            await closer()


class CacheAlias:
    """A (provider, model) whose cached replies may be reused; it never calls anything."""

    is_offline = False

    def __init__(self, name: str, model: str):
        self.name = name
        self.model = model

    async def complete(self, request: LLMRequest) -> LLMResponse:
        raise LLMError(f"{self.name}/{self.model} is only consulted in the response cache")


class CacheFirstClient(LLMClient):
    """An LLM client that first looks for a reply to the same request by the ``alternates`` (the higher
    tiers' models) in the response cache; a hit costs nothing and is recorded as such."""

    def __init__(self, *args: Any, alternates: Sequence[CacheAlias] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.alternates = list(alternates)

    async def complete(
        self, request: LLMRequest, *, validate: Validator | None = None, provider: Provider | None = None
    ) -> LLMResponse:
        if provider is None:
            for alias in self.alternates:
                hit = self.cached_reply(request, alias, validate)
                if hit is not None:
                    return hit
        return await super().complete(request, validate=validate, provider=provider)


class PausedVariants:
    """Stands in for the LLM client QA makes A/B variants with while non-critical generation is paused."""

    def __init__(self, reason: str):
        self.reason = reason

    async def complete(self, request: LLMRequest, **_: Any) -> LLMResponse:
        raise LLMError(f"A/B variants paused: {self.reason}")
