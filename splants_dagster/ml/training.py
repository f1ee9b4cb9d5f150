"""What the CLI and the Dagster assets call: prepare a history, train and evaluate with the gate, predict
for unpublished pieces, and score content-suite candidates.

- :func:`prepare_history`: any table of past posts (a CSV) → :class:`TrainingSet`.
- :func:`train_and_evaluate`: selection + evaluation on the newest fold + the gate, then a refit on every
  row for deployment; returns a :class:`TrainingResult` with the model card.
- :func:`predict`: predicted score, relative factor and value for pieces not yet published.
- :func:`suite_predictor`: the ``(PieceSpec, Draft) -> float`` the content suite weighs at .15.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform as _platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from splants_dagster.ml.evaluate import Evaluation, evaluate, infer_time_format, order_rows, time_split
from splants_dagster.ml.features import (
    ACTUAL,
    BASELINE,
    TIME,
    FeatureSpec,
    TrainingSet,
    attach_baseline,
    check_pre_publication,
    log_offset,
    parse_number_column,
    piece_frame,
    piece_outcomes,
    select_window,
)
from splants_dagster.ml.models import DEFAULT_CANDIDATES, Candidate, PerformanceModel, fit_model
from splants_dagster.ml.registry import GateDecision, gate, model_is_demo


def prepare_history(
    df: pd.DataFrame,
    *,
    target: str,
    spec: FeatureSpec,
    time_column: str,
    newest_first: bool = False,
    window: int | str = "auto",
    gap: int = 0,
    group: str | None = None,
    offset: float | str = "auto",
    exclude_where: str | None = None,
    test_fraction: float = 0.2,
    time_format: str | None = "auto",
) -> TrainingSet:
    """A history table → a :class:`TrainingSet` ordered oldest first, split oldest/newest.

    Data quality is handled explicitly and reported in ``notes``: rows matching ``exclude_where`` (a
    pandas query, e.g. ``"`Lifetime Post Total Impressions` < `Lifetime Post Total Reach`"``) are removed;
    rows with an empty or non-numeric target are removed (the target cannot be imputed); empty feature
    cells stay (a ``(missing)`` category, or median imputation with a missing-value indicator). A negative
    target is an error. ``window="auto"`` picks the trailing window on the training rows only.
    ``time_format``: strftime format of a date time column; ``"auto"`` infers one format for the whole
    column (:func:`~splants_dagster.ml.evaluate.infer_time_format`, said in ``notes["time_format"]``), so
    day-first and month-first dates are never mixed; None parses each value on its own.
    """
    check_pre_publication([*spec.columns, *([group] if group else [])], target)
    needed = [c for c in [target, *spec.columns, group] if c and c not in df.columns]
    if time_column != "@row" and time_column not in df.columns:
        needed.append(time_column)
    if needed:
        raise KeyError(f"column(s) not in the history: {needed}; available: {list(df.columns)}")
    notes: dict[str, Any] = {"rows_read": len(df)}
    empty = {c: int(df[c].isna().sum()) for c in [*spec.columns, target] if df[c].isna().any()}
    if empty:
        notes["empty_cells"] = empty
    fmt: str | None = None
    raw_time = df[time_column] if time_column != "@row" else None
    if (
        raw_time is not None
        and pd.to_numeric(raw_time, errors="coerce").notna().sum() < raw_time.notna().sum()
    ):
        if time_format == "auto":
            inferred = infer_time_format(raw_time)
            fmt, notes["time_format"] = inferred.format, inferred.why
        elif time_format:
            fmt, notes["time_format"] = time_format, f"{time_format}: given"
    ordered, bad_time = order_rows(df, time_column, newest_first, fmt)
    if raw_time is not None and len(df) and bad_time == len(df):
        example = raw_time.dropna().astype(str).head(1).tolist()
        how = f"the format {fmt!r}" if fmt else "any date format"
        raise ValueError(
            f"time column {time_column!r}: no value could be read as a time with {how}"
            + (f" (first value: {example[0]!r})" if example else " (the column is empty)")
        )
    dropped: dict[str, int] = {}
    if bad_time:
        dropped["time empty or unparseable"] = bad_time
    if exclude_where:
        try:
            hit = ordered.query(exclude_where).index
        except Exception as exc:  # pandas raises several types for a bad expression
            raise ValueError(f"cannot apply --exclude-where {exclude_where!r}: {exc}") from exc
        if len(hit):
            dropped[f"excluded: {exclude_where}"] = len(hit)
        ordered = ordered.drop(index=hit)
    formats: dict[str, str] = {}
    for column in dict.fromkeys([target, *spec.numeric]):
        values, reading = parse_number_column(ordered[column])
        if reading:
            ordered[column], formats[column] = values, reading
    if formats:
        notes["number_format"] = formats
    actual = pd.to_numeric(ordered[target], errors="coerce")
    given = ordered[target].notna() & (ordered[target].astype(str).str.strip() != "")
    unreadable = given & actual.isna()
    if len(ordered) and unreadable.sum() > 0.5 * given.sum():
        example = ordered.loc[unreadable, target].iloc[0]
        raise ValueError(
            f"target {target!r}: {int(unreadable.sum())} of {int(given.sum())} values are not numbers "
            f"(e.g. {example!r})"
        )
    if (actual < 0).any():
        raise ValueError(f"target {target!r} has negative values; a log-relative target needs y >= 0")
    if actual.isna().any():
        dropped["target empty or non-numeric"] = int(actual.isna().sum())
    ordered = ordered.assign(**{ACTUAL: actual})[actual.notna()].reset_index(drop=True)
    if dropped:
        notes["rows_dropped"] = dropped
    n_train = time_split(ordered[TIME], test_fraction)
    train_actual = ordered[ACTUAL].iloc[:n_train]
    c = log_offset(train_actual, offset)
    groups = ordered[group].iloc[:n_train] if group else None
    if window == "auto":
        chosen, scores = select_window(train_actual, c, gap, groups)
        notes["window_selection"] = {
            "chosen": chosen,
            "train_mae_log": {str(k): round(v, 4) for k, v in scores.items()},
        }
        window = chosen
    frame = attach_baseline(ordered, c, int(window), gap, group)
    keep = [*dict.fromkeys([*spec.columns, *([group] if group else [])])]
    frame = frame[[*keep, "_time", "_row", ACTUAL, BASELINE, "_history", "_target"]]
    return TrainingSet(
        frame=frame,
        spec=spec,
        target_name=target,
        offset=c,
        window=int(window),
        gap=gap,
        group=group,
        n_train=n_train,
        min_history=min(5, int(window)),
        notes=notes,
    )


@dataclass
class TrainingResult:
    """A model ready to deploy (refit on every row), its card, and the gate's decision on the newest
    fold (made with the model fitted on the older rows only)."""

    model: PerformanceModel
    card: dict[str, Any]
    gate_passed: bool
    reason: str
    evaluation: Evaluation
    decision: GateDecision


def _fingerprint(ts: TrainingSet) -> str:
    cols = [TIME, ACTUAL, *ts.spec.columns]
    data = ts.frame[cols].astype(str).to_csv(index=False).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def model_card(
    ts: TrainingSet, ev: Evaluation, model: PerformanceModel, decision: GateDecision
) -> dict[str, Any]:
    """The JSON-able card stored beside the model file (see docs/ml.md for the fields)."""
    frame = ts.frame
    return {
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "target": ts.target_name,
        "target_definition": "log((y + c) / (trailing median + c))",
        "offset": ts.offset,
        "window": ts.window,
        "gap": ts.gap,
        "group": ts.group,
        "features": ts.spec.as_dict(),
        "model": model.candidate.as_dict(),
        "model_label": model.candidate.label,
        "cross_validation": ev.selection.table,
        "calibration": ev.calibration(),
        "training_window": {"from": model.trained_from, "through": model.trained_through},
        "rows": len(frame),
        "rows_fitted": model.trained_rows,
        "evaluation": {
            "n_train": ev.n_train,
            "n_test": ev.n_test,
            "test_from": str(frame[TIME].iloc[ev.n_train]) if ev.n_test else None,
            "model": ev.model,
            "baselines": ev.baselines,
            "improvement_p_values": ev.p_values,
            **ev.notes,
        },
        "feature_importances": ev.importances,
        "gate": {"passed": decision.passed, "reason": decision.reason},
        "deployed": decision.passed,
        "data_sha256": _fingerprint(ts),
        "sklearn_version": model.sklearn_version,
        "python_version": _platform.python_version(),
        **({"notes": ts.notes} if ts.notes else {}),
    }


def train_and_evaluate(
    ts: TrainingSet,
    deployed_model: PerformanceModel | None = None,
    candidates: Sequence[Candidate] = DEFAULT_CANDIDATES,
    test_fraction: float = 0.2,
) -> TrainingResult:
    """Evaluate on the newest fold against the baselines (the deployed model included), decide the gate,
    then refit the selected candidate on every row (what gets deployed when the gate passes)."""
    if ts.n_train is None:
        ts.n_train = time_split(ts.frame[TIME], test_fraction)
    ev = evaluate(ts, deployed_model, candidates, test_fraction)
    decision = gate(ev.model, ev.baselines, p_values=ev.p_values)
    if deployed_model is not None and "deployed_model" not in ev.baselines:
        # say why the deployed model was not compared, rather than "no deployed model yet"
        why = ev.notes.get("deployed_model", "the deployed model could not score the newest fold")
        reason = decision.reason.replace("no deployed model to compare with yet", why)
        decision = GateDecision(decision.passed, reason, decision.comparisons)
    calibration = (ev.fitted.value_shift, ev.fitted.group_shifts)
    final = fit_model(ts, ev.selection.best, calibration=calibration)
    card = model_card(ts, ev, final, decision)
    return TrainingResult(final, card, decision.passed, decision.reason, ev, decision)


def model_run_row(card: Mapping[str, Any]) -> dict[str, Any]:
    """A stored model card (with ``model_version`` and ``name`` from the registry) as a row of
    ``ml_model_runs``."""
    ev = card.get("evaluation", {})
    metrics = ev.get("model", {})
    baselines = ev.get("baselines", {})

    def base(name: str, metric: str) -> float | None:
        return baselines.get(name, {}).get(metric)

    window = card.get("training_window", {})
    return {
        "model_version": card["model_version"],
        "model_name": card.get("name"),
        "trained_at": pd.Timestamp(card["created_at"]).to_pydatetime(),
        "rows": card.get("rows"),
        "rows_fitted": card.get("rows_fitted"),
        "n_train": ev.get("n_train"),
        "n_test": ev.get("n_test"),
        "window_from": window.get("from"),
        "window_through": window.get("through"),
        "model_kind": card.get("model", {}).get("kind"),
        "model_label": card.get("model_label"),
        "target": card.get("target"),
        "trailing_window": card.get("window"),
        **{k: metrics.get(k) for k in ("mae", "mape", "spearman", "r2", "mae_log", "auc_top_quartile")},
        **{
            f"{name}_{metric}": base(name, metric)
            for name in ("trailing_median", "deployed_model")
            for metric in ("mae", "mae_log", "spearman")
        },
        "trailing_median_p_value": ev.get("improvement_p_values", {}).get("trailing_median"),
        "deployed": bool(card.get("deployed")),
        "reason": card.get("gate", {}).get("reason"),
        "is_demo": model_is_demo(card),
        "card": json.dumps(card, default=str),
    }


# --- prediction for unpublished pieces --------------------------------------------------------------


def current_baselines(
    metrics: pd.DataFrame, window: int, gap: int = 0, **outcome_kw: Any
) -> dict[str, float]:
    """Each platform's trailing median engagement rate now (the last ``window`` posts after skipping the
    ``gap`` newest), which is the baseline a piece published next would be judged against."""
    outcomes = piece_outcomes(metrics, **outcome_kw).sort_values("published_at", kind="mergesort")
    out = {}
    for platform, rows in outcomes.groupby("platform"):
        rates = rows["engagement_rate"].to_numpy(dtype=float)
        recent = rates[: len(rates) - gap] if gap else rates
        if recent.size:
            out[str(platform)] = float(np.median(recent[-window:]))
    if not outcomes.empty:
        rates = outcomes["engagement_rate"].to_numpy(dtype=float)
        recent = rates[: len(rates) - gap] if gap else rates
        if recent.size:
            out["*"] = float(np.median(recent[-window:]))
    return out


def predict(
    model: PerformanceModel,
    pieces: pd.DataFrame,
    baselines: Mapping[str, float],
    tz: str | ZoneInfo = "UTC",
    time_column: str = "publish_at",
) -> pd.DataFrame:
    """``piece_id``, ``predicted_score`` (percentile in [0, 1] of the predicted relative performance
    among the training posts), ``predicted_relative`` (log factor over the platform baseline) and
    ``predicted_value`` (in the target's units) for each piece."""
    frame = _with_baselines(piece_frame(pieces, tz, time_column=time_column), model, baselines)
    relative = model.predict_relative(frame)
    value = model.value_from_relative(frame, relative)
    return pd.DataFrame(
        {
            "piece_id": frame["piece_id"].to_numpy(),
            "predicted_score": np.round(model.percentile_of(relative), 4),
            "predicted_relative": np.round(relative, 5),
            "predicted_value": value,
        }
    )


def _with_baselines(
    frame: pd.DataFrame, model: PerformanceModel, baselines: Mapping[str, float]
) -> pd.DataFrame:
    fallback = baselines.get("*", model.fallback_baseline)
    frame[BASELINE] = [baselines.get(p, fallback) for p in frame["platform"]]
    return frame


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # as piece_frame names them


def predict_slots(
    model: PerformanceModel,
    pieces: pd.DataFrame,
    baselines: Mapping[str, float],
    tz: str | ZoneInfo = "UTC",
    hours: Sequence[int] = tuple(range(24)),
) -> pd.DataFrame:
    """Each piece as if published at every weekday × hour of the brand's clock: ``piece_id``,
    ``weekday`` (0 = Monday), ``hour``, ``predicted_relative`` and ``predicted_score``. The scheduler
    breaks ties between equally good slots with it. Empty when the model has no weekday/hour inputs."""
    columns = ["piece_id", "weekday", "hour", "predicted_relative", "predicted_score"]
    if pieces.empty or "weekday" not in model.spec.categorical or "hour" not in model.spec.numeric:
        return pd.DataFrame(columns=columns)
    frame = _with_baselines(piece_frame(pieces, tz, time_column="publish_at"), model, baselines)
    design = model.design(frame)  # text statistics computed once per piece
    grid = [(d, h) for d in range(7) for h in hours]
    repeated = design.iloc[np.repeat(np.arange(len(design)), len(grid))].reset_index(drop=True)
    repeated["weekday"] = [WEEKDAYS[d] for d, _ in grid] * len(design)
    repeated["hour"] = [float(h) for _, h in grid] * len(design)
    relative = model.predict_relative_design(repeated)
    return pd.DataFrame(
        {
            "piece_id": np.repeat(frame["piece_id"].to_numpy(), len(grid)),
            "weekday": [d for d, _ in grid] * len(design),
            "hour": [h for _, h in grid] * len(design),
            "predicted_relative": np.round(relative, 5),
            "predicted_score": np.round(model.percentile_of(relative), 4),
        }
    )


def suite_predictor(
    model: PerformanceModel,
    baselines: Mapping[str, float],
    *,
    tz: str | ZoneInfo = "UTC",
    tone: str | None = None,
    paid: bool | None = None,
    keywords: Sequence[str] = (),
    publish_at: dt.datetime | None = None,
) -> Callable[[Any, Any], float | None]:
    """The content suite's predicted-performance component: ``(PieceSpec, Draft) -> percentile``.

    Returns None (the component is left out and the other weights renormalised) when the model cannot
    score a candidate, e.g. a model trained on a different feature set."""
    from splants_dagster.content.suite import render

    def score(spec: Any, draft: Any) -> float | None:
        row = pd.DataFrame(
            [
                {
                    "piece_id": spec.piece_id,
                    "platform": spec.platform,
                    "content_type": spec.content_type,
                    "tone": tone,
                    "paid": paid,
                    "variant_dimension": None,
                    "rendered": render(draft, spec),
                    "keywords": list(keywords),
                    "publish_at": publish_at,
                }
            ]
        )
        try:
            scored = predict(model, row, baselines, tz)
        except (KeyError, ValueError):
            return None
        return float(scored["predicted_score"].iloc[0])

    return score
