"""One step's LLM client: the router's providers, the call journal, the response cache and the step's
spending controls, put together (docs/llm.md, docs/costs.md).

:func:`step_client` is what the ``llm`` resource's ``client(...)`` runs; it is pure Python, so a
:class:`~splants_dagster.llm.client.StepDeadlineError` or a configuration error reaches the caller as
itself, and the resource turns it into a step failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from splants_dagster.costs.guard import CacheAlias, CacheFirstClient, SpendGuard
from splants_dagster.llm.base import Provider
from splants_dagster.llm.cache import ResponseCache, SnapshotLookup
from splants_dagster.llm.client import CallContext, LLMClient
from splants_dagster.llm.journal import CallJournal
from splants_dagster.llm.pricing import ModelsConfig
from splants_dagster.llm.retry import RetryPolicy
from splants_dagster.llm.routing import LLMRouter
from splants_dagster.paths import DataPaths
from splants_dagster.warehouse.store import Warehouse


@dataclass(frozen=True)
class CallPolicy:
    """How a step's calls run: concurrency, retries, cache and deadline."""

    concurrency: int = 4
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    cache: bool = True
    force_refresh: bool = False
    deadline_s: float | None = None
    progress_every_s: float = 15.0


def higher_tiers(primary: Provider, models: ModelsConfig) -> list[CacheAlias]:
    """The primary provider's quality and balanced models, whose cached replies economy may reuse."""
    found: list[CacheAlias] = []
    for tier in ("quality", "balanced"):
        model = models.provider(primary.name).strategies.get(tier)
        if model and model != primary.model and all(a.model != model for a in found):
            found.append(CacheAlias(primary.name, model))
    return found


@contextmanager
def step_client(
    router: LLMRouter,
    policy: CallPolicy,
    data_dir: str | Path,
    store: Callable[[], Warehouse],
    context: CallContext,
    premium: bool | None = None,
    spend_limit_usd: float | None = None,
    log: logging.Logger | None = None,
) -> Iterator[LLMClient]:
    """An :class:`LLMClient` for one step; ``context.strategy`` (economy | balanced | quality) picks the
    models and lands on every ledger row. ``premium=False`` pauses premium multi-model mode;
    ``spend_limit_usd`` refuses further calls once the step has spent that much; in economy a reply a
    higher tier already paid for is reused from the response cache. ``store`` is only called when the
    response cache is read."""
    if context.strategy is None:
        context = replace(context, strategy=router.strategy)
    strategy = context.strategy
    primary, fallbacks, partner = router.plan(strategy, data_dir)
    if premium is False:
        partner = None
    paths = DataPaths.at(data_dir)
    models = router.models(data_dir)
    cache = None
    if policy.cache and not primary.is_offline:
        cache = ResponseCache(paths.journal_dir, SnapshotLookup(store()), read=not policy.force_refresh)
    with CallJournal(paths.journal_dir) as journal:
        if spend_limit_usd is not None:
            guard = SpendGuard(spend_limit_usd, journal)
            wrapped: dict[int, Provider] = {}  # the premium partner is also the first fallback: wrap once

            def wrap(p: Provider) -> Provider:
                return wrapped.setdefault(id(p), guard.wrap(p))

            primary = wrap(primary)
            partner = None if partner is None else wrap(partner)
            fallbacks = [wrap(p) for p in fallbacks]
        economy = strategy == "economy" and cache is not None
        client = (CacheFirstClient if economy else LLMClient)(
            primary,
            journal,
            context,
            price=models.cost,
            concurrency=policy.concurrency,
            fallbacks=fallbacks,
            retry=policy.retry,
            cache=cache,
            premium_partner=partner,
            deadline_s=policy.deadline_s,
            progress_every_s=policy.progress_every_s,
            log=log,
            **({"alternates": higher_tiers(primary, models)} if economy else {}),
        )
        try:
            yield client
        finally:
            client.close()
