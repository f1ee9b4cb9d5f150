"""Which A/B variant wins: a fixed-horizon two-proportion z-test on engagements / impressions, decided once.

Why fixed horizon: the A/B job runs every 6 hours. Testing the running totals at a fixed α on every run
and stopping at the first significant look ("peeking") makes the real false-positive rate several times
α. Here each (control, variant) test has a horizon planned in advance, and the test is run exactly once,
at the first evaluation after the horizon is reached:

- **sample size**: both arms have at least ``planned_impressions`` impressions, or
- **window end**: ``max_days`` days have passed since the later arm's first day of metrics (so a test
  that never reaches its sample still ends, then decided on what it has).

Before the horizon the row says ``running`` (no p-value is shown: an interim p-value invites peeking).
At the horizon the decision, with its evidence (counts, rates, p-value, α, design, ``decided_at``), is
recorded and later runs keep it unchanged (:func:`decide` returns recorded decisions as they are).

Each variant is compared with its control; with k variants of one control the significance level is
split Bonferroni-style (α / k). The normal approximation needs ``min_events`` engagements *and*
non-engagements per arm; a test that reaches its horizon without them is recorded as
``insufficient_data`` (final).

Decisions: ``running`` (before the horizon), then one of ``variant_wins`` / ``control_wins`` (significant,
winner recorded), ``no_difference`` (not significant at the horizon) or ``insufficient_data``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from splants_dagster.warehouse.store import dict_rows, insert_frame, transaction

DESIGN = "fixed_horizon"
# how the arms reached their audience (publishing/planning.py): the platform split the audience
# (Mailchimp/HubSpot A/B email), or the versions went out in turn on different days (opt-in)
PLATFORM_SPLIT = "platform_split"
SEQUENTIAL = "sequential"
DESIGNS = (DESIGN, PLATFORM_SPLIT, SEQUENTIAL)
TEST = "two-proportion z-test (pooled), Bonferroni over variants, fixed horizon decided once"
FINAL = ("variant_wins", "control_wins", "no_difference", "insufficient_data")


@dataclass(frozen=True)
class ABConfig:
    alpha: float = 0.05
    min_impressions: int = 500  # the planned sample: impressions per arm at the horizon
    min_events: int = 10
    max_days: int = 14  # the test window: decided at the latest this many days after it started


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """(z, two-sided p) for H0: p1 == p2, with the pooled standard error."""
    if n1 <= 0 or n2 <= 0:
        raise ValueError("both arms need impressions")
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (p2 - p1) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def _testable(x: int | None, n: int | None, cfg: ABConfig) -> tuple[int, int] | None:
    """(events, impressions) of an arm with enough events and non-events to test; None otherwise."""
    if n and x is not None and x >= cfg.min_events and n - x >= cfg.min_events:
        return x, n
    return None


def _as_date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    import pandas as pd

    return pd.Timestamp(value).date()


def horizon(pair: Mapping[str, Any], cfg: ABConfig, today: dt.date | None) -> str | None:
    """What ended the test (``sample_size`` or ``window_end``), or None while it is still running."""
    n_c, n_v = pair.get("n_control") or 0, pair.get("n_variant") or 0
    if n_c >= cfg.min_impressions and n_v >= cfg.min_impressions:
        return "sample_size"
    firsts = [_as_date(pair.get(k)) for k in ("first_date_control", "first_date_variant")]
    known = [d for d in firsts if d is not None]
    if today is not None and len(known) == len(firsts):
        started = max(known)
        if today >= started + dt.timedelta(days=cfg.max_days):
            return "window_end"
    return None


def decide(
    pairs: Iterable[Mapping[str, Any]],
    cfg: ABConfig = ABConfig(),
    decided_at: Any = None,
    recorded: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One ``ab_results`` row per (control, variant) pair (see :data:`PAIRS_SQL` for the input).

    ``recorded``: the decisions already made, by (variant_of, variant_piece_id); they are returned as
    they are, never re-decided. ``decided_at`` (a datetime) is also the clock for the test window."""
    recorded = recorded or {}
    today = _as_date(decided_at)
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for pair in pairs:
        if pair.get("alternate"):  # kept as an alternate, never published: nothing to test
            continue
        groups[pair["variant_of"]].append(pair)
    results = []
    for control, group in groups.items():
        alpha = cfg.alpha / max(1, len(group))
        for pair in group:
            kept = recorded.get((control, pair["variant_piece_id"]))
            if kept is not None:
                results.append(dict(kept))
                continue
            results.append(_decide_pair(control, pair, alpha, cfg, decided_at, today))
    return results


def _decide_pair(
    control: str, pair: Mapping[str, Any], alpha: float, cfg: ABConfig, decided_at: Any, today: dt.date | None
) -> dict[str, Any]:
    n_c, x_c = pair.get("n_control"), pair.get("x_control")
    n_v, x_v = pair.get("n_variant"), pair.get("x_variant")
    row: dict[str, Any] = {
        "variant_of": control,
        "variant_piece_id": pair["variant_piece_id"],
        "campaign_id": pair.get("campaign_id"),
        "dimension": pair.get("dimension"),
        "metric": "engagement_rate",
        "n_control": n_c,
        "n_variant": n_v,
        "x_control": x_c,
        "x_variant": x_v,
        "rate_control": (x_c / n_c) if n_c and x_c is not None else None,
        "rate_variant": (x_v / n_v) if n_v and x_v is not None else None,
        "test": TEST,
        "alpha": alpha,
        "p_value": None,
        "lift": None,
        "significant": False,
        "winner_piece_id": None,
        "decision": "running",
        "decided_at": None,
        "design": pair.get("design") or DESIGN,
        "planned_impressions": cfg.min_impressions,
        "horizon_reached_by": None,
    }
    reached = horizon(pair, cfg, today)
    if reached is None:
        return row
    row.update(horizon_reached_by=reached, decided_at=decided_at, decision="insufficient_data")
    control_arm, variant_arm = _testable(x_c, n_c, cfg), _testable(x_v, n_v, cfg)
    if control_arm is not None and variant_arm is not None:
        (events_c, shown_c), (events_v, shown_v) = control_arm, variant_arm
        _z, p = two_proportion_z(events_c, shown_c, events_v, shown_v)
        rate_c, rate_v = events_c / shown_c, events_v / shown_v
        row["p_value"] = p
        row["lift"] = (rate_v / rate_c - 1) if rate_c else None
        row["significant"] = p < alpha
        if p < alpha:
            variant_wins = rate_v > rate_c
            row["winner_piece_id"] = pair["variant_piece_id"] if variant_wins else control
            row["decision"] = "variant_wins" if variant_wins else "control_wins"
        else:
            row["decision"] = "no_difference"
    return row


# ------------------------------------------------------------------------------------------ storage

# every (control, variant) pair with each arm's lifetime totals and first day of metrics (test start)
PAIRS_SQL = """
WITH totals AS (
    SELECT piece_id, sum(impressions) AS impressions, sum(engagements) AS engagements,
           sum(clicks) AS clicks, min(date) AS first_date
    FROM engagement_metrics WHERE NOT coalesce(external, false) GROUP BY 1
)
SELECT v.piece_id AS variant_piece_id, v.variant_of, v.variant_dimension AS dimension, v.campaign_id,
       v.platform, tv.impressions AS n_variant, tv.engagements AS x_variant, tv.clicks AS clicks_variant,
       tv.first_date AS first_date_variant, tc.impressions AS n_control, tc.engagements AS x_control,
       tc.clicks AS clicks_control, tc.first_date AS first_date_control,
       CASE WHEN sv.ab_design = 'sequential' THEN 'sequential'
            WHEN sc.ab_design = 'platform_split' THEN 'platform_split' END AS design,
       -- an alternate: no slot of its own, not inside its original's A/B email, never published, no data
       (sv.piece_id IS NULL AND coalesce(sc.ab_design, '') <> 'platform_split' AND tv.impressions IS NULL
        AND NOT EXISTS (SELECT 1 FROM publications p WHERE p.piece_id = v.piece_id
                        AND p.status = 'published')) AS alternate
FROM content_pieces v
JOIN content_pieces c ON c.piece_id = v.variant_of
LEFT JOIN totals tv ON tv.piece_id = v.piece_id
LEFT JOIN totals tc ON tc.piece_id = c.piece_id
LEFT JOIN (SELECT piece_id, max(ab_design) AS ab_design FROM schedule GROUP BY 1) sv ON sv.piece_id = v.piece_id
LEFT JOIN (SELECT piece_id, max(ab_design) AS ab_design FROM schedule GROUP BY 1) sc ON sc.piece_id = c.piece_id
WHERE v.variant_of IS NOT NULL
ORDER BY v.variant_of, v.piece_id
"""


def load_pairs(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return dict_rows(conn.execute(PAIRS_SQL))


def load_recorded(conn: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], dict[str, Any]]:
    """The fixed-horizon decisions already made (older rows, decided by peeking, are decided again)."""
    rows = dict_rows(
        conn.execute(
            "SELECT * FROM ab_results WHERE list_contains(?, design) AND decided_at IS NOT NULL"
            " AND list_contains(?, decision)",
            [list(DESIGNS), list(FINAL)],
        )
    )
    return {(r["variant_of"], r["variant_piece_id"]): r for r in rows}


def store_results(conn: duckdb.DuckDBPyConnection, results: list[dict[str, Any]]) -> None:
    """``ab_results`` becomes ``results`` (one transaction); recorded decisions are carried unchanged."""
    import pandas as pd

    with transaction(conn):
        conn.execute("DELETE FROM ab_results")
        insert_frame(conn, "ab_results", pd.DataFrame(results))
