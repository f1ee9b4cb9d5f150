"""``splants engagement ...``: import an export file, create simulated history, list the presets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.table import Table

from splants_dagster.cli.console import console, dagster_instance, err_console, run_with_progress, styled
from splants_dagster.cli.inbox import copy_into, print_notes, validate_files
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
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="CSV or JSON exports"),
    preset: str | None = typer.Option(
        None, help="generic | facebook_insights | x_analytics | mailchimp_report"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="validate and report only; load nothing"),
) -> None:
    """Validate exports, then load them: each valid file is copied to inbox/engagement/<preset>/ and the
    import and the engagement job for their dates run now (the inbox sensor would do the same). Each
    file stands alone: a rejected file is reported (exit 1) and the others still load."""
    from splants_dagster.engagement.files import parse_file
    from splants_dagster.engagement.presets import PRESETS

    if preset and preset not in PRESETS:
        err_console.print(styled((f"unknown preset {preset!r}", "red"), f": one of {', '.join(PRESETS)}"))
        raise typer.Exit(2)
    paths = DataPaths.at()
    accepted, rejected = validate_files(
        files,
        lambda file: parse_file(file, _context(paths, file.name, file), preset, sink=lambda c: None),
        _report,
    )
    if dry_run or not accepted:
        raise typer.Exit(1 if rejected else 0)
    copied = copy_into(paths.engagement_inbox, accepted)
    # an accepted file loaded rows, so it has both dates
    low = min(p.first_date for _, p in copied if p.first_date is not None)
    high = max(p.last_date for _, p in copied if p.last_date is not None)
    _run_import([rel for rel, _ in copied], preset, low, high)
    if rejected:
        raise typer.Exit(1)


def _report(file: Path, parsed) -> None:
    low, high = parsed.dates
    console.print(
        styled(
            f"{file}: preset ",
            (parsed.preset, "bold"),
            f", {parsed.total} rows: ",
            (f"{parsed.loaded} loadable", "green"),
            ", ",
            (f"{parsed.bad} quarantined", "yellow"),
            f"; dates {low}..{high}",
        )
    )
    print_notes(file, parsed.encoding.note if parsed.encoding is not None else None, parsed)
    if parsed.quarantined:
        console.print("reasons: " + ", ".join(f"{k} ×{v}" for k, v in parsed.reasons.most_common()))


def _run_import(rels: list[str], preset: str | None, low: dt.date, high: dt.date) -> None:
    from splants_dagster.definitions import defs as load_defs
    from splants_dagster.defs.engagement.windows import range_tags

    defs = load_defs()
    instance = dagster_instance()
    rel = ", ".join(rels)
    tags = {"splants/trigger": "splants engagement import", "splants/file": rel[:200]}
    # each file's folder names its preset (it was copied to inbox/engagement/<preset>/)
    result = run_with_progress(
        defs.resolve_job_def("engagement_import_job"),
        instance,
        f"importing {rel}",
        run_config={"ops": {"engagement_file_imports": {"config": {"files": rels, "preset": preset}}}},
        tags=tags,
        raise_on_error=False,
    )
    if not result.success:
        err_console.print(
            styled(
                (f"import run {result.run_id} failed", "red"),
                " (step error above; full record in the Dagster UI)",
            )
        )
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
        err_console.print(
            styled(
                (f"engagement run {result.run_id} failed", "red"),
                " (step error above; full record in the Dagster UI)",
            )
        )
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
    clear: bool = typer.Option(
        False,
        "--clear",
        help="delete every simulated (demo) row and what was derived from it, and stop the automatic "
        "simulator (SPLANTS_SIMULATE_ENGAGEMENT=auto) from adding more",
    ),
) -> None:
    """Materialize simulated demo history (is_demo = true) for the last DAYS days, with metrics and
    anomalies, in one run (what the engagement_history_sensor does on a fresh install); or, with
    --clear, remove all demo history."""
    if clear:
        _clear_demo()
        return
    from splants_dagster.definitions import resolve_job_def
    from splants_dagster.defs.engagement.assets import SIMULATE_TAG
    from splants_dagster.defs.engagement.windows import range_tags
    from splants_dagster.engagement.simulator import marker_path

    paths = DataPaths.at()
    # asking for demo history again opts back in to the automatic simulator
    marker_path(paths.warehouse_dir).unlink(missing_ok=True)
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=days)
    result = run_with_progress(
        resolve_job_def("engagement_job"),
        dagster_instance(),
        f"simulating {start}..{today}",
        tags={
            **range_tags(start, today),
            "splants/trigger": "splants engagement simulate",
            SIMULATE_TAG: "true",
        },
        raise_on_error=False,
    )
    if not result.success:
        err_console.print(
            styled(
                (f"run {result.run_id} failed", "red"), " (step error above; full record in the Dagster UI)"
            )
        )
        raise typer.Exit(1)
    from splants_dagster.warehouse.store import Warehouse

    store = Warehouse(paths)
    summary = store.query(
        "SELECT platform, count(DISTINCT piece_id) AS posts, sum(impressions) AS impressions, "
        "sum(engagements) / nullif(sum(impressions), 0) AS rate FROM analytics.engagement_daily "
        "WHERE date BETWEEN ? AND ? AND is_demo GROUP BY 1 ORDER BY 1",
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
        "SELECT rule, count(*) AS n FROM analytics.anomalies WHERE date BETWEEN ? AND ? AND is_demo "
        "GROUP BY 1 ORDER BY 1",
        [start, today],
    )
    console.print("anomalies: " + (", ".join(f"{a['rule']} {a['n']}" for a in anomalies) or "none"))


def _clear_demo() -> None:
    """``simulate --clear``: delete the demo rows (raw events, posts, metrics, anomalies, highlights,
    training rows, demo predictions), deactivate a demo-trained active model, and leave the marker that
    keeps the automatic simulator off."""
    from splants_dagster.engagement.simulator import clear_demo, write_marker
    from splants_dagster.ml.data import MODEL_NAME
    from splants_dagster.ml.registry import ModelRegistry, model_is_demo
    from splants_dagster.warehouse.store import Warehouse

    paths = DataPaths.at()
    store = Warehouse(paths)
    with store.write() as conn:
        deleted = clear_demo(conn)
    registry = ModelRegistry.at(paths, MODEL_NAME)
    active = registry.active_version()
    model_note = "no active model"
    if active is not None:
        if model_is_demo(registry.card(active)):
            registry.deactivate()
            model_note = f"{registry.model_version(active)} (trained on demo data) deactivated; files kept"
        else:
            model_note = f"{registry.model_version(active)} stays active (trained on real data)"
    now = dt.datetime.now(dt.UTC)
    write_marker(paths.warehouse_dir, {"cleared_at": now.isoformat(timespec="seconds"), "deleted": deleted})
    total = sum(deleted.values())
    listing = ", ".join(f"{table} {n:,}" for table, n in deleted.items())
    console.print(styled(("cleared", "green"), f" {total:,} demo row(s): {listing}"))
    console.print(f"model: {model_note}")
    console.print(
        "the automatic simulator stays off from now on; `splants engagement simulate` adds demo history again"
    )
