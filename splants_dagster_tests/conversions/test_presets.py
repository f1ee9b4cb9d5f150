"""Every preset against a hand-made export in the platform's real column layout (``data/``): what is loaded,
skipped and quarantined (with the export's column named), and where the UTM tags come from."""

import datetime as dt
import shutil
from pathlib import Path

import pytest

from splants_dagster.conversions.files import LoadContext, parse_file
from splants_dagster.conversions.goals import read_goal_text
from splants_dagster.conversions.presets import detect_preset
from splants_dagster.engagement.files import FileRejected

DATA = Path(__file__).parent / "data"
NOW = dt.datetime(2026, 11, 8, 12, tzinfo=dt.UTC)
TWITTER = "compostable-pods-launch:twitter:social_post"


def parse(name: str, preset: str | None = None):
    ctx = LoadContext(name, NOW, NOW.date() + dt.timedelta(days=1))
    return parse_file(DATA / name, ctx, preset)


def by_id(parsed) -> dict:
    return {r["order_id"]: r for r in parsed.rows}


def reasons(parsed) -> list[tuple[int, str, str]]:
    return [(q["line"], q["reason_code"], q["reason"]) for q in parsed.quarantined]


def test_shopify_orders_export():
    parsed = parse("shopify_orders_export.csv")
    assert parsed.preset == "shopify_orders"  # detected from Name / Financial Status / Paid at / Total
    rows = by_id(parsed)
    assert sorted(rows) == ["#1001", "#1002", "#1003", "#1005", "#1007"]
    assert parsed.skipped == 1  # #1001's second line item: the order is counted once
    first = rows["#1001"]
    # Shopify's export has no UTM column: the tags come from the Note Attributes lines
    assert (first["utm_source"], first["utm_campaign"], first["utm_content"]) == (
        "twitter",
        "compostable-pods-launch",
        TWITTER,
    )
    assert first["revenue"] == 39.0 and first["currency"] == "EUR"
    assert first["occurred_at"] == dt.datetime(2026, 11, 3, 13, 22, 10, tzinfo=dt.UTC)  # +0100 → UTC
    assert rows["#1003"]["counted"] is False  # refunded
    assert rows["#1007"]["counted"] is True  # partially refunded: still an order
    assert rows["#1005"]["utm_campaign"] is None  # no tags: stays unattributed
    # the record starts on the order's line (Note Attributes span several lines)
    assert reasons(parsed) == [
        (15, "unparseable_date", "unparseable date in 'Paid at': '31/31/2026'"),
        (20, "unparseable_number", "unparseable amount in 'Total': 'thirty-nine'"),
    ]


def test_woocommerce_orders_export():
    parsed = parse("woocommerce_orders_export.csv")
    assert parsed.preset == "woocommerce_orders"
    rows = by_id(parsed)
    assert rows["2041"]["utm_content"] == "compostable-pods-launch:linkedin:social_post~v1"  # the A/B variant
    assert rows["2041"]["status"] == "completed"  # "wc-" prefix dropped
    # no utm_* meta: the tags are read from the session entry URL (its own query kept apart)
    assert rows["2045"]["utm_content"] == "compostable-pods-launch:instagram:social_post"
    assert rows["2045"]["revenue"] == 117.0
    assert rows["2043"]["counted"] is False  # cancelled
    assert rows["2042"]["utm_source"] is None and rows["2042"]["note"] == "Unknown"  # Origin kept as a note
    assert reasons(parsed) == [(5, "negative_amount", "negative amount in 'Order Total': -39.00 (a refund?)")]


def test_stripe_payments_export():
    parsed = parse("stripe_unified_payments.csv")
    assert parsed.preset == "stripe_payments"
    rows = by_id(parsed)
    paid = rows["ch_3QAa1b2C3d4E5f6G0001"]
    assert (paid["utm_campaign"], paid["utm_content"], paid["status"], paid["counted"]) == (
        "origin-club-subscription",
        "origin-club-subscription:email:email",
        "paid",
        True,
    )
    assert paid["currency"] == "EUR"
    assert rows["ch_3QAa1b2C3d4E5f6G0003"]["counted"] is False  # failed
    assert rows["ch_3QAa1b2C3d4E5f6G0004"]["counted"] is False  # refunded
    assert reasons(parsed) == [(6, "unparseable_date", "unparseable date in 'Created (UTC)': 'not a date'")]


def test_ga4_landing_page_report():
    parsed = parse("ga4_landing_page_report.csv")
    assert parsed.preset == "ga4_landing_pages"
    assert parsed.skipped == 1  # /about: no purchases
    rows = list(parsed.rows)
    assert len(rows) == 4
    # no Date column: the report's end date from its comment header
    assert {r["conversion_date"] for r in rows} == {dt.date(2026, 11, 7)}
    twitter = next(r for r in rows if r["utm_content"] == TWITTER)
    assert (twitter["quantity"], twitter["revenue"], twitter["conversion_type"]) == (9, 351.0, "order")
    organic = next(r for r in rows if r["utm_source"] == "google")
    assert organic["utm_campaign"] is None  # "(organic)" / "(not set)" are not campaigns
    # utm_campaign recovered from the landing page's query string when the session has none
    direct = next(r for r in rows if r["landing_url"] == "/pods?utm_campaign=compostable-pods-launch")
    assert direct["utm_campaign"] == "compostable-pods-launch" and direct["utm_source"] is None
    assert reasons(parsed) == [
        (16, "unparseable_number", "unparseable number in 'Ecommerce purchases': 'one'")
    ]


def test_generic_csv():
    parsed = parse("generic_conversions.csv")
    assert parsed.preset == "generic"
    rows = by_id(parsed)
    assert rows["S-1"]["conversion_type"] == "signup"
    assert rows["S-2"]["utm_content"] == "origin-club-subscription:blog:blog"  # from landing_url
    assert [(line, code) for line, code, _ in reasons(parsed)] == [
        (4, "unparseable_value"),
        (5, "unknown_id"),
        (6, "date_out_of_range"),
    ]
    assert "unknown conversion_type 'webinar'" in reasons(parsed)[0][2]


def test_a_file_without_the_presets_columns_is_rejected_naming_them(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("Name,Email,Paid at\n#1,a@example.com,2026-11-01\n")
    with pytest.raises(FileRejected) as caught:
        parse_file(path, LoadContext("orders.csv", NOW, NOW.date()), "shopify_orders")
    assert str(caught.value) == (
        f"{path}: line 1: missing column(s) for preset shopify_orders: revenue (Total), status (Financial Status)"
    )


def test_a_file_with_no_usable_row_is_rejected_with_the_first_reason(tmp_path):
    path = tmp_path / "payments.csv"
    shutil.copy(DATA / "stripe_unified_payments.csv", path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[5]]) + "\n")  # only the row with a bad date
    with pytest.raises(FileRejected) as caught:
        parse_file(path, LoadContext("payments.csv", NOW, NOW.date()))
    assert "line 2: unparseable date in 'Created (UTC)': 'not a date' (1 of 1 rows bad, none usable)" in str(
        caught.value
    )


def test_detection_falls_back_to_generic():
    assert detect_preset(["order_id", "date", "revenue"]) == "generic"
    assert detect_preset(["Landing page + query string", "Sessions"]) == "ga4_landing_pages"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Get 500 pre-orders of the starter pack in the first four weeks", ("orders", 500, 28)),
        ("Sign up 200 subscribers before the end of the quarter", ("signups", 200, None)),
        ("Reach €50k in revenue within 2 months", ("revenue", 50_000, 60)),
        ("Book 1,200 demo requests over 30 days", ("leads", 1200, 30)),
        ("Raise awareness of the new roast", None),
    ],
)
def test_goal_text(text, expected):
    goal = read_goal_text(text)
    assert (goal and (goal.metric, goal.target, goal.window_days)) == expected


def test_customer_details_are_not_kept():
    parsed = parse("shopify_orders_export.csv")
    for q in parsed.quarantined:
        assert "@example.com" not in q["raw"] and "Berlin" not in q["raw"]
    assert '"Paid at": "31/31/2026"' in parsed.quarantined[0]["raw"]
    # of Note Attributes, only the UTM lines
    assert by_id(parsed)["#1007"]["note"] == "utm_source: linkedin; utm_campaign: compostable-pods-launch"


def test_json_export(tmp_path):
    path = tmp_path / "conversions.json"
    path.write_text(
        '{"data": [{"order_id": "J-1", "occurred_at": "2026-11-02T08:00:00Z", "revenue": 19.5, '
        '"utm_campaign": "origin-club-subscription"}, {"order_id": "J-2", "occurred_at": "soon"}]}'
    )
    parsed = parse_file(path, LoadContext("conversions.json", NOW, NOW.date()))
    assert [(r["order_id"], r["revenue"]) for r in parsed.rows] == [("J-1", 19.5)]
    assert reasons(parsed) == [(2, "unparseable_date", "unparseable date in 'occurred_at': 'soon'")]
