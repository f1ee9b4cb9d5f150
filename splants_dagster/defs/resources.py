"""Every resource of the project, built once under stable keys.

Core resources are built here. A domain with resources of its own puts them in
``defs/<domain>/resources.py`` with a ``build_resources(data_dir) -> dict`` function, which
:func:`build_all_resources` discovers; tests and the CLI use that too, so they see what the UI sees.

- ``project``: the marketer's inputs under the data dir (briefs, brand profile, source files).
- ``warehouse``: the DuckDB warehouse and the analysts' snapshot (see ``warehouse/store.py``).
- ``research_web``: the HTTP client research sources are fetched with.
- ``llm``: the LLM provider (offline by default; real providers switch on by configuration).
"""

import os
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from splants_dagster import settings as splants_settings
from splants_dagster.campaigns.briefs import (
    BrandProfile,
    CampaignBrief,
    ScannedBrief,
    find_brief,
    load_brand,
    scan_briefs,
)
from splants_dagster.costs.guard import CacheAlias, CacheFirstClient, SpendGuard
from splants_dagster.llm.anthropic_provider import AnthropicProvider
from splants_dagster.llm.base import Provider
from splants_dagster.llm.batch import AnthropicBatchAPI, OpenAIBatchAPI
from splants_dagster.llm.cache import ResponseCache, SnapshotLookup
from splants_dagster.llm.client import CallContext, LLMClient, StepDeadlineError
from splants_dagster.llm.journal import CallJournal
from splants_dagster.llm.offline import OfflineProvider
from splants_dagster.llm.openai_provider import OpenAIProvider
from splants_dagster.llm.pricing import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    ModelsConfig,
    ModelsConfigError,
    load_models,
    models_file,
)
from splants_dagster.llm.retry import RetryPolicy
from splants_dagster.paths import DataPaths, default_data_dir
from splants_dagster.research.analysis import SourceFetcher, http_client
from splants_dagster.warehouse.store import Warehouse


class ProjectResource(dg.ConfigurableResource):
    """The inputs people edit: ``campaigns/*.yaml``, ``brand.yaml`` and local source files."""

    data_dir: str = Field(description="the SPLANTS data directory (SPLANTS_DATA_DIR)")

    @property
    def paths(self) -> DataPaths:
        return DataPaths.at(self.data_dir)

    def brand(self) -> BrandProfile:
        return load_brand(self.paths.brand_file)

    def brief(self, campaign_id: str) -> tuple[Path, CampaignBrief, str]:
        return find_brief(self.paths.campaigns_dir, campaign_id)

    def scan(self) -> list[ScannedBrief]:
        return scan_briefs(self.paths.campaigns_dir)


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse (one writer at a time) and the read-only ``analytics.duckdb`` snapshot."""

    data_dir: str
    lock_timeout_s: float = Field(default=900.0, description="how long a writer waits for the write lock")

    def store(self) -> Warehouse:
        @contextmanager
        def connect(database: str):
            # dagster-duckdb's resource retries the connect while another process releases the file
            with DuckDBResource(database=database).get_connection() as conn:
                yield conn

        return Warehouse(DataPaths.at(self.data_dir), connect=connect, lock_timeout_s=self.lock_timeout_s)


class ResearchWebResource(dg.ConfigurableResource):
    """Reads the sources named in briefs: public http(s) URLs (plus hosts in SPLANTS_SOURCE_ALLOW) and
    files inside the data dir, under a byte cap and a deadline (docs/research.md)."""

    timeout_s: float = 15.0

    def client(self) -> SourceFetcher:
        return http_client(self.timeout_s)


class LLMResource(dg.ConfigurableResource):
    """Chooses the LLM providers, models and the call policy (cache, retries, fallback, premium mode).

    Providers switch on by configuration: ``openai_api_key`` (OPENAI_API_KEY), ``anthropic_api_key``
    (ANTHROPIC_API_KEY) and ``base_url`` + ``model`` (SPLANTS_LLM_BASE_URL, SPLANTS_LLM_MODEL: any
    OpenAI-compatible server). With none configured it is the offline writer, and ``label()`` says so.
    Models per strategy and their prices come from ``models.yaml``. See docs/llm.md.
    """

    provider: str = Field(
        default="auto",
        description="auto | offline | openai | anthropic | openai_compatible (auto: the first configured "
        "of openai_compatible, openai, anthropic; the others become fallbacks)",
    )
    openai_api_key: str | None = Field(default=None, description="OpenAI API key (env OPENAI_API_KEY)")
    anthropic_api_key: str | None = Field(
        default=None, description="Anthropic API key (env ANTHROPIC_API_KEY)"
    )
    base_url: str | None = Field(
        default=None,
        description="an OpenAI-compatible server (env SPLANTS_LLM_BASE_URL), e.g. http://127.0.0.1:11434/v1",
    )
    model: str | None = Field(
        default=None, description="the compatible server's model (env SPLANTS_LLM_MODEL)"
    )
    compatible_api_key: str | None = Field(
        default=None,
        description="API key of the compatible server, if it needs one (env SPLANTS_LLM_API_KEY)",
    )
    openai_base_url: str | None = Field(default=None, description="OpenAI endpoint override (proxies, tests)")
    anthropic_base_url: str | None = Field(
        default=None, description="Anthropic endpoint override (proxies, tests)"
    )
    strategy: str = Field(
        default=DEFAULT_STRATEGY, description="economy | balanced | quality, when the asset names none"
    )
    concurrency: int = Field(default=4, ge=1, le=64, description="LLM calls in flight per step")
    max_attempts: int = Field(default=4, ge=1, le=10, description="tries per request and provider")
    backoff_base_s: float = Field(default=1.0, ge=0, description="first retry delay (doubles each retry)")
    backoff_max_s: float = Field(default=30.0, ge=0, description="longest retry delay")
    max_retry_after_s: float = Field(
        default=60.0, ge=0, description="a longer Retry-After moves on to the fallback instead of waiting"
    )
    timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="per-request timeout (env SPLANTS_LLM_TIMEOUT_S); connect: at most 10 s",
    )
    step_deadline_s: float = Field(
        default=900.0,
        ge=0,
        description="all the LLM work of one step must finish within this, retries and fallbacks included; "
        "0: none (env SPLANTS_LLM_STEP_DEADLINE_S)",
    )
    progress_every_s: float = Field(
        default=15.0,
        gt=0,
        description="a progress line in the run log this often while calls are outstanding "
        "(env SPLANTS_LLM_PROGRESS_S)",
    )
    fallback: bool = Field(default=True, description="try the other configured providers when one fails")
    premium: bool = Field(
        default=True,
        description="with OpenAI and Anthropic both configured and strategy quality: draft twice, merge",
    )
    cache: bool = Field(
        default=True, description="serve unchanged requests from the warehouse response cache"
    )
    force_refresh: bool = Field(
        default=False,
        description="ignore cached replies and generate afresh (env SPLANTS_LLM_FORCE_REFRESH=1)",
    )
    models_file: str | None = Field(
        default=None, description="models.yaml to use (default: the data dir's, else the repository's)"
    )

    @classmethod
    def from_env(cls, **overrides) -> "LLMResource":
        """Secrets as ``dg.EnvVar`` (resolved at run time, never stored in config); an unset variable
        leaves its provider off. ``overrides`` set other fields."""
        settings: dict = {}
        for field, env in (
            ("openai_api_key", "OPENAI_API_KEY"),
            ("anthropic_api_key", "ANTHROPIC_API_KEY"),
            ("compatible_api_key", "SPLANTS_LLM_API_KEY"),
            ("base_url", "SPLANTS_LLM_BASE_URL"),
            ("model", "SPLANTS_LLM_MODEL"),
        ):
            if os.environ.get(env, "").strip():
                settings[field] = dg.EnvVar(env)
        for field, env in (
            ("provider", "SPLANTS_LLM_PROVIDER"),
            ("strategy", "SPLANTS_LLM_STRATEGY"),
            ("concurrency", "SPLANTS_LLM_CONCURRENCY"),
            ("timeout_s", "SPLANTS_LLM_TIMEOUT_S"),
            ("step_deadline_s", "SPLANTS_LLM_STEP_DEADLINE_S"),
            ("progress_every_s", "SPLANTS_LLM_PROGRESS_S"),
            ("force_refresh", "SPLANTS_LLM_FORCE_REFRESH"),
        ):
            if splants_settings.is_set(env):
                settings[field] = splants_settings.value(env)  # SettingsError naming the variable
        return cls(**(settings | overrides))

    # ---------------------------------------------------------------- configuration

    @staticmethod
    def _value(value: str | None) -> str | None:
        # outside a run (CLI, tests) an EnvVar field is still the variable's name: read it
        if isinstance(value, dg.EnvVar):
            value = value.get_value()
        return value.strip() if isinstance(value, str) and value.strip() else None

    def models(self, data_dir: str | None = None) -> ModelsConfig:
        path = Path(self.models_file) if self.models_file else models_file(data_dir or default_data_dir())
        try:
            return load_models(path)
        except ModelsConfigError as exc:
            raise dg.Failure(str(exc)) from None

    def configured(self) -> list[str]:
        """The providers with credentials, in the order ``auto`` prefers them."""
        found = []
        if self._value(self.base_url):
            found.append("openai_compatible")
        if self._value(self.openai_api_key):
            found.append("openai")
        if self._value(self.anthropic_api_key):
            found.append("anthropic")
        return found

    def _make(self, name: str, strategy: str, models: ModelsConfig) -> Provider:
        try:
            if name == "openai_compatible":
                model = models.model_for(name, strategy, default=self._value(self.model))
            else:
                model = models.model_for(name, strategy)
        except ModelsConfigError as exc:
            hint = " (set SPLANTS_LLM_MODEL)" if name == "openai_compatible" else ""
            raise dg.Failure(f"{exc}{hint}") from None
        price = models.price_of(model)
        if name != "openai_compatible" and price is None:
            raise dg.Failure(f"models.yaml has no prices for {name} model {model!r}: add it under 'models'")
        temperature = price.temperature if price else True
        if name == "anthropic":
            return AnthropicProvider(
                model=model,
                api_key=self._value(self.anthropic_api_key) or "",
                base_url=self._value(self.anthropic_base_url),
                timeout_s=self.timeout_s,
            )
        if name == "openai":
            return OpenAIProvider(
                model=model,
                api_key=self._value(self.openai_api_key) or "",
                base_url=self._value(self.openai_base_url),
                timeout_s=self.timeout_s,
                temperature=temperature,
            )
        return OpenAIProvider(
            name="openai_compatible",
            model=model,
            api_key=self._value(self.compatible_api_key) or "not-needed",
            base_url=self._value(self.base_url),
            timeout_s=self.timeout_s,
            json_mode=models.provider(name).json_mode,
            temperature=temperature,
        )

    def plan(
        self, strategy: str | None = None, data_dir: str | None = None
    ) -> tuple[Provider, list[Provider], Provider | None]:
        """(primary provider, fallbacks in order, premium partner or None) for ``strategy``."""
        strategy = strategy or self.strategy
        if strategy not in STRATEGIES:
            raise dg.Failure(f"LLM strategy {strategy!r}: must be one of {', '.join(STRATEGIES)}")
        choices = ("auto", "offline", "openai", "anthropic", "openai_compatible")
        if self.provider not in choices:
            raise dg.Failure(f"llm.provider = {self.provider!r}: must be one of {', '.join(choices)}")
        configured = self.configured()
        if self.provider == "offline" or (self.provider == "auto" and not configured):
            return OfflineProvider(), [], None
        if self.provider != "auto" and self.provider not in configured:
            needs = {
                "openai": "OPENAI_API_KEY",
                "anthropic": "ANTHROPIC_API_KEY",
                "openai_compatible": "SPLANTS_LLM_BASE_URL",
            }
            raise dg.Failure(f"llm.provider = {self.provider!r} but {needs[self.provider]} is not set")
        order = (
            configured
            if self.provider == "auto"
            else [self.provider] + [p for p in configured if p != self.provider]
        )
        premium = self.premium and strategy == "quality" and {"openai", "anthropic"} <= set(configured)
        if premium:
            # the two drafters first (the primary, openai unless chosen otherwise, also merges)
            pair = [p for p in order if p in ("openai", "anthropic")]
            order = pair + [p for p in order if p not in pair]
        models = self.models(data_dir)
        providers = [self._make(name, strategy, models) for name in order]
        partner = providers[1] if premium else None
        return providers[0], providers[1:] if self.fallback else [], partner

    def provider_impl(self, strategy: str | None = None) -> Provider:
        return self.plan(strategy)[0]

    def label(self, strategy: str | None = None, premium: bool | None = None) -> str:
        """What generates the text, for asset metadata and the UI (never a key). ``premium=False``: premium
        mode paused (see :meth:`client`)."""
        strategy = strategy or self.strategy
        primary, fallbacks, partner = self.plan(strategy)
        if premium is False:
            partner = None
        if primary.is_offline:
            return "offline (no LLM API key configured: deterministic template writer, not a language model)"
        parts = [f"{primary.name}/{primary.model} (strategy {strategy})"]
        if partner is not None:
            parts.append(
                f"premium: {primary.name}/{primary.model} and {partner.name}/{partner.model} draft, "
                f"{primary.name} merges"
            )
        if fallbacks:
            parts.append("fallback: " + ", ".join(f"{p.name}/{p.model}" for p in fallbacks))
        return "; ".join(parts)

    @contextmanager
    def client(
        self,
        warehouse: WarehouseResource,
        campaign_id: str | None,
        asset: str,
        run_id: str | None,
        strategy: str | None = None,
        premium: bool | None = None,
        spend_limit_usd: float | None = None,
    ):
        """An :class:`LLMClient` for one step; ``strategy`` (economy | balanced | quality) picks the models
        and lands on every ledger row. Cost control (docs/costs.md): ``premium=False`` pauses premium
        multi-model mode; ``spend_limit_usd`` refuses further calls once the step has spent that much; in
        economy a reply a higher tier already paid for is reused from the response cache."""
        strategy = strategy or self.strategy
        primary, fallbacks, partner = self.plan(strategy, warehouse.data_dir)
        if premium is False:
            partner = None
        paths = DataPaths.at(warehouse.data_dir)
        models = self.models(warehouse.data_dir)
        cache = None
        if self.cache and not primary.is_offline:
            cache = ResponseCache(
                paths.journal_dir, SnapshotLookup(warehouse.store()), read=not self.force_refresh
            )
        with CallJournal(paths.journal_dir) as journal:
            if spend_limit_usd is not None:
                guard = SpendGuard(spend_limit_usd, journal)
                wrapped: dict[int, Provider] = {}  # the premium partner is also the first fallback: wrap once

                def wrap(p: Provider | None) -> Provider | None:
                    return None if p is None else wrapped.setdefault(id(p), guard.wrap(p))

                primary, partner = wrap(primary), wrap(partner)
                fallbacks = [wrap(p) for p in fallbacks]
            economy = strategy == "economy" and cache is not None
            client = (CacheFirstClient if economy else LLMClient)(
                primary,
                journal,
                CallContext(campaign_id=campaign_id, asset=asset, run_id=run_id, strategy=strategy),
                price=models.cost,
                concurrency=self.concurrency,
                fallbacks=fallbacks,
                retry=RetryPolicy(
                    max_attempts=self.max_attempts,
                    base_delay_s=self.backoff_base_s,
                    max_delay_s=self.backoff_max_s,
                    max_retry_after_s=self.max_retry_after_s,
                ),
                cache=cache,
                premium_partner=partner,
                deadline_s=self.step_deadline_s or None,
                progress_every_s=self.progress_every_s,
                # captured into the run's event log inside a step; plain Python logging elsewhere
                log=dg.get_dagster_logger(),
                **({"alternates": self._higher_tiers(primary, models)} if economy else {}),
            )
            try:
                yield client
            except StepDeadlineError as exc:  # an expected failure: its message, without a stack trace
                raise dg.Failure(description=str(exc)) from None
            finally:
                client.close()

    def _higher_tiers(self, primary: Provider, models: ModelsConfig) -> list[CacheAlias]:
        """The primary provider's quality and balanced models, whose cached replies economy may reuse."""
        found = []
        for tier in ("quality", "balanced"):
            model = models.provider(primary.name).strategies.get(tier)
            if model and model != primary.model and all(a.model != model for a in found):
                found.append(CacheAlias(primary.name, model))
        return found

    def batch_api(self, provider: str, timeout_s: float = 60.0) -> OpenAIBatchAPI | AnthropicBatchAPI:
        """The batch API of ``provider`` (openai | anthropic) with this resource's key and endpoint."""
        if provider == "openai" and self._value(self.openai_api_key):
            return OpenAIBatchAPI(
                api_key=self._value(self.openai_api_key) or "",
                base_url=self._value(self.openai_base_url),
                timeout_s=min(self.timeout_s, timeout_s),
            )
        if provider == "anthropic" and self._value(self.anthropic_api_key):
            return AnthropicBatchAPI(
                api_key=self._value(self.anthropic_api_key) or "",
                base_url=self._value(self.anthropic_base_url),
                timeout_s=min(self.timeout_s, timeout_s),
            )
        raise dg.Failure(f"no batch API for LLM provider {provider!r} (configured: {self.configured()})")


def build_resources(data_dir: str | Path | None = None) -> dict[str, dg.ConfigurableResource]:
    root = str(Path(data_dir).resolve()) if data_dir else str(default_data_dir())
    return {
        "project": ProjectResource(data_dir=root),
        "warehouse": WarehouseResource(data_dir=root),
        "research_web": ResearchWebResource(),
        "llm": LLMResource.from_env(),
    }


def build_all_resources(data_dir: str | Path | None = None) -> dict[str, dg.ConfigurableResource]:
    import importlib
    import pkgutil

    import splants_dagster.defs as defs_pkg

    resources = build_resources(data_dir)
    for info in sorted(pkgutil.iter_modules(defs_pkg.__path__), key=lambda m: m.name):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(f"{defs_pkg.__name__}.{info.name}.resources")
        except ModuleNotFoundError as exc:
            if exc.name == f"{defs_pkg.__name__}.{info.name}.resources":
                continue
            raise
        for key, resource in module.build_resources(data_dir).items():
            if key in resources:
                raise ValueError(f"resource key {key!r} is built twice ({info.name})")
            resources[key] = resource
    return resources


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_all_resources())
