"""``splants conversions``: presets, dry runs, a rejected file reported without a traceback while the
others load, and goal progress printed."""

import datetime as dt
import shutil

from typer.testing import CliRunner

from splants_dagster.cli import app
from splants_dagster.conversions.imports import conversions_inbox
from splants_dagster_tests.conversions.test_import import CAMPAIGN, DATA, seed


def test_presets_lists_every_preset():
    result = CliRunner().invoke(app, ["conversions", "presets"])
    assert result.exit_code == 0
    for name in ("generic", "shopify_orders", "woocommerce_orders", "stripe_payments", "ga4_landing_pages"):
        assert name in result.output
    assert "Note Attributes" in result.output and "utm_campaign (metadata)" in result.output


def test_dry_run_reports_and_loads_nothing(paths, tmp_path):
    result = CliRunner().invoke(
        app, ["conversions", "import", str(DATA / "shopify_orders_export.csv"), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "preset shopify_orders, 8 rows: 5 loadable, 1 skipped" in result.output
    assert "unparseable date in 'Paid at': '31/31/2026'" in result.output
    assert not conversions_inbox(paths.root).exists()


def test_bad_file_rejected_and_good_one_loaded(paths, store, tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    seed(store, dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2), goal_metric="orders", goal_target=50)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,Created (UTC),Amount,Status\n")
    good = tmp_path / "payments.csv"
    shutil.copy(DATA / "stripe_unified_payments.csv", good)
    result = CliRunner().invoke(
        app, ["conversions", "import", str(bad), str(good), "--preset", "stripe_payments"]
    )
    assert result.exit_code == 1
    assert f"rejected {bad}: line 2: no conversion rows" in result.stderr
    assert "Traceback" not in result.output
    assert (conversions_inbox(paths.root) / "stripe_payments" / "payments.csv").exists()
    assert "goal progress" in result.output and CAMPAIGN in result.output
    assert len(store.query("SELECT * FROM analytics.conversions WHERE source = 'stripe_payments'")) == 5
    unknown = CliRunner().invoke(app, ["conversions", "import", str(good), "--preset", "shopify"])
    assert unknown.exit_code == 2 and "unknown preset 'shopify'" in unknown.output
