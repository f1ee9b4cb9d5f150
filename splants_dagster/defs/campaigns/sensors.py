"""The brief sensor: dropping a YAML file in campaigns/ is all a marketer does."""

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import TypeGuard

import dagster as dg

from splants_dagster.campaigns.briefs import (
    BriefRegistry,
    brief_files,
    current_date,
    duplicate_problem,
    id_owners,
    read_brief,
    registry_entry,
)
from splants_dagster.defs.campaigns.jobs import campaign_catalog_job, campaign_job
from splants_dagster.defs.partitions import CAMPAIGNS, campaign_partitions
from splants_dagster.defs.resources import ProjectResource


def _fresh(old: list | None, mtime_ns: int, size: int, today: dt.date) -> TypeGuard[list]:
    """The cursor's entry still describes the file: same mtime and size, and no relative demo window
    that has ended since (``old[5]``: the day it must be re-anchored)."""
    if not old or old[0] != mtime_ns or old[1] != size:
        return False
    reanchor_on = old[5] if len(old) > 5 else None
    return reanchor_on is None or dt.date.fromisoformat(reanchor_on) > today


@dg.sensor(
    jobs=[campaign_job, campaign_catalog_job],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Registers new campaign briefs as partitions and runs new or changed ones.",
)
def campaign_brief_sensor(context: dg.SensorEvaluationContext, project: ProjectResource) -> dg.SensorResult:
    """Cursor: {file: [mtime_ns, size, version hash, campaign_id or null, error or null, re-anchor day
    or null]}. Only files whose mtime or size changed (or whose demo window ended) are re-read, so a
    tick stays fast with many briefs; reading is bounded, so a hostile file cannot stall a tick."""
    previous: dict[str, list] = json.loads(context.cursor) if context.cursor else {}
    today = current_date()
    campaigns_dir = project.paths.campaigns_dir
    registry = BriefRegistry.beside(campaigns_dir)
    entries = registry.load()
    current: dict[str, list] = {}
    fresh = {}
    for path in brief_files(campaigns_dir):
        stat = path.stat()
        key = str(path)
        old = previous.get(key)
        if _fresh(old, stat.st_mtime_ns, stat.st_size, today):
            current[key] = old
            continue
        item = read_brief(path, today=today, entries=entries)
        reanchor_on = item.brief.end_date.isoformat() if item.brief and item.relative else None
        current[key] = [
            stat.st_mtime_ns,
            stat.st_size,
            item.sha256,
            item.brief.id if item.brief else None,
            str(item.error) if item.error else None,
            reanchor_on,
        ]
        if item.brief:
            fresh[key] = item

    # an id claimed by two files: the registered file keeps it, else the first (sorted), like scan_briefs
    claims: dict[str, list[str]] = {}
    for key in sorted(current):
        if current[key][3] is not None:
            claims.setdefault(current[key][3], []).append(Path(key).name)
    present = {Path(key).name for key in current}
    owners = {cid: str(campaigns_dir / name) for cid, name in id_owners(claims, entries, present).items()}
    for key, entry in current.items():
        cid = entry[3]
        if cid is not None and owners[cid] != key:
            owner = Path(owners[cid]).name
            current[key] = [*entry[:3], None, f"{key}: {duplicate_problem(cid, owner)}", None]
    recorded = {
        **entries,
        **{
            s.brief.id: registry_entry(s)
            for k, s in fresh.items()
            if s.brief is not None and owners.get(s.brief.id) == k
        },
    }
    if recorded != entries:
        registry.save(recorded)

    owners = {cid: key for cid, key in owners.items() if current[key][3] == cid}
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

    def fingerprint(state: dict[str, list]) -> str:
        return hashlib.sha256(json.dumps(sorted((k, v[2]) for k, v in state.items())).encode()).hexdigest()[
            :16
        ]

    if fingerprint(current) != fingerprint(previous):
        run_requests.append(
            dg.RunRequest(
                job_name=campaign_catalog_job.name,
                run_key=f"catalog:{fingerprint(current)}",
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
