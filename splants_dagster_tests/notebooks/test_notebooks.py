"""The notebooks in notebooks/ run top to bottom against the demo, as CI executes them: a cell that raises
fails the test. The demo state is built the way a user builds it, through the CLI: the campaign, the
publishing step (outbox), simulated engagement history, and the predictor."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from splants_dagster.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow
SPLANTS = str(Path(sys.executable).parent / "splants")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("notebooks")
    data = root / "data"
    data.mkdir()
    for name in ("brand.yaml", "models.yaml", "campaigns", "sources"):
        src = PROJECT_ROOT / "data" / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, data / name)
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "deploy" / "dagster.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "ANTHROPIC"))}
    env.update(DAGSTER_HOME=str(home), SPLANTS_DATA_DIR=str(data))
    env.pop("MPLBACKEND", None)  # the kernel draws inline
    for args in (["demo"], ["publish", "--now"], ["engagement", "simulate", "--days", "30"]):
        done = subprocess.run([SPLANTS, *args], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"splants {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return env


@pytest.mark.parametrize("name", ["lineage", "analytics"])
def test_notebook_runs(name, demo_env, monkeypatch):
    for key, value in demo_env.items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(PROJECT_ROOT / "notebooks")}})
    client.execute()
    ARTIFACTS.mkdir(exist_ok=True)
    nbformat.write(notebook, ARTIFACTS / f"{name}.executed.ipynb")
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2, f"{name}: expected plots, got {len(images)}"
