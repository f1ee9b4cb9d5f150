"""Campaign briefs: the catalog of brief files, and each campaign's validated brief (one partition each)."""

import datetime as dt
import json

import dagster as dg

from splants_dagster.campaigns.briefs import BriefError, campaign_row, find_brief
from splants_dagster.defs.partitions import CAMPAIGN_SCOPE, campaign_partitions
from splants_dagster.defs.resources import ProjectResource, WarehouseResource
from splants_dagster.display import md_table
from splants_dagster.platforms import plan_suite
from splants_dagster.warehouse.queries import campaigns as campaign_queries


@dg.asset(
    group_name="campaigns",
    kinds={"yaml", "duckdb"},
    pool="duckdb_write",
    check_specs=[
        dg.AssetCheckSpec(
            "briefs_are_valid",
            asset="campaign_catalog",
            description="Every YAML file in campaigns/ is a valid brief (bad ones are listed with field and value).",
        )
    ],
)
def campaign_catalog(
    context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Every brief file in ``campaigns/``, valid or not, with the exact problems of each bad one.

    A bad brief never stops the others: it is listed here (and fails the ``briefs_are_valid`` check,
    severity WARN) while valid campaigns keep running.
    """
    scanned = project.scan()
    now = dt.datetime.now(dt.UTC)
    rows, problems = [], []
    for item in scanned:
        errors = item.error.as_rows() if item.error else []
        problems.extend(errors)
        rows.append(
            {
                "file": str(item.path),
                "campaign_id": item.brief.id if item.brief else None,
                "sha256": item.sha256,
                "valid": item.ok,
                "errors": json.dumps(errors),
                "checked_at": now,
            }
        )
        if item.error:
            context.log.warning(f"rejected brief: {item.error}")
    with warehouse.store().write() as conn:
        campaign_queries.replace_brief_files(conn, rows)
    valid = sum(1 for r in rows if r["valid"])
    return dg.MaterializeResult(
        metadata={
            "brief_files": dg.MetadataValue.int(len(rows)),
            "valid": dg.MetadataValue.int(valid),
            "invalid": dg.MetadataValue.int(len(rows) - valid),
            "files": dg.MetadataValue.md(md_table(rows, ["file", "campaign_id", "valid"])),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="briefs_are_valid",
                passed=not problems,
                severity=dg.AssetCheckSeverity.WARN,
                description=(
                    "all briefs are valid"
                    if not problems
                    else f"{len(problems)} problem(s) in {len(rows) - valid} file(s)"
                ),
                metadata={
                    "invalid_files": dg.MetadataValue.int(len(rows) - valid),
                    "problems": dg.MetadataValue.md(
                        md_table(problems, ["file", "field", "value", "message"])
                    ),
                },
            )
        ],
    )


@dg.asset(
    group_name="campaigns",
    kinds={"yaml", "duckdb"},
    partitions_def=campaign_partitions,
    pool="duckdb_write",
    tags=CAMPAIGN_SCOPE,
)
def campaign_brief(
    context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """The campaign's brief, validated, as the rest of the run will use it (later edits need a new run)."""
    campaign_id = context.partition_key
    try:
        # record=True: a demo brief's relative window is fixed here if nothing registered it yet
        path, brief, sha = find_brief(project.paths.campaigns_dir, campaign_id, record=True)
        project.brand()
    except BriefError as err:
        raise dg.Failure(
            description=str(err),
            metadata={
                "problems": dg.MetadataValue.md(
                    md_table(err.as_rows(), ["file", "field", "value", "message"])
                )
            },
        ) from None
    now = dt.datetime.now(dt.UTC)
    row = campaign_row(brief, path, sha, now)
    with warehouse.store().write() as conn:
        first = campaign_queries.registered_at(conn, campaign_id)
        if first:
            row["registered_at"] = first
        campaign_queries.replace_campaign(conn, campaign_id, row)
    specs = plan_suite(brief.id, brief.platforms, brief.content_types, brief.word_targets())
    context.log.info(
        f"brief {path.name}: {len(specs)} pieces planned across {len(brief.platforms)} platforms"
    )
    return dg.MaterializeResult(
        metadata={
            "topic": brief.topic,
            "brief_file": dg.MetadataValue.path(str(path)),
            "brief_sha256": sha[:16],
            "platforms": ", ".join(brief.platforms),
            "pieces_planned": dg.MetadataValue.int(len(specs)),
            "start_date": str(brief.start_date),
            "end_date": str(brief.end_date - dt.timedelta(days=1)),
            "duration_days": dg.MetadataValue.int(brief.duration_days),
            "plan": dg.MetadataValue.md(
                md_table(
                    [
                        {
                            "piece": s.piece_id,
                            "words": f"{s.min_words}-{s.max_words}",
                            "char_limit": s.char_limit,
                        }
                        for s in specs
                    ],
                    ["piece", "words", "char_limit"],
                )
            ),
        },
        data_version=dg.DataVersion(sha[:16]),
    )
