"""The ``research_web`` resource: the HTTP client research sources are fetched with (docs/research.md)."""

from pathlib import Path
from typing import Any

import dagster as dg

from splants_dagster.research.analysis import SourceFetcher, http_client


class ResearchWebResource(dg.ConfigurableResource):
    """Reads the sources named in briefs: public http(s) URLs (plus hosts in SPLANTS_SOURCE_ALLOW) and
    files inside the data dir, under a byte cap and a deadline (docs/research.md)."""

    timeout_s: float = 15.0

    def client(self) -> SourceFetcher:
        return http_client(self.timeout_s)


def build_resources(data_dir: str | Path | None = None) -> dict[str, Any]:
    """``data_dir`` is unused: local sources are read through the ``project`` resource's data dir."""
    return {"research_web": ResearchWebResource()}


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
