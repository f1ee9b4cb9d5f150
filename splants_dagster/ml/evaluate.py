"""The evaluation protocol: order by time, train on the oldest rows, test on the newest, compare the
model with naive baselines on exactly the same rows.

Metrics (on the test fold): MAE, MAPE (in percent; ``None`` when any actual value is 0, where it is
undefined), Spearman's ρ (``None`` for a constant prediction), R², MAE of ``log(y + c)`` and the AUC of
the prediction for "actual value in the fold's top quartile".

Baselines:

- ``global_median`` / ``global_mean``: the training rows' median / mean, for every test row;
- ``trailing_median``: the median of the previous ``window`` posts (per group, e.g. platform) known
  when each test post went out;
- ``deployed_model``: the currently active model's predictions, when there is one.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from splants_dagster.ml.features import ACTUAL, BASELINE, ROW, TARGET, TIME, TrainingSet, to_log
from splants_dagster.ml.models import (
    DEFAULT_CANDIDATES,
    Candidate,
    PerformanceModel,
    Selection,
    calibration_from_selection,
    design_frame,
    fit_model,
    permutation_importance,
    select_candidate,
)

ROW_ORDER = "@row"
HEADLINE_METRICS = ("mae", "mape", "spearman", "r2")


# --- ordering and the split -------------------------------------------------------------------------


_ISO_DATE = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}")


@dataclass(frozen=True)
class TimeFormat:
    """How a time column's text was read: ``format`` (strftime, or None = per value: ISO 8601 and other
    unambiguous forms) and ``why`` (a sentence for the notes)."""

    format: str | None
    why: str


def infer_time_format(raw: pd.Series) -> TimeFormat:
    """One date format for a whole time column, so that ``01/02/2024`` means the same thing on every row.

    Parsing each value on its own (pandas' ``format="mixed"``) reads ``01/02/2024`` month first but
    ``13/02/2024`` day first, which silently misorders a day-first export and lets later posts into the
    training rows. Candidate formats are pandas' own guesses (``guess_datetime_format``, month first and
    day first) from a sample of values; the one that parses every value wins. When both do (no day above
    12 in the file), the one whose times agree better with the file's row order (|Spearman ρ| with the
    row number; exports are in time order, oldest or newest first) wins. ISO dates (``2024-02-01``), numbers
    and columns no single format reads are left to per-value parsing (``format=None``).
    """
    from pandas.tseries.api import guess_datetime_format  # pandas' own format guesser, not a hand-written one

    text = raw.dropna().astype(str).str.strip()
    text = text[text != ""]
    if text.empty or text.map(lambda v: bool(_ISO_DATE.match(v))).all():
        return TimeFormat(None, "ISO 8601 dates")
    sample = text.iloc[:: max(1, len(text) // 200)].head(200)
    guesses: list[str] = []
    for dayfirst in (False, True):
        for value in sample.head(50):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                guess = guess_datetime_format(value, dayfirst=dayfirst)
            if guess and guess not in guesses:
                guesses.append(guess)
    position = pd.Series(np.arange(len(raw)), index=raw.index).loc[text.index]
    scored = []
    for rank, fmt in enumerate(guesses):
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
        ok = parsed.notna()
        if not ok.all():
            continue
        seconds = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
        order = spearman(position.to_numpy(), seconds.to_numpy())
        scored.append((abs(order) if order is not None else 0.0, -rank, fmt))
    if not scored:
        return TimeFormat(None, "no single format reads every value: each value parsed on its own")
    scored.sort(reverse=True)
    agreement, _, best = scored[0]
    if len(scored) == 1:
        return TimeFormat(best, f"{best}: the only format that reads every value")
    others = ", ".join(f"{fmt} (|ρ| {a:.2f})" for a, _, fmt in scored[1:])
    return TimeFormat(
        best,
        f"{best}: reads every value, as do {others}; its times follow the file's row order best (|ρ| {agreement:.2f})",
    )


def order_rows(
    df: pd.DataFrame, time_column: str, newest_first: bool = False, time_format: str | None = None
) -> tuple[pd.DataFrame, int]:
    """``df`` sorted oldest first with ``_time`` and ``_row`` (1-based position in the source) added, and
    the number of rows dropped because their time is empty or unparseable.

    ``time_column="@row"`` orders by position in the file: the first row is the oldest, or the newest with
    ``newest_first``. A real time column is parsed as numbers when numeric, else as dates with
    ``time_format`` (strftime; None = each value on its own, see :func:`infer_time_format`); ties keep file
    order.
    """
    out = df.reset_index(drop=True).copy()
    out[ROW] = np.arange(1, len(out) + 1)
    if time_column == ROW_ORDER:
        out[TIME] = out[ROW]
        ordered = out.iloc[::-1] if newest_first else out
        return ordered.reset_index(drop=True), 0
    if time_column not in out.columns:
        raise KeyError(f"time column {time_column!r} not found")
    raw = out[time_column]
    numeric = pd.to_numeric(raw, errors="coerce")
    if numeric.notna().sum() == raw.notna().sum() and raw.notna().any():
        out[TIME] = numeric
    else:
        out[TIME] = pd.to_datetime(raw, utc=True, errors="coerce", format=time_format or "mixed")
    bad = int(out[TIME].isna().sum())
    out = out[out[TIME].notna()].sort_values(TIME, kind="mergesort")
    return out.reset_index(drop=True), bad


def time_split(times: Sequence[Any] | pd.Series | int, test_fraction: float = 0.2) -> int:
    """How many of the oldest rows form the training split (the rest, newest, is the test split).

    ``floor(n * (1 - test_fraction))``, moved later while the first test row has the same time as the last
    training row, so that no test row is as old as a training row.
    """
    if not 0 < test_fraction < 1:
        raise ValueError("test_fraction must be between 0 and 1")
    n = times if isinstance(times, int) else len(times)
    n_train = math.floor(n * (1 - test_fraction))
    if n_train < 1 or n_train >= n:
        raise ValueError(f"{n} rows cannot be split {1 - test_fraction:.0%}/{test_fraction:.0%}")
    if not isinstance(times, int):
        values = list(times)
        while n_train < n - 1 and values[n_train] == values[n_train - 1]:
            n_train += 1
    return n_train


# --- metrics ----------------------------------------------------------------------------------------


def _clean(value: float | None, digits: int = 4) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)


def mape(actual: Any, predicted: Any) -> float | None:
    """Mean absolute percentage error in percent; ``None`` when any actual value is 0 (undefined)."""
    a, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    if a.size == 0 or np.any(a == 0):
        return None
    return float(100.0 * np.mean(np.abs(a - p) / np.abs(a)))


def spearman(actual: Any, predicted: Any) -> float | None:
    """Spearman's rank correlation; ``None`` when either side is constant (undefined)."""
    from scipy.stats import spearmanr  # imported here: loading the code location must stay light

    a, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    if a.size < 2 or np.all(a == a[0]) or np.all(p == p[0]):
        return None
    return float(spearmanr(a, p).statistic)


def spearman_ci95(rho: float | None, n: int) -> list[float] | None:
    """Approximate 95% interval of Spearman's ρ over ``n`` rows: Fisher's z with the Fieller, Hartley
    and Pearson (1957) variance 1.06 / (n − 3). ``None`` when ρ is undefined or n < 10.

    On 100 test rows the interval is about ±0.17 wide around ρ ≈ 0.45: two models 0.1 apart in ρ on one
    fold are not told apart by it."""
    if rho is None or n < 10 or not np.isfinite(rho):
        return None
    z, half = math.atanh(max(min(rho, 0.999999), -0.999999)), 1.96 * math.sqrt(1.06 / (n - 3))
    return [round(math.tanh(z - half), 4), round(math.tanh(z + half), 4)]


def auc_top_quartile(actual: Any, predicted: Any) -> float | None:
    """ROC AUC of ``predicted`` for "actual is in the top quartile of these rows" (0.5 = no skill)."""
    from sklearn.metrics import roc_auc_score

    a, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    positive = a >= np.quantile(a, 0.75) if a.size else a.astype(bool)
    if positive.all() or not positive.any():
        return None
    return float(roc_auc_score(positive, p))


def improvement_p_value(actual: Any, predicted: Any, baseline: Any, offset: float) -> float | None:
    """One-sided p-value that the model's absolute errors on the log scale are smaller than the
    baseline's on the same rows (paired Wilcoxon signed-rank test). Small = the improvement is unlikely
    to be luck; ``None`` with fewer than 5 rows; 1.0 when the errors are identical."""
    from scipy.stats import wilcoxon

    a = to_log(actual, offset)
    diff = np.abs(a - to_log(baseline, offset)) - np.abs(a - to_log(predicted, offset))
    diff = diff[np.isfinite(diff)]
    if diff.size < 5:
        return None
    if np.all(diff == 0):
        return 1.0
    return float(wilcoxon(diff, alternative="greater").pvalue)


def regression_metrics(actual: Any, predicted: Any) -> dict[str, float | None]:
    """The headline metrics: ``mae``, ``mape`` (percent, or None), ``spearman`` (or None), ``r2``."""
    from sklearn.metrics import r2_score

    a, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    return {
        "mae": _clean(float(np.mean(np.abs(a - p)))),
        "mape": _clean(mape(a, p)),
        "spearman": _clean(spearman(a, p)),
        "r2": _clean(float(r2_score(a, p)) if a.size >= 2 else None),
    }


def full_metrics(actual: Any, predicted: Any, offset: float) -> dict[str, float | None]:
    """The headline metrics plus ``mae_log`` (MAE of log(y + c)), ``auc_top_quartile`` and
    ``spearman_ci_low``/``spearman_ci_high`` (95%, see :func:`spearman_ci95`)."""
    a, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    headline = regression_metrics(a, p)
    interval = spearman_ci95(headline["spearman"], a.size)
    return {
        **headline,
        "spearman_ci_low": interval[0] if interval else None,
        "spearman_ci_high": interval[1] if interval else None,
        "mae_log": _clean(float(np.mean(np.abs(to_log(a, offset) - to_log(p, offset))))),
        "auc_top_quartile": _clean(auc_top_quartile(a, p)),
    }


def baseline_predictions(train_actual: Any, test: pd.DataFrame) -> dict[str, np.ndarray]:
    """The naive predictions for the test rows (see the module docstring)."""
    train = np.asarray(train_actual, dtype=float)
    train = train[np.isfinite(train)]
    median, mean = float(np.median(train)), float(np.mean(train))
    trailing = test[BASELINE].astype(float).fillna(median).to_numpy()
    return {
        "global_median": np.full(len(test), median),
        "global_mean": np.full(len(test), mean),
        "trailing_median": trailing,
    }


# --- the protocol -----------------------------------------------------------------------------------


@dataclass
class Evaluation:
    """What the evaluation on the newest fold found."""

    n_train: int
    n_test: int
    model: dict[str, float | None]
    baselines: dict[str, dict[str, float | None]]
    selection: Selection
    fitted: PerformanceModel  # trained on the training split only
    predictions: pd.DataFrame  # test rows: time, row, actual, predicted, one column per baseline
    importances: dict[str, float]
    rows_fitted: int
    notes: dict[str, Any] = field(default_factory=dict)
    # per baseline: one-sided p-value that the model's log errors are smaller (improvement_p_value)
    p_values: dict[str, float | None] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """``{"n_train", "n_test", "model": {mae, mape, spearman, r2}, "baselines": {name: {same}}}``."""
        return {
            "n_train": self.n_train,
            "n_test": self.n_test,
            "model": {k: self.model[k] for k in HEADLINE_METRICS},
            "baselines": {n: {k: m[k] for k in HEADLINE_METRICS} for n, m in self.baselines.items()},
        }

    def calibration(self) -> dict[str, Any]:
        """The MAPE calibration shift(s) of the predicted value (log scale, from CV on the training rows)."""
        return {"shift": self.fitted.value_shift, "group_shifts": self.fitted.group_shifts}

    def details(self) -> dict[str, Any]:
        return {
            "selected": self.selection.best.label,
            "cross_validation": self.selection.table,
            "calibration": self.calibration(),
            "rows_fitted": self.rows_fitted,
            "model": self.model,
            "baselines": self.baselines,
            "improvement_p_values": self.p_values,
            "feature_importances": self.importances,
            **self.notes,
        }


def evaluate(
    ts: TrainingSet,
    deployed: PerformanceModel | None = None,
    candidates: Sequence[Candidate] = DEFAULT_CANDIDATES,
    test_fraction: float = 0.2,
    n_splits: int = 4,
) -> Evaluation:
    """Select a candidate by time-ordered CV on the oldest rows, fit it there, and score it and every
    baseline on the newest rows. The test rows are never used to choose or fit anything."""
    frame = ts.frame
    n_train = ts.n_train if ts.n_train is not None else time_split(frame[TIME], test_fraction)
    train, test = frame.iloc[:n_train], frame.iloc[n_train:]
    design = design_frame(frame, ts.spec, ts.offset)
    eligible = train.index[ts.fit_mask(train.index).to_numpy()]
    target = frame.loc[eligible, TARGET].to_numpy(dtype=float)
    selection = select_candidate(design.loc[eligible], target, ts.spec, candidates, n_splits)
    calibration = calibration_from_selection(ts, eligible, selection)
    model = fit_model(ts, selection.best, rows=train.index, design=design, calibration=calibration)

    test_design = design.loc[test.index]
    baseline = test[BASELINE].astype(float).fillna(model.fallback_baseline)
    relative = model.predict_relative_design(test_design)
    predicted = model.value_from_relative(test.assign(**{BASELINE: baseline}), relative)
    actual = test[ACTUAL].to_numpy(dtype=float)

    baselines = baseline_predictions(train[ACTUAL], test)
    notes: dict[str, Any] = {}
    if deployed is not None:
        try:
            baselines["deployed_model"] = np.asarray(deployed.predict(test), dtype=float)
        except (KeyError, ValueError) as exc:
            notes["deployed_model"] = f"the deployed model could not score these rows: {exc}"
    metrics = full_metrics(actual, predicted, ts.offset)
    baseline_metrics = {name: full_metrics(actual, p, ts.offset) for name, p in baselines.items()}
    p_values = {
        name: _clean(improvement_p_value(actual, predicted, p, ts.offset), 6) for name, p in baselines.items()
    }

    test_target = to_log(actual, ts.offset) - to_log(baseline, ts.offset)
    importances = permutation_importance(model, test_design, np.asarray(test_target))
    predictions = pd.DataFrame(
        {"time": test[TIME].to_numpy(), "row": test[ROW].to_numpy(), "actual": actual, "predicted": predicted}
    )
    for name, p in baselines.items():
        predictions[name] = p
    return Evaluation(
        n_train=len(train),
        n_test=len(test),
        model=metrics,
        baselines=baseline_metrics,
        selection=selection,
        fitted=model,
        predictions=predictions,
        importances=importances,
        rows_fitted=model.trained_rows,
        notes=notes,
        p_values=p_values,
    )
