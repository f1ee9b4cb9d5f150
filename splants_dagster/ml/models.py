"""The candidate models (gradient-boosted trees and a regularised linear model), their selection by
time-ordered cross-validation, and :class:`PerformanceModel`, the fitted predictor that is stored.

Every candidate predicts the relative target ``log((y + c) / (baseline + c))`` from the same design
matrix: one-hot categories, imputed and scaled numbers (a missing-value indicator each), text statistics,
TF-IDF of the text, and the log of the trailing baseline itself (known at publish time; it lets the model
learn that unusually high baselines tend to fall back).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from splants_dagster.ml.features import (
    ACTUAL,
    BASELINE,
    TARGET,
    TEXT_FEATURES,
    TIME,
    FeatureSpec,
    TrainingSet,
    categorical_values,
    from_log,
    numeric_values,
    text_feature_frame,
    to_log,
)

TEXT_COLUMN = "_text"


def single_threaded():
    """Training tables here have hundreds to thousands of rows: OpenMP/BLAS threads cost more than they
    save, and on a busy machine they oversubscribe the cores (measured: 4x slower under load)."""
    return threadpool_limits(limits=1)


BASELINE_LOG = "_baseline_log"


@dataclass(frozen=True)
class Candidate:
    """One model configuration: ``kind`` is ``linear`` (ridge regression) or ``gbt`` (histogram
    gradient-boosted trees)."""

    kind: str
    params: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, kind: str, **params: Any) -> Candidate:
        if kind not in ("linear", "gbt"):
            raise ValueError(f"unknown model kind {kind!r}")
        return cls(kind, tuple(sorted(params.items())))

    @property
    def label(self) -> str:
        return f"{self.kind}(" + ", ".join(f"{k}={v}" for k, v in self.params) + ")"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **dict(self.params)}


LINEAR_CANDIDATES = tuple(
    Candidate.of("linear", alpha=a)
    for a in (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
)
GBT_CANDIDATES = tuple(
    Candidate.of("gbt", loss=loss, max_depth=depth, max_iter=iters, learning_rate=0.05)
    for loss in ("absolute_error", "squared_error")
    for depth in (2, 3)
    for iters in (100, 300)
)
DEFAULT_CANDIDATES = LINEAR_CANDIDATES + GBT_CANDIDATES
# A quicker grid (3 instead of 19 candidates) for small machines and tests: both families still compete.
SMALL_CANDIDATES = (
    Candidate.of("linear", alpha=1.0),
    Candidate.of("linear", alpha=30.0),
    Candidate.of("gbt", loss="absolute_error", max_depth=2, max_iter=100, learning_rate=0.05),
)
CANDIDATE_GRIDS = {"full": DEFAULT_CANDIDATES, "small": SMALL_CANDIDATES}


class _SafeSVD(BaseEstimator, TransformerMixin):
    """TruncatedSVD that copes with a vocabulary smaller than the number of components asked for."""

    def __init__(self, n_components: int = 20, random_state: int = 0):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):
        k = min(self.n_components, max(0, X.shape[1] - 1), max(0, X.shape[0] - 1))
        self.svd_ = TruncatedSVD(k, random_state=self.random_state).fit(X) if k >= 1 else None
        return self

    def transform(self, X):
        if self.svd_ is None:
            return np.zeros((X.shape[0], 1))
        return self.svd_.transform(X)


def design_frame(frame: pd.DataFrame, spec: FeatureSpec, offset: float) -> pd.DataFrame:
    """The model's input table: typed feature columns, text statistics, the raw text and the log
    baseline. Only the columns named in ``spec`` (and the baseline) are read from ``frame``."""
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise KeyError(f"input rows lack feature column(s) {missing}")
    out = pd.DataFrame(index=frame.index)
    for c in spec.categorical:
        out[c] = categorical_values(frame[c])
    for c in spec.numeric:
        out[c] = numeric_values(frame[c])
    if spec.text:
        texts = frame[spec.text]
        stats = text_feature_frame(texts, frame[spec.keywords] if spec.keywords else None)
        out = pd.concat([out, stats], axis=1)
        out[TEXT_COLUMN] = texts.fillna("").astype(str)
    baseline = frame[BASELINE] if BASELINE in frame.columns else pd.Series(np.nan, index=frame.index)
    out[BASELINE_LOG] = to_log(baseline, offset)
    return out


def _numeric_inputs(spec: FeatureSpec) -> list[str]:
    stats = [f"text_{n}" for n in TEXT_FEATURES] if spec.text else []
    if not spec.keywords:
        stats = [s for s in stats if s != "text_keyword_coverage"]
    return [*spec.numeric, *stats, BASELINE_LOG]


def build_pipeline(candidate: Candidate, spec: FeatureSpec, random_state: int = 0) -> Pipeline:
    """The scikit-learn pipeline (design columns → estimator) for one candidate."""
    dense = candidate.kind == "gbt"
    parts: list[tuple[str, Any, Any]] = []
    if spec.categorical:
        parts.append(
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=not dense),
                list(spec.categorical),
            )
        )
    parts.append(
        (
            "numeric",
            make_pipeline(
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                StandardScaler(),
            ),
            _numeric_inputs(spec),
        )
    )
    if spec.text:
        tfidf = TfidfVectorizer(min_df=2, max_features=5000, ngram_range=(1, 2), sublinear_tf=True)
        text_step = make_pipeline(tfidf, _SafeSVD(20, random_state)) if dense else tfidf
        parts.append(("text", text_step, TEXT_COLUMN))
    columns = ColumnTransformer(parts, sparse_threshold=0.0 if dense else 0.3)
    params = dict(candidate.params)
    if candidate.kind == "linear":
        estimator: Any = Ridge(alpha=params["alpha"])
    else:
        estimator = HistGradientBoostingRegressor(
            loss=params["loss"],
            max_depth=params["max_depth"],
            max_iter=params["max_iter"],
            learning_rate=params["learning_rate"],
            min_samples_leaf=20,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=random_state,
        )
    return Pipeline([("columns", columns), ("model", estimator)])


def time_folds(
    n: int, n_splits: int = 4, min_train_fraction: float = 0.5
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window folds over ``n`` rows ordered oldest first: each fold trains on everything
    before a block and tests on the block. The first fold trains on at least ``min_train_fraction``."""
    test_size = int(n * (1 - min_train_fraction)) // n_splits
    if test_size < 1:
        raise ValueError(f"{n} rows are too few for {n_splits} time-ordered folds")
    folds = []
    for i in range(n_splits):
        start = n - (n_splits - i) * test_size
        folds.append((np.arange(0, start), np.arange(start, start + test_size)))
    return folds


@dataclass
class Selection:
    best: Candidate
    table: list[dict[str, Any]]  # one row per candidate: label, mean and per-fold MAE of the log target


def select_candidate(
    design: pd.DataFrame,
    target: np.ndarray,
    spec: FeatureSpec,
    candidates: Sequence[Candidate] = DEFAULT_CANDIDATES,
    n_splits: int = 4,
) -> Selection:
    """The candidate with the lowest mean MAE of the relative log target over time-ordered folds of the
    given (training) rows. Ties go to the earlier candidate (linear models are listed first)."""
    folds = time_folds(len(design), n_splits)
    table = [
        {
            "candidate": "trailing baseline (no model)",
            "cv_mae_log": round(float(np.mean([np.mean(np.abs(target[te])) for _, te in folds])), 5),
        }
    ]
    best, best_score = None, np.inf
    for cand in candidates:
        scores = []
        for tr, te in folds:
            with single_threaded():
                pipe = build_pipeline(cand, spec).fit(design.iloc[tr], target[tr])
                scores.append(float(np.mean(np.abs(pipe.predict(design.iloc[te]) - target[te]))))
        mean = float(np.mean(scores))
        table.append(
            {"candidate": cand.label, "cv_mae_log": round(mean, 5), "folds": [round(s, 4) for s in scores]}
        )
        if mean < best_score:
            best, best_score = cand, mean
    assert best is not None
    return Selection(best, table)


def _stamp(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return pd.Timestamp(value).isoformat()
    return str(value.item() if hasattr(value, "item") else value)


@dataclass
class PerformanceModel:
    """A fitted predictor of performance relative to the trailing baseline, with what it needs to turn
    predictions back into the target's units and into percentiles."""

    spec: FeatureSpec
    candidate: Candidate
    pipeline: Pipeline
    target_name: str
    offset: float
    window: int
    gap: int
    group: str | None
    reference: np.ndarray  # sorted relative targets of the training rows (for percentiles)
    fallback_baseline: float  # median of the training actuals, for a row without any baseline
    trained_rows: int
    trained_from: str | None
    trained_through: str | None
    sklearn_version: str = field(default_factory=lambda: sklearn.__version__)

    def design(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = self._with_baseline(frame)
        return design_frame(frame, self.spec, self.offset)

    def _with_baseline(self, frame: pd.DataFrame) -> pd.DataFrame:
        if BASELINE in frame.columns and frame[BASELINE].notna().all():
            return frame
        out = frame.copy()
        base = out[BASELINE] if BASELINE in out.columns else pd.Series(np.nan, index=out.index)
        out[BASELINE] = base.astype(float).fillna(self.fallback_baseline)
        return out

    def predict_relative_design(self, design: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.pipeline.predict(design), dtype=float)

    def predict_relative(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted log((y + c) / (baseline + c)): 0 = as good as the trailing baseline."""
        return self.predict_relative_design(self.design(frame))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted value in the target's units: the baseline scaled by the predicted relative factor."""
        frame = self._with_baseline(frame)
        rel = self.predict_relative(frame)
        return from_log(to_log(frame[BASELINE], self.offset) + rel, self.offset)

    def percentile(self, frame: pd.DataFrame) -> np.ndarray:
        """Where each prediction falls among the training rows' relative outcomes, in [0, 1]
        (0.5 = a typical post for its baseline)."""
        return self.percentile_of(self.predict_relative(frame))

    def percentile_of(self, relative: np.ndarray) -> np.ndarray:
        ref = self.reference
        if ref.size == 0:
            return np.full(len(relative), 0.5)
        lo = np.searchsorted(ref, relative, side="left")
        hi = np.searchsorted(ref, relative, side="right")
        return np.clip((lo + hi) / (2.0 * ref.size), 0.0, 1.0)

    def describe(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate.as_dict(),
            "label": self.candidate.label,
            "target": self.target_name,
            "features": self.spec.as_dict(),
            "offset": self.offset,
            "window": self.window,
            "gap": self.gap,
            "group": self.group,
            "trained_rows": self.trained_rows,
            "trained_from": self.trained_from,
            "trained_through": self.trained_through,
            "sklearn_version": self.sklearn_version,
        }


def fit_model(
    ts: TrainingSet,
    candidate: Candidate,
    rows: pd.Index | None = None,
    design: pd.DataFrame | None = None,
) -> PerformanceModel:
    """Fit ``candidate`` on the fit-eligible ``rows`` of ``ts`` (all rows by default)."""
    frame = ts.frame if rows is None else ts.frame.loc[rows]
    mask = ts.fit_mask(frame.index)
    fit_rows = frame.index[mask.to_numpy()]
    if len(fit_rows) < 10:
        raise ValueError(f"only {len(fit_rows)} rows with a usable target; need at least 10 to fit a model")
    full = design if design is not None else design_frame(ts.frame, ts.spec, ts.offset)
    target = ts.frame.loc[fit_rows, TARGET].to_numpy(dtype=float)
    with single_threaded():
        pipeline = build_pipeline(candidate, ts.spec).fit(full.loc[fit_rows], target)
    return PerformanceModel(
        spec=ts.spec,
        candidate=candidate,
        pipeline=pipeline,
        target_name=ts.target_name,
        offset=ts.offset,
        window=ts.window,
        gap=ts.gap,
        group=ts.group,
        reference=np.sort(target),
        fallback_baseline=float(np.nanmedian(frame[ACTUAL].to_numpy(dtype=float))),
        trained_rows=len(fit_rows),
        trained_from=_stamp(frame[TIME].iloc[0]) if len(frame) else None,
        trained_through=_stamp(frame[TIME].iloc[-1]) if len(frame) else None,
    )


def input_groups(spec: FeatureSpec) -> dict[str, list[str]]:
    """Which design columns come from each input (for permutation importance by input)."""
    groups = {c: [c] for c in [*spec.categorical, *spec.numeric]}
    if spec.text:
        stats = [f"text_{n}" for n in TEXT_FEATURES if n != "keyword_coverage"]
        groups[spec.text] = [TEXT_COLUMN, *stats]
    if spec.keywords:
        groups[spec.keywords] = ["text_keyword_coverage"]
    groups["trailing baseline"] = [BASELINE_LOG]
    return groups


def permutation_importance(
    model: PerformanceModel, design: pd.DataFrame, target: np.ndarray, repeats: int = 5, seed: int = 0
) -> dict[str, float]:
    """Increase in MAE of the relative log target when one input is shuffled (mean over ``repeats``)."""
    with single_threaded():
        return _permutation_importance(model, design, target, repeats, seed)


def _permutation_importance(
    model: PerformanceModel, design: pd.DataFrame, target: np.ndarray, repeats: int, seed: int
) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    base = float(np.mean(np.abs(model.predict_relative_design(design) - target)))
    out = {}
    for name, cols in input_groups(model.spec).items():
        losses = []
        for _ in range(repeats):
            shuffled = design.copy()
            order = rng.permutation(len(design))
            for c in cols:
                shuffled[c] = design[c].to_numpy()[order]
            losses.append(float(np.mean(np.abs(model.predict_relative_design(shuffled) - target))))
        out[name] = round(float(np.mean(losses)) - base, 5)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
