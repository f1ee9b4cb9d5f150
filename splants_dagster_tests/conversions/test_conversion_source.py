"""The same purchases imported from two systems (a Shopify orders export and a Stripe payments export) in a
real warehouse: counted twice and flagged without a system of record, once with the brief's
``conversion_source``; the flag reaches the ``campaign_goals`` metadata and the off-pace alert, and a
warehouse made before the column existed keeps working."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from typer.testing import CliRunner

from splants_dagster.campaigns.briefs import campaign_row, load_brief
from splants_dagster.cli import app
from splants_dagster.conversions import imports
from splants_dagster.conversions.goals import counts_source, goal_of, source_warning
from splants_dagster.defs.alerts.resources import AlertsResource
from splants_dagster.defs.conversions.assets import campaign_goals, conversion_file_imports
from splants_dagster.defs.conversions.resources import ConversionsResource
from splants_dagster.defs.conversions.sensors import goal_pace_sensor
from splants_dagster.warehouse.store import insert_dicts
from splants_dagster_tests.conversions.test_import import CAMPAIGN, DATA, run_import, write_generic
from splants_dagster_tests.fixtures_http import FakeServer, Reply

BOTH = (
    "conversions from shopify_orders and stripe_payments are both counted: if they record the same "
    "purchases, set conversion_source in the brief"
)


def header(name: str) -> list[str]:
    """The real column layout of a bundled export (``data/``)."""
    with (DATA / name).open(newline="") as f:
        return next(csv.reader(f))


def write_purchases(inbox: Path, days: list[dt.date]) -> None:
    """The same purchases (one per day, 39.00 EUR, tagged with the campaign) as Shopify's orders export
    (tags in Note Attributes) and as Stripe's payments export (tags in the metadata columns)."""
    shopify, stripe = header("shopify_orders_export.csv"), header("stripe_unified_payments.csv")
    (inbox / "shopify_orders").mkdir(parents=True, exist_ok=True)
    (inbox / "stripe_payments").mkdir(parents=True, exist_ok=True)
    with (inbox / "shopify_orders" / "orders.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, shopify)
        writer.writeheader()
        for n, day in enumerate(days):
            row = dict.fromkeys(shopify, "")
            row.update(
                {
                    "Name": f"#30{n:02d}",
                    "Financial Status": "paid",
                    "Paid at": f"{day} 10:00:00 +0000",
                    "Created at": f"{day} 10:00:00 +0000",
                    "Currency": "EUR",
                    "Total": "39.00",
                    "Note Attributes": f"utm_source: email\nutm_medium: email\nutm_campaign: {CAMPAIGN}",
                }
            )
            writer.writerow(row)
    with (inbox / "stripe_payments" / "payments.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, stripe)
        writer.writeheader()
        for n, day in enumerate(days):
            row = dict.fromkeys(stripe, "")
            row.update(
                {
                    "id": f"ch_3QZz{n:016d}",
                    "Created (UTC)": f"{day} 10:01",
                    "Amount": "39.00",
                    "Currency": "eur",
                    "Status": "Paid",
                    "Captured": "true",
                    "utm_campaign (metadata)": CAMPAIGN,
                    "utm_source (metadata)": "email",
                }
            )
            writer.writerow(row)


def register(store, tmp_path: Path, start: dt.date, extra: str = "", duration: int = 28) -> None:
    """The campaign as registration stores it: a brief file validated by the model, its row in
    ``campaigns`` (``brief_json`` is the model's dump)."""
    path = tmp_path / f"{CAMPAIGN}.yaml"
    path.write_text(
        f"id: {CAMPAIGN}\n"
        "topic: Compostable coffee pods for home brewers\n"
        "goal: Pre-orders of the starter pack\n"
        "audience: home brewers\n"
        "platforms: [blog, email]\n"
        "content_types: [blog, email]\n"
        f"start_date: {start}\n"
        f"duration_days: {duration}\n"
        "goal_metric: orders\n"
        "goal_target: 500\n" + extra
    )
    brief, sha = load_brief(path, today=dt.datetime.now(dt.UTC).date())
    with store.write() as conn:
        conn.execute("DELETE FROM campaigns")
        insert_dicts(conn, "campaigns", [campaign_row(brief, path, sha, dt.datetime.now(dt.UTC))])


@pytest.fixture
def inbox(paths) -> Path:
    box = imports.conversions_inbox(paths.root)
    box.mkdir(parents=True)
    return box


def progress_row(store) -> dict:
    [row] = store.query("SELECT * FROM analytics.goal_progress")
    return row


def test_two_systems_count_twice_and_are_flagged_until_one_is_chosen(store, inbox, tmp_path):
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=5)
    register(store, tmp_path, start)
    write_purchases(inbox, [start + dt.timedelta(days=i) for i in (1, 2, 3)])
    result = run_import(store, inbox)
    assert not result.rejected and [p.loaded for _, p in result.parsed] == [3, 3]

    row = progress_row(store)
    assert row["actual"] == 6
    assert row["conversion_source"] is None
    assert row["sources"] == ["shopify_orders", "stripe_payments"]
    assert row["source_warning"] == BOTH
    # the pure functions agree with the view
    brief = json.loads(store.query("SELECT brief_json FROM campaigns")[0]["brief_json"])
    goal = goal_of(brief)
    rows = store.query("SELECT source, quantity FROM analytics.conversions WHERE campaign_id = ?", [CAMPAIGN])
    assert sum(r["quantity"] for r in rows if counts_source(goal, r["source"])) == 6
    assert source_warning(goal.conversion_source, [r["source"] for r in rows]) == BOTH
    shown = CliRunner().invoke(app, ["conversions", "progress"])
    assert shown.exit_code == 0 and " ".join(shown.output.split()).count(BOTH) == 1

    # a third system: the sentence names them all, in the view as in goals.source_warning
    write_generic(inbox / "manual.csv", [start + dt.timedelta(days=4)], per_day=1)
    run_import(store, inbox)
    row = progress_row(store)
    assert (row["actual"], row["sources"]) == (7, ["generic", "shopify_orders", "stripe_payments"])
    assert row["source_warning"] == (
        "conversions from generic, shopify_orders and stripe_payments are all counted: if they record the "
        "same purchases, set conversion_source in the brief"
    )
    assert row["source_warning"] == source_warning(None, row["sources"])

    # the system of record named in the brief: only its conversions count, no warning
    register(store, tmp_path, start, "conversion_source: shopify_orders\n")
    with store.write() as conn:
        imports.refresh_goals(conn, dt.datetime.now(dt.UTC))
    row = progress_row(store)
    assert row["actual"] == 3
    assert row["conversion_source"] == "shopify_orders"
    assert row["sources"] == ["shopify_orders"]
    assert row["source_warning"] is None
    assert store.query("SELECT conversion_source FROM campaign_goals") == [
        {"conversion_source": "shopify_orders"}
    ]


def test_one_system_is_not_flagged_and_a_system_without_rows_counts_nothing(store, inbox, tmp_path):
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=5)
    register(store, tmp_path, start)
    write_purchases(inbox, [start + dt.timedelta(days=1), start + dt.timedelta(days=2)])
    (inbox / "stripe_payments" / "payments.csv").unlink()
    run_import(store, inbox)
    row = progress_row(store)
    assert (row["actual"], row["sources"], row["source_warning"]) == (2, ["shopify_orders"], None)
    register(store, tmp_path, start, "conversion_source: woocommerce_orders\n")
    with store.write() as conn:
        imports.refresh_goals(conn, dt.datetime.now(dt.UTC))
    row = progress_row(store)
    assert (row["actual"], row["sources"], row["source_warning"]) == (0, [], None)
    assert row["conversion_source"] == "woocommerce_orders"


def test_a_warehouse_from_before_the_column_keeps_working(store, paths):
    with store.write():
        pass
    conn = duckdb.connect(str(paths.warehouse_db))
    try:  # the table as an older release created it, with a goal in it
        conn.execute("DROP VIEW main.goal_progress")
        conn.execute("ALTER TABLE core.campaign_goals DROP COLUMN conversion_source")
        conn.execute(
            "INSERT INTO core.campaign_goals (campaign_id, metric, target, window_start, window_end, "
            "goal_source, is_demo) VALUES ('old-campaign', 'orders', 10, DATE '2026-01-01', "
            "DATE '2026-01-29', 'brief fields', false)"
        )
        conn.execute("UPDATE core.schema_info SET fingerprint = 'older'")
    finally:
        conn.close()
    with store.write():
        pass
    [row] = store.query(
        "SELECT campaign_id, actual, conversion_source, sources, source_warning FROM analytics.goal_progress"
    )
    assert row == {
        "campaign_id": "old-campaign",
        "actual": 0,
        "conversion_source": None,
        "sources": [],
        "source_warning": None,
    }


def test_warning_reaches_the_goals_metadata_and_the_off_pace_alert(
    store, paths, resources, instance, tmp_path
):
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=15)  # day 16 of 28: past halfway, 6 of 500 is far behind
    register(store, tmp_path, start)
    inbox = imports.conversions_inbox(paths.root)
    write_purchases(inbox, [start + dt.timedelta(days=i) for i in (1, 2, 3)])
    result = dg.materialize([conversion_file_imports, campaign_goals], resources=resources, instance=instance)
    assert result.success
    goals = result.asset_materializations_for_node("campaign_goals")[0].metadata
    assert goals["source_warnings"].value == 1
    assert f"| {CAMPAIGN} | orders | 500 | 6 |" in goals["progress"].value
    assert f"**{CAMPAIGN}**: {BOTH}" in goals["progress"].value
    hooks = []
    with FakeServer(lambda r: hooks.append(r.json()) or Reply(200, {"ok": True})) as webhook:
        sensor_resources = {
            "warehouse": resources["warehouse"],
            "conversions": ConversionsResource(off_pace_margin=0.2),
            "alerts": AlertsResource(webhook_url=webhook.url),
        }
        goal_pace_sensor(dg.build_sensor_context(instance=instance, resources=sensor_resources))
    [alert] = hooks
    [item] = alert["items"]
    assert (item["campaign"], item["actual"], item["source_warning"]) == (CAMPAIGN, "6", BOTH)
    assert "two or more systems" in alert["text"]
