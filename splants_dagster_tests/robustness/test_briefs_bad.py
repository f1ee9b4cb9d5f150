"""Issue #14 item 2 (and the brief parts of 11 and 12), issue #20 (demo dates): one bad brief file is
reported with file, field and value and skipped, every other campaign keeps its brief, and the demo
window always lies ahead of the user. In-process here; the CLI and sensor sides are in
cli/test_campaign_cli.py and defs/campaigns/test_brief_sensor.py."""

from __future__ import annotations

import datetime as dt
import tracemalloc
from pathlib import Path

import pytest

from splants_dagster.campaigns.briefs import BriefRegistry, find_brief, scan_briefs
from splants_dagster_tests.robustness.bad_briefs import ANCHOR_BOMB, BAD_BRIEFS, DEMO_TEXT

TODAY = dt.date(2026, 12, 7)
GOOD_ID = "compostable-pods-launch"


def folder(tmp_path: Path, **bad: str) -> Path:
    campaigns = tmp_path / "data" / "campaigns"
    campaigns.mkdir(parents=True)
    (campaigns / f"{GOOD_ID}.yaml").write_text(DEMO_TEXT)
    for name, text in bad.items():
        (campaigns / f"{name}.yaml").write_text(text)
    return campaigns


@pytest.mark.parametrize("name", sorted(BAD_BRIEFS))
def test_one_bad_brief_is_named_and_skipped_and_the_good_one_is_kept(tmp_path, name):
    text, field = BAD_BRIEFS[name]
    campaigns = folder(tmp_path, **{name: text})
    scanned = {s.path.name: s for s in scan_briefs(campaigns, today=TODAY)}
    assert scanned[f"{GOOD_ID}.yaml"].ok
    bad = scanned[f"{name}.yaml"]
    assert not bad.ok
    assert str(bad.error).startswith(f"{campaigns / name}.yaml: field '{field}' = ")
    assert len(str(bad.error)) < 600
    path, brief, _ = find_brief(campaigns, GOOD_ID, today=TODAY)
    assert path.name == f"{GOOD_ID}.yaml" and brief.id == GOOD_ID


def test_anchor_bomb_is_refused_before_it_expands(tmp_path):
    campaigns = folder(tmp_path, bomb=ANCHOR_BOMB)
    assert len(ANCHOR_BOMB.encode()) < 500
    tracemalloc.start()
    try:
        scanned = {s.path.name: s for s in scan_briefs(campaigns, today=TODAY)}
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "expands to more than 20000 values" in str(scanned["bomb.yaml"].error)
    assert peak < 20 * 2**20  # it used to take 3.1 GB


def test_bad_month_names_field_and_value(tmp_path):
    campaigns = folder(tmp_path, **{"bad-month": BAD_BRIEFS["bad-month"][0]})
    bad = {s.path.name: s for s in scan_briefs(campaigns, today=TODAY)}["bad-month.yaml"]
    assert "field 'start_date' = '2026-13-02': is not a calendar date (month must be in 1..12)" in str(
        bad.error
    )


def test_dates_near_the_end_of_time_are_refused_not_overflowed(tmp_path):
    near = DEMO_TEXT.replace("demo: true\nstart_date: next monday", "start_date: 9999-12-30")
    campaigns = folder(tmp_path, near=near.replace(f"id: {GOOD_ID}", "id: near-the-end"))
    bad = {s.path.name: s for s in scan_briefs(campaigns, today=TODAY)}["near.yaml"]
    assert "less than or equal to 2100-12-31" in str(bad.error)
    last = DEMO_TEXT.replace("demo: true\nstart_date: next monday", "start_date: 2100-12-31")
    last = last.replace("duration_days: 21", "duration_days: 365").replace(
        f"id: {GOOD_ID}", "id: the-last-one"
    )
    (campaigns / "last.yaml").write_text(last)
    ok = {s.path.name: s for s in scan_briefs(campaigns, today=TODAY)}["last.yaml"]
    assert ok.brief.end_date == dt.date(2101, 12, 31)


def test_demo_run_months_later_is_reanchored_ahead_of_the_user(tmp_path):
    """Issue #20: the demo set up on 2026-12-07, run again with the clock at 2027-03-01."""
    campaigns = folder(tmp_path)
    registry = BriefRegistry.beside(campaigns)
    (first,) = scan_briefs(campaigns, today=TODAY, record=True)
    assert first.brief.start_date == dt.date(2026, 12, 14)
    for today in (dt.date(2027, 3, 1), dt.date(2027, 3, 2), dt.date(2030, 7, 15)):
        (later,) = scan_briefs(campaigns, today=today, registry=registry, record=True)
        assert today < later.brief.start_date <= today + dt.timedelta(days=7)
        assert later.brief.start_date.weekday() == 0
