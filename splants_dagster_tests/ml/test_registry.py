"""Versioned model files, the active pointer and the gate."""

import json

import numpy as np
import pytest

from splants_dagster.ml.features import FeatureSpec
from splants_dagster.ml.models import Candidate, fit_model
from splants_dagster.ml.registry import GateDecision, ModelRegistry, gate, register
from splants_dagster.ml.training import prepare_history
from splants_dagster.paths import DataPaths
from splants_dagster_tests.ml import synthetic

BASELINES = {
    "trailing_median": {"mae": 100.0, "mae_log": 0.5},
    "global_median": {"mae": 300.0, "mae_log": 0.9},
}


def test_gate_passes_only_when_both_baselines_are_beaten():
    deployed = {**BASELINES, "deployed_model": {"mae": 80.0, "mae_log": 0.45}}
    good = gate({"mae": 70.0, "mae_log": 0.4}, deployed)
    assert good.passed and good.reason.startswith("beats trailing_median") and "deployed_model" in good.reason

    worse_than_deployed = gate({"mae": 90.0, "mae_log": 0.4}, deployed)
    assert not worse_than_deployed.passed
    assert (
        "does not beat deployed_model" in worse_than_deployed.reason
        and "mae 90 ≥ 80" in worse_than_deployed.reason
    )

    worse_than_trailing = gate({"mae": 99.0, "mae_log": 0.6}, deployed)
    assert not worse_than_trailing.passed and "trailing_median" in worse_than_trailing.reason

    tie = gate({"mae": 100.0, "mae_log": 0.4}, BASELINES)
    assert not tie.passed  # strictly better, not equal


def test_gate_without_a_deployed_model_says_so():
    first = gate({"mae": 70.0, "mae_log": 0.4}, BASELINES)
    assert first.passed and "no deployed model to compare with yet" in first.reason
    assert not gate({"mae": 70.0, "mae_log": None}, BASELINES).passed
    assert not gate({"mae": 1.0, "mae_log": 0.1}, {"global_median": {"mae": 9.0, "mae_log": 1.0}}).passed


@pytest.fixture
def model():
    spec = FeatureSpec(categorical=("type",), numeric=("hour",))
    ts = prepare_history(synthetic.history(120), target="consumers", spec=spec, time_column="published")
    return fit_model(ts, Candidate.of("linear", alpha=1.0)), ts


def test_versions_and_active_pointer(tmp_path, model):
    fitted, ts = model
    registry = ModelRegistry.at(DataPaths.at(tmp_path), "engagement")
    assert registry.root == tmp_path / "models" / "engagement"
    assert registry.versions() == [] and registry.active_version() is None and registry.load_active() is None

    first = register(registry, fitted, {"rows": 120}, GateDecision(True, "beats trailing_median"))
    assert first.version == "v0001" and first.activated and first.active_version == "v0001"
    assert first.model_version == "engagement-v0001"
    card = registry.card("v0001")
    assert card["version"] == "v0001" and card["deployed"] is True and card["rows"] == 120
    assert card["gate"] == {"passed": True, "reason": "beats trailing_median"}

    rejected = register(registry, fitted, {"rows": 121}, GateDecision(False, "does not beat trailing_median"))
    assert rejected.version == "v0002" and not rejected.activated
    assert registry.active_version() == "v0001"  # the previous model stays active
    assert registry.card("v0002")["gate"]["reason"] == "does not beat trailing_median"
    assert registry.card("v0002")["deployed"] is False
    assert json.loads(registry.pointer.read_text())["version"] == "v0001"

    registry.save(fitted, {"rows": 122})
    assert registry.versions() == ["v0001", "v0002", "v0003"]
    version, loaded = registry.load_active()
    assert version == "v0001"
    rows = ts.frame.iloc[-10:]
    assert np.allclose(loaded.predict(rows), fitted.predict(rows))
    registry.activate("v0003", "manual rollback test")
    assert registry.active()["reason"] == "manual rollback test"
    with pytest.raises(FileNotFoundError):
        registry.activate("v0099")


def test_registry_names_are_safe(tmp_path):
    with pytest.raises(ValueError):
        ModelRegistry(tmp_path, "../escape")
