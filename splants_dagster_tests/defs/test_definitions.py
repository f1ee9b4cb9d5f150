"""The whole Definitions object loads, and every asset follows the house rules."""

import re
from pathlib import Path

import dagster as dg
import pytest

from splants_dagster.definitions import EXECUTOR_ENV, defs, executor_from_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return defs()


def test_definitions_load_and_resolve(definitions):
    graph = definitions.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"campaign_catalog", "campaign_brief", "research_brief", "content_suite"} <= keys
    assert definitions.resolve_job_def("campaign_job")
    assert {"project", "warehouse", "llm", "research_web"} <= set(definitions.resources)


def test_every_asset_is_documented_grouped_and_kinded(definitions):
    for spec in definitions.resolve_all_asset_specs():
        name = spec.key.to_user_string()
        assert spec.description and len(spec.description) > 20, f"{name} needs a docstring"
        assert spec.group_name and spec.group_name != "default", f"{name} needs a group_name"
        assert spec.kinds, f"{name} needs kinds"
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), f"{name} is not a snake_case key"


def test_campaign_assets_share_partitions_and_scope(definitions):
    job = definitions.resolve_job_def("campaign_job")
    assert job.partitions_def.name == "campaigns"
    for spec in definitions.resolve_all_asset_specs():
        if spec.tags.get("splants/scope") == "campaign":
            assert spec.partitions_def and spec.partitions_def.name == "campaigns", spec.key


def test_brief_sensor_runs_by_default(definitions):
    sensor = definitions.resolve_sensor_def("campaign_brief_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_executor_is_chosen_by_environment(monkeypatch):
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    assert executor_from_env().name == "in_process"
    monkeypatch.setenv(EXECUTOR_ENV, "multiprocess")
    assert executor_from_env().name == "multiprocess"
    monkeypatch.setenv(EXECUTOR_ENV, "celery")
    assert executor_from_env().name == "celery"
    monkeypatch.setenv(EXECUTOR_ENV, "threads")
    with pytest.raises(ValueError, match="SPLANTS_EXECUTOR='threads'"):
        executor_from_env()


def test_no_deprecated_or_private_dagster_apis():
    banned = re.compile(
        r"compute_kind=|auto_materialize_policy|SourceAsset\b|AssetSelection\.keys\(|get_event_records\(|"
        r"components\.load_defs|project_root=|dagster\._core|default_op_concurrency_limit|dagster/concurrency_key"
    )
    offenders = [
        f"{p.relative_to(ROOT)}:{i}"
        for folder in ("splants_dagster", "splants_dagster_tests")
        for p in (ROOT / folder).rglob("*.py")
        if p.name != "test_definitions.py"
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if banned.search(line)
    ]
    assert offenders == []


def test_domain_modules_do_not_import_dagster():
    pkg = ROOT / "splants_dagster"
    offenders = [
        str(p.relative_to(ROOT))
        for p in pkg.rglob("*.py")
        if not {"defs", "cli"} & set(p.relative_to(pkg).parts)
        and p.name != "definitions.py"
        and re.search(r"^\s*(import dagster|from dagster)", p.read_text(), re.M)
    ]
    assert offenders == []
