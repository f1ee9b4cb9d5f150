"""``splants desk``: the marketer's desk (docs/desk.md), a small web app on 127.0.0.1:3001 by default.

Binding to anything but a loopback address needs ``SPLANTS_DESK_PASSWORD`` (refused otherwise, exit 2).
The desk reads the Dagster instance (``$DAGSTER_HOME``) only to show a new campaign's runs.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import typer

from splants_dagster import settings
from splants_dagster.cli.console import console, err_console, styled

CAMPAIGN_TAG = "splants/campaign"


def instance_runs(instance: Any, limit: int = 10) -> Callable[[str], list[dict[str, Any]]]:
    """``runs(campaign_id)`` over a Dagster instance: the runs tagged with the campaign, newest first."""
    import dagster as dg

    def runs(campaign_id: str) -> list[dict[str, Any]]:
        records = instance.get_run_records(
            filters=dg.RunsFilter(tags={CAMPAIGN_TAG: campaign_id}), limit=limit
        )
        return [
            {
                "run_id": r.dagster_run.run_id,
                "job": r.dagster_run.job_name,
                "status": r.dagster_run.status.value,
                "started": f"{dt.datetime.fromtimestamp(r.start_time, dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
                if r.start_time
                else None,
            }
            for r in records
        ]

    return runs


def _default_runs() -> Callable[[str], list[dict[str, Any]]]:
    """Runs from ``$DAGSTER_HOME``'s instance, opened on first use (none: an empty list)."""
    state: dict[str, Any] = {}

    def runs(campaign_id: str) -> list[dict[str, Any]]:
        if not os.environ.get("DAGSTER_HOME"):
            return []
        if "lookup" not in state:
            import dagster as dg

            state["lookup"] = instance_runs(dg.DagsterInstance.get())
        return state["lookup"](campaign_id)

    return runs


def _env(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


def outbox_channels(timezone: str) -> set[str]:
    """The channels whose pieces go to the outbox with this environment's credentials (the outbox is
    always auto: only a rejection holds a piece there).

    Decided by the publishing domain (``build_publishers``) from the variables the Dagster resources read
    (defs/platforms/resources.py, defs/publishing/resources.py), without loading Dagster: the desk stays a
    ~70 MB process instead of ~175 MB."""
    from splants_dagster.paths import DataPaths
    from splants_dagster.platforms import PLATFORMS
    from splants_dagster.publishing.config import PublishingSettings, build_publishers

    pset = build_publishers(
        PublishingSettings(
            outbox_dir=DataPaths.at().outbox_dir,
            timezone=timezone,
            blog_publisher=_env("SPLANTS_BLOG_PUBLISHER") or "auto",
            email_publisher=_env("SPLANTS_EMAIL_PUBLISHER") or "auto",
            wordpress_url=_env("WORDPRESS_URL"),
            wordpress_username=_env("WORDPRESS_USERNAME"),
            wordpress_app_password=_env("WORDPRESS_APP_PASSWORD"),
            x_access_token=_env("X_ACCESS_TOKEN"),
            linkedin_access_token=_env("LINKEDIN_ACCESS_TOKEN"),
            linkedin_author_urn=_env("LINKEDIN_AUTHOR_URN"),
            mailchimp_api_key=_env("MAILCHIMP_API_KEY"),
            mailchimp_server_prefix=_env("MAILCHIMP_SERVER_PREFIX"),
            mailchimp_list_id=_env("MAILCHIMP_LIST_ID"),
            hubspot_access_token=_env("HUBSPOT_ACCESS_TOKEN"),
            hubspot_blog_id=_env("HUBSPOT_BLOG_ID"),
        )
    )
    try:
        return {p for p in PLATFORMS if pset.for_platform(p)[1] is not None}
    finally:
        pset.close()


def send_preview(row: dict[str, Any], timezone: str) -> tuple[str, str | None, dict[str, Any]]:
    """The publisher a piece would go through and what it would send (``splants review show``'s code)."""
    from splants_dagster.cli.review import _preview

    return _preview(row, timezone)


def desk(
    host: str | None = typer.Option(None, "--host", help="address (default SPLANTS_DESK_HOST, 127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", help="port (default SPLANTS_DESK_PORT, 3001)"),
    dagster_url: str = typer.Option(
        "http://127.0.0.1:3000", "--dagster-url", help="the Dagster UI, for links to assets and runs"
    ),
) -> None:
    """Start the desk: calendar, piece previews and approvals, review inbox, new campaigns, reports, budget."""
    import uvicorn

    from splants_dagster.desk.app import create_app
    from splants_dagster.desk.security import bind_problem

    bind = host or settings.value("SPLANTS_DESK_HOST")
    listen = port or settings.value("SPLANTS_DESK_PORT")
    password = settings.value("SPLANTS_DESK_PASSWORD")
    problem = bind_problem(bind, password)
    if problem:
        err_console.print(styled(("error: ", "red"), problem))
        raise typer.Exit(2)
    from splants_dagster.campaigns.briefs import BriefError, load_brand
    from splants_dagster.paths import DataPaths

    try:
        timezone = load_brand(DataPaths.at().brand_file).timezone
    except BriefError as err:  # the desk still starts; the pages name the problem where it matters
        err_console.print(styled(("warning: ", "yellow"), f"{err} (using UTC)"))
        timezone = "UTC"
    app = create_app(
        password=password,
        runs=_default_runs(),
        dagster_url=dagster_url,
        outbox=outbox_channels(timezone),
        send_preview=send_preview,
    )
    console.print(f"splants desk: http://{bind}:{listen}" + ("  (password required)" if password else ""))
    uvicorn.run(app, host=bind, port=int(listen), log_level="warning")


def register(app: typer.Typer) -> None:
    app.command("desk")(desk)
