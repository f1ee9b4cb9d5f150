"""The time-ordered split, the metrics, the baselines and the evaluation protocol."""

import numpy as np
import pandas as pd
import pytest

from splants_dagster.ml.evaluate import (
    auc_top_quartile,
    baseline_predictions,
    evaluate,
    full_metrics,
    mape,
    order_rows,
    regression_metrics,
    spearman,
    spearman_ci95,
    time_split,
)
from splants_dagster.ml.features import BASELINE, FeatureSpec
from splants_dagster.ml.models import LINEAR_CANDIDATES, Candidate, time_folds
from splants_dagster.ml.training import prepare_history
from splants_dagster_tests.ml import synthetic

SMALL_GRID = (Candidate.of("linear", alpha=1.0), Candidate.of("linear", alpha=100.0))


def test_time_split_oldest_train_newest_test():
    assert time_split(500) == 400
    assert time_split(list(range(10)), 0.3) == 7
    # a timestamp shared across the boundary moves it later: no test row is as old as a training row
    assert time_split([1, 2, 3, 4, 5, 6, 7, 7, 8, 9], 0.3) == 8
    with pytest.raises(ValueError):
        time_split(500, 1.5)
    with pytest.raises(ValueError):
        time_split(1)


def test_order_rows_by_file_position_newest_first():
    df = pd.DataFrame({"v": [30, 20, 10]})
    ordered, dropped = order_rows(df, "@row", newest_first=True)
    assert list(ordered["v"]) == [10, 20, 30] and list(ordered["_row"]) == [3, 2, 1] and dropped == 0
    ordered, _ = order_rows(df, "@row")
    assert list(ordered["v"]) == [30, 20, 10]


def test_order_rows_by_time_column():
    df = pd.DataFrame({"when": ["2024-03-01", "2024-01-01", "not a date", "2024-02-01"], "v": [3, 1, 9, 2]})
    ordered, dropped = order_rows(df, "when")
    assert list(ordered["v"]) == [1, 2, 3] and dropped == 1
    assert list(ordered["_row"]) == [2, 4, 1]
    numeric, _ = order_rows(pd.DataFrame({"t": [5, 1, 3], "v": [5, 1, 3]}), "t")
    assert list(numeric["v"]) == [1, 3, 5]


def test_metrics():
    actual, predicted = np.array([10.0, 20.0, 40.0]), np.array([12.0, 18.0, 40.0])
    m = regression_metrics(actual, predicted)
    assert set(m) == {"mae", "mape", "spearman", "r2"}
    assert m["mae"] == pytest.approx(4 / 3, abs=1e-4)
    assert m["mape"] == pytest.approx(100 * (0.2 + 0.1 + 0) / 3, abs=1e-4)
    assert m["spearman"] == pytest.approx(1.0)
    assert mape([0.0, 5.0], [1.0, 5.0]) is None
    assert regression_metrics([0.0, 5.0, 7.0], [1.0, 5.0, 6.0])["mape"] is None
    assert spearman([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]) is None
    assert auc_top_quartile([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8]) == 1.0
    assert auc_top_quartile([1, 2, 3, 4, 5, 6, 7, 8], [5] * 8) == 0.5
    full = full_metrics(actual, actual, offset=1.0)
    assert full["mae"] == 0 and full["mae_log"] == 0 and full["r2"] == 1.0
    assert full["spearman_ci_low"] is None and full["spearman_ci_high"] is None  # 3 rows: too few


def test_spearman_interval():
    lo, hi = spearman_ci95(0.44, 100)
    assert lo == pytest.approx(0.26, abs=0.01) and hi == pytest.approx(0.59, abs=0.01)
    assert spearman_ci95(None, 100) is None and spearman_ci95(0.5, 9) is None
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    full = full_metrics(np.exp(x), np.exp(x + rng.normal(size=200)), offset=1.0)
    lo, hi = full["spearman_ci_low"], full["spearman_ci_high"]
    assert lo < full["spearman"] < hi and hi - lo < 0.3


def test_baselines():
    test = pd.DataFrame({BASELINE: [15.0, np.nan, 30.0]})
    preds = baseline_predictions([10.0, 20.0, 90.0], test)
    assert list(preds["global_median"]) == [20.0] * 3
    assert list(preds["global_mean"]) == [40.0] * 3
    assert list(preds["trailing_median"]) == [15.0, 20.0, 30.0]  # no history → the training median


def test_time_folds_expand_forward():
    folds = time_folds(100, n_splits=4)
    assert [len(tr) for tr, _ in folds] == [52, 64, 76, 88]
    for tr, te in folds:
        assert tr.max() < te.min() and len(te) == 12


def test_evaluation_never_looks_at_the_test_rows():
    spec = FeatureSpec(categorical=("type", "paid"), numeric=("hour",))
    history = synthetic.history(300)
    ts = prepare_history(history, target="consumers", spec=spec, time_column="published")
    first = evaluate(ts, candidates=LINEAR_CANDIDATES)
    changed = history.copy()
    newest = changed["published"] >= sorted(changed["published"])[ts.n_train]
    changed.loc[newest, "consumers"] = changed.loc[newest, "consumers"] * 50 + 7
    ts2 = prepare_history(changed, target="consumers", spec=spec, time_column="published")
    second = evaluate(ts2, candidates=LINEAR_CANDIDATES)
    assert ts2.window == ts.window and ts2.offset == ts.offset
    assert first.selection.table == second.selection.table
    train_rows = ts.frame.iloc[: ts.n_train]
    assert np.allclose(first.fitted.predict(train_rows), second.fitted.predict(train_rows))
    assert first.model != second.model  # ... while the test figures do change


def test_evaluation_summary_shape_and_baselines():
    spec = FeatureSpec(categorical=("type",), numeric=("hour",))
    ts = prepare_history(synthetic.history(200), target="consumers", spec=spec, time_column="published")
    ev = evaluate(ts, candidates=SMALL_GRID)
    summary = ev.summary()
    assert summary["n_train"] == 160 and summary["n_test"] == 40
    assert set(summary["model"]) == {"mae", "mape", "spearman", "r2"}
    assert set(summary["baselines"]) == {"global_median", "global_mean", "trailing_median"}
    for metrics in summary["baselines"].values():
        assert set(metrics) == {"mae", "mape", "spearman", "r2"}
    assert summary["baselines"]["global_median"]["spearman"] is None  # constant prediction
    median = float(np.median(ts.frame["_actual"].iloc[:160]))
    assert np.allclose(ev.predictions["global_median"], median)
    assert list(ev.predictions.columns[:4]) == ["time", "row", "actual", "predicted"]
    assert ev.predictions["time"].min() > ts.frame["_time"].iloc[159]


def _dates(days, fmt):
    return [d.strftime(fmt) for d in days]


def test_one_date_format_for_the_whole_column():
    from splants_dagster.ml.evaluate import infer_time_format

    days = pd.date_range("2024-01-01 09:00", periods=60, freq="D")
    # a day above 12 somewhere: only the day-first reading parses every value
    assert infer_time_format(pd.Series(_dates(days, "%d/%m/%Y %H:%M"))).format == "%d/%m/%Y %H:%M"
    assert infer_time_format(pd.Series(_dates(days, "%m/%d/%Y"))).format == "%m/%d/%Y"
    # no day above 12 (the 1st–12th of each month): both readings parse; the file's order decides
    early = [d for d in pd.date_range("2024-01-01", "2024-12-31", freq="D") if d.day <= 12]
    dayfirst = infer_time_format(pd.Series(_dates(early, "%d.%m.%Y")[::-1]))  # newest first
    assert dayfirst.format == "%d.%m.%Y" and "row order" in dayfirst.why
    assert infer_time_format(pd.Series(_dates(early, "%m.%d.%Y"))).format == "%m.%d.%Y"
    assert infer_time_format(pd.Series(["2024-02-01", "2024-02-13", None])).format is None  # ISO


def test_day_first_dates_never_let_a_later_post_into_training():
    days = pd.date_range("2024-01-01 10:00", periods=200, freq="D")
    df = synthetic.history(200, seed=1).assign(published=_dates(days, "%d/%m/%Y %H:%M"), true_time=days)
    spec = FeatureSpec(categorical=("type",))
    ts = prepare_history(
        df.sample(frac=1, random_state=0), target="consumers", spec=spec, time_column="published"
    )
    order = pd.to_datetime(ts.frame["_time"]).dt.tz_localize(None)
    assert order.is_monotonic_increasing and order.iloc[0] == days[0] and order.iloc[-1] == days[-1]
    assert ts.notes["time_format"].startswith("%d/%m/%Y %H:%M")
    with pytest.raises(ValueError, match="no value could be read as a time with the format '%Y/%m/%d'"):
        prepare_history(df, target="consumers", spec=spec, time_column="published", time_format="%Y/%m/%d")
