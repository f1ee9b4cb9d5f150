"""Issue #14 "Keep it so": bad inputs tried on the real ``splants`` command, each on a fresh data dir and
instance (the table is ``probe.py``). Each must end with the expected exit code, no traceback, the file and
field (or variable, column) named, and nothing else lost: the good campaigns registered, the good file's rows
loadable or loaded, the good sources read.

A representative case per kind runs here (slow: one ``splants`` process each); ``make probe`` runs the whole
matrix and prints the figures of the closing note (``PROBE_ALL=1`` runs it all here too). The summary of
what ran is written to test-artifacts/probe-summary-tests.json (make probe: probe-summary.json)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from splants_dagster.paths import PROJECT_ROOT
from splants_dagster_tests.robustness.probe import (
    ALL_CASES,
    CASES,
    Outcome,
    run_case,
    summarize,
    summary_table,
    write_summary,
)

REPRESENTATIVE = [
    "brief/date-feb-30",
    "brief/duration-bool",
    "brief/tone-markup",
    "brief/deep-nesting",
    "brief/nul-bytes",
    "brief/python-tag",
    "sync/anchor-bomb-among-good",
    "sync/duplicate-id-in-second-file",
    "sync/every-brief-invalid",
    "settings/SPLANTS_MONTHLY_BUDGET_USD=nan",
    "settings/secret-webhook-not-echoed",
    "budget-yaml/budget-text",
    "qa/hashtags-number",
    "qa/dev-zero",
    "qa/front-matter-alias-bomb",
    "engagement/count-over-int64",
    "engagement/json-nested-200k",
    "engagement/json-5000-digit-int",
    "engagement/real-load-poison-and-mixed",
    "sources/cloud-metadata",
    "sources/dot-dot-passwd",
    "cli/sql-markup-in-result",
    "cli/demo-unknown-campaign",
    "cli/status-corrupt-warehouse",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
SELECTED = [c.name for c in ALL_CASES] if os.environ.get("PROBE_ALL") == "1" else REPRESENTATIVE


def test_the_matrix_covers_each_kind_of_bad_input():
    assert len(ALL_CASES) >= 60
    assert {c.group for c in ALL_CASES} >= {
        "brief YAML",
        "settings env vars",
        "splants qa drafts",
        "engagement files",
        "brief sources",
        "other commands",
    }
    for case in ALL_CASES:
        assert case.exit, case.name
        assert case.named or case.kept, f"{case.name} checks neither what is named nor what is kept"
    assert set(REPRESENTATIVE) <= set(CASES)
    assert {CASES[n].group for n in REPRESENTATIVE} == {c.group for c in ALL_CASES}


@pytest.fixture(scope="module")
def outcomes():
    collected: list[Outcome] = []
    yield collected
    if collected:
        summary = summarize(collected)
        whole = SELECTED is not REPRESENTATIVE
        summary["scope"] = "every case (PROBE_ALL=1)" if whole else "representative cases"
        # the whole matrix's figures (make probe) stay in probe-summary.json unless this run is the whole
        path = write_summary(summary, None if whole else ARTIFACTS / "probe-summary-tests.json")
        print(f"\n{summary_table(summary)}\nsummary: {path}")


@pytest.mark.slow
@pytest.mark.parametrize("name", SELECTED)
def test_bad_input_gets_a_clear_error_and_nothing_else_is_lost(name: str, tmp_path: Path, outcomes):
    outcome = run_case(CASES[name], tmp_path)
    outcomes.append(outcome)
    assert outcome.clear and outcome.lost is None, f"{outcome.problem()}\n--- output:\n{outcome.output}"


# ---- the probe's own findings, fixed with it; in-process so they run in every CI pass


def test_a_json_count_too_long_for_python_quarantines_its_row_not_the_file(tmp_path):
    """``json.loads`` raised on a 5000-digit integer and the whole file (its good rows too) was rejected."""
    import datetime as dt
    import json

    from splants_dagster.engagement.files import LoadContext, parse_file

    path = tmp_path / "digits.json"
    rows = [
        {"date": "2026-11-20", "external_id": "a", "platform": "twitter", "impressions": 0},
        {"date": "2026-11-20", "external_id": "b", "platform": "twitter", "impressions": 3},
    ]
    path.write_text(json.dumps(rows).replace('"impressions": 0', '"impressions": ' + "9" * 5000, 1))
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    parsed = parse_file(path, LoadContext("digits.json", now, now, last_date=now.date()))
    assert [r["impressions"] for r in parsed.rows] == [3]
    (bad,) = parsed.quarantined
    assert bad["line"] == 1 and "'impressions'" in bad["reason"]


def test_a_data_dir_that_is_a_file_is_a_settings_error():
    from splants_dagster import settings

    with pytest.raises(settings.SettingsError) as err:
        settings.check({"SPLANTS_DATA_DIR": "/etc/hostname"})
    assert err.value.problems == ["SPLANTS_DATA_DIR='/etc/hostname': must be a directory (it names a file)"]
    settings.check({"SPLANTS_DATA_DIR": "/nonexistent/yet"})  # created on first use


def test_a_budget_file_that_is_not_utf8_is_a_budget_error(tmp_path):
    from splants_dagster.costs.config import BudgetConfigError, load_budget_config

    path = tmp_path / "budget.yaml"
    path.write_bytes("monthly_budget_usd: 5\n".encode("utf-16"))
    with pytest.raises(BudgetConfigError, match=r"cannot read .*budget\.yaml: 'utf-8' codec can't decode"):
        load_budget_config(path)
