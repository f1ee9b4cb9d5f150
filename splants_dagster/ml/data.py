"""What the predictor reads from the warehouse: posts with outcomes, the training set (built and stored),
pieces still to be published, and the active model as the content suite's predicted-performance
component.

Demo data is kept apart (issue #16): simulated engagement (``is_demo``) is learned from only while the
account has no real engagement at all (:func:`real_first`); a model trained on any simulated row is a
*demo model* (``demo`` in its card, ``is_demo`` in ``analytics.model_runs``), and only demo campaigns
(briefs with ``demo: true``) are scored with one (:func:`active_suite_predictor`, ``content_predictions``).

Plain SQL over ``core`` tables through :class:`~splants_dagster.warehouse.store.Warehouse`; no Dagster
imports. The Dagster assets in ``defs/ml/`` (and the content suite) call these functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from splants_dagster.ml.features import (
    ACTUAL,
    BASELINE,
    HISTORY,
    PIECE_SPEC,
    ROW,
    TARGET,
    TIME,
    TrainingSet,
    build_training_set,
    check_pre_publication,
)
from splants_dagster.ml.models import PerformanceModel
from splants_dagster.ml.registry import ModelRegistry, model_is_demo
from splants_dagster.ml.training import current_baselines, suite_predictor
from splants_dagster.paths import DataPaths
from splants_dagster.warehouse.store import Warehouse

MODEL_NAME = "engagement"

# One row per post with metrics, in the shape ml.features.piece_outcomes expects (its per-piece sums and
# means give the same lifetime rate on these pre-aggregated rows); aggregated in DuckDB so that millions
# of daily rows never reach pandas.
OUTCOMES_SQL = """
SELECT piece_id, any_value(platform) AS platform, min(published_at) AS published_at,
       bool_or(coalesce(external, false)) AS external, bool_or(coalesce(is_demo, false)) AS is_demo,
       sum(engagements) AS engagements, sum(impressions) AS impressions,
       avg(engagement_rate) AS engagement_rate
FROM engagement_metrics
WHERE published_at IS NOT NULL
GROUP BY piece_id
"""

# Our pieces that went out (or were dry-run at their slot, which the demo simulator measures), with
# their campaign's tone, paid flag and keywords. Only pre-publication columns are selected.
PUBLISHED_PIECES_SQL = """
SELECT c.piece_id, c.campaign_id, c.platform, c.content_type, c.rendered, c.body, c.variant_dimension,
       k.tone, k.keywords, TRY_CAST(json_extract_string(k.brief_json, '$.paid') AS BOOLEAN) AS paid,
       coalesce(p.published_at, s.publish_at, p.publish_at) AS published_at
FROM content_pieces c
JOIN publications p ON p.piece_id = c.piece_id AND p.platform = c.platform
LEFT JOIN schedule s ON s.piece_id = c.piece_id AND s.platform = c.platform
LEFT JOIN campaigns k ON k.campaign_id = c.campaign_id
WHERE p.status IN ('published', 'dry_run')
"""

# Posts the account published outside this system (imported exports, the demo simulator's history).
EXTERNAL_POSTS_SQL = """
SELECT piece_id, any_value(platform) AS platform, any_value(content_type) AS content_type,
       any_value(text) AS body, any_value(paid) AS paid, min(published_at) AS published_at
FROM engagement_posts
WHERE coalesce(external, false)
GROUP BY piece_id
"""

# Pieces of one campaign not yet out: every original and variant without a publication that went (or is
# going) out; with the slot when one is scheduled.
UPCOMING_PIECES_SQL = """
SELECT c.piece_id, c.campaign_id, c.platform, c.content_type, c.rendered, c.body, c.variant_of,
       c.variant_dimension, k.tone, k.keywords,
       TRY_CAST(json_extract_string(k.brief_json, '$.paid') AS BOOLEAN) AS paid, s.publish_at
FROM content_pieces c
LEFT JOIN campaigns k ON k.campaign_id = c.campaign_id
LEFT JOIN schedule s ON s.piece_id = c.piece_id AND s.platform = c.platform
WHERE c.campaign_id = ?
  AND NOT EXISTS (
      SELECT 1 FROM publications p
      WHERE p.piece_id = c.piece_id AND p.platform = c.platform AND p.status IN ('published', 'in_flight')
  )
ORDER BY c.piece_id
"""

# The stored training set: PIECE_SPEC's feature columns and the target, one row per post.
TRAINING_COLUMNS = (
    "piece_id",
    *PIECE_SPEC.columns,
    "published_at",
    "row_no",
    "actual",
    "baseline",
    "history",
    "target",
    "target_offset",
    "trailing_window",
    "source",
    "is_demo",
    "campaign_id",
    "built_at",
)
# Columns of the stored training set that are not model inputs (identity, time, target, bookkeeping).
NON_FEATURE_COLUMNS = frozenset(TRAINING_COLUMNS) - frozenset(PIECE_SPEC.columns)


def _frame(store: Warehouse, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
    with store.read() as conn:
        return conn.execute(sql, list(params or [])).df()


def outcomes_frame(store: Warehouse) -> pd.DataFrame:
    """One row per post with metrics: piece_id, platform, published_at, external, is_demo, engagements,
    impressions, engagement_rate (mean of the daily rates)."""
    frame = _frame(store, OUTCOMES_SQL)
    frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
    return frame


def real_first(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its simulated (``is_demo``) rows as soon as it holds one real row.

    Stricter than "per platform" on purpose: a model that learned from any simulated row is a demo
    model, which real campaigns never use, so once real engagement exists anywhere the predictor learns
    from real rows only (a platform with no real row yet falls back to the overall baseline)."""
    if frame.empty or "is_demo" not in frame.columns:
        return frame
    demo = frame["is_demo"].fillna(False).astype(bool)
    if demo.all():
        return frame
    return frame[~demo].reset_index(drop=True)


CAMPAIGN_DEMO_SQL = (
    "SELECT coalesce(TRY_CAST(json_extract_string(brief_json, '$.demo') AS BOOLEAN), false) AS demo "
    "FROM campaigns WHERE campaign_id = ?"
)


def campaign_is_demo(store: Warehouse, campaign_id: str) -> bool:
    """Whether the campaign's brief says ``demo: true`` (an unknown campaign counts as real)."""
    rows = _frame(store, CAMPAIGN_DEMO_SQL, [campaign_id])
    return bool(len(rows)) and bool(rows["demo"].iloc[0])


@dataclass
class TrainingData:
    """The training set and what it was built from (for the asset's metadata)."""

    ts: TrainingSet
    rows: pd.DataFrame  # the rows to store (TRAINING_COLUMNS)
    posts_with_outcomes: int


def _time_utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, errors="coerce")


def build_training_data(
    store: Warehouse,
    tz: str,
    *,
    include_external: bool = True,
    window: int = 20,
    min_age_days: float = 2.0,
    as_of: pd.Timestamp | None = None,
) -> TrainingData:
    """Posts with a final outcome → one training row each (ours, plus the account's external history
    when ``include_external``). Features come only from pre-publication columns; the target is the
    lifetime engagement rate relative to the platform's trailing median at publish time. Simulated posts
    are left out as soon as any real post has an outcome (:func:`real_first`)."""
    outcomes = real_first(outcomes_frame(store))
    ours = _frame(store, PUBLISHED_PIECES_SQL).assign(source="ours")
    frames = [ours]
    if include_external:
        frames.append(_frame(store, EXTERNAL_POSTS_SQL).assign(source="external", campaign_id=None))
    pieces = pd.concat([f for f in frames if len(f)] or [ours], ignore_index=True)
    pieces = pieces.drop_duplicates("piece_id", keep="first")
    if pieces.empty or outcomes.empty:
        return _empty_training_data(window, len(outcomes))
    # the publish time the outcome was measured against wins over the planned slot
    measured = outcomes.set_index("piece_id")["published_at"]
    pieces["published_at"] = _time_utc(pieces["piece_id"].map(measured)).fillna(
        _time_utc(pieces["published_at"])
    )
    pieces = pieces[pieces["published_at"].notna()]
    ts = build_training_set(pieces, outcomes, tz, window=window, min_age_days=min_age_days, as_of=as_of)
    frame = ts.frame
    extra = pieces.set_index("piece_id")
    demo = outcomes.set_index("piece_id")["is_demo"]
    rows = pd.DataFrame(
        {
            "piece_id": frame["piece_id"],
            **{c: frame[c] for c in PIECE_SPEC.columns},
            "published_at": frame[TIME],
            "row_no": frame[ROW],
            "actual": frame[ACTUAL],
            "baseline": frame[BASELINE],
            "history": frame[HISTORY],
            "target": frame[TARGET],
            "target_offset": ts.offset,
            "trailing_window": ts.window,
            "source": frame["piece_id"].map(extra["source"]),
            "is_demo": frame["piece_id"].map(demo).fillna(False).astype(bool),
            "campaign_id": frame["piece_id"].map(extra["campaign_id"]),
            "built_at": dt.datetime.now(dt.UTC),
        }
    )
    rows["keywords"] = pd.Series([_keyword_list(k) for k in rows["keywords"]], index=rows.index, dtype=object)
    return TrainingData(ts, rows[list(TRAINING_COLUMNS)], len(outcomes))


def _empty_training_data(window: int, posts: int) -> TrainingData:
    """No post of ours or external post has an outcome yet (a fresh install)."""
    frame = pd.DataFrame(
        columns=["piece_id", *PIECE_SPEC.columns, TIME, ROW, ACTUAL, BASELINE, HISTORY, TARGET]
    )
    ts = TrainingSet(frame, PIECE_SPEC, "engagement_rate", offset=1e-6, window=window, group="platform")
    return TrainingData(ts, pd.DataFrame(columns=list(TRAINING_COLUMNS)), posts)


def _keyword_list(value: Any) -> list[str] | None:
    """Keywords as a list of strings; None for an empty cell (None, NaN, pd.NA)."""
    if isinstance(value, str):
        return [k.strip() for k in value.split(",") if k.strip()]
    if isinstance(value, list | tuple | np.ndarray):
        return [str(k) for k in value]
    return None


def load_training_set(store: Warehouse) -> TrainingSet | None:
    """The stored training set (``core.ml_training_set``) as a :class:`TrainingSet`, or None if empty."""
    rows = _frame(store, "SELECT * FROM ml_training_set ORDER BY published_at, piece_id")
    if rows.empty:
        return None
    check_pre_publication(PIECE_SPEC.columns)
    frame = pd.DataFrame(
        {
            "piece_id": rows["piece_id"],
            **{c: rows[c] for c in PIECE_SPEC.columns},
            TIME: pd.to_datetime(rows["published_at"], utc=True),
            ROW: rows["row_no"],
            ACTUAL: rows["actual"].astype(float),
            BASELINE: rows["baseline"].astype(float),
            HISTORY: rows["history"].astype(int),
            TARGET: rows["target"].astype(float),
        }
    )
    frame["hour"] = frame["hour"].astype(float)
    frame["keywords"] = pd.Series(
        [_keyword_list(k) for k in frame["keywords"]], index=frame.index, dtype=object
    )
    return TrainingSet(
        frame=frame,
        spec=PIECE_SPEC,
        target_name="engagement_rate",
        offset=float(rows["target_offset"].iloc[0]),
        window=int(rows["trailing_window"].iloc[0]),
        gap=0,
        group="platform",
        notes={
            "demo_rows": int(rows["is_demo"].sum()),
            "external_rows": int((rows["source"] == "external").sum()),
        },
    )


def upcoming_pieces(store: Warehouse, campaign_id: str) -> pd.DataFrame:
    """The campaign's pieces and variants not yet published, with tone, paid, keywords and slot."""
    frame = _frame(store, UPCOMING_PIECES_SQL, [campaign_id])
    frame["publish_at"] = _time_utc(frame["publish_at"])
    frame["keywords"] = pd.Series(
        [_keyword_list(k) for k in frame["keywords"]], index=frame.index, dtype=object
    )
    return frame


@dataclass
class ActiveModel:
    version: str
    model_version: str
    model: PerformanceModel
    demo: bool = False  # trained on simulated engagement: scores demo campaigns only

    @property
    def label(self) -> str:
        return f"{self.model_version} (demo)" if self.demo else self.model_version


DEMO_MODEL_NOTE = (
    "the active model {mv} was trained on simulated demo engagement, so it scores demo campaigns only"
)


def load_active(paths: DataPaths) -> tuple[ActiveModel | None, str]:
    """The active model and a sentence saying which it is, or None and why there is none. A model file
    that cannot be loaded (e.g. written by an incompatible scikit-learn) counts as none."""
    registry = ModelRegistry.at(paths, MODEL_NAME)
    try:
        found = registry.load_active()
    except Exception as exc:  # joblib/pickle raise many types for an unreadable file
        return None, f"the active model could not be loaded ({type(exc).__name__}: {exc})"
    if found is None:
        return None, "no active model yet (none trained, or none has passed the gate)"
    version, model = found
    mv = registry.model_version(version)
    if getattr(model, "spec", None) != PIECE_SPEC:
        # e.g. registered by `splants predictor evaluate --model-name engagement` on another history
        return None, f"the active model {mv} was trained on other inputs than pieces, so it is not used"
    try:
        demo = model_is_demo(registry.card(version))
    except (OSError, ValueError):  # no readable card: nothing says the model learned from real data
        demo = True
    kind = "demo model, trained on simulated engagement" if demo else model.candidate.label
    return ActiveModel(version, mv, model, demo), f"active model {mv} ({kind})"


def active_suite_predictor(
    store: Warehouse,
    paths: DataPaths,
    *,
    tz: str,
    tone: str | None,
    paid: bool | None,
    keywords: Sequence[str],
    demo: bool = False,
) -> tuple[Callable[[Any, Any], float | None] | None, str]:
    """The content suite's predicted-performance component from the active model (or None) and a note
    for the asset's metadata. ``demo``: the campaign is a demo one; a real campaign is never scored by a
    model trained on simulated engagement."""
    active, note = load_active(paths)
    if active is None:
        return None, f"not used: {note}"
    if active.demo and not demo:
        return None, "not used: " + DEMO_MODEL_NOTE.format(mv=active.model_version)
    baselines = current_baselines(
        real_first(outcomes_frame(store)), window=active.model.window, gap=active.model.gap
    )
    scorer = suite_predictor(active.model, baselines, tz=tz, tone=tone, paid=paid, keywords=keywords)
    return scorer, f"used: {note}"
