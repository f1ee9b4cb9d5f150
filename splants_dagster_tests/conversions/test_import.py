"""Conversion files into a real warehouse: attribution by UTM (last touch), quarantine, one bad file never
stopping the others, re-imports replacing, goal progress, and the UTM round trip from a published link to
an order row attributed to the right piece."""

import csv
import datetime as dt
import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from splants_dagster.conversions import imports
from splants_dagster.conversions.goals import Goal, goal_of, off_pace, progress
from splants_dagster.publishing.state import item_from_row
from splants_dagster.warehouse.store import insert_dicts

DATA = Path(__file__).parent / "data"
CAMPAIGN = "compostable-pods-launch"
LANDING = "https://hearthandbean.example/pods"
PIECES = [
    (f"{CAMPAIGN}:twitter:social_post", "twitter", "social_post", None),
    (f"{CAMPAIGN}:email:email", "email", "email", None),
    (f"{CAMPAIGN}:linkedin:social_post", "linkedin", "social_post", None),
    (f"{CAMPAIGN}:linkedin:social_post~v1", "linkedin", "social_post", f"{CAMPAIGN}:linkedin:social_post"),
    (f"{CAMPAIGN}:instagram:social_post", "instagram", "social_post", None),
]


def seed(store, start: dt.date, duration: int = 28, **brief_extra) -> dict:
    brief = {
        "id": CAMPAIGN,
        "goal": "Get 500 pre-orders of the starter pack in the first four weeks",
        "start_date": start.isoformat(),
        "duration_days": duration,
        "link": LANDING,
        **brief_extra,
    }
    with store.write() as conn:
        insert_dicts(
            conn,
            "campaigns",
            [
                {
                    "campaign_id": CAMPAIGN,
                    "topic": "Compostable pods",
                    "brief_json": json.dumps(brief),
                    "start_date": start,
                    "duration_days": duration,
                }
            ],
        )
        insert_dicts(
            conn,
            "content_pieces",
            [
                {"piece_id": p, "campaign_id": CAMPAIGN, "platform": pl, "content_type": ct, "variant_of": v}
                for p, pl, ct, v in PIECES
            ],
        )
    return brief


def run_import(store, inbox: Path, names=(), preset=None, now=None):
    now = now or dt.datetime.now(dt.UTC)
    with store.write() as conn:
        targets = imports.files_to_import(inbox, list(names), imports.loaded_files(conn))
        result = imports.import_files(conn, inbox, targets, preset, now)
        imports.refresh_goals(conn, now)
    return result


@pytest.fixture
def inbox(paths) -> Path:
    box = imports.conversions_inbox(paths.root)
    box.mkdir(parents=True)
    return box


def test_files_are_attributed_by_utm_and_bad_ones_stand_alone(store, inbox):
    seed(store, dt.date(2026, 11, 1))
    for name, folder in (
        ("shopify_orders_export.csv", "shopify_orders"),
        ("woocommerce_orders_export.csv", ""),
        ("ga4_landing_page_report.csv", ""),
    ):
        (inbox / folder).mkdir(exist_ok=True)
        shutil.copy(DATA / name, inbox / folder / name)
    (inbox / "broken.csv").write_text("order_id,occurred_at\nX-1,not a date\n")
    result = run_import(store, inbox, now=dt.datetime(2026, 11, 8, tzinfo=dt.UTC))
    assert [p.name for p, _ in result.rejected] == ["broken.csv"]
    assert len(result.parsed) == 3  # the bad file stopped nothing
    rows = {
        r["order_id"]: r
        for r in store.query("SELECT * FROM analytics.conversions WHERE source <> 'ga4_landing_pages'")
    }
    assert rows["#1001"]["attribution"] == "piece"
    assert rows["#1001"]["piece_id"] == f"{CAMPAIGN}:twitter:social_post"
    assert rows["#1001"]["platform"] == "twitter"
    assert rows["#1001"]["attribution_rule"] == "last touch: utm_content is the piece id"
    assert (rows["2041"]["piece_id"], rows["2041"]["variant_of"]) == (
        f"{CAMPAIGN}:linkedin:social_post~v1",
        f"{CAMPAIGN}:linkedin:social_post",
    )
    assert (rows["#1007"]["attribution"], rows["#1007"]["campaign_id"], rows["#1007"]["piece_id"]) == (
        "campaign",
        CAMPAIGN,
        None,
    )
    assert rows["#1005"]["attribution"] == "unattributed" and rows["#1005"]["campaign_id"] is None
    files = {r["source_file"]: r for r in store.query("SELECT * FROM analytics.conversion_files")}
    assert files["shopify_orders/shopify_orders_export.csv"]["rows_skipped"] == 1
    assert "unparseable date in 'occurred_at': 'not a date'" in files["broken.csv"]["error"]
    quarantine = store.query(
        "SELECT source_file, line, reason FROM analytics.conversion_quarantine ORDER BY source_file, line"
    )
    assert ("broken.csv", 2, "unparseable date in 'occurred_at': 'not a date'") in [
        tuple(q.values()) for q in quarantine
    ]
    assert len([q for q in quarantine if q["source_file"].startswith("shopify")]) == 2
    per_piece = {
        r["piece_id"]: r for r in store.query("SELECT * FROM analytics.piece_conversions WHERE orders > 0")
    }
    # twitter: #1001 (Shopify) + 9 purchases in the GA4 report; #1003 was refunded and does not count
    assert per_piece[f"{CAMPAIGN}:twitter:social_post"]["orders"] == 10

    # a new version of a file replaces its rows; a file already loaded is not read again
    assert run_import(store, inbox).parsed == []
    path = inbox / "woocommerce_orders_export.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2]) + "\n")
    run_import(store, inbox)
    woo = store.query("SELECT order_id FROM analytics.conversions WHERE source = 'woocommerce_orders'")
    assert [r["order_id"] for r in woo] == ["2041"]


def tagged_link(piece_id: str, platform: str) -> str:
    """The link the publisher posts for a piece (what item_from_row hands every publisher)."""
    item = item_from_row(
        {
            "piece_id": piece_id,
            "campaign_id": CAMPAIGN,
            "platform": platform,
            "content_type": "social_post",
            "publish_at": dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
            "body": f"Pre-order the starter pack: {LANDING}?ref=launch",
            "brief_json": json.dumps({"link": LANDING}),
        }
    )
    return item.body.split(": ", 1)[1]


def test_utm_round_trip_from_published_link_to_attributed_order(store, inbox, monkeypatch):
    monkeypatch.delenv("SPLANTS_UTM_TAGGING", raising=False)
    seed(store, dt.date(2026, 11, 1))
    x_link = tagged_link(f"{CAMPAIGN}:twitter:social_post", "twitter")
    variant_link = tagged_link(f"{CAMPAIGN}:linkedin:social_post~v1", "linkedin")
    assert "utm_content=compostable-pods-launch%3Atwitter%3Asocial_post" in x_link and "ref=launch" in x_link
    # Shopify (Admin API / export app column "Landing Site": the path and query of the landing URL)
    header = next(csv.reader((DATA / "shopify_orders_export.csv").open()))
    row = dict.fromkeys(header, "")
    row.update(
        {
            "Name": "#2001",
            "Financial Status": "paid",
            "Paid at": "2026-11-05 10:00:00 +0000",
            "Total": "39.00",
            "Currency": "EUR",
        }
    )
    with (inbox / "shopify_with_landing_site.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, [*header, "Landing Site"])
        writer.writeheader()
        parts = urlsplit(x_link)
        writer.writerow({**row, "Landing Site": f"{parts.path}?{parts.query}"})
    # WooCommerce: the order attribution's session entry (the full landing URL)
    with (inbox / "woo.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "Order Number",
                "Order Date",
                "Order Status",
                "Order Total",
                "_wc_order_attribution_session_entry",
            ]
        )
        writer.writerow(["3001", "2026-11-05 11:00:00", "completed", "39.00", variant_link])
    result = run_import(store, inbox, now=dt.datetime(2026, 11, 8, tzinfo=dt.UTC))
    assert [p.preset for _, p in result.parsed] == ["shopify_orders", "woocommerce_orders"]
    rows = {r["order_id"]: r for r in store.query("SELECT * FROM analytics.conversions")}
    assert rows["#2001"]["piece_id"] == f"{CAMPAIGN}:twitter:social_post"
    assert rows["#2001"]["utm_medium"] == "social"
    assert rows["3001"]["piece_id"] == f"{CAMPAIGN}:linkedin:social_post~v1"
    assert rows["3001"]["attribution"] == "piece"


def write_generic(path: Path, days: list[dt.date], per_day: int) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["order_id", "occurred_at", "revenue", "utm_campaign", "utm_content"])
        for day in days:
            for n in range(per_day):
                writer.writerow(
                    [f"{day}-{n}", f"{day}T10:00:00Z", "39.00", CAMPAIGN, f"{CAMPAIGN}:email:email"]
                )


def test_goal_progress_pace_and_forecast(store, inbox):
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=13)  # day 14 of a 28-day goal window: halfway
    seed(store, start, duration=42)  # the campaign runs longer; the goal text says "first four weeks"
    write_generic(inbox / "orders.csv", [start + dt.timedelta(days=i) for i in range(14)], per_day=10)
    write_generic(inbox / "old.csv", [start - dt.timedelta(days=3)], per_day=50)  # before the window
    run_import(store, inbox)
    goal = store.query("SELECT * FROM analytics.goal_progress")[0]
    assert (goal["metric"], goal["target"], goal["goal_source"]) == ("orders", 500, "read from the goal text")
    assert goal["window_end"] == start + dt.timedelta(days=28)
    assert (goal["days_elapsed"], goal["window_days"], goal["elapsed_fraction"]) == (14, 28, 0.5)
    assert goal["actual"] == 140
    assert goal["expected_to_date"] == 250
    assert goal["pace"] == pytest.approx(140 / 250)
    assert goal["forecast"] == pytest.approx(280)
    assert goal["status"] == "behind" and goal["is_demo"] is False
    assert "read from the goal text: orders 500; window: 'in the first four weeks'" in goal["note"]
    # the pure function agrees with the view
    p = progress(
        goal_of({"id": CAMPAIGN, "goal": goal["goal_text"], "start_date": str(start), "duration_days": 42}),
        140,
        today,
    )
    assert (p.days_elapsed, p.pace, p.forecast) == (14, pytest.approx(0.56), pytest.approx(280))
    assert off_pace(p.fraction, p.pace, 0.2) and not off_pace(p.fraction, p.pace, 0.5)


def test_structured_goal_wins_over_the_text():
    goal = goal_of(
        {
            "id": "x",
            "goal": "Sign up 200 subscribers",
            "start_date": "2027-01-04",
            "duration_days": 28,
            "goal_metric": "revenue",
            "goal_target": 9000,
        }
    )
    assert (goal.metric, goal.target, goal.source) == ("revenue", 9000, "brief fields")
    none = goal_of({"id": "x", "goal": "Be loved", "start_date": "2027-01-04", "duration_days": 28})
    assert none.metric is None and "add goal_metric and goal_target" in none.note
    quarter = goal_of(
        {
            "id": "x",
            "goal": "Sign up 200 subscribers before the end of the quarter",
            "start_date": "2027-02-10",
            "duration_days": 28,
        }
    )
    assert isinstance(quarter, Goal) and quarter.window_end == dt.date(2027, 4, 1)
