"""Which A/B variant wins: a two-proportion z-test on engagements / impressions.

Each variant is compared with its control (the piece it is a variant of). With k variants of one
control, the significance level is split Bonferroni-style (α / k) so running more variants does not
manufacture winners. A comparison is only made with enough data: at least ``min_impressions``
impressions per arm and ``min_events`` engagements *and* non-engagements per arm (where the normal
approximation of the test holds); otherwise the decision is ``insufficient_data``.

Decisions: ``variant_wins`` / ``control_wins`` (significant, winner recorded), ``no_difference_yet``
(enough data, not significant: keep running), ``insufficient_data``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ABConfig:
    alpha: float = 0.05
    min_impressions: int = 500
    min_events: int = 10


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


def _enough(x: int | None, n: int | None, cfg: ABConfig) -> bool:
    return (
        bool(n)
        and n >= cfg.min_impressions
        and x is not None
        and x >= cfg.min_events
        and n - x >= cfg.min_events
    )


def decide(
    pairs: Iterable[Mapping[str, Any]], cfg: ABConfig = ABConfig(), decided_at: Any = None
) -> list[dict[str, Any]]:
    """One ``ab_results`` row per (control, variant) pair (see ``sql.ab_pairs`` for the input)."""
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for pair in pairs:
        groups[pair["variant_of"]].append(pair)
    results = []
    for control, group in groups.items():
        alpha = cfg.alpha / max(1, len(group))
        for pair in group:
            n_c, x_c = pair.get("n_control"), pair.get("x_control")
            n_v, x_v = pair.get("n_variant"), pair.get("x_variant")
            row = {
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
                "test": "two-proportion z-test (pooled), Bonferroni over variants",
                "alpha": alpha,
                "p_value": None,
                "lift": None,
                "significant": False,
                "winner_piece_id": None,
                "decision": "insufficient_data",
                "decided_at": decided_at,
            }
            if _enough(x_c, n_c, cfg) and _enough(x_v, n_v, cfg):
                _z, p = two_proportion_z(x_c, n_c, x_v, n_v)
                rate_c, rate_v = x_c / n_c, x_v / n_v
                row["p_value"] = p
                row["lift"] = (rate_v / rate_c - 1) if rate_c else None
                row["significant"] = p < alpha
                if p < alpha:
                    variant_wins = rate_v > rate_c
                    row["winner_piece_id"] = pair["variant_piece_id"] if variant_wins else control
                    row["decision"] = "variant_wins" if variant_wins else "control_wins"
                else:
                    row["decision"] = "no_difference_yet"
            results.append(row)
    return results
