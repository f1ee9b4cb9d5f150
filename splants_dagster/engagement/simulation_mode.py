"""When the demo engagement simulator runs (``auto``/``on``/``off``), its seed and the ``--clear`` marker.

Kept apart from ``simulator.py`` (which needs numpy) so the engagement resources can decide without
importing it: the code location loads this module on every run worker and sensor tick.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEFAULT_SEED = 20261207

MODES = ("auto", "on", "off")
MARKER_NAME = "engagement_simulator.json"  # under the warehouse dir: written by `simulate --clear`

# real engagement exists: a non-simulated metrics row or post, or an imported file with loaded rows
REAL_ENGAGEMENT_SQL = """
SELECT (EXISTS (SELECT 1 FROM engagement_metrics WHERE NOT coalesce(is_demo, false))
        OR EXISTS (SELECT 1 FROM engagement_posts WHERE NOT coalesce(is_demo, false))
        OR EXISTS (SELECT 1 FROM engagement_file_loads WHERE coalesce(rows_loaded, 0) > 0)) AS real
"""


def marker_path(warehouse_dir: Path) -> Path:
    return Path(warehouse_dir) / MARKER_NAME


def read_marker(warehouse_dir: Path) -> dict[str, Any] | None:
    path = marker_path(warehouse_dir)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_marker(warehouse_dir: Path, body: dict[str, Any]) -> Path:
    path = marker_path(warehouse_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(body, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)
    return path


def should_simulate(mode: str, real_engagement: bool, cleared: bool) -> tuple[bool, str]:
    """Whether the simulator adds demo engagement, and why (for metadata and sensor skip reasons).

    ``auto`` (default): only on a fresh install, i.e. while no real engagement exists and the demo
    history was never cleared with ``splants engagement simulate --clear``; ``on``: always (a demo
    machine); ``off``: never."""
    if mode not in MODES:
        raise ValueError(f"simulator mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "off":
        return False, "off (SPLANTS_SIMULATE_ENGAGEMENT=off)"
    if mode == "on":
        return True, "on (SPLANTS_SIMULATE_ENGAGEMENT=on; demo data, is_demo = true)"
    if real_engagement:
        return False, "off (auto: real engagement exists; demo history is kept until `simulate --clear`)"
    if cleared:
        return False, "off (auto: demo history was cleared; `splants engagement simulate` adds it again)"
    return True, "on (auto: fresh install, no real engagement; demo data, is_demo = true)"
