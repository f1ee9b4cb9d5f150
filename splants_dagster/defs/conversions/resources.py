"""The ``conversions`` resource: the settings of conversion imports and goal monitoring.

``off_pace_margin`` comes from ``SPLANTS_GOAL_OFF_PACE_MARGIN`` (validated in ``settings.py``). Alerts go
through the shared ``alerts`` resource (``defs/alerts/resources.py``).
"""

from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from splants_dagster import settings


class ConversionsResource(dg.ConfigurableResource):
    """How conversion imports and goal progress are judged."""

    off_pace_margin: float = Field(
        default=0.2,
        description="from the goal window's halfway point, pace below 1 - margin is alerted once "
        "(SPLANTS_GOAL_OFF_PACE_MARGIN)",
    )


def build_resources(data_dir: str | Path | None = None) -> dict[str, Any]:
    """``data_dir`` is unused: the inbox and warehouse come from the core ``project``/``warehouse`` resources."""
    return {
        "conversions": ConversionsResource(off_pace_margin=settings.value("SPLANTS_GOAL_OFF_PACE_MARGIN"))
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
