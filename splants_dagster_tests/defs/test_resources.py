"""Every resource an asset, check, sensor or schedule needs is registered by its folder under ``defs/``
(``@dg.definitions def resources()``, picked up by ``load_from_defs_folder``), and the resources tests and
the CLI build for a data dir (``build_all_resources``) are exactly those."""

import re
from pathlib import Path

import dagster as dg
import pytest

from splants_dagster.definitions import RESOURCE_MODULES, build_all_resources, defs

DEFS = Path(__file__).resolve().parents[2] / "splants_dagster" / "defs"


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return defs()


def test_definitions_load_with_every_required_resource(definitions):
    dg.Definitions.validate_loadable(definitions)
    provided = set(definitions.resources or {}) | {"io_manager"}  # Dagster's default
    needs: dict[str, set[str]] = {}
    for assets_def in definitions.resolve_asset_graph().assets_defs:
        needs[f"asset {assets_def.keys}"] = set(assets_def.required_resource_keys)
    for sensor in definitions.sensors or []:
        needs[f"sensor {sensor.name}"] = set(sensor.required_resource_keys)
    for schedule in definitions.schedules or []:
        needs[f"schedule {schedule.name}"] = set(schedule.required_resource_keys)
    missing = {who: sorted(keys - provided) for who, keys in needs.items() if keys - provided}
    assert missing == {}
    assert {"project", "warehouse", "llm", "research_web", "budget", "predictor"} <= provided
    # every job resolves with its resources
    assert {job.name for job in definitions.resolve_all_job_defs()} >= {
        "campaign_job",
        "campaign_catalog_job",
    }


def test_build_all_resources_matches_what_the_folders_register(definitions, data_dir):
    built = build_all_resources(data_dir)
    assert set(built) == set(definitions.resources or {})
    assert built["project"].data_dir == str(data_dir.resolve())
    assert set(build_all_resources(data_dir, domains=["costs"])) == {"budget"}
    with pytest.raises(ValueError, match="no resources for 'nowhere'"):
        build_all_resources(data_dir, domains=["nowhere"])


def test_each_resources_module_registers_itself_and_is_listed():
    files = sorted(DEFS.rglob("resources.py"))
    listed = {
        module.removeprefix("splants_dagster.defs").removesuffix("resources").strip(".")
        for module in RESOURCE_MODULES.values()
    }
    found = {str(p.parent.relative_to(DEFS)).replace("/", ".").strip(".") for p in files}
    assert found == listed
    for path in files:
        text = path.read_text()
        assert "def build_resources(" in text, path
        assert re.search(r"@dg\.definitions\s+def resources\(\) -> dg\.Definitions:", text), path


def test_nothing_under_defs_imports_the_entry_point_or_discovers_modules():
    offenders = [
        str(p.relative_to(DEFS))
        for p in DEFS.rglob("*.py")
        if re.search(
            r"^\s*(from splants_dagster(\.definitions| import definitions)|import (splants_dagster\.definitions|pkgutil))",
            p.read_text(),
            re.M,
        )
    ]
    assert offenders == []
