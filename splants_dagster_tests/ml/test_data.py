"""The warehouse side of the predictor (``ml/data.py``): outcomes aggregated in DuckDB equal the pandas
definition, and an active model trained on other inputs is never used for pieces."""

import pandas as pd
import pytest

from splants_dagster.ml import data
from splants_dagster.ml.features import FeatureSpec, piece_outcomes
from splants_dagster.ml.models import Candidate, fit_model
from splants_dagster.ml.registry import GateDecision, ModelRegistry, register
from splants_dagster.ml.training import prepare_history
from splants_dagster.paths import DataPaths
from splants_dagster_tests.ml import synthetic


def test_outcomes_aggregated_in_sql_equal_the_pandas_definition(store):
    _, metrics = synthetic.pieces_and_metrics(60)  # two daily rows per piece
    metrics.loc[metrics.index[::5], "impressions"] = None  # some days without impressions
    with store.write() as conn:
        conn.executemany(
            f"INSERT INTO engagement_metrics ({', '.join(metrics.columns)}) "
            f"VALUES ({', '.join('?' * len(metrics.columns))})",
            metrics.astype(object).where(metrics.notna(), None).itertuples(index=False, name=None),
        )
    as_of = metrics["published_at"].max() + pd.Timedelta(days=5)
    from_sql = piece_outcomes(data.outcomes_frame(store), as_of).set_index("piece_id").sort_index()
    from_rows = piece_outcomes(metrics, as_of).set_index("piece_id").sort_index()
    assert list(from_sql.index) == list(from_rows.index) and len(from_sql) == 60
    assert from_sql["engagement_rate"].to_numpy() == pytest.approx(from_rows["engagement_rate"].to_numpy())


def test_an_active_model_on_other_inputs_is_not_used(paths):
    spec = FeatureSpec(categorical=("type",), numeric=("hour",))
    ts = prepare_history(synthetic.history(120), target="consumers", spec=spec, time_column="published")
    registry = ModelRegistry.at(paths, data.MODEL_NAME)
    register(registry, fit_model(ts, Candidate.of("linear", alpha=1.0)), {}, GateDecision(True, "test"))
    active, note = data.load_active(paths)
    assert active is None and "trained on other inputs" in note
    assert data.load_active(DataPaths.at(paths.root / "elsewhere"))[1].startswith("no active model yet")
