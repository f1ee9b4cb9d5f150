"""Numeric dates (01/02/2024) in engagement files: one day/month order per file, decided from the whole
file's values (a value readable only one way proves it), a documented default when nothing is proven
(``SPLANTS_DATE_ORDER`` overrides it), and contradicting rows quarantined, never read swapped. Real files
on disk through the real reader, the asset and the CLI, into a real DuckDB warehouse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from splants_dagster.cli import app
from splants_dagster.defs.engagement.assets import engagement_file_imports
from splants_dagster.engagement import files
from splants_dagster.engagement.files import LoadContext, parse_file, parse_time
from splants_dagster.settings import SettingsError, value

from .conftest import raw_query

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
HEADER = "date,external_id,platform,impressions\n"


@pytest.fixture(autouse=True)
def _auto_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPLANTS_DATE_ORDER", raising=False)


def ctx(name: str = "f.csv") -> LoadContext:
    return LoadContext(source_file=name, export_time=NOW, loaded_at=NOW, last_date=NOW.date())


def write(directory: Path, name: str, dates: list[str]) -> Path:
    """A generic engagement export: one row per date (line n + 2), ids p0, p1, …"""
    path = directory / name
    path.write_text(HEADER + "".join(f"{d},p{i},twitter,{100 + i}\n" for i, d in enumerate(dates)))
    return path


def days(parsed) -> dict[str, dt.date]:
    return {r["external_id"].split(":")[1]: r["event_date"] for r in parsed.rows}


def _materialize(instance, resources):
    return dg.materialize(
        [engagement_file_imports], instance=instance, resources=resources, raise_on_error=False
    )


def test_us_export_with_24h_times_loads_month_first_through_the_asset(
    data_dir, store, instance, resources, monkeypatch
):
    # streamed in chunks of 2 records: the value proving month first is in the third chunk, so the
    # ambiguous rows before it must not be read day first (they are all 1-12 of a month)
    monkeypatch.setattr(files, "CHUNK_ROWS", 2)
    inbox = data_dir / "inbox" / "engagement"
    inbox.mkdir(parents=True)
    write(
        inbox,
        "us.csv",
        ["01/02/2024 14:00", "03/04/2024 09:30", "11/05/2024 23:59", "12/01/2024 00:00", "12/31/2024 14:00"],
    )
    result = _materialize(instance, resources)
    assert result.success
    meta = result.asset_materializations_for_node("engagement_file_imports")[0].metadata
    assert (meta["rows_loaded"].value, meta["rows_quarantined"].value) == (5, 0)
    assert meta["date_orders"].value == {
        "us.csv": "dates read month first (12/31/2024 14:00 in 'date', line 6)"
    }
    assert "dates read month first" in meta["files_table"].value
    staged = raw_query(
        store, "SELECT line, event_date, observed_at FROM events.engagement_file_rows ORDER BY line"
    )
    assert [r["event_date"] for r in staged] == [
        dt.date(2024, 1, 2),  # 2 January, not 1 February
        dt.date(2024, 3, 4),
        dt.date(2024, 11, 5),
        dt.date(2024, 12, 1),
        dt.date(2024, 12, 31),  # once quarantined as unparseable
    ]
    assert store.query("SELECT count(*) AS n FROM engagement_quarantine")[0]["n"] == 0
    (load,) = store.query("SELECT min_date, max_date, error FROM engagement_file_loads")
    assert (load["min_date"], load["max_date"], load["error"]) == (
        dt.date(2024, 1, 2),
        dt.date(2024, 12, 31),
        None,
    )


def test_ambiguous_us_file_reads_month_first_with_the_setting(tmp_path, monkeypatch):
    path = write(tmp_path, "us.csv", ["01/02/2024 14:00", "03/04/2024", "12/11/2024 08:15"])
    default = parse_file(path, ctx())
    assert days(default) == {
        "p0": dt.date(2024, 2, 1),
        "p1": dt.date(2024, 4, 3),
        "p2": dt.date(2024, 11, 12),
    }
    assert default.date_order.note == (
        "dates ambiguous (no day above 12): read day first (SPLANTS_DATE_ORDER=auto default); "
        "set SPLANTS_DATE_ORDER=month-first if they are US dates"
    )
    monkeypatch.setenv("SPLANTS_DATE_ORDER", "month-first")
    parsed = parse_file(path, ctx())
    assert days(parsed) == {"p0": dt.date(2024, 1, 2), "p1": dt.date(2024, 3, 4), "p2": dt.date(2024, 12, 11)}
    assert parsed.date_order.note == "dates read month first (SPLANTS_DATE_ORDER=month-first)"
    assert not parsed.quarantined


def test_day_first_file_reads_as_before(tmp_path):
    path = write(
        tmp_path, "uk.csv", ["01/02/2024 14:00", "13/01/2024 09:00", "05/06/2024", "1.2.24", "02-03-2024"]
    )
    parsed = parse_file(path, ctx())
    assert days(parsed) == {
        "p0": dt.date(2024, 2, 1),
        "p1": dt.date(2024, 1, 13),
        "p2": dt.date(2024, 6, 5),
        "p3": dt.date(2024, 2, 1),
        "p4": dt.date(2024, 3, 2),
    }
    assert parsed.date_order.note == "dates read day first (13/01/2024 09:00 in 'date', line 3)"
    assert not parsed.date_order.warn


def test_am_pm_times_default_to_month_first_as_before(tmp_path):
    path = write(tmp_path, "mc.csv", ["01/02/2024 10:00 AM", "03/04/2024 2:30 PM"])
    parsed = parse_file(path, ctx())
    assert days(parsed) == {"p0": dt.date(2024, 1, 2), "p1": dt.date(2024, 3, 4)}
    assert "read month first, as their 12-hour AM/PM times are a US habit" in parsed.date_order.note
    assert "set SPLANTS_DATE_ORDER=day-first if they are not" in parsed.date_order.note


def test_a_file_proving_both_orders_quarantines_the_minority_and_keeps_the_rest(
    data_dir, store, instance, resources
):
    inbox = data_dir / "inbox" / "engagement"
    inbox.mkdir(parents=True)
    write(inbox, "mixed.csv", ["13/01/2024", "01/02/2024", "12/31/2024 14:00", "25/03/2024", "2024-05-06"])
    result = _materialize(instance, resources)
    assert result.success  # good rows loaded: the file is not rejected
    meta = result.asset_materializations_for_node("engagement_file_imports")[0].metadata
    assert (meta["rows_loaded"].value, meta["rows_quarantined"].value) == (4, 1)
    assert meta["quarantine_reasons"].value == {"date_order_conflict": 1}
    note = meta["date_orders"].value["mixed.csv"]
    assert note.startswith(
        "dates conflict: 2 value(s) read only day first (13/01/2024 in 'date', line 2), "
        "1 only month first (12/31/2024 14:00 in 'date', line 4); read day first (the majority)"
    )
    (bad,) = store.query("SELECT line, reason_code, reason FROM engagement_quarantine")
    assert (bad["line"], bad["reason_code"]) == (4, "date_order_conflict")
    assert bad["reason"].startswith(
        "date '12/31/2024 14:00' in 'date' reads only month first (2024-12-31), "
        "but this file's dates are read day first: 2 value(s) read only day first"
    )
    staged = raw_query(store, "SELECT line, event_date FROM events.engagement_file_rows ORDER BY line")
    assert [(r["line"], r["event_date"]) for r in staged] == [
        (2, dt.date(2024, 1, 13)),
        (3, dt.date(2024, 2, 1)),  # ambiguous: the file's order
        (5, dt.date(2024, 3, 25)),
        (6, dt.date(2024, 5, 6)),  # ISO: unaffected
    ]


def test_a_fixed_order_quarantines_values_readable_only_the_other_way(tmp_path, monkeypatch):
    monkeypatch.setenv("SPLANTS_DATE_ORDER", "mdy")  # alias of month-first
    path = write(tmp_path, "f.csv", ["01/02/2024", "13/01/2024", "31/31/2024", '"Jan 05, 2024 10:00 AM"'])
    parsed = parse_file(path, ctx())
    assert days(parsed) == {"p0": dt.date(2024, 1, 2), "p3": dt.date(2024, 1, 5)}
    assert [(q["line"], q["reason_code"], q["reason"]) for q in parsed.quarantined] == [
        (
            3,
            "date_order_conflict",
            "date '13/01/2024' in 'date' reads only day first (2024-01-13), "
            "but SPLANTS_DATE_ORDER=month-first reads every file's dates month first",
        ),
        (4, "unparseable_date", "unparseable date in 'date': '31/31/2024'"),
    ]
    assert parsed.date_order.note == (
        "dates read month first (SPLANTS_DATE_ORDER=month-first); "
        "1 value(s) readable only day first quarantined (date_order_conflict)"
    )


def test_one_order_for_every_date_column_of_a_file(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text(
        "date,observed_at,published_at,external_id,platform,impressions\n"
        "02/01/2024,02/01/2024 18:00,01/12/2023 09:00,a,twitter,10\n"
        "03/01/2024,03/01/2024 18:00,01/20/2023 09:00,b,twitter,20\n"  # published_at proves month first
    )
    parsed = parse_file(path, ctx())
    first = next(r for r in parsed.rows if r["external_id"] == "twitter:a")
    assert first["event_date"] == dt.date(2024, 2, 1)
    assert first["observed_at"] == dt.datetime(2024, 2, 1, 18, tzinfo=dt.UTC)
    assert first["published_at"] == dt.datetime(2023, 1, 12, 9, tzinfo=dt.UTC)
    assert parsed.date_order.note == "dates read month first (01/20/2023 09:00 in 'published_at', line 3)"


def test_iso_and_month_name_files_have_no_date_note(tmp_path):
    path = tmp_path / "iso.csv"
    path.write_text(HEADER + '2024-01-02 14:00,a,twitter,10\n"Jan 05, 2024 10:00 AM",b,twitter,5\n')
    parsed = parse_file(path, ctx())
    assert days(parsed) == {"a": dt.date(2024, 1, 2), "b": dt.date(2024, 1, 5)}
    assert parsed.date_order.note is None


def test_lone_values_decide_for_themselves():
    assert parse_time("date", "12/31/2024 14:00") == dt.datetime(2024, 12, 31, 14, tzinfo=dt.UTC)
    assert parse_time("date", "01/02/2024 14:00") == dt.datetime(2024, 2, 1, 14, tzinfo=dt.UTC)
    assert parse_time("date", "01/02/2024 10:00 PM") == dt.datetime(2024, 1, 2, 22, tzinfo=dt.UTC)
    assert parse_time("date", "12/31/2024 12:00 a.m.") == dt.datetime(2024, 12, 31, tzinfo=dt.UTC)


def test_the_setting_is_validated():
    assert value("SPLANTS_DATE_ORDER", {}) == "auto"
    assert value("SPLANTS_DATE_ORDER", {"SPLANTS_DATE_ORDER": "Day_First"}) == "day-first"
    with pytest.raises(
        SettingsError, match="SPLANTS_DATE_ORDER='us': must be one of auto, day-first, month-first"
    ):
        value("SPLANTS_DATE_ORDER", {"SPLANTS_DATE_ORDER": "us"})


def test_cli_dry_run_prints_the_decision(tmp_path, data_dir):
    path = write(tmp_path, "us.csv", ["01/02/2024 14:00", "12/31/2024 14:00"])
    result = CliRunner().invoke(app, ["engagement", "import", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "2 loadable" in out
    assert "us.csv: dates read month first (12/31/2024 14:00 in 'date', line 3)" in out
