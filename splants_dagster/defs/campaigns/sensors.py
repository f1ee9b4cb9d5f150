"""The brief sensor: dropping a YAML file in campaigns/ is all a marketer does."""

import hashlib
import json

import dagster as dg

from splants_dagster.briefs import BriefError, brief_files, load_brief
from splants_dagster.defs.campaigns.jobs import campaign_catalog_job, campaign_job
from splants_dagster.defs.partitions import CAMPAIGNS, campaign_partitions
from splants_dagster.defs.resources import ProjectResource


@dg.sensor(
    jobs=[campaign_job, campaign_catalog_job],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Registers new campaign briefs as partitions and runs new or changed ones.",
)
def campaign_brief_sensor(context: dg.SensorEvaluationContext, project: ProjectResource) -> dg.SensorResult:
    """Cursor: {file: [mtime_ns, size, sha256, campaign_id or null, error or null]}. Only files whose
    mtime or size changed are re-read and re-validated, so a tick stays fast with many briefs."""
    previous: dict[str, list] = json.loads(context.cursor) if context.cursor else {}
    current: dict[str, list] = {}
    for path in brief_files(project.paths.campaigns_dir):
        stat = path.stat()
        key = str(path)
        old = previous.get(key)
        if old and old[0] == stat.st_mtime_ns and old[1] == stat.st_size:
            current[key] = old
            continue
        try:
            brief, sha = load_brief(path)
            current[key] = [stat.st_mtime_ns, stat.st_size, sha, brief.id, None]
        except BriefError as err:
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            current[key] = [stat.st_mtime_ns, stat.st_size, sha, None, str(err)]

    # an id claimed by two files: the first (sorted) file wins, like scan_briefs
    owners: dict[str, str] = {}
    for key in sorted(current):
        cid = current[key][3]
        if cid is None:
            continue
        if cid in owners:
            current[key] = [
                *current[key][:3],
                None,
                f"{key}: field 'id' = {cid!r}: is already used by {owners[cid]}",
            ]
        else:
            owners[cid] = key

    known = set(context.instance.get_dynamic_partitions(CAMPAIGNS))
    new_ids = sorted(cid for cid in owners if cid not in known)
    run_requests = []
    for cid, key in sorted(owners.items()):
        sha = current[key][2]
        run_requests.append(
            dg.RunRequest(
                job_name=campaign_job.name,
                partition_key=cid,
                run_key=f"{cid}:{sha[:16]}",
                tags={"splants/campaign": cid, "splants/trigger": "brief_sensor"},
            )
        )
    bad = {key: v[4] for key, v in current.items() if v[4]}
    for key, error in bad.items():
        if previous.get(key, [None] * 5)[2] != current[key][2]:
            context.log.warning(f"rejected brief {error}")

    fingerprint = hashlib.sha256(
        json.dumps(sorted((k, v[2]) for k, v in current.items())).encode()
    ).hexdigest()[:16]
    if (
        fingerprint
        != hashlib.sha256(json.dumps(sorted((k, v[2]) for k, v in previous.items())).encode()).hexdigest()[
            :16
        ]
    ):
        run_requests.append(
            dg.RunRequest(
                job_name=campaign_catalog_job.name,
                run_key=f"catalog:{fingerprint}",
                tags={"splants/trigger": "brief_sensor"},
            )
        )
    cursor = json.dumps(current, sort_keys=True)
    if not run_requests and not new_ids:
        reason = f"{len(owners)} valid brief(s) unchanged"
        if bad:
            reason += f"; {len(bad)} invalid: " + " | ".join(bad.values())
        return dg.SensorResult(skip_reason=dg.SkipReason(reason), cursor=cursor)
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[campaign_partitions.build_add_request(new_ids)] if new_ids else [],
        cursor=cursor,
    )
