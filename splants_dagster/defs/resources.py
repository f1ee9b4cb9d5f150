"""Every resource of the project, built once under stable keys.

Core resources are built here. A domain with resources of its own puts them in
``defs/<domain>/resources.py`` with a ``build_resources(data_dir) -> dict`` function, which
:func:`build_all_resources` discovers; tests and the CLI use that too, so they see what the UI sees.

- ``project``: the marketer's inputs under the data dir (briefs, brand profile, source files).
- ``warehouse``: the DuckDB warehouse and the analysts' snapshot (see ``warehouse/store.py``).
- ``research_web``: the HTTP client research sources are fetched with.
- ``llm``: the LLM provider (offline by default; real providers switch on by configuration).
"""

from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import httpx
from dagster_duckdb import DuckDBResource
from pydantic import Field

from splants_dagster.briefs import (
    BrandProfile,
    CampaignBrief,
    ScannedBrief,
    find_brief,
    load_brand,
    scan_briefs,
)
from splants_dagster.llm.base import Provider
from splants_dagster.llm.client import CallContext, LLMClient
from splants_dagster.llm.journal import CallJournal
from splants_dagster.llm.offline import OfflineProvider
from splants_dagster.paths import DataPaths, default_data_dir
from splants_dagster.research import http_client
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
    """Fetches competitor URLs named in briefs."""

    timeout_s: float = 15.0

    def client(self) -> httpx.Client:
        return http_client(self.timeout_s)


class LLMResource(dg.ConfigurableResource):
    """Chooses the LLM provider. With no API key configured it is the offline provider, and says so."""

    provider: str = Field(default="auto", description="auto | offline")
    concurrency: int = Field(default=4, ge=1, le=64, description="LLM calls in flight per step")

    def provider_impl(self) -> Provider:
        if self.provider not in ("auto", "offline"):
            raise dg.Failure(f"llm.provider = {self.provider!r}: must be one of auto, offline")
        return OfflineProvider()

    def label(self) -> str:
        impl = self.provider_impl()
        if impl.is_offline:
            return "offline (no LLM API key configured: deterministic template writer, not a language model)"
        return f"{impl.name}/{impl.model}"

    @contextmanager
    def client(self, warehouse: WarehouseResource, campaign_id: str | None, asset: str, run_id: str | None):
        paths = DataPaths.at(warehouse.data_dir)
        with CallJournal(paths.journal_dir) as journal:
            yield LLMClient(
                self.provider_impl(),
                journal,
                CallContext(campaign_id=campaign_id, asset=asset, run_id=run_id),
                concurrency=self.concurrency,
            )


def build_resources(data_dir: str | Path | None = None) -> dict[str, dg.ConfigurableResource]:
    root = str(Path(data_dir).resolve()) if data_dir else str(default_data_dir())
    return {
        "project": ProjectResource(data_dir=root),
        "warehouse": WarehouseResource(data_dir=root),
        "research_web": ResearchWebResource(),
        "llm": LLMResource(),
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
