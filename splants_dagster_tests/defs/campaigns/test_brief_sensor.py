"""The brief sensor with a real instance: registers partitions, runs new/changed briefs once, reports bad ones."""

import json
import time

import dagster as dg

from splants_dagster.defs.campaigns.sensors import campaign_brief_sensor
from splants_dagster.defs.resources import ProjectResource
from splants_dagster_tests.helpers import DEMO_CAMPAIGN


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


def test_new_brief_registers_partition_and_requests_one_run(instance, data_dir):
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


def test_changed_brief_gets_a_new_run_key(instance, data_dir):
    first = tick(instance, data_dir)
    path = data_dir / "campaigns" / "compostable-pods-launch.yaml"
    time.sleep(0.01)
    path.write_text(path.read_text().replace("duration_days: 21", "duration_days: 28"))
    second = tick(instance, data_dir, first.cursor)
    old, new = runs(first, "campaign_job")[0].run_key, runs(second, "campaign_job")[0].run_key
    assert old != new
    assert len(runs(second, "campaign_catalog_job")) == 1


def test_bad_brief_is_reported_and_does_not_stop_good_ones(instance, data_dir):
    (data_dir / "campaigns" / "broken.yaml").write_text("id: broken\ntopic: x\n")
    (data_dir / "campaigns" / "zz-duplicate.yaml").write_text(
        (data_dir / "campaigns" / "compostable-pods-launch.yaml").read_text()
    )
    result = tick(instance, data_dir)
    assert [r.partition_key for r in runs(result, "campaign_job")] == [DEMO_CAMPAIGN]
    cursor = json.loads(result.cursor)
    errors = {k.rsplit("/", 1)[-1]: v[4] for k, v in cursor.items()}
    assert "topic" in errors["broken.yaml"] and "'x'" in errors["broken.yaml"]
    assert "already used by" in errors["zz-duplicate.yaml"]
    assert errors["compostable-pods-launch.yaml"] is None


def test_skip_reason_explains_state(instance, data_dir):
    first = tick(instance, data_dir)
    (data_dir / "campaigns" / "compostable-pods-launch.yaml").unlink()
    (data_dir / "campaigns" / "broken.yaml").write_text("id: broken\n")
    second = tick(instance, data_dir, first.cursor)
    third = tick(instance, data_dir, second.cursor)
    assert third.run_requests == [] or third.run_requests is None
    assert "0 valid brief(s) unchanged" in third.skip_reason.skip_message
    assert "broken.yaml" in third.skip_reason.skip_message


def test_sensor_is_fast_with_many_briefs(instance, data_dir):
    text = (data_dir / "campaigns" / "compostable-pods-launch.yaml").read_text()
    for i in range(200):
        (data_dir / "campaigns" / f"c{i:03}.yaml").write_text(text.replace(DEMO_CAMPAIGN, f"campaign-{i:03}"))
    first = tick(instance, data_dir)
    assert len(runs(first, "campaign_job")) == 201
    # unchanged files are not re-parsed: the cursor carries their hash and validity
    cursor = json.loads(first.cursor)
    second = tick(instance, data_dir, first.cursor)
    assert json.loads(second.cursor) == cursor
