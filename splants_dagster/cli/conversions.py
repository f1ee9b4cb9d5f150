"""``splants conversions ...``: import shop / payment / analytics exports, list the presets, show goal
progress. See docs/attribution.md."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from splants_dagster.cli.console import console, dagster_instance, err_console, run_with_progress, styled
from splants_dagster.cli.inbox import copy_into, print_notes, validate_files
from splants_dagster.paths import DataPaths

conversions_app = typer.Typer(
    no_args_is_help=True, help="Conversions: import orders/payments/GA4 exports, show goal progress."
)


def register(app: typer.Typer) -> None:
    app.add_typer(conversions_app, name="conversions")


@conversions_app.command("presets")
def presets() -> None:
    """The column mappings of every import preset."""
    from splants_dagster.conversions.presets import PRESETS

    for preset in PRESETS.values():
        table = Table(
            "our field", "export column(s)", title=f"{preset.name}: {preset.title}", title_justify="left"
        )
        for ours, theirs in preset.columns.items():
            table.add_row(ours + (" (required)" if ours in preset.required else ""), " | ".join(theirs))
        console.print(table)
        console.print(f"  {preset.description}\n")


@conversions_app.command("import")
def import_file(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="CSV or JSON exports"),
    preset: str | None = typer.Option(
        None, help="generic | shopify_orders | woocommerce_orders | stripe_payments | ga4_landing_pages"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="validate and report only; load nothing"),
) -> None:
    """Validate exports, then load them: each valid file is copied to inbox/conversions/<preset>/ and
    imported now (the inbox sensor would do the same). Each file stands alone: a rejected file is reported
    (exit 1) and the others still load."""
    from splants_dagster.conversions.files import LoadContext, parse_file
    from splants_dagster.conversions.imports import conversions_inbox
    from splants_dagster.conversions.presets import PRESETS

    if preset and preset not in PRESETS:
        err_console.print(styled((f"unknown preset {preset!r}", "red"), f": one of {', '.join(PRESETS)}"))
        raise typer.Exit(2)
    paths = DataPaths.at()
    now = dt.datetime.now(dt.UTC)

    def parse(file: Path):
        return parse_file(
            file, LoadContext(file.name, now, now.date() + dt.timedelta(days=1)), preset, sink=lambda c: None
        )

    accepted, rejected = validate_files(files, parse, _report)
    if dry_run or not accepted:
        raise typer.Exit(1 if rejected else 0)
    rels = [rel for rel, _ in copy_into(conversions_inbox(paths.root), accepted)]
    if not run_conversions_job(rels, preset, "splants conversions import"):
        raise typer.Exit(1)
    _print_progress(paths)
    if rejected:
        raise typer.Exit(1)


def _report(file: Path, parsed) -> None:
    console.print(
        styled(
            f"{file}: preset ",
            (parsed.preset, "bold"),
            f", {parsed.total} rows: ",
            (f"{parsed.loaded} loadable", "green"),
            f", {parsed.skipped} skipped (line items / totals / zero rows), ",
            (f"{parsed.bad} quarantined", "yellow"),
            f"; dates {parsed.first_date}..{parsed.last_date}",
        )
    )
    print_notes(file, parsed.encoding_note, parsed)


def run_conversions_job(rels: list[str], preset: str | None, trigger: str) -> bool:
    """``conversions_job`` for these inbox files, in this process; False (and a message) on failure."""
    from splants_dagster.definitions import resolve_job_def

    config: dict[str, Any] = {"files": rels, "preset": preset}
    result = run_with_progress(
        resolve_job_def("conversions_job"),
        dagster_instance(),
        f"importing {', '.join(rels) or 'new inbox files'}",
        run_config={"ops": {"conversion_file_imports": {"config": config}}},
        tags={"splants/trigger": trigger, "splants/file": ", ".join(rels)[:200]},
        raise_on_error=False,
    )
    if not result.success:
        err_console.print(
            styled(
                (f"run {result.run_id} failed", "red"), " (step error above; full record in the Dagster UI)"
            )
        )
        return False
    done = f"loaded {', '.join(rels)}" if rels else "goals refreshed"
    console.print(styled((done, "green"), f" (run {result.run_id})"))
    return True


@conversions_app.command("progress")
def progress() -> None:
    """Every campaign's goal: target, actual, pace and forecast (analytics.goal_progress)."""
    paths = DataPaths.at()
    if not paths.analytics_db.exists():
        err_console.print(f"no warehouse yet in {paths.root}: run `splants demo` or import conversions first")
        raise typer.Exit(1)
    _print_progress(paths)


def _print_progress(
    paths: DataPaths, campaigns: list[str] | None = None, title: str = "goal progress"
) -> None:
    from splants_dagster.warehouse.store import Warehouse

    rows = Warehouse(paths).query("SELECT * FROM analytics.goal_progress ORDER BY campaign_id")
    rows = [r for r in rows if campaigns is None or r["campaign_id"] in campaigns]
    table = Table(
        "campaign",
        "metric",
        "target",
        "actual",
        "day",
        "pace",
        "forecast",
        "status",
        "goal from",
        title=title,
    )
    for r in rows:
        table.add_row(
            r["campaign_id"] + (" [demo]" if r["is_demo"] else ""),
            r["metric"] or "",
            f"{r['target']:g}" if r["target"] is not None else "",
            f"{r['actual']:g}" if r["actual"] is not None else "",
            f"{r['days_elapsed']}/{r['window_days']}",
            f"{r['pace']:.2f}" if r["pace"] is not None else "",
            f"{r['forecast']:.0f}" if r["forecast"] is not None else "",
            r["status"],
            r["goal_source"],
        )
    console.print(table)
    for r in rows:
        if r["goal_source"] != "brief fields":
            console.print(f"  {r['campaign_id']}: {r['note']}")
        if r.get("source_warning"):
            console.print(styled(f"  {r['campaign_id']}: ", (r["source_warning"], "yellow")))


def demo_goal_progress(campaigns: list[str]) -> None:
    """The end of ``splants demo``: simulated conversions (labelled demo) from the demo's own UTM links,
    imported, then the demo campaigns' goal progress (labelled demo)."""
    from splants_dagster import settings
    from splants_dagster.conversions.demo import projection_lines, write_demo_conversions
    from splants_dagster.conversions.imports import conversions_inbox
    from splants_dagster.warehouse.store import Warehouse

    paths = DataPaths.at()
    inbox = conversions_inbox(paths.root)
    now = dt.datetime.now(dt.UTC)
    written, goals = write_demo_conversions(Warehouse(paths), inbox, campaigns, now)
    rels = [str(written.relative_to(inbox))] if written is not None else []
    if not run_conversions_job(rels, "generic" if rels else None, "splants demo"):
        return
    _print_progress(paths, campaigns, "goal progress (demo: simulated conversions, is_demo = true)")
    margin = float(settings.value("SPLANTS_GOAL_OFF_PACE_MARGIN"))
    for goal in goals:
        if now.date() < goal.window_start:
            for line in projection_lines(goal, margin):
                console.print(line)
