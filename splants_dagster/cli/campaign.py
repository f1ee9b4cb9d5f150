"""``splants campaign ...`` and ``splants demo``: briefs and the headless demo run."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from pathlib import Path

import typer
from rich.table import Table

from splants_dagster.campaigns.briefs import (
    BriefRegistry,
    ScannedBrief,
    current_date,
    load_brief,
    read_brief,
    scan_briefs,
    shown,
    window_problem,
)
from splants_dagster.cli.console import console, dagster_instance, err_console, run_with_progress, styled
from splants_dagster.paths import DataPaths
from splants_dagster.platforms import CONTENT_TYPES, PLATFORMS, TONES

campaign_app = typer.Typer(no_args_is_help=True, help="Campaign briefs: validate, register.")


def register(app: typer.Typer) -> None:
    app.add_typer(campaign_app, name="campaign")
    app.command("demo")(demo)


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@campaign_app.command("new")
def campaign_new(
    campaign_id: str = typer.Option(None, "--id", help="slug, e.g. spring-launch (the partition key)"),
    topic: str = typer.Option(None, help="what the campaign is about (5-500 characters)"),
    goal: str = typer.Option(None, help="the business goal"),
    audience: str = typer.Option(None, help="who it is for"),
    keywords: str = typer.Option(None, help="comma-separated, at most 10; the first is the primary keyword"),
    platforms: str = typer.Option(None, help="comma-separated: " + ", ".join(PLATFORMS)),
    content_types: str = typer.Option(
        None, "--content-types", help="comma-separated: " + ", ".join(CONTENT_TYPES)
    ),
    tone: str = typer.Option("professional", help=", ".join(TONES)),
    start_date: str = typer.Option(None, "--start-date", help="YYYY-MM-DD"),
    duration_days: int = typer.Option(None, "--duration-days", help="1-365"),
    sources: str = typer.Option("", help="comma-separated URLs or files under the data dir"),
    link: str = typer.Option(None, help="landing URL"),
    cta: str = typer.Option(None, "--cta", help="call to action"),
    fact: list[str] = typer.Option(
        None, "--fact", help="an approved statement the copy may rely on (repeat for several)"
    ),
    paid: bool = typer.Option(False, help="sponsored placement (adds the disclosure)"),
    force: bool = typer.Option(False, help="overwrite an existing brief file"),
):
    """Write a new, validated brief to $SPLANTS_DATA_DIR/campaigns/<id>.yaml (asks for what is missing)."""
    import sys

    import yaml
    from pydantic import ValidationError

    from splants_dagster.campaigns.briefs import CampaignBrief, _problems

    interactive = sys.stdin.isatty()

    def ask(value, label, default=None, cast=str):
        if value not in (None, ""):
            return value
        if not interactive:
            err_console.print(
                styled((f"--{label} is required", "red"), " (or run in a terminal to be asked)")
            )
            raise typer.Exit(2)
        return typer.prompt(label, default=default, type=cast)

    data = {
        "id": ask(campaign_id, "id"),
        "topic": ask(topic, "topic"),
        "goal": ask(goal, "goal"),
        "audience": ask(audience, "audience"),
        "keywords": _csv(ask(keywords, "keywords", default="")),
        "platforms": _csv(ask(platforms, "platforms", default="blog,twitter,linkedin,email")),
        "content_types": _csv(ask(content_types, "content-types", default="blog,social_post,email")),
        "tone": tone,
        "start_date": ask(start_date, "start-date", default=str(current_date() + dt.timedelta(days=7))),
        "duration_days": ask(duration_days, "duration-days", default=14, cast=int),
    }
    optional = {
        "sources": _csv(sources),
        "link": link,
        "call_to_action": cta,
        "paid": paid or None,
        "facts": list(fact or []),
    }
    data.update({k: v for k, v in optional.items() if v})
    paths = DataPaths.at()
    try:
        brief = CampaignBrief.model_validate(data)
        late = window_problem(brief, paths.campaigns_dir / f"{brief.id}.yaml", current_date(), {})
        problems = [late] if late else []
    except ValidationError as exc:
        problems = _problems(exc, data)
    if problems:
        table = Table("field", "value", "problem", title="the brief is not valid", title_style="bold red")
        for problem in problems:
            table.add_row(problem.field, shown(problem.value, 60), problem.message)
        console.print(table)
        raise typer.Exit(1)
    target = paths.campaigns_dir / f"{brief.id}.yaml"
    if target.exists() and not force:
        err_console.print(styled((f"{target} exists", "red"), ": use --force to overwrite it"))
        raise typer.Exit(1)
    paths.campaigns_dir.mkdir(parents=True, exist_ok=True)
    payload = brief.model_dump(mode="json", exclude_defaults=True)
    payload.setdefault("tone", brief.tone)
    target.write_text(yaml.safe_dump(payload, sort_keys=False, allow_unicode=True))
    load_brief(target)  # what the sensor will read back
    console.print(
        styled(("wrote", "green"), f" {target}: the brief sensor registers and runs it within 30 s")
    )


def _window(scanned: ScannedBrief) -> str:
    brief = scanned.brief
    assert brief is not None
    last = brief.end_date - dt.timedelta(days=1)
    text = f"{brief.start_date} to {last} ({brief.duration_days} days)"
    return text + (f", demo dates from {scanned.relative!r}" if scanned.relative else "")


@campaign_app.command("validate")
def campaign_validate(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="brief YAML file(s)"),
):
    """Validate briefs; exit code 0 when all are valid, 1 with the field and value of every problem otherwise.

    A demo brief's relative start date is shown resolved (as recorded by the last sync, if any)."""
    today = current_date()
    invalid = 0
    for file in files:
        scanned = read_brief(file, today=today, entries=BriefRegistry.beside(file.parent).load())
        if scanned.error is not None:
            invalid += 1
            table = Table("field", "value", "problem", title=f"{file}: invalid brief", title_style="bold red")
            for problem in scanned.error.problems:
                table.add_row(problem.field, shown(problem.value, 60), problem.message)
            console.print(table)
            err_console.print(styled(("invalid brief", "red"), f" {scanned.error}"))
            continue
        brief = scanned.brief
        assert brief is not None
        console.print(
            styled(
                ("valid", "green"),
                f" {file}: id={brief.id}, {len(brief.platforms)} platforms, "
                f"{len(brief.content_types)} content types, runs {_window(scanned)}",
            )
        )
        _print_claims(brief)
    if invalid:
        raise typer.Exit(1)


def _print_claims(brief) -> None:
    """What the copy may state: the brief's facts, its testimonials (only consented ones are quoted) and
    its sources with their roles (docs/content.md)."""
    console.print(f"facts ({len(brief.facts)}):" if brief.facts else "facts: none (the copy states no facts)")
    for item in brief.facts:
        console.print(f"  - {item}")
    for t in brief.testimonials:
        state = ("consented", "green") if t.consent else ("no consent: never quoted", "yellow")
        console.print(styled(f'  testimonial "{t.quote}" ({t.author}): ', state))
    for entry in brief.source_entries():
        console.print(f"  source ({entry.role}): {entry.ref}")


@campaign_app.command("sync")
def campaign_sync(
    strict: bool = typer.Option(False, "--strict", help="exit 1 when any brief is invalid"),
):
    """Register every valid brief in $SPLANTS_DATA_DIR/campaigns as a Dagster partition (what the sensor does).

    Bad briefs are listed on stderr (file, field, value) and skipped; the others are registered. Exit code
    0 when at least one brief is valid (or there are none), 1 when every brief file is invalid, or with
    --strict when any is."""
    from splants_dagster.defs.partitions import CAMPAIGNS

    paths = DataPaths.at()
    scanned = scan_briefs(paths.campaigns_dir, record=True)
    instance = dagster_instance()
    known = set(instance.get_dynamic_partitions(CAMPAIGNS))
    valid = [s.brief.id for s in scanned if s.brief]
    bad = [s for s in scanned if s.error]
    new = [cid for cid in valid if cid not in known]
    if new:
        instance.add_dynamic_partitions(CAMPAIGNS, new)
    table = Table("file", "campaign", "status", "window")
    for s in scanned:
        if s.brief:
            status = "registered now" if s.brief.id in new else "registered"
            table.add_row(s.path.name, s.brief.id, status, _window(s))
        else:
            table.add_row(s.path.name, "", styled(("invalid", "red"), " (see below)"), "")
    console.print(table)
    for s in bad:
        err_console.print(styled(("invalid brief", "red"), f" {s.error}"))
    console.print(
        f"{len(valid)} valid brief(s), {len(new)} newly registered, {len(bad)} invalid, in {paths.campaigns_dir}"
    )
    if bad and (strict or not valid):
        raise typer.Exit(1)


def demo(campaign: str | None = typer.Option(None, help="only this campaign id")):
    """Materialize the demo campaign(s) end to end, headless, and print a summary."""
    from splants_dagster.definitions import resolve_job_def
    from splants_dagster.warehouse.store import Warehouse

    campaign_sync(strict=False)
    paths = DataPaths.at()
    scanned = scan_briefs(paths.campaigns_dir)
    ids = [s.brief.id for s in scanned if s.brief]
    if campaign and campaign not in ids:
        for s in scanned:
            if s.error and s.path.stem == campaign:
                err_console.print(styled(("invalid brief", "red"), f" {s.error}"))
        err_console.print(
            styled((f"no campaign {campaign!r}", "red"), f"; valid campaigns: {', '.join(ids) or 'none'}")
        )
        raise typer.Exit(1)
    if campaign:
        ids = [campaign]
    if not ids:
        err_console.print(f"no valid campaign brief found in {paths.campaigns_dir}")
        raise typer.Exit(1)
    job = resolve_job_def("campaign_job")
    instance = dagster_instance()
    failed = []
    for cid in ids:
        started = time.perf_counter()
        result = run_with_progress(
            job,
            instance,
            cid,
            partition_key=cid,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            tags={"splants/campaign": cid, "splants/trigger": "make demo"},
        )
        took = time.perf_counter() - started
        if not result.success:
            failed.append(cid)
            err_console.print(
                styled(
                    (f"{cid}: run {result.run_id} failed", "red"),
                    " (step error above; full record in the Dagster UI)",
                )
            )
            continue
        console.print(styled((cid, "green"), f": run {result.run_id} succeeded in {took:.1f}s"))
        _print_summary(Warehouse(paths), cid)
    from splants_dagster.cli.conversions import demo_goal_progress

    if not failed:  # last week's report (docs/reports.md), once the campaigns are done
        from splants_dagster.defs.reports.demo import demo_weekly_report

        report = demo_weekly_report(
            resolve_job_def, lambda job, label, **kw: run_with_progress(job, instance, label, **kw)
        )
        (console if report.ok else err_console).print(report.message)
        if not report.ok:
            failed.append("weekly_report")
    demo_goal_progress([c for c in ids if c not in failed])  # conversions: goal progress, labelled demo
    from splants_dagster.cli.insights import demo_insights

    if not demo_insights():  # what worked, per platform (analytics.content_insights; demo when simulated)
        failed.append("content_insights")
    console.print(
        f"\nOutputs: warehouse {paths.warehouse_db}\n         analysts' snapshot {paths.analytics_db}"
        " (open read-only with any DuckDB client)"
    )
    if failed:
        raise typer.Exit(1)


def _print_summary(store, campaign_id: str) -> None:
    pieces = store.query(
        "SELECT platform, content_type, candidate_strategy, word_count, char_count, quality_score, seo_score,"
        " readability_score, total_score, model FROM analytics.content WHERE campaign_id = ? AND variant_of IS NULL"
        " ORDER BY platform",
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
    variants = store.query(
        "SELECT count(*) AS n FROM analytics.content WHERE campaign_id = ? AND variant_of IS NOT NULL",
        [campaign_id],
    )[0]["n"]
    if variants:
        console.print(f"A/B variants: {variants}")
    per_platform = Counter(p["platform"] for p in pieces)
    console.print("pieces per platform: " + ", ".join(f"{k} {v}" for k, v in sorted(per_platform.items())))
    note = " (estimated: the offline provider counts 4 characters per token)" if calls["est"] else ""
    console.print(
        f"LLM: {calls['calls']} calls via {calls['models']}, {calls['prompt']:,} prompt + "
        f"{calls['completion']:,} completion tokens{note}, cost ${calls['cost']:.4f}"
    )
