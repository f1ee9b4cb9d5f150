"""Every SPLANTS_* setting is validated once, at start, with one clear line per bad one (issue #14 item 11):
in ``splants`` (a real subprocess: exit 2, no traceback) and when the Dagster definitions load."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from splants_dagster import settings
from splants_dagster.settings import SETTINGS, SettingsError, check, value

ROOT = Path(__file__).resolve().parents[2]
SPLANTS = str(Path(os.sys.executable).parent / "splants")


def splants(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([SPLANTS, *args], capture_output=True, text=True, env=env, timeout=120)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPLANTS_")}
    return env | extra


def test_defaults_are_typed():
    found = check({})
    assert found["SPLANTS_LLM_CONCURRENCY"] == 4
    assert found["SPLANTS_LLM_STEP_DEADLINE_S"] == 900.0
    assert found["SPLANTS_MONTHLY_BUDGET_USD"] is None
    assert found["SPLANTS_EXECUTOR"] == "in_process"
    assert found["SPLANTS_QA_MAX_BYTES"] == 256 * 1024


@pytest.mark.parametrize(
    ("name", "raw", "parsed"),
    [
        ("SPLANTS_MONTHLY_BUDGET_USD", "50", 50.0),
        ("SPLANTS_MONTHLY_BUDGET_USD", " 0 ", 0.0),
        ("SPLANTS_LLM_CONCURRENCY", "8", 8),
        ("SPLANTS_EXECUTOR", "In-Process", "in_process"),
        ("SPLANTS_LLM_FORCE_REFRESH", "yes", True),
        ("SPLANTS_ENGAGEMENT_SIMULATOR", "off", False),
        ("SPLANTS_LLM_BASE_URL", "http://127.0.0.1:11434/v1", "http://127.0.0.1:11434/v1"),
    ],
)
def test_good_values_parse(name, raw, parsed):
    assert value(name, {name: raw}) == parsed


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        (
            "SPLANTS_MONTHLY_BUDGET_USD",
            "abc",
            "SPLANTS_MONTHLY_BUDGET_USD='abc': must be a number of US dollars",
        ),
        ("SPLANTS_MONTHLY_BUDGET_USD", "-5", "must be a number of US dollars"),
        ("SPLANTS_MONTHLY_BUDGET_USD", "nan", "must be a number of US dollars"),
        (
            "SPLANTS_EXECUTOR",
            "bogus",
            "SPLANTS_EXECUTOR='bogus': must be one of in_process, multiprocess, celery",
        ),
        (
            "SPLANTS_LLM_CONCURRENCY",
            "abc",
            "SPLANTS_LLM_CONCURRENCY='abc': must be a whole number from 1 to 64",
        ),
        ("SPLANTS_LLM_CONCURRENCY", "0", "SPLANTS_LLM_CONCURRENCY='0'"),
        (
            "SPLANTS_LLM_STEP_DEADLINE_S",
            "soon",
            "SPLANTS_LLM_STEP_DEADLINE_S='soon': must be a number of seconds",
        ),
        ("SPLANTS_LLM_FORCE_REFRESH", "maybe", "must be 1 or 0"),
        ("SPLANTS_ENGAGEMENT_SIM_START", "9999-12-31", "between 2000 and 2100"),
        ("SPLANTS_LLM_BASE_URL", "localhost:11434", "must be an http(s):// URL"),
    ],
)
def test_bad_values_name_the_variable_and_value(name, raw, expected):
    with pytest.raises(SettingsError) as caught:
        value(name, {name: raw})
    (line,) = caught.value.problems
    assert expected in line and "\n" not in line


def test_every_problem_at_once_secrets_never_shown():
    env = {
        "SPLANTS_MONTHLY_BUDGET_USD": "abc",
        "SPLANTS_EXECUTOR": "bogus",
        "SPLANTS_WEBHOOK_URLS": "ftp://user:hunter2@example.invalid/hook",
    }
    with pytest.raises(SettingsError) as caught:
        check(env)
    problems = caught.value.problems
    assert len(problems) == 3
    assert [p.split("=")[0] for p in problems] == [
        "SPLANTS_MONTHLY_BUDGET_USD",
        "SPLANTS_EXECUTOR",
        "SPLANTS_WEBHOOK_URLS",
    ]
    assert "hunter2" not in str(caught.value) and "SPLANTS_WEBHOOK_URLS=(hidden)" in problems[2]


def test_every_splants_variable_the_code_reads_is_in_the_table_and_the_docs():
    used = set()
    for path in (ROOT / "splants_dagster").rglob("*.py"):
        used |= set(re.findall(r"\bSPLANTS_[A-Z0-9_]*[A-Z0-9]\b(?!\*)", path.read_text(encoding="utf-8")))
    known = {s.name for s in SETTINGS}
    assert used - known == set(), "read but not validated in splants_dagster/settings.py"
    docs = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert {n for n in known if f"`{n}`" not in docs} == set(), "missing from docs/settings.md"


def test_ml_candidate_choices_match_the_grids():
    from splants_dagster.ml.models import CANDIDATE_GRIDS

    for name in CANDIDATE_GRIDS:
        assert value("SPLANTS_ML_CANDIDATES", {"SPLANTS_ML_CANDIDATES": name}) == name


def test_definitions_load_fails_with_the_same_lines(monkeypatch):
    from splants_dagster.definitions import defs

    monkeypatch.setenv("SPLANTS_LLM_CONCURRENCY", "abc")
    monkeypatch.setenv("SPLANTS_EXECUTOR", "bogus")
    with pytest.raises(SettingsError) as caught:
        defs()
    assert caught.value.problems == [
        "SPLANTS_LLM_CONCURRENCY='abc': must be a whole number from 1 to 64",
        "SPLANTS_EXECUTOR='bogus': must be one of in_process, multiprocess, celery",
    ]


def test_readers_use_the_one_parser(monkeypatch, data_dir):
    from splants_dagster.costs.config import BudgetConfigError, env_overrides
    from splants_dagster.defs.resources import LLMResource

    monkeypatch.setenv("SPLANTS_LLM_CONCURRENCY", "7")
    monkeypatch.setenv("SPLANTS_LLM_FORCE_REFRESH", "on")
    llm = LLMResource.from_env()
    assert (llm.concurrency, llm.force_refresh) == (7, True)
    monkeypatch.setenv("SPLANTS_LLM_CONCURRENCY", "many")
    with pytest.raises(SettingsError, match="SPLANTS_LLM_CONCURRENCY='many'"):
        LLMResource.from_env()
    with pytest.raises(BudgetConfigError, match="SPLANTS_MONTHLY_BUDGET_USD='abc': must be a number"):
        env_overrides({"SPLANTS_MONTHLY_BUDGET_USD": "abc"})


def test_cli_prints_one_line_per_bad_setting_and_exits_2(data_dir, tmp_path):
    env = clean_env(
        SPLANTS_DATA_DIR=str(data_dir),
        DAGSTER_HOME=str(tmp_path),
        SPLANTS_MONTHLY_BUDGET_USD="abc",
        SPLANTS_EXECUTOR="bogus",
        SPLANTS_LLM_CONCURRENCY="abc",
    )
    out = splants("demo", env=env)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == [
        "SPLANTS_LLM_CONCURRENCY='abc': must be a whole number from 1 to 64",
        "SPLANTS_MONTHLY_BUDGET_USD='abc': must be a number of US dollars, e.g. 50 (0: unlimited)",
        "SPLANTS_EXECUTOR='bogus': must be one of in_process, multiprocess, celery",
    ]
    assert out.stdout == ""
    # one bad budget alone: the one line (the 458-line traceback)
    alone = splants("budget", env=clean_env(SPLANTS_DATA_DIR=str(data_dir), SPLANTS_MONTHLY_BUDGET_USD="abc"))
    assert alone.returncode == 2 and len(alone.stderr.strip().splitlines()) == 1


def test_settings_module_has_no_dagster_import():
    source = Path(settings.__file__).read_text(encoding="utf-8")
    assert "dagster as dg" not in source and "import dagster" not in source
