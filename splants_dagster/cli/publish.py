"""``splants publish``: the publishing step from the command line (the same code as the Dagster step),
plus ``review`` and ``resolve`` for items a person has to decide on."""

from __future__ import annotations

import datetime as dt
import json
import sys

import typer
from rich.table import Column, Table

from splants_dagster.cli.console import console, err_console, styled
from splants_dagster.paths import DataPaths

publish_app = typer.Typer(
    help="Publish due, approved items (outbox by default; real platforms when configured).",
    invoke_without_command=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(publish_app, name="publish")


def _store():
    from splants_dagster.warehouse.store import Warehouse

    return Warehouse(DataPaths.at())


@publish_app.callback(invoke_without_command=True)
def publish(
    ctx: typer.Context,
    campaign: str | None = typer.Option(None, "--campaign", help="only this campaign id"),
    now: bool = typer.Option(False, "--now", help="treat every approved, unpublished item as due"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="print and record what would be sent; send nothing"
    ),
):
    """Publish every due, approved item once; exit 1 when an item failed or needs review. Items for a
    real platform wait for `splants review approve` unless their channel is auto (publishing.yaml)."""
    if ctx.invoked_subcommand:
        return
    import dagster as dg

    from splants_dagster.campaigns.briefs import load_brand
    from splants_dagster.definitions import build_all_resources

    paths = DataPaths.at()
    store = _store()
    brand = load_brand(paths.brand_file)
    # only the publishing resource (the core ones import every LLM SDK): the same PublishingResource.run
    # as the Dagster step, with each dg.EnvVar resolved exactly as a run resolves it
    publishing = build_all_resources(paths.root, domains=["publishing"])["publishing"]

    def log(level: str, message: str) -> None:
        style = {"warning": "yellow", "error": "red"}.get(level)
        (err_console if level in ("warning", "error") else console).print(
            styled((message, style)) if style else message, highlight=False
        )

    # resolves every dg.EnvVar exactly as a Dagster run would
    from splants_dagster.publishing.review import PublishingConfigError

    with dg.build_resources({"publishing": publishing}) as built:
        try:
            report = built.publishing.run(
                store, brand.timezone, campaign=campaign, force_now=now, dry_run=dry_run, run_id=None, log=log
            )
        except PublishingConfigError as err:
            err_console.print(styled(("error: ", "red"), f"bad publishing config: {err}"))
            raise typer.Exit(2) from None
    if report.skipped_reason:
        err_console.print(report.skipped_reason)
        raise typer.Exit(3)
    if dry_run:
        for item in report.items:
            console.rule(f"{item.piece_id} → {item.platform} via {item.publisher}")
            if item.fallback:
                console.print(f"outbox: {item.fallback}", highlight=False)
            console.print_json(json.dumps(item.preview, default=str))
    table = Table("piece", "platform", "publisher", "outcome", "where / error", title="publishing")
    for item in report.items:
        table.add_row(
            item.piece_id, item.platform, item.publisher, item.outcome, item.url or item.error or ""
        )
    console.print(table)
    counts = report.counts
    console.print(
        ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing due",
        f"| webhooks: {report.webhook_note}" + (f" {dict(report.webhooks)}" if report.webhooks else ""),
        highlight=False,
    )
    if report.failed:
        raise typer.Exit(1)


@publish_app.command("review")
def review():
    """Items waiting for a person (re-promotions included): unknown outcome, refused by the platform, or
    too many attempts."""
    from splants_dagster.publishing import state

    with _store().read() as conn:
        rows = state.review_rows(conn)
    if not rows:
        console.print("no publication needs review")
        return
    table = Table(
        Column("key", no_wrap=True, min_width=24),
        "piece",
        "platform",
        "publisher",
        "status",
        "attempts",
        "boost",
        "why",
    )
    for r in rows:
        table.add_row(
            r["idempotency_key"],
            r["piece_id"],
            r["platform"],
            r["publisher"] or "",
            r["status"],
            str(r["attempts"]),
            r["boost_id"] or "",
            r["last_error"] or "",
        )
    console.print(table)
    console.print("decide with: splants publish resolve KEY --published [--url URL] | --retry")


@publish_app.command("resolve")
def resolve(
    key: str = typer.Argument(..., help="idempotency key (see `splants publish review`)"),
    published: bool = typer.Option(False, "--published", help="it is on the platform: mark published"),
    retry: bool = typer.Option(False, "--retry", help="it is not on the platform: send it again"),
    url: str | None = typer.Option(None, "--url"),
    remote_id: str | None = typer.Option(None, "--remote-id"),
):
    """Record a person's decision on an item marked for review."""
    from splants_dagster.publishing import state

    if published == retry:
        err_console.print("choose exactly one of --published or --retry")
        raise typer.Exit(2)
    store = _store()
    with store.write() as conn:
        row = state.resolve(
            conn, key, published=published, now=dt.datetime.now(dt.UTC), remote_id=remote_id, url=url
        )
    if row is None:
        err_console.print(f"no publication with key {key}")
        sys.exit(1)
    console.print(f"{row['piece_id']} on {row['platform']}: {row['status']}")
