from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from splants_dagster.timeutil import as_utc, utc


def test_naive_is_taken_as_utc_and_aware_is_converted():
    assert utc(dt.datetime(2026, 3, 1, 9, 30)) == dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    london_summer = dt.datetime(2026, 7, 1, 9, 30, tzinfo=ZoneInfo("Europe/London"))
    converted = utc(london_summer)
    assert converted.tzinfo is dt.UTC and converted.hour == 8


def test_as_utc_reads_iso_strings_and_passes_missing_values_through():
    assert as_utc("2026-07-01T09:30:00+01:00") == dt.datetime(2026, 7, 1, 8, 30, tzinfo=dt.UTC)
    assert as_utc("2026-07-01T09:30:00") == dt.datetime(2026, 7, 1, 9, 30, tzinfo=dt.UTC)
    assert as_utc(None) is None
    assert as_utc(dt.date(2026, 7, 1)) is None
