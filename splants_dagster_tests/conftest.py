"""Every test gets its own data directory (a copy of the demo inputs) and, when asked, its own Dagster
instance; nothing ever touches the repository's data/ folder or $DAGSTER_HOME."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from splants_dagster.definitions import build_all_resources
from splants_dagster.paths import PROJECT_ROOT, DataPaths
from splants_dagster.warehouse.store import Warehouse

DEMO_INPUTS = ("brand.yaml", "models.yaml", "campaigns", "sources")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    for name in DEMO_INPUTS:
        src = PROJECT_ROOT / "data" / name
        if src.is_dir():
            shutil.copytree(src, root / name)
        elif src.exists():
            shutil.copy(src, root / name)
    monkeypatch.setenv("SPLANTS_DATA_DIR", str(root))
    for key in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "SPLANTS_LLM_BASE_URL",
        "SPLANTS_LLM_API_KEY",
        "SPLANTS_LLM_MODEL",
        "SPLANTS_LLM_PROVIDER",
        "SPLANTS_LLM_STRATEGY",
        "SPLANTS_LLM_BATCH",
        "SPLANTS_STRATEGY",
        "SPLANTS_MONTHLY_BUDGET_USD",
        "SPLANTS_EXECUTOR",
    ):
        monkeypatch.delenv(key, raising=False)
    return root


@pytest.fixture
def paths(data_dir: Path) -> DataPaths:
    return DataPaths.at(data_dir)


@pytest.fixture
def store(paths: DataPaths) -> Warehouse:
    return Warehouse(paths)


@pytest.fixture
def resources(data_dir: Path) -> dict:
    return build_all_resources(data_dir)


@pytest.fixture
def instance():
    with dg.instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 1}}}) as inst:
        yield inst
