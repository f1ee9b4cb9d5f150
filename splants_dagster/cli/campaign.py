"""``splants campaign ...`` and ``splants demo``: briefs and the headless demo run."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import typer
from rich.table import Table

from splants_dagster.briefs import BriefError, load_brief, scan_briefs
from splants_dagster.cli.common import console, dagster_instance, err_console
from splants_dagster.paths import DataPaths

campaign_app = typer.Typer(no_args_is_help=True, help="Campaign briefs: validate, register.")


def register(app: typer.Typer) -> None:
    app.add_typer(campaign_app, name="campaign")
    app.command("demo")(demo)


@campaign_app.command("validate")
def campaign_validate(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="a brief YAML file"),
):
    """Validate one brief; exit code 0 when valid, 1 with the field and value of every problem otherwise."""
    try:
        brief, _sha = load_brief(file)
    except BriefError as err:
        table = Table("field", "value", "problem", title=f"{file}: invalid brief", title_style="bold red")
        for problem in err.problems:
            table.add_row(problem.field, repr(problem.value)[:60], problem.message)
        console.print(table)
        raise typer.Exit(1) from None
    console.print(
        f"[green]valid[/green] {file}: id={brief.id}, {len(brief.platforms)} platforms, "
        f"{len(brief.content_types)} content types, starts {brief.start_date} for {brief.duration_days} days"
    )


@campaign_app.command("sync")
def campaign_sync():
    """Register every valid brief in $SPLANTS_DATA_DIR/campaigns as a Dagster partition (what the sensor does)."""
    from splants_dagster.defs.partitions import CAMPAIGNS

    paths = DataPaths.at()
    scanned = scan_briefs(paths.campaigns_dir)
    instance = dagster_instance()
    known = set(instance.get_dynamic_partitions(CAMPAIGNS))
    valid = [s.brief.id for s in scanned if s.brief]
    new = [cid for cid in valid if cid not in known]
    if new:
        instance.add_dynamic_partitions(CAMPAIGNS, new)
    table = Table("file", "campaign", "status")
    for s in scanned:
        if s.brief:
            table.add_row(s.path.name, s.brief.id, "registered now" if s.brief.id in new else "registered")
        else:
            table.add_row(s.path.name, "", f"[red]invalid[/red]: {s.error}")
    console.print(table)
    console.print(f"{len(valid)} valid brief(s), {len(new)} newly registered, in {paths.campaigns_dir}")


def demo(campaign: str | None = typer.Option(None, help="only this campaign id")):
    """Materialize the demo campaign(s) end to end, headless, and print a summary."""
    from splants_dagster.definitions import defs as load_defs
    from splants_dagster.warehouse.store import Warehouse

    campaign_sync()
    paths = DataPaths.at()
    ids = [s.brief.id for s in scan_briefs(paths.campaigns_dir) if s.brief]
    if campaign:
        ids = [i for i in ids if i == campaign]
    if not ids:
        err_console.print(f"no valid campaign brief found in {paths.campaigns_dir}")
        raise typer.Exit(1)
    job = load_defs().resolve_job_def("campaign_job")
    instance = dagster_instance()
    failed = []
    for cid in ids:
        started = time.perf_counter()
        with console.status(f"materializing {cid} ..."):
            result = job.execute_in_process(
                partition_key=cid,
                instance=instance,
                raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
                tags={"splants/campaign": cid, "splants/trigger": "make demo"},
            )
        took = time.perf_counter() - started
        if not result.success:
            failed.append(cid)
            err_console.print(
                f"[red]{cid}: run {result.run_id} failed[/red] (see the Dagster UI for the step error)"
            )
            continue
        console.print(f"[green]{cid}[/green]: run {result.run_id} succeeded in {took:.1f}s")
        _print_summary(Warehouse(paths), cid)
    console.print(
        f"\nOutputs: warehouse {paths.warehouse_db}\n         analysts' snapshot {paths.analytics_db}"
        " (open read-only with any DuckDB client)"
    )
    if failed:
        raise typer.Exit(1)


def _print_summary(store, campaign_id: str) -> None:
    pieces = store.query(
        "SELECT platform, content_type, candidate_strategy, word_count, char_count, quality_score, seo_score,"
        " readability_score, total_score, model FROM analytics.content WHERE campaign_id = ? ORDER BY platform",
        [campaign_id],
    )
    calls = store.query(
        "SELECT count(*) AS calls, coalesce(sum(prompt_tokens), 0) AS prompt, "
        "coalesce(sum(completion_tokens), 0) AS completion, coalesce(sum(cost_usd), 0) AS cost, "
        "string_agg(DISTINCT provider || '/' || model, ', ') AS models, bool_or(tokens_estimated) AS est "
        "FROM analytics.llm_calls WHERE campaign_id = ?",
        [campaign_id],
    )[0]
    table = Table(
        "platform",
        "type",
        "candidate",
        "words",
        "chars",
        "quality",
        "seo",
        "readability",
        "total",
        title=f"{campaign_id}: {len(pieces)} pieces",
    )
    for p in pieces:
        table.add_row(
            p["platform"],
            p["content_type"],
            p["candidate_strategy"],
            str(p["word_count"]),
            str(p["char_count"]),
            f"{p['quality_score']:.2f}",
            f"{p['seo_score']:.2f}",
            f"{p['readability_score']:.2f}",
            f"{p['total_score']:.3f}",
        )
    console.print(table)
    per_platform = Counter(p["platform"] for p in pieces)
    console.print("pieces per platform: " + ", ".join(f"{k} {v}" for k, v in sorted(per_platform.items())))
    note = " (estimated: the offline provider counts 4 characters per token)" if calls["est"] else ""
    console.print(
        f"LLM: {calls['calls']} calls via {calls['models']}, {calls['prompt']:,} prompt + "
        f"{calls['completion']:,} completion tokens{note}, cost ${calls['cost']:.4f}"
    )
