"""The brief sensor with a real instance: registers partitions, runs new/changed briefs once, reports bad ones."""

import datetime as dt
import json
import time

import dagster as dg
import pytest

from splants_dagster.defs.campaigns import sensors
from splants_dagster.defs.campaigns.assets import campaign_catalog
from splants_dagster.defs.campaigns.sensors import campaign_brief_sensor
from splants_dagster.defs.resources import ProjectResource
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, materialize_campaign
from splants_dagster_tests.robustness.bad_briefs import BAD_BRIEFS


@pytest.fixture
def campaigns(data_dir):
    """The data dir with only the first demo brief, so counts below do not depend on how many demos ship."""
    folder = data_dir / "campaigns"
    for path in folder.iterdir():
        if path.name != f"{DEMO_CAMPAIGN}.yaml":
            path.unlink()
    return folder


def tick(instance, data_dir, cursor=None) -> dg.SensorResult:
    ctx = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"project": ProjectResource(data_dir=str(data_dir))}
    )
    result = campaign_brief_sensor(ctx)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def runs(result, job):
    return [r for r in result.run_requests or [] if r.job_name == job]


def errors(result) -> dict:
    return {k.rsplit("/", 1)[-1]: v[4] for k, v in json.loads(result.cursor).items()}


def test_new_brief_registers_partition_and_requests_one_run(instance, data_dir, campaigns):
    first = tick(instance, data_dir)
    (add,) = first.dynamic_partitions_requests
    assert list(add.partition_keys) == [DEMO_CAMPAIGN]
    (run,) = runs(first, "campaign_job")
    assert run.partition_key == DEMO_CAMPAIGN and run.run_key.startswith(f"{DEMO_CAMPAIGN}:")
    assert run.tags["splants/campaign"] == DEMO_CAMPAIGN
    assert len(runs(first, "campaign_catalog_job")) == 1
    assert instance.get_dynamic_partitions("campaigns") == [DEMO_CAMPAIGN]

    second = tick(instance, data_dir, first.cursor)
    # unchanged: the same run_key (Dagster dedupes it), no new partition, no catalog re-run
    assert not second.dynamic_partitions_requests
    assert [r.run_key for r in runs(second, "campaign_job")] == [run.run_key]
    assert runs(second, "campaign_catalog_job") == []


def test_changed_brief_gets_a_new_run_key(instance, data_dir, campaigns):
    first = tick(instance, data_dir)
    path = campaigns / f"{DEMO_CAMPAIGN}.yaml"
    time.sleep(0.01)
    path.write_text(path.read_text().replace("duration_days: 21", "duration_days: 28"))
    second = tick(instance, data_dir, first.cursor)
    old, new = runs(first, "campaign_job")[0].run_key, runs(second, "campaign_job")[0].run_key
    assert old != new
    assert len(runs(second, "campaign_catalog_job")) == 1


def test_bad_brief_is_reported_and_does_not_stop_good_ones(instance, data_dir, campaigns):
    (campaigns / "broken.yaml").write_text("id: broken\ntopic: x\n")
    (campaigns / "zz-duplicate.yaml").write_text((campaigns / f"{DEMO_CAMPAIGN}.yaml").read_text())
    result = tick(instance, data_dir)
    assert [r.partition_key for r in runs(result, "campaign_job")] == [DEMO_CAMPAIGN]
    found = errors(result)
    assert "topic" in found["broken.yaml"] and "'x'" in found["broken.yaml"]
    assert "zz-duplicate.yaml" in found["zz-duplicate.yaml"]
    assert f"already used by {DEMO_CAMPAIGN}.yaml" in found["zz-duplicate.yaml"]
    assert found[f"{DEMO_CAMPAIGN}.yaml"] is None


def test_every_kind_of_bad_brief_is_skipped_and_the_good_campaign_still_runs(
    instance, data_dir, campaigns, resources
):
    for name, (text, _field) in BAD_BRIEFS.items():
        (campaigns / f"{name}.yaml").write_text(text)
    result = tick(instance, data_dir)
    assert [r.partition_key for r in runs(result, "campaign_job")] == [DEMO_CAMPAIGN]
    assert instance.get_dynamic_partitions("campaigns") == [DEMO_CAMPAIGN]
    found = errors(result)
    for name, (_text, field) in BAD_BRIEFS.items():
        assert f"{name}.yaml" in found[f"{name}.yaml"] and field in found[f"{name}.yaml"], name
    # the good campaign's run reads the same folder and succeeds; the catalog lists every bad file
    outcome = materialize_campaign(instance, resources, selection=["campaign_brief"])
    assert outcome.success
    catalog = dg.materialize([campaign_catalog], instance=instance, resources=resources)
    assert catalog.success
    (check,) = catalog.get_asset_check_evaluations()
    assert not check.passed and check.metadata["invalid_files"].value == len(BAD_BRIEFS)


def test_a_duplicate_dropped_later_cannot_take_over_a_campaign(instance, data_dir, campaigns):
    first = tick(instance, data_dir)
    text = (campaigns / f"{DEMO_CAMPAIGN}.yaml").read_text()
    (campaigns / "a-takeover.yaml").write_text(text.replace("Pre-order the starter pack", "Buy elsewhere"))
    second = tick(instance, data_dir, first.cursor)
    assert [r.run_key for r in runs(second, "campaign_job")] == [runs(first, "campaign_job")[0].run_key]
    found = errors(second)
    assert f"already used by {DEMO_CAMPAIGN}.yaml" in found["a-takeover.yaml"]
    assert found[f"{DEMO_CAMPAIGN}.yaml"] is None


def test_demo_window_is_recorded_and_reanchored_once_it_has_ended(instance, data_dir, campaigns, monkeypatch):
    today = dt.date(2027, 3, 1)  # a Monday
    monkeypatch.setattr(sensors, "current_date", lambda: today)
    first = tick(instance, data_dir)
    registry = json.loads((data_dir / "warehouse" / "brief_registry.json").read_text())
    assert registry[DEMO_CAMPAIGN]["start_date"] == "2027-03-08"
    today = dt.date(2027, 3, 20)  # inside the window: same run key, nothing re-read
    second = tick(instance, data_dir, first.cursor)
    assert runs(second, "campaign_job")[0].run_key == runs(first, "campaign_job")[0].run_key
    today = dt.date(2027, 5, 5)  # the 21-day window ended on 2027-03-28: a new window, a new run
    third = tick(instance, data_dir, second.cursor)
    assert runs(third, "campaign_job")[0].run_key != runs(first, "campaign_job")[0].run_key
    registry = json.loads((data_dir / "warehouse" / "brief_registry.json").read_text())
    assert registry[DEMO_CAMPAIGN]["start_date"] == "2027-05-10"


def test_skip_reason_explains_state(instance, data_dir, campaigns):
    first = tick(instance, data_dir)
    (campaigns / f"{DEMO_CAMPAIGN}.yaml").unlink()
    (campaigns / "broken.yaml").write_text("id: broken\n")
    second = tick(instance, data_dir, first.cursor)
    third = tick(instance, data_dir, second.cursor)
    assert third.run_requests == [] or third.run_requests is None
    assert "0 valid brief(s) unchanged" in third.skip_reason.skip_message
    assert "broken.yaml" in third.skip_reason.skip_message


def test_sensor_is_fast_with_many_briefs(instance, data_dir, campaigns):
    text = (campaigns / f"{DEMO_CAMPAIGN}.yaml").read_text()
    for i in range(200):
        (campaigns / f"c{i:03}.yaml").write_text(text.replace(DEMO_CAMPAIGN, f"campaign-{i:03}"))
    first = tick(instance, data_dir)
    assert len(runs(first, "campaign_job")) == 201
    # unchanged files are not re-parsed: the cursor carries their hash and validity
    cursor = json.loads(first.cursor)
    second = tick(instance, data_dir, first.cursor)
    assert json.loads(second.cursor) == cursor
