"""Numeric dates (01/02/2024) in conversion files get the engagement importer's rule: one day/month order
per file, decided from the whole file, ``SPLANTS_DATE_ORDER`` for files that prove nothing, contradicting
rows quarantined naming the export's column. Real files through the real reader and the asset, into a
real DuckDB warehouse."""

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from splants_dagster.conversions.files import LoadContext, parse_file
from splants_dagster.conversions.imports import conversions_inbox
from splants_dagster.defs.conversions.assets import conversion_file_imports

NOW = dt.datetime(2026, 11, 8, 12, tzinfo=dt.UTC)
HEADER = "order_id,occurred_at,revenue,currency,utm_campaign\n"


@pytest.fixture(autouse=True)
def _auto_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPLANTS_DATE_ORDER", raising=False)


def write(path: Path, dates: list[str]) -> Path:
    """A generic conversions export: one order per date (line n + 2), ids O-0, O-1, …"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(f"O-{i},{d},39.00,EUR,spring\n" for i, d in enumerate(dates)))
    return path


def parse(path: Path, chunk_rows: int = 5_000):
    return parse_file(
        path, LoadContext(path.name, NOW, NOW.date() + dt.timedelta(days=1)), chunk_rows=chunk_rows
    )


def occurred(parsed) -> dict[str, dt.datetime]:
    return {r["order_id"]: r["occurred_at"] for r in parsed.rows}


def test_generic_us_file_loads_month_first_through_the_asset(store, paths, resources, instance):
    inbox = conversions_inbox(paths.root)
    write(inbox / "us.csv", ["01/02/2026 14:00", "10/11/2026 09:05", "10/31/2026 23:30"])
    result = dg.materialize([conversion_file_imports], resources=resources, instance=instance)
    assert result.success
    meta = result.asset_materializations_for_node("conversion_file_imports")[0].metadata
    assert (meta["rows_loaded"].value, meta["rows_quarantined"].value) == (3, 0)
    assert meta["date_orders"].value == {
        "us.csv": "dates read month first (10/31/2026 23:30 in 'occurred_at', line 4)"
    }
    rows = store.query("SELECT order_id, occurred_at, conversion_date FROM conversion_rows ORDER BY order_id")
    assert [(r["order_id"], r["conversion_date"]) for r in rows] == [
        ("O-0", dt.date(2026, 1, 2)),  # 2 January, not 1 February
        ("O-1", dt.date(2026, 10, 11)),
        ("O-2", dt.date(2026, 10, 31)),  # once quarantined as unparseable
    ]
    assert rows[2]["occurred_at"].astimezone(dt.UTC) == dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.UTC)
    (load,) = store.query("SELECT min_date, max_date, error FROM conversion_file_loads")
    assert (load["min_date"], load["max_date"], load["error"]) == (
        dt.date(2026, 1, 2),
        dt.date(2026, 10, 31),
        None,
    )


def test_ambiguous_file_uses_the_setting(tmp_path, monkeypatch):
    path = write(tmp_path / "orders.csv", ["01/02/2026", "03/04/2026 14:00"])
    assert {k: v.date() for k, v in occurred(parse(path)).items()} == {
        "O-0": dt.date(2026, 2, 1),
        "O-1": dt.date(2026, 4, 3),
    }
    monkeypatch.setenv("SPLANTS_DATE_ORDER", "month-first")
    parsed = parse(path)
    assert occurred(parsed) == {
        "O-0": dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
        "O-1": dt.datetime(2026, 3, 4, 14, tzinfo=dt.UTC),
    }
    assert parsed.date_order.note == "dates read month first (SPLANTS_DATE_ORDER=month-first)"


def test_day_first_file_reads_as_before_across_chunks(tmp_path):
    # chunks of one row: the value that proves day first is the last one
    path = write(tmp_path / "orders.csv", ["01/02/2026", "05.06.26 14:00", "02-03-2026", "25/10/2026"])
    parsed = parse(path, chunk_rows=1)
    assert {k: v.date() for k, v in occurred(parsed).items()} == {
        "O-0": dt.date(2026, 2, 1),
        "O-1": dt.date(2026, 6, 5),
        "O-2": dt.date(2026, 3, 2),
        "O-3": dt.date(2026, 10, 25),
    }
    assert parsed.date_order.note == "dates read day first (25/10/2026 in 'occurred_at', line 5)"


def test_a_file_proving_both_orders_quarantines_the_minority(store, paths, resources, instance):
    inbox = conversions_inbox(paths.root)
    write(inbox / "mixed.csv", ["10/31/2026", "01/02/2026", "10/30/2026 08:00", "13/10/2026", "2026-11-01"])
    result = dg.materialize([conversion_file_imports], resources=resources, instance=instance)
    assert result.success  # the good rows load: the file is not rejected
    meta = result.asset_materializations_for_node("conversion_file_imports")[0].metadata
    assert meta["quarantine_reasons"].value == {"date_order_conflict": 1}
    assert (
        meta["date_orders"]
        .value["mixed.csv"]
        .startswith(
            "dates conflict: 1 value(s) read only day first (13/10/2026 in 'occurred_at', line 5), "
            "2 only month first (10/31/2026 in 'occurred_at', line 2); read month first (the majority)"
        )
    )
    (bad,) = store.query("SELECT line, reason_code, reason FROM conversion_quarantine")
    assert (bad["line"], bad["reason_code"]) == (5, "date_order_conflict")
    assert bad["reason"].startswith(
        "date '13/10/2026' in 'occurred_at' reads only day first (2026-10-13), "
        "but this file's dates are read month first"
    )
    rows = store.query("SELECT order_id, conversion_date FROM conversion_rows ORDER BY order_id")
    assert [(r["order_id"], r["conversion_date"]) for r in rows] == [
        ("O-0", dt.date(2026, 10, 31)),
        ("O-1", dt.date(2026, 1, 2)),  # ambiguous: the file's order
        ("O-2", dt.date(2026, 10, 30)),
        ("O-4", dt.date(2026, 11, 1)),  # ISO: unaffected
    ]


def test_a_preset_file_resaved_by_a_spreadsheet_names_its_column(tmp_path):
    # a WooCommerce export opened and saved by a US spreadsheet: "Order Date" in its locale's order
    path = tmp_path / "woo.csv"
    path.write_text(
        "Order Number,Order Date,Order Status,Order Total,Order Currency\n"
        "2041,11/3/2026 10:12,wc-completed,39.00,EUR\n"
        "2042,10/25/2026 12:00,wc-processing,39.00,EUR\n"
    )
    parsed = parse(path)
    assert parsed.preset == "woocommerce_orders"
    assert occurred(parsed)["2041"] == dt.datetime(2026, 11, 3, 10, 12, tzinfo=dt.UTC)
    assert parsed.date_order.note == "dates read month first (10/25/2026 12:00 in 'Order Date', line 3)"


def test_ga4_and_iso_dates_are_unaffected(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "A,20261103,1,EUR,x\nB,2026-11-04 10:00:00 +0100,1,EUR,x\n")
    parsed = parse(path)
    assert occurred(parsed) == {
        "A": dt.datetime(2026, 11, 3, tzinfo=dt.UTC),
        "B": dt.datetime(2026, 11, 4, 9, tzinfo=dt.UTC),
    }
    assert parsed.date_order.note is None
