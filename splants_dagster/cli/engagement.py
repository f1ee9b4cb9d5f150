"""``splants engagement ...``: import an export file, create simulated history, list the presets."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import typer
from rich.table import Table

from splants_dagster.cli.common import console, dagster_instance, err_console, run_with_progress, styled
from splants_dagster.paths import DataPaths

engagement_app = typer.Typer(
    no_args_is_help=True, help="Engagement data: import exports, simulate demo history."
)


def register(app: typer.Typer) -> None:
    app.add_typer(engagement_app, name="engagement")


@engagement_app.command("presets")
def presets() -> None:
    """The column mappings of every import preset."""
    from splants_dagster.engagement.presets import PRESETS

    for preset in PRESETS.values():
        table = Table(
            "our field", "export column", title=f"{preset.name}: {preset.title}", title_justify="left"
        )
        for ours, theirs in preset.columns.items():
            table.add_row(ours, theirs)
        console.print(table)
        console.print(f"  {preset.description}\n")


def _context(paths: DataPaths, source_file: str, path: Path):
    from splants_dagster.engagement.files import LoadContext
    from splants_dagster.warehouse.store import Warehouse

    now = dt.datetime.now(dt.UTC)
    pieces, remote = [], []
    if paths.analytics_db.exists():
        store = Warehouse(paths)
        pieces = store.query("SELECT piece_id, platform FROM content_pieces")
        remote = store.query(
            "SELECT platform, remote_id, piece_id FROM publications WHERE remote_id IS NOT NULL AND status = 'published'"
        )
    return LoadContext(
        source_file=source_file,
        export_time=dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC),
        loaded_at=now,
        known_pieces={p["piece_id"]: p["platform"] for p in pieces},
        remote_ids={(r["platform"], str(r["remote_id"])): r["piece_id"] for r in remote},
        last_date=now.date() + dt.timedelta(days=1),
    )


@engagement_app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="a CSV or JSON export"),
    preset: str | None = typer.Option(
        None, help="generic | facebook_insights | x_analytics | mailchimp_report"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="validate and report only; load nothing"),
) -> None:
    """Validate an export, then load it: the file is copied to inbox/engagement/<preset>/ and the import and
    the engagement job for its dates run now (the inbox sensor would do the same)."""
    from splants_dagster.engagement.files import FileRejected, parse_file
    from splants_dagster.engagement.presets import PRESETS

    if preset and preset not in PRESETS:
        err_console.print(styled((f"unknown preset {preset!r}", "red"), f": one of {', '.join(PRESETS)}"))
        raise typer.Exit(2)
    paths = DataPaths.at()
    try:
        parsed = parse_file(file, _context(paths, file.name, file), preset)
    except FileRejected as err:
        err_console.print(styled(("rejected", "red"), f" {err}"))
        raise typer.Exit(1) from None
    low, high = parsed.dates
    console.print(
        styled(
            f"{file}: preset ",
            (parsed.preset, "bold"),
            f", {parsed.total} rows: ",
            (f"{len(parsed.rows)} loadable", "green"),
            ", ",
            (f"{len(parsed.quarantined)} quarantined", "yellow"),
            f"; dates {low}..{high}",
        )
    )
    if parsed.quarantined:
        table = Table("line", "reason", title="quarantined rows (first 15)", title_justify="left")
        for q in parsed.quarantined[:15]:
            table.add_row(str(q["line"]), q["reason"])
        console.print(table)
        console.print("reasons: " + ", ".join(f"{k} ×{v}" for k, v in parsed.reasons.most_common()))
    if dry_run:
        return
    target_dir = paths.engagement_inbox / parsed.preset
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / file.name
    if file.resolve() != target.resolve():
        shutil.copy2(file, target)
    rel = str(target.relative_to(paths.engagement_inbox))
    _run_import(rel, parsed.preset, low, high)


def _run_import(rel: str, preset: str, low: dt.date, high: dt.date) -> None:
    from splants_dagster.definitions import defs as load_defs
    from splants_dagster.defs.engagement.common import range_tags

    defs = load_defs()
    instance = dagster_instance()
    tags = {"splants/trigger": "splants engagement import", "splants/file": rel[:200]}
    result = run_with_progress(
        defs.resolve_job_def("engagement_import_job"),
        instance,
        f"importing {rel}",
        run_config={"ops": {"engagement_file_imports": {"config": {"files": [rel], "preset": preset}}}},
        tags=tags,
        raise_on_error=False,
    )
    if not result.success:
        err_console.print(styled((f"import run {result.run_id} failed", "red"), " (see the Dagster UI)"))
        raise typer.Exit(1)
    today = dt.datetime.now(dt.UTC).date()
    result = run_with_progress(
        defs.resolve_job_def("engagement_job"),
        instance,
        f"rebuilding engagement {low}..{min(high, today)}",
        tags={**range_tags(low, min(high, today)), **tags},
        raise_on_error=False,
    )
    if not result.success:
        err_console.print(styled((f"engagement run {result.run_id} failed", "red"), " (see the Dagster UI)"))
        raise typer.Exit(1)
    console.print(
        styled(
            ("loaded", "green"),
            f" {rel}: engagement rebuilt for {low}..{min(high, today)} (run {result.run_id})",
        )
    )


@engagement_app.command("simulate")
def simulate(
    days: int = typer.Option(90, min=1, max=3650, help="days of history up to today"),
) -> None:
    """Materialize simulated demo history (is_demo = true) for the last DAYS days, with metrics and
    anomalies, in one run (what the engagement_history_sensor does on a fresh install)."""
    from splants_dagster.definitions import defs as load_defs
    from splants_dagster.defs.engagement.common import range_tags

    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=days)
    result = run_with_progress(
        load_defs().resolve_job_def("engagement_job"),
        dagster_instance(),
        f"simulating {start}..{today}",
        tags={**range_tags(start, today), "splants/trigger": "splants engagement simulate"},
        raise_on_error=False,
    )
    if not result.success:
        err_console.print(styled((f"run {result.run_id} failed", "red"), " (see the Dagster UI)"))
        raise typer.Exit(1)
    from splants_dagster.warehouse.store import Warehouse

    store = Warehouse(DataPaths.at())
    summary = store.query(
        "SELECT platform, count(DISTINCT piece_id) AS posts, sum(impressions) AS impressions, "
        "sum(engagements) / nullif(sum(impressions), 0) AS rate FROM analytics.engagement_daily "
        "WHERE date BETWEEN ? AND ? GROUP BY 1 ORDER BY 1",
        [start, today],
    )
    table = Table(
        "platform", "posts", "impressions", "engagement rate", title="simulated history (demo data)"
    )
    for row in summary:
        table.add_row(
            row["platform"], str(row["posts"]), f"{row['impressions']:,}", f"{(row['rate'] or 0):.2%}"
        )
    console.print(table)
    anomalies = store.query(
        "SELECT rule, count(*) AS n FROM analytics.anomalies WHERE date BETWEEN ? AND ? GROUP BY 1 ORDER BY 1",
        [start, today],
    )
    console.print("anomalies: " + (", ".join(f"{a['rule']} {a['n']}" for a in anomalies) or "none"))
