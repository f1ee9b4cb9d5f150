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
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

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

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# scikit-learn is imported only when a model is built, fitted or loaded (splants_dagster.ml.pipelines), so
# that loading the Dagster code location does not pay for it.
TEXT_COLUMN = "_text"


def __getattr__(name: str) -> Any:
    # Model files pickled before the pipelines moved to ml.pipelines refer to models._SafeSVD.
    if name == "_SafeSVD":
        from splants_dagster.ml import pipelines

        return pipelines._SafeSVD
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def single_threaded():
    """Training tables here have hundreds to thousands of rows: OpenMP/BLAS threads cost more than they
    save, and on a busy machine they oversubscribe the cores (measured: 4x slower under load)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


BASELINE_LOG = "_baseline_log"


@dataclass(frozen=True)
class Candidate:
    """One model configuration: ``kind`` is ``linear`` (ridge regression) or ``gbt`` (histogram
    gradient-boosted trees)."""

    kind: str
    params: tuple[tuple[str, Any], ...]

    @property
    def half_life(self) -> float | None:
        """Recency weighting: the age (as a share of the fitted rows, newest = 0) at which a row weighs
        half as much as the newest; ``None`` = every row weighs the same."""
        value = dict(self.params).get("half_life")
        return None if value is None else float(value)

    @property
    def text_weight(self) -> float | None:
        """Scale of the text's TF-IDF columns relative to the other inputs (``None`` = 1)."""
        value = dict(self.params).get("text_weight")
        return None if value is None else float(value)

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
# A quicker grid (3 instead of 22 candidates, 4 instead of 31 with a text) for small machines and tests:
# both families still compete.
SMALL_CANDIDATES = (
    Candidate.of("linear", alpha=1.0),
    Candidate.of("linear", alpha=30.0),
    Candidate.of("gbt", loss="absolute_error", max_depth=2, max_iter=100, learning_rate=0.05),
    Candidate.of("linear", alpha=0.3, text_weight=0.1),  # competes only when there is a text
)
# Recency-weighted ridge: the newest rows count more (half weight at half the training span's age).
RECENCY_CANDIDATES = tuple(Candidate.of("linear", alpha=a, half_life=0.5) for a in (0.3, 1.0, 3.0))
# Ridge with the text's TF-IDF block down-weighted (``text_weight`` scales its columns, so the n-grams are
# shrunk 1/w² times harder than the categories and numbers). One alpha for thousands of sparse n-gram
# columns and a handful of one-hot columns either over-shrinks the categories or lets the n-grams overfit;
# a block weight lets CV set the two apart. Only competes when the history has a text column.
TEXT_CANDIDATES = tuple(
    Candidate.of("linear", alpha=a, text_weight=w) for a in (0.1, 0.3, 1.0) for w in (0.03, 0.1, 0.3)
)
DEFAULT_CANDIDATES = DEFAULT_CANDIDATES + RECENCY_CANDIDATES + TEXT_CANDIDATES
CANDIDATE_GRIDS = {"full": DEFAULT_CANDIDATES, "small": SMALL_CANDIDATES}


def applicable(candidates: Sequence[Candidate], spec: FeatureSpec) -> list[Candidate]:
    """The candidates that differ from one another for ``spec``: text-weighted ones only with a text."""
    return [c for c in candidates if spec.text or c.text_weight is None]


def _sklearn_version() -> str:
    import sklearn

    return str(sklearn.__version__)


def recency_weights(n: int, half_life: float | None) -> np.ndarray | None:
    """Sample weights for ``n`` rows ordered oldest first: ``0.5 ** (age / (half_life * n))`` with age in
    rows (0 for the newest), so the newest row weighs 1 and weights never increase with age. ``None``
    (equal weights) without a half-life."""
    if half_life is None or n == 0:
        return None
    if half_life <= 0:
        raise ValueError(f"half_life must be > 0, got {half_life}")
    age = np.arange(n - 1, -1, -1, dtype=float)
    return np.power(0.5, age / (half_life * n))


def _fit_pipeline(
    candidate: Candidate, spec: FeatureSpec, design: pd.DataFrame, target: np.ndarray
) -> Pipeline:
    weights = recency_weights(len(design), candidate.half_life)
    pipe = build_pipeline(candidate, spec)
    if weights is None:
        return pipe.fit(design, target)
    return pipe.fit(design, target, model__sample_weight=weights)


CALIBRATION_SHIFTS = tuple(round(float(s), 3) for s in np.arange(-1.5, 0.501, 0.025))
MIN_CALIBRATION_ROWS = 20
# The MAPE calibration may raise the out-of-fold MAE of the log by at most this share: it must not cost
# the model its gate (judged on the log error) for a better MAPE.
CALIBRATION_MAX_LOG_COST = 0.1


def _mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(actual - predicted) / actual))


def calibration_shift(
    predicted_log: np.ndarray, actual: np.ndarray, offset: float, shifts: Sequence[float] = CALIBRATION_SHIFTS
) -> float:
    """The shift ``s`` (on the log scale) for which ``exp(predicted_log + s) - c`` has the lowest MAPE
    against ``actual``, from out-of-fold predictions, among the shifts that raise the MAE of the log (what
    the gate judges) by at most :data:`CALIBRATION_MAX_LOG_COST` over no shift. 0 when MAPE is undefined
    (a zero outcome) or there are fewer than 20 rows. Ties go to the shift closest to 0.

    A model of the log predicts a median-like value, and MAPE punishes over-prediction of small outcomes
    far more than under-prediction, so the MAPE-optimal value is lower. The same shift for every row
    leaves the ranking (Spearman, AUC, percentiles) unchanged."""
    a = np.asarray(actual, dtype=float)
    p = np.asarray(predicted_log, dtype=float)
    ok = np.isfinite(a) & np.isfinite(p)
    a, p = a[ok], p[ok]
    if a.size < MIN_CALIBRATION_ROWS or np.any(a <= 0):
        return 0.0
    log_a = np.log(a + offset)

    def log_error(s: float) -> float:
        return float(np.mean(np.abs(log_a - np.log(np.maximum(np.exp(p + s) - offset, 0.0) + offset))))

    budget = log_error(0.0) * (1 + CALIBRATION_MAX_LOG_COST) + 1e-12
    scores = [
        (_mape(a, np.maximum(np.exp(p + s) - offset, 0.0)), abs(s), s)
        for s in shifts
        if log_error(s) <= budget
    ]
    return float(min(scores)[2]) if scores else 0.0


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
    from splants_dagster.ml.pipelines import build_pipeline as _build

    return _build(candidate, spec, _numeric_inputs(spec), random_state)


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
    table: list[dict[str, Any]]  # one row per candidate: label, mean and per-fold CV figures
    # the best candidate's out-of-fold predictions of the relative target, aligned with ``oof_rows``
    oof_predicted: np.ndarray = field(default_factory=lambda: np.zeros(0))
    oof_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))


# A candidate whose CV MAE of the log is within this share of the best one's is as accurate; among those
# the best CV ranking (Spearman of the predicted outcome) wins if it ranks clearly better than the most
# accurate candidate (by at least this much ρ): smaller differences are fold noise.
SELECTION_TOLERANCE = 0.01
SELECTION_MIN_RANK_GAIN = 0.02


def _spearman(a: np.ndarray, p: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if a.size < 3 or np.all(a == a[0]) or np.all(p == p[0]):
        return 0.0
    value = float(spearmanr(a, p).statistic)
    return value if np.isfinite(value) else 0.0


def select_candidate(
    design: pd.DataFrame,
    target: np.ndarray,
    spec: FeatureSpec,
    candidates: Sequence[Candidate] = DEFAULT_CANDIDATES,
    n_splits: int = 4,
) -> Selection:
    """Time-ordered CV over the given (training) rows. Each candidate gets its mean MAE of the relative
    log target and the mean Spearman's ρ of the predicted outcome (baseline × factor) over the folds.

    The candidate with the lowest MAE is chosen, unless one whose MAE is within
    :data:`SELECTION_TOLERANCE` of it ranks the posts clearly better (CV ρ higher by at least
    :data:`SELECTION_MIN_RANK_GAIN`): then the best-ranking of those. Ties go to the earlier candidate
    (linear models are listed first)."""
    candidates = applicable(candidates, spec)
    folds = time_folds(len(design), n_splits)
    base_log = design[BASELINE_LOG].to_numpy(dtype=float)
    outcome_log = base_log + target  # log(y + c): ranking is over the outcome, not the relative target
    table = [
        {
            "candidate": "trailing baseline (no model)",
            "cv_mae_log": round(float(np.mean([np.mean(np.abs(target[te])) for _, te in folds])), 5),
            "cv_spearman": round(
                float(np.mean([_spearman(outcome_log[te], base_log[te]) for _, te in folds])), 4
            ),
        }
    ]
    results = []
    for cand in candidates:
        scores, ranks, oof = [], [], []
        for tr, te in folds:
            with single_threaded():
                pipe = _fit_pipeline(cand, spec, design.iloc[tr], target[tr])
                pred = np.asarray(pipe.predict(design.iloc[te]), dtype=float)
            oof.append(pred)
            scores.append(float(np.mean(np.abs(pred - target[te]))))
            ranks.append(_spearman(outcome_log[te], base_log[te] + pred))
        mean, rho = float(np.mean(scores)), float(np.mean(ranks))
        table.append(
            {
                "candidate": cand.label,
                "cv_mae_log": round(mean, 5),
                "cv_spearman": round(rho, 4),
                "folds": [round(s, 4) for s in scores],
            }
        )
        results.append((cand, mean, rho, np.concatenate(oof)))
    most_accurate = min(results, key=lambda r: r[1])  # min keeps the first of equal MAE
    eligible = [r for r in results if r[1] <= most_accurate[1] * (1 + SELECTION_TOLERANCE) + 1e-12]
    best_ranking = max(eligible, key=lambda r: r[2])  # max keeps the first of equal ρ
    best = best_ranking if best_ranking[2] >= most_accurate[2] + SELECTION_MIN_RANK_GAIN else most_accurate
    rows = np.concatenate([te for _, te in folds])
    return Selection(best[0], table, oof_predicted=best[3], oof_rows=rows)


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
    sklearn_version: str = field(default_factory=lambda: _sklearn_version())
    # MAPE calibration of the predicted value (log scale, chosen on out-of-fold CV predictions of the
    # training rows): one shift, or one per baseline group (e.g. platform) with enough rows. Same shift
    # for a whole group, so the ranking within it is unchanged; percentiles ignore it.
    value_shift: float = 0.0
    group_shifts: dict[str, float] | None = None

    def shifts_for(self, frame: pd.DataFrame) -> np.ndarray:
        """The calibration shift of each row (its group's, else the overall one)."""
        shift = np.full(len(frame), float(self.value_shift))
        if self.group_shifts and self.group and self.group in frame.columns:
            keys = categorical_values(frame[self.group]).tolist()
            shift = np.array([self.group_shifts.get(k, self.value_shift) for k in keys], dtype=float)
        return shift

    def value_from_relative(self, frame: pd.DataFrame, relative: np.ndarray) -> np.ndarray:
        """Predicted value in the target's units: ``(baseline + c) · exp(relative + shift) − c`` (≥ 0)."""
        frame = self._with_baseline(frame)
        log_value = to_log(frame[BASELINE], self.offset) + np.asarray(relative, dtype=float)
        return from_log(log_value + self.shifts_for(frame), self.offset)

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
        return self.value_from_relative(frame, self.predict_relative(frame))

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
    calibration: tuple[float, dict[str, float] | None] = (0.0, None),
) -> PerformanceModel:
    """Fit ``candidate`` on the fit-eligible ``rows`` of ``ts`` (all rows by default), recency-weighted
    when the candidate has a half-life. ``calibration`` is the (overall, per-group) MAPE shift of the
    predicted value (see :func:`calibration_from_selection`)."""
    frame = ts.frame if rows is None else ts.frame.loc[rows]
    mask = ts.fit_mask(frame.index)
    fit_rows = frame.index[mask.to_numpy()]
    if len(fit_rows) < 10:
        raise ValueError(f"only {len(fit_rows)} rows with a usable target; need at least 10 to fit a model")
    full = design if design is not None else design_frame(ts.frame, ts.spec, ts.offset)
    target = ts.frame.loc[fit_rows, TARGET].to_numpy(dtype=float)
    with single_threaded():
        pipeline = _fit_pipeline(candidate, ts.spec, full.loc[fit_rows], target)
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
        value_shift=float(calibration[0]),
        group_shifts=dict(calibration[1]) if calibration[1] else None,
    )


def calibration_from_selection(
    ts: TrainingSet, fitted_rows: pd.Index, selection: Selection
) -> tuple[float, dict[str, float] | None]:
    """The MAPE calibration shifts from the selected candidate's out-of-fold CV predictions.

    ``fitted_rows`` are the rows the CV ran on (in order): only training rows, never the test fold.
    One overall shift, and with a baseline group (e.g. platform) one per group that has at least
    :data:`MIN_CALIBRATION_ROWS` out-of-fold rows."""
    if selection.oof_rows.size == 0:
        return 0.0, None
    frame = ts.frame.loc[fitted_rows[selection.oof_rows]]
    pred_log = to_log(frame[BASELINE], ts.offset) + selection.oof_predicted
    actual = frame[ACTUAL].to_numpy(dtype=float)
    overall = calibration_shift(pred_log, actual, ts.offset)
    per_group: dict[str, float] = {}
    if ts.group and ts.group in frame.columns:
        keys = categorical_values(frame[ts.group]).to_numpy()
        for key in sorted(set(keys.tolist())):
            hit = keys == key
            if int(hit.sum()) >= MIN_CALIBRATION_ROWS:
                per_group[str(key)] = calibration_shift(pred_log[hit], actual[hit], ts.offset)
    return overall, (per_group or None)


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
