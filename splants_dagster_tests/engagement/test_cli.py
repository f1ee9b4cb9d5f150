"""``splants engagement``: presets, a validating dry run, and a real import through Dagster."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from splants_dagster.cli import app

from .conftest import facebook_export

runner = CliRunner()


def _flat(output: str) -> str:
    """Rich wraps long lines at the terminal width (and may break where a space was)."""
    return " ".join(output.split())


def test_presets_lists_every_mapping():
    result = runner.invoke(app, ["engagement", "presets"])
    assert result.exit_code == 0
    for name in ("generic", "facebook_insights", "x_analytics", "mailchimp_report"):
        assert name in result.output
    assert "Lifetime Post Total Impressions" in result.output


def test_dry_run_reports_quarantine_and_loads_nothing(data_dir):
    result = runner.invoke(app, ["engagement", "import", str(facebook_export()), "--dry-run"])
    assert result.exit_code == 0, result.output
    out = _flat(result.output)
    assert "facebook_insights" in out and "496 loadable" in out
    assert "4 quarantined" in out and "478" in out and "impossible_value ×4" in out
    assert not (data_dir / "inbox").exists()


def test_rejected_file_exits_1_with_file_and_line(tmp_path, data_dir):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,external_id,platform,impressions\n2026-11-20,a,twitter,-1\n")
    result = runner.invoke(app, ["engagement", "import", str(bad), "--preset", "generic"])
    assert result.exit_code == 1
    assert "bad.csv: line 2: negative count in 'impressions': -1" in _flat(result.output)


def test_import_runs_the_jobs_on_the_instance(tmp_path, data_dir, store, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("SPLANTS_ENGAGEMENT_SIMULATOR", "0")
    export = tmp_path / "posts.csv"
    export.write_text(
        "date,external_id,platform,impressions,reach,likes\n2026-11-01,a,instagram,900,700,60\n"
        "2026-11-02,a,instagram,300,200,12\n"
    )
    result = runner.invoke(app, ["engagement", "import", str(export)])
    assert result.exit_code == 0, result.output
    assert "loaded generic/posts.csv" in _flat(result.output)
    assert (data_dir / "inbox" / "engagement" / "generic" / "posts.csv").exists()
    rows = store.query(
        "SELECT date, impressions, engagement_rate FROM analytics.engagement_daily ORDER BY date"
    )
    assert [(r["date"].day, r["impressions"]) for r in rows] == [(1, 900), (2, 300)]
    shutil.rmtree(tmp_path / "home")
