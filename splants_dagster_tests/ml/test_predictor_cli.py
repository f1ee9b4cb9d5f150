"""`splants predictor evaluate`, run as a user would (installed entry point), on the real Facebook file."""

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from splants_dagster.ml.features import FeatureSpec
from splants_dagster.ml.models import Candidate, fit_model
from splants_dagster.ml.registry import ModelRegistry
from splants_dagster.ml.training import prepare_history
from splants_dagster_tests.ml import synthetic

SPLANTS = str(Path(os.sys.executable).parent / "splants")
FACEBOOK = Path(__file__).resolve().parents[2] / "data" / "facebook_metrics" / "dataset_Facebook.csv"
FB_ARGS = [
    "--history",
    str(FACEBOOK),
    "--sep",
    ";",
    "--time-column",
    "@row",
    "--newest-first",
    "--target",
    "Lifetime Post Consumers",
    "--categorical",
    "Type,Category,Post Weekday,Paid",
    "--numeric",
    "Page total likes,Post Month,Post Hour",
]
KEYS = {"mae", "mape", "spearman", "r2"}


def splants(*args, env=None):
    return subprocess.run(
        [SPLANTS, "predictor", "evaluate", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_facebook_history(tmp_path):
    out_csv = tmp_path / "predictions.csv"
    run = splants(*FB_ARGS, "--predictions-out", str(out_csv))
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert set(result) == {"n_train", "n_test", "model", "baselines"}
    assert result["n_train"] == 400 and result["n_test"] == 100
    assert set(result["model"]) == KEYS
    assert {"global_median", "global_mean", "trailing_median"} <= set(result["baselines"])
    for metrics in result["baselines"].values():
        assert set(metrics) == KEYS
    # the data README's orientation figure: the training median scores a MAPE of about 240%
    assert result["baselines"]["global_median"]["mape"] == pytest.approx(242.3, abs=0.1)
    assert result["baselines"]["global_median"]["spearman"] is None

    predictions = pd.read_csv(out_csv)
    assert list(predictions.columns) == ["time", "actual", "predicted"]
    assert len(predictions) == 100
    # rows are newest first in the file, so the test rows are file rows 100 (oldest of them) .. 1
    assert list(predictions["time"]) == list(range(100, 0, -1))
    fb = pd.read_csv(FACEBOOK, sep=";")
    assert list(predictions["actual"]) == list(fb["Lifetime Post Consumers"].iloc[:100][::-1])
    assert (predictions["predicted"] > 0).all()


def test_post_publication_inputs_are_refused():
    args = [a if a != "Page total likes,Post Month,Post Hour" else "Post Hour,like" for a in FB_ARGS]
    run = splants(*args)
    assert run.returncode == 2
    assert "'like' is measured after publication" in " ".join(run.stderr.split())
    assert run.stdout == ""


def test_registry_option_and_details(tmp_path, data_dir):
    history = tmp_path / "history.csv"
    synthetic.history(150).to_csv(history, index=False)
    args = [
        "--history",
        str(history),
        "--time-column",
        "published",
        "--target",
        "consumers",
        "--categorical",
        "type,paid",
        "--numeric",
        "hour",
        "--window",
        "10",
        "--details",
        "--model-name",
        "csv-test",
    ]
    # an active model of that name already exists: it becomes the "deployed_model" baseline
    spec = FeatureSpec(categorical=("type", "paid"), numeric=("hour",))
    ts = prepare_history(
        pd.read_csv(history), target="consumers", spec=spec, time_column="published", window=10
    )
    registry = ModelRegistry(data_dir / "models", "csv-test")
    registry.activate(registry.save(fit_model(ts, Candidate.of("linear", alpha=1.0)), {"rows": 150}))

    run = splants(*args, env={**os.environ, "SPLANTS_DATA_DIR": str(data_dir)})
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["n_train"] == 120 and result["n_test"] == 30
    assert "deployed_model" in result["baselines"]
    details = result["details"]
    assert details["window"] == 10 and details["selected"] and details["cross_validation"]
    assert {"mae_log", "auc_top_quartile"} <= set(details["model"])
    assert result["registry"]["model_version"] == "csv-test-v0002"
    card = registry.card("v0002")
    assert card["gate"]["reason"] == result["registry"]["reason"]
    expected_active = "v0002" if result["registry"]["activated"] else "v0001"
    assert registry.active_version() == expected_active == result["registry"]["active_version"]


def test_a_windows_export_with_day_first_dates(tmp_path):
    history = tmp_path / "page-export.csv"
    df = synthetic.history(150, seed=2, with_text=True)
    df["published"] = pd.to_datetime(df["published"]).dt.strftime("%d/%m/%Y %H:%M")
    df["text"] = df["text"] + " — café crème"
    df.iloc[::-1].to_csv(history, index=False, encoding="cp1252")
    args = ["--history", str(history), "--time-column", "published", "--target", "consumers"]
    run = splants(*args, "--text-column", "text", "--categorical", "type", "--details")
    assert run.returncode == 0, run.stderr
    notes = json.loads(run.stdout)["details"]["notes"]
    assert notes["encoding"].startswith("not valid UTF-8") and "Windows-1252" in notes["encoding"]
    assert notes["time_format"].startswith("%d/%m/%Y %H:%M")

    wrong = splants(*args, "--categorical", "type", "--time-format", "%Y-%m-%d")
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert "'published'" in wrong.stderr and "%Y-%m-%d" in wrong.stderr

    broken = tmp_path / "broken.csv"
    broken.write_text('a,b\n1,"2\n3,4\n')
    bad = splants("--history", str(broken), "--time-column", "a", "--target", "b", "--numeric", "a")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "broken.csv" in bad.stderr
