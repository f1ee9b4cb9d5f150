"""Anomaly rules and the high-engagement rule, applied to one day of one piece.

The ratio rules are the SPLANTS workflow guide's ``detect_anomaly`` (monitoring section) and its
engagement-boost threshold:

=================  ==========================================================  =====================
rule               fires when                                                  baseline
=================  ==========================================================  =====================
low_views          impressions < 0.5 × baseline impressions                    same platform and age
low_engagement     engagement rate < 0.3 × baseline engagement rate            same platform
high_bounce        bounce rate > 1.5 × baseline bounce rate                    same platform
low_engagement_rate engagement rate < 0.02 (absolute)                          —
robust_z           robust z of log engagement rate < −3.5                      platform median / MAD
=================  ==========================================================  =====================

The robust z-score (Iglewicz & Hoaglin) is 0.6745 · (x − median) / MAD over the platform's piece-days
of the previous 28 days, on the log of the engagement rate (rates are skewed; the log makes "half the
usual" as far from normal as "double"). MAD = 0 or fewer than ``min_sample`` piece-days: no z-score.

What is judged: a fresh piece (``age_days`` < ``fresh_days``) on its totals since publishing through the
day (``impressions_to_date``, ``engagement_rate_to_date``, ...), so the hour it went out does not decide
the verdict; a piece of unknown age on the day's numbers. ``low_views`` waits for the first full day
(age ≥ 1: on the publish day a post is only hours old); the rate rules need ``min_impressions``.

Each rule fires at most once per piece: an anomaly is recorded on the first day it is detected (its id
is a hash of piece, platform and rule), and a highlight once per piece. The high-engagement rule marks a
piece whose rate reaches the platform's ``top_percentile`` quantile of the previous 28 days.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeGuard

from splants_dagster.engagement.events import short_hash

ROBUST_Z_CONSTANT = 0.6745


@dataclass(frozen=True)
class RuleConfig:
    views_ratio: float = 0.5
    engagement_ratio: float = 0.3
    bounce_ratio: float = 1.5
    min_engagement_rate: float = 0.02
    robust_z: float = -3.5
    min_impressions: int = 100
    min_baseline_impressions: float = 20.0
    min_sample: int = 20
    fresh_days: int = 7
    views_min_age: int = 1
    top_percentile: float = 0.99

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Detection:
    rule: str
    value: float
    baseline: float | None
    threshold: float
    score: float | None
    severity: str


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        raise ValueError("median of no values")
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def median_mad(values: Iterable[float]) -> tuple[float, float]:
    """Median and median absolute deviation."""
    data = list(values)
    center = median(data)
    return center, median([abs(v - center) for v in data])


def robust_z(value: float, center: float, mad: float) -> float | None:
    """0.6745 · (value − median) / MAD; None when MAD is 0 (no spread to measure against)."""
    if mad <= 0:
        return None
    return ROBUST_Z_CONSTANT * (value - center) / mad


def _ok(x: Any) -> TypeGuard[float]:
    """A metric that is present: not None and not NaN (metrics rows hold numbers or NULLs)."""
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def detect(row: Mapping[str, Any], cfg: RuleConfig = RuleConfig()) -> list[Detection]:
    """Every rule one metrics row (with its monitoring context from ``sql.monitor_rows``) breaks."""
    age = row.get("age_days")
    if _ok(age) and age >= cfg.fresh_days:
        return []
    found: list[Detection] = []
    impressions = row.get("impressions")
    base_impr = row.get("baseline_impressions")
    judge_views = not _ok(age) or age >= cfg.views_min_age
    if judge_views and _ok(impressions) and _ok(base_impr) and base_impr >= cfg.min_baseline_impressions:
        limit = cfg.views_ratio * base_impr
        if impressions < limit:
            ratio = impressions / base_impr
            found.append(
                Detection(
                    "low_views",
                    float(impressions),
                    float(base_impr),
                    limit,
                    ratio,
                    "critical" if ratio < cfg.views_ratio / 2 else "warning",
                )
            )
    enough = _ok(impressions) and impressions >= cfg.min_impressions
    rate = row.get("engagement_rate")
    if enough and _ok(rate):
        base_rate = row.get("baseline_engagement_rate")
        if _ok(base_rate) and base_rate > 0 and rate < cfg.engagement_ratio * base_rate:
            ratio = rate / base_rate
            found.append(
                Detection(
                    "low_engagement",
                    float(rate),
                    float(base_rate),
                    cfg.engagement_ratio * base_rate,
                    ratio,
                    "critical" if ratio < cfg.engagement_ratio / 2 else "warning",
                )
            )
        if rate < cfg.min_engagement_rate:
            found.append(
                Detection(
                    "low_engagement_rate",
                    float(rate),
                    None,
                    cfg.min_engagement_rate,
                    None,
                    "critical" if rate < cfg.min_engagement_rate / 2 else "warning",
                )
            )
        center, mad, n = row.get("median_log_rate"), row.get("mad_log_rate"), row.get("sample_size") or 0
        if rate > 0 and _ok(center) and _ok(mad) and n >= cfg.min_sample:
            z = robust_z(math.log(rate), center, mad)
            if z is not None and z < cfg.robust_z:
                found.append(
                    Detection(
                        "robust_z",
                        float(rate),
                        math.exp(center),
                        math.exp(center + cfg.robust_z * mad / ROBUST_Z_CONSTANT),
                        z,
                        "critical" if z < 1.5 * cfg.robust_z else "warning",
                    )
                )
    bounce, base_bounce = row.get("bounce_rate"), row.get("baseline_bounce_rate")
    if (
        enough
        and _ok(bounce)
        and _ok(base_bounce)
        and base_bounce > 0
        and bounce > cfg.bounce_ratio * base_bounce
    ):
        ratio = bounce / base_bounce
        found.append(
            Detection(
                "high_bounce",
                float(bounce),
                float(base_bounce),
                cfg.bounce_ratio * base_bounce,
                ratio,
                "critical" if ratio > 2 * cfg.bounce_ratio else "warning",
            )
        )
    return found


def is_highlight(row: Mapping[str, Any], cfg: RuleConfig = RuleConfig()) -> bool:
    """A fresh piece-day with enough volume whose engagement rate reaches the platform's top quantile."""
    age, rate, top = row.get("age_days"), row.get("engagement_rate"), row.get("top_rate")
    if _ok(age) and age >= cfg.fresh_days:
        return False
    return (
        _ok(rate)
        and _ok(top)
        and (row.get("impressions") or 0) >= cfg.min_impressions
        and (row.get("sample_size") or 0) >= cfg.min_sample
        and rate >= top
    )


def anomaly_id(piece_id: str, platform: str, rule: str) -> str:
    return short_hash("anomaly", piece_id, platform, rule)


def highlight_id(piece_id: str, platform: str) -> str:
    return short_hash("highlight", piece_id, platform)


def evaluate(
    rows: Iterable[Mapping[str, Any]], cfg: RuleConfig, detected_at: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(anomaly rows, highlight rows) for the ``anomalies`` / ``engagement_highlights`` tables: the first
    day each rule fires for a piece, and the first day a piece reaches the top percentile."""
    anomalies: dict[str, dict[str, Any]] = {}
    highlights: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["date"], r["piece_id"], r["platform"])):
        for d in detect(row, cfg):
            key = anomaly_id(row["piece_id"], row["platform"], d.rule)
            if key in anomalies:
                continue
            anomalies[key] = {
                "anomaly_id": key,
                "date": row["date"],
                "piece_id": row["piece_id"],
                "platform": row["platform"],
                "rule": d.rule,
                "value": d.value,
                "baseline": d.baseline,
                "severity": d.severity,
                "detected_at": detected_at,
                "score": d.score,
                "threshold": d.threshold,
                "campaign_id": row.get("campaign_id"),
                "external": row.get("external"),
                "is_demo": row.get("is_demo"),
                "impressions": row.get("impressions"),
                "age_days": row.get("age_days"),
            }
        key = highlight_id(row["piece_id"], row["platform"])
        if key not in highlights and is_highlight(row, cfg):
            highlights[key] = {
                "highlight_id": key,
                "date": row["date"],
                "piece_id": row["piece_id"],
                "platform": row["platform"],
                "campaign_id": row.get("campaign_id"),
                "external": row.get("external"),
                "is_demo": row.get("is_demo"),
                "engagement_rate": row["engagement_rate"],
                "threshold": row["top_rate"],
                "percentile": cfg.top_percentile,
                "impressions": row.get("impressions"),
                "sample_size": row.get("sample_size"),
                "detected_at": detected_at,
            }
    return list(anomalies.values()), list(highlights.values())
