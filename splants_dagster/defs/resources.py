"""The resources every domain shares, built once under stable keys.

- ``project``: the marketer's inputs under the data dir (briefs, brand profile, source files).
- ``warehouse``: the DuckDB warehouse and the analysts' snapshot (see ``warehouse/store.py``).
- ``llm``: the LLM provider (offline by default; real providers switch on by configuration).

Resources only one domain uses live in that folder's ``defs/<domain>/resources.py``. Every such module,
this one included, has ``build_resources(data_dir)`` (tests and the CLI build them for a data dir, see
``splants_dagster.definitions.build_all_resources``) and a ``@dg.definitions`` function that
``load_from_defs_folder`` picks up.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from splants_dagster.llm.base import Provider
from splants_dagster.llm.client import CallContext, LLMClient, StepDeadlineError
from splants_dagster.llm.pricing import DEFAULT_STRATEGY, ModelsConfig, ModelsConfigError
from splants_dagster.llm.retry import RetryPolicy
from splants_dagster.llm.routing import LLMConfigError, LLMRouter
from splants_dagster.llm.session import CallPolicy, step_client
from splants_dagster.paths import DataPaths, default_data_dir
from splants_dagster.warehouse.store import Warehouse

if TYPE_CHECKING:
    from splants_dagster.llm.batch import AnthropicBatchAPI, OpenAIBatchAPI

# what the LLM code raises for a configuration or a deadline: an expected failure, shown as its message
LLM_FAILURES = (LLMConfigError, ModelsConfigError, StepDeadlineError)


@contextmanager
def llm_failures() -> Iterator[None]:
    """Turns the LLM code's expected errors into a step failure with the same message (no stack trace)."""
    try:
        yield
    except LLM_FAILURES as exc:
        raise dg.Failure(description=str(exc)) from None


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

    def router(self) -> LLMRouter:
        """The routing settings with every secret resolved (see ``llm/routing.py``)."""
        return LLMRouter(
            provider=self.provider,
            openai_api_key=self._value(self.openai_api_key),
            anthropic_api_key=self._value(self.anthropic_api_key),
            compatible_api_key=self._value(self.compatible_api_key),
            base_url=self._value(self.base_url),
            model=self._value(self.model),
            openai_base_url=self._value(self.openai_base_url),
            anthropic_base_url=self._value(self.anthropic_base_url),
            strategy=self.strategy,
            timeout_s=self.timeout_s,
            fallback=self.fallback,
            premium=self.premium,
            models_file=self.models_file,
        )

    def policy(self) -> CallPolicy:
        return CallPolicy(
            concurrency=self.concurrency,
            retry=RetryPolicy(
                max_attempts=self.max_attempts,
                base_delay_s=self.backoff_base_s,
                max_delay_s=self.backoff_max_s,
                max_retry_after_s=self.max_retry_after_s,
            ),
            cache=self.cache,
            force_refresh=self.force_refresh,
            deadline_s=self.step_deadline_s or None,
            progress_every_s=self.progress_every_s,
        )

    def models(self, data_dir: str | None = None) -> ModelsConfig:
        with llm_failures():
            return self.router().models(data_dir)

    def configured(self) -> list[str]:
        """The providers with credentials, in the order ``auto`` prefers them."""
        return self.router().configured()

    def plan(
        self, strategy: str | None = None, data_dir: str | None = None
    ) -> tuple[Provider, list[Provider], Provider | None]:
        """(primary provider, fallbacks in order, premium partner or None) for ``strategy``."""
        with llm_failures():
            return self.router().plan(strategy, data_dir)

    def provider_impl(self, strategy: str | None = None) -> Provider:
        return self.plan(strategy)[0]

    def label(self, strategy: str | None = None, premium: bool | None = None) -> str:
        """What generates the text, for asset metadata and the UI (never a key). ``premium=False``: premium
        mode paused (see :meth:`client`)."""
        with llm_failures():
            return self.router().label(strategy, premium)

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
    ) -> Iterator[LLMClient]:
        """An :class:`LLMClient` for one step; ``strategy`` (economy | balanced | quality) picks the models
        and lands on every ledger row. Cost control (docs/costs.md): ``premium=False`` pauses premium
        multi-model mode; ``spend_limit_usd`` refuses further calls once the step has spent that much; in
        economy a reply a higher tier already paid for is reused from the response cache."""
        context = CallContext(
            campaign_id=campaign_id, asset=asset, run_id=run_id, strategy=strategy or self.strategy
        )
        with (
            llm_failures(),
            step_client(
                self.router(),
                self.policy(),
                warehouse.data_dir,
                warehouse.store,
                context,
                premium=premium,
                spend_limit_usd=spend_limit_usd,
                # captured into the run's event log inside a step; plain Python logging elsewhere
                log=dg.get_dagster_logger(),
            ) as client,
        ):
            yield client

    def batch_api(self, provider: str, timeout_s: float = 60.0) -> "OpenAIBatchAPI | AnthropicBatchAPI":
        """The batch API of ``provider`` (openai | anthropic) with this resource's key and endpoint."""
        with llm_failures():
            return self.router().batch_api(provider, timeout_s)


def build_resources(data_dir: str | Path | None = None) -> dict[str, Any]:
    root = str(Path(data_dir).resolve()) if data_dir else str(default_data_dir())
    return {
        "project": ProjectResource(data_dir=root),
        "warehouse": WarehouseResource(data_dir=root),
        "llm": LLMResource.from_env(),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
