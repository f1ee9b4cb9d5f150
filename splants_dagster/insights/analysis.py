"""Which feature levels went with higher relative engagement (or conversion), per platform.

Each level of each feature is compared with the platform's other posts (level vs rest). The outcome is
the predictor's relative target, ``log((rate + c) / (trailing platform median + c))``: the engagement
rate against the account's own median on that platform strictly before the post went out (so a growing
audience does not make recent posts look better). With conversions, the second outcome is conversions
per click.

The effect is the Hodges-Lehmann estimate (the median of all with-minus-without differences) with its
distribution-free 95% confidence interval from the Mann-Whitney distribution (Lehmann 1963; normal
approximation, no tie correction); the p-value is ``scipy.stats.mannwhitneyu``'s and the p-values of a
platform's tests are adjusted with Benjamini-Hochberg (``scipy.stats.false_discovery_control``), because
some 25 levels are tested per platform and a few would clear 5% by chance. Hand-written because scipy has
no Hodges-Lehmann interval and ``scipy.stats.bootstrap`` would resample every test thousands of times.

An insight is **supported** when both groups have at least :data:`MIN_GROUP` posts, its interval
excludes 0, and its adjusted p-value is below :data:`ALPHA`. Posts and their demo flag never mix: rows
are tested separately by ``is_demo``, so an insight is demo exactly when its posts are.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from splants_dagster.insights.features import FEATURES, feature_levels, length_band, length_cuts, level_phrase
from splants_dagster.ml.features import MISSING
from splants_dagster.platforms import PLATFORMS

MIN_GROUP = 8  # posts in each group (with the level, without it) before an insight can be supported
ALPHA = 0.05  # false discovery rate across a platform's tests
CONFIDENCE = 0.95
MIN_BASELINE_POSTS = 5  # a post's trailing median must rest on this many earlier posts (as the predictor)
MAX_GROUP = 2000  # larger groups are subsampled (seeded) for the pairwise differences
METRICS = ("engagement", "conversion")

PLATFORM_NAMES = {"linkedin": "LinkedIn", "tiktok": "TikTok", "youtube": "YouTube", "twitter": "X/Twitter"}

COLUMNS = (
    "insight_id",
    "brand",
    "platform",
    "metric",
    "feature",
    "level",
    "direction",
    "effect",
    "ci_low",
    "ci_high",
    "multiplier",
    "multiplier_low",
    "multiplier_high",
    "n_with",
    "n_without",
    "p_value",
    "p_adjusted",
    "supported",
    "demo",
    "sentence",
    "computed_at",
)


@dataclass(frozen=True)
class Insight:
    insight_id: str
    brand: str
    platform: str
    metric: str
    feature: str
    level: str
    direction: str  # higher | lower
    effect: float  # with minus without: log relative engagement, or conversions per click
    ci_low: float
    ci_high: float
    multiplier: float | None  # engagement: exp(effect), the with/without ratio of relative engagement
    multiplier_low: float | None
    multiplier_high: float | None
    n_with: int
    n_without: int
    p_value: float
    p_adjusted: float
    supported: bool
    demo: bool
    sentence: str
    computed_at: dt.datetime

    def row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Shift:
    estimate: float
    low: float
    high: float
    p_value: float


def hodges_lehmann(with_: np.ndarray, without: np.ndarray, confidence: float = CONFIDENCE) -> Shift:
    """Hodges-Lehmann shift (with - without) and its Mann-Whitney-based confidence interval."""
    rng = np.random.default_rng(0)
    a = np.asarray(with_, dtype=float)
    b = np.asarray(without, dtype=float)
    p = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    if len(a) > MAX_GROUP:
        a = rng.choice(a, MAX_GROUP, replace=False)
    if len(b) > MAX_GROUP:
        b = rng.choice(b, MAX_GROUP, replace=False)
    n1, n2 = len(a), len(b)
    diffs = np.sort(np.subtract.outer(a, b).ravel())
    total = n1 * n2
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    k = math.floor(total / 2 - z * math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12))
    k = min(max(k, 1), (total + 1) // 2)
    return Shift(float(np.median(diffs)), float(diffs[k - 1]), float(diffs[total - k]), p)


def _platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(
        platform, platform.replace("_", " ").title() if platform in PLATFORMS else platform
    )


def _number(x: float) -> str:
    return f"{x:.2f}" if abs(x) < 10 else f"{x:.0f}"


def sentence(
    platform: str,
    metric: str,
    feature: str,
    level: str,
    shift: Shift,
    n_with: int,
    n_without: int,
    extra: str = "",
) -> str:
    subject = level_phrase(feature, level) + extra
    where = f"On {_platform_name(platform)}, {subject}"
    counts = f"n={n_with} vs {n_without}"
    if metric == "engagement":
        m, lo, hi = (math.exp(v) for v in (shift.estimate, shift.low, shift.high))
        return (
            f"{where} got {_number(m)}× the engagement of the others "
            f"(95% CI {_number(lo)}–{_number(hi)}×, {counts})"
        )
    points = [100 * v for v in (shift.estimate, shift.low, shift.high)]
    return (
        f"{where} converted {points[0]:+.1f} per 100 clicks against the others "
        f"(95% CI {points[1]:+.1f} to {points[2]:+.1f}, {counts})"
    )


def _tests(
    brand: str,
    platform: str,
    metric: str,
    demo: bool,
    levels: pd.DataFrame,
    outcome: pd.Series,
    now: dt.datetime,
    min_group: int,
) -> list[Insight]:
    found: list[tuple[str, str, Shift, int, int, str]] = []
    levels = levels.copy()
    # length bands are this group's terciles (the platform's posts of this demo flag with an outcome)
    cuts = length_cuts(levels["words"])
    levels["length"] = [length_band(w, cuts) for w in levels["words"]]
    for feature in FEATURES:
        values = levels[feature]
        extra_by_level: dict[str, str] = {}
        if feature == "length":
            low, high = cuts
            extra_by_level = {
                "short": f" (≤ {low:.0f} words)",
                "medium": f" ({low:.0f}-{high:.0f} words)",
                "long": f" (> {high:.0f} words)",
            }
        for level in sorted(set(values) - {MISSING, ""}):
            mask = (values == level).to_numpy()
            known = (values != MISSING).to_numpy()
            a = outcome.to_numpy()[mask]
            b = outcome.to_numpy()[known & ~mask]
            if len(a) < 2 or len(b) < 2:
                continue  # nothing to compare (every post, or almost none, has the level)
            found.append(
                (feature, level, hodges_lehmann(a, b), len(a), len(b), extra_by_level.get(level, ""))
            )
    if not found:
        return []
    adjusted = stats.false_discovery_control([f[2].p_value for f in found], method="bh")
    out = []
    for (feature, level, shift, n1, n2, extra), p_adj in zip(found, adjusted, strict=True):
        excludes_zero = shift.low > 0 or shift.high < 0
        supported = n1 >= min_group and n2 >= min_group and excludes_zero and float(p_adj) < ALPHA
        engagement = metric == "engagement"
        out.append(
            Insight(
                insight_id=f"{'demo:' if demo else ''}{platform}:{metric}:{feature}={level}",
                brand=brand,
                platform=platform,
                metric=metric,
                feature=feature,
                level=level,
                direction="higher" if shift.estimate >= 0 else "lower",
                effect=shift.estimate,
                ci_low=shift.low,
                ci_high=shift.high,
                multiplier=math.exp(shift.estimate) if engagement else None,
                multiplier_low=math.exp(shift.low) if engagement else None,
                multiplier_high=math.exp(shift.high) if engagement else None,
                n_with=n1,
                n_without=n2,
                p_value=shift.p_value,
                p_adjusted=float(p_adj),
                supported=bool(supported),
                demo=demo,
                sentence=sentence(platform, metric, feature, level, shift, n1, n2, extra),
                computed_at=now,
            )
        )
    return out


def compute_insights(
    posts: pd.DataFrame,
    brand: str,
    *,
    conversions: pd.DataFrame | None = None,
    now: dt.datetime | None = None,
    min_group: int = MIN_GROUP,
) -> list[Insight]:
    """Insights per platform (and demo flag) from posts with an outcome.

    ``posts``: the predictor's training rows (``ml.data.build_training_data(...).rows``): ``piece_id``,
    ``platform``, ``text``, ``hour``, ``tone``, ``content_type``, ``target``, ``history``, ``is_demo``.
    ``conversions`` (optional): ``piece_id``, ``conversion_rate`` (per click), ``is_demo``; a piece's
    conversion insight is demo when its engagement or its conversions are."""
    now = now or dt.datetime.now(dt.UTC)
    if posts.empty:
        return []
    posts = posts.reset_index(drop=True)
    levels = feature_levels(posts)
    demo = posts["is_demo"].fillna(False).astype(bool) if "is_demo" in posts.columns else False
    target = pd.to_numeric(posts["target"], errors="coerce")
    usable = target.notna() & (pd.to_numeric(posts["history"], errors="coerce") >= MIN_BASELINE_POSTS)
    outcomes: list[tuple[str, pd.Series, pd.Series, pd.Series]] = [
        ("engagement", target, usable, pd.Series(demo, index=posts.index))
    ]
    if conversions is not None and len(conversions):
        conv = conversions.drop_duplicates("piece_id").set_index("piece_id")
        rate = pd.to_numeric(posts["piece_id"].map(conv["conversion_rate"]), errors="coerce")
        conv_demo = posts["piece_id"].map(conv["is_demo"]).fillna(False).astype(bool)
        outcomes.append(("conversion", rate, rate.notna(), pd.Series(demo, index=posts.index) | conv_demo))
    out: list[Insight] = []
    for metric, values, keep, is_demo in outcomes:
        groups = posts[keep].groupby([posts["platform"][keep], is_demo[keep]]).groups
        for key, idx in groups.items():
            platform, flag = key if isinstance(key, tuple) else (key, False)
            out += _tests(
                brand, str(platform), metric, bool(flag), levels.loc[idx], values.loc[idx], now, min_group
            )
    return out


def insight_rows(insights: Sequence[Insight]) -> list[dict[str, Any]]:
    return [i.row() for i in insights]
