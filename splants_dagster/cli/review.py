"""``splants review``: the queue of pieces waiting for a person before they reach a real audience.

Every decision is a row of ``review_decisions`` (who, when, why, the SHA-256 of the text decided on),
written through the warehouse's serialised writer: a decision taken while a run is going on waits for the
writer lock and is never lost. The publishing step (and its sensor) pick decisions up on the next batch.
See docs/publishing.md ("Approval before a real audience").
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from splants_dagster.cli.console import console, err_console, styled
from splants_dagster.paths import DataPaths

review_app = typer.Typer(help="Approve, reject or edit pieces before they reach a real platform.")


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")


def _store():
    from splants_dagster.warehouse.store import Warehouse

    return Warehouse(DataPaths.at())


def _who(by: str | None) -> str:
    if by and by.strip():
        return by.strip()
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(styled(("error: ", "red"), message))
    return typer.Exit(code)


SCHEDULED_SQL = """
    SELECT s.piece_id, s.campaign_id, s.platform, s.publish_at, p.status AS publication, p.held_reason,
           p.publisher, p.url
    FROM schedule s
    LEFT JOIN publications p ON p.piece_id = s.piece_id AND p.platform = s.platform
    WHERE (? IS NULL OR s.campaign_id = ?)
    ORDER BY s.campaign_id, s.publish_at, s.piece_id
"""


@review_app.command("list")
def list_(
    campaign: str | None = typer.Option(None, "--campaign", help="only this campaign id"),
    status: str | None = typer.Option(
        None,
        "--status",
        help="review state (pending | approved | stale | rejected) or publication status (pending_review, published…)",
    ),
):
    """Scheduled pieces with their review state and publication status."""
    from splants_dagster.publishing import review
    from splants_dagster.warehouse.store import dict_rows

    with _store().read() as conn:
        rows = dict_rows(conn.execute(SCHEDULED_SQL, [campaign, campaign]))
        texts = review.pieces(conn, [r["piece_id"] for r in rows])
        decided = review.reviews_by_piece(conn, [r["piece_id"] for r in rows])
    table = Table("piece", "platform", "publish at (UTC)", "review", "publication", "QA", "why held")
    shown = 0
    for r in rows:
        text = texts.get(r["piece_id"])
        if text is None:
            continue
        state, _ = review.review_state(text, decided.get(r["piece_id"]))
        if status and status not in (state, r["publication"] or "pending"):
            continue
        shown += 1
        table.add_row(
            r["piece_id"],
            r["platform"],
            f"{r['publish_at'].astimezone(dt.UTC):%Y-%m-%d %H:%M}" if r["publish_at"] else "",
            state,
            r["publication"] or "pending",
            f"{text.get('qa_status') or '-'} {text['qa_score']:.2f}"
            if text.get("qa_score") is not None
            else (text.get("qa_status") or "-"),
            r["held_reason"] or "",
        )
    if not shown:
        console.print("no scheduled piece matches" + (f" (campaign {campaign})" if campaign else ""))
        return
    console.print(table)
    console.print("approve with: splants review approve PIECE_ID… | --campaign ID --all")


PREVIEW_SQL = """
    SELECT c.piece_id, c.campaign_id, c.platform, c.content_type, coalesce(s.publish_at, ?) AS publish_at,
           c.title, c.body, c.rendered, c.seo_title, c.meta_description, c.subject, c.preheader, c.cta,
           c.hashtags, c.is_pillar, c.variant_of, cp.keywords, cp.brief_json
    FROM content_pieces c
    LEFT JOIN schedule s ON s.piece_id = c.piece_id
    LEFT JOIN campaigns cp ON cp.campaign_id = c.campaign_id
    WHERE c.piece_id = ?
"""


def _preview(row: dict[str, Any], timezone: str) -> tuple[str, str | None, dict[str, Any]]:
    """The publisher this piece would go through and what it would send (no network)."""
    import dagster as dg

    from splants_dagster.definitions import build_all_resources
    from splants_dagster.publishing import state

    publishing = build_all_resources(DataPaths.at().root, domains=["publishing"])["publishing"]
    with dg.build_resources({"publishing": publishing}) as built:
        pset = built.publishing.publishers(timezone)
        try:
            publisher, fallback = pset.for_platform(row["platform"])
            return publisher.name, fallback, publisher.describe(state.item_from_row(row))
        finally:
            pset.close()


@review_app.command("show")
def show(piece_id: str = typer.Argument(..., help="piece id (see `splants review list`)")):
    """The platform preview, QA scores, findings, claims and every decision of one piece."""
    import json

    from splants_dagster.campaigns.briefs import BriefError, load_brand
    from splants_dagster.publishing import review
    from splants_dagster.publishing.review import PublishingConfigError
    from splants_dagster.warehouse.queries.qa import piece_record
    from splants_dagster.warehouse.store import dict_rows

    paths = DataPaths.at()
    with _store().read() as conn:
        found = dict_rows(conn.execute(PREVIEW_SQL, [dt.datetime.now(dt.UTC), piece_id]))
        if not found:
            raise _fail(f"no piece with id {piece_id}")
        text = review.pieces(conn, [piece_id])[piece_id]
        decided = review.reviews_by_piece(conn, [piece_id]).get(piece_id)
        record = piece_record(conn, piece_id)
        checks, findings, claims, history = (record[k] for k in ("checks", "findings", "claims", "decisions"))
        publication = dict_rows(conn.execute("SELECT * FROM publications WHERE piece_id = ?", [piece_id]))
    row = review.with_edit(found[0], decided.edit if decided else None)
    state, why = review.review_state(text, decided)
    console.rule(f"{piece_id} ({row['platform']})")
    console.print(
        f"review: {state}" + (f" ({why})" if why else ""),
        f"| QA: {text.get('qa_status') or '-'}"
        + (f" {text['qa_score']:.2f}" if text.get("qa_score") is not None else ""),
        f"| template/offline text: {'yes' if review.is_template(text) else 'no'}",
        f"| text sha256: {review.text_sha256(text)[:16]}",
    )
    if publication:
        p = publication[0]
        console.print(
            f"publication: {p['status']} via {p['publisher'] or '-'}"
            + (f" ({p['held_reason']})" if p.get("held_reason") else "")
            + (f" → {p['url']}" if p.get("url") else "")
        )
    try:
        timezone = load_brand(paths.brand_file).timezone
    except BriefError:
        timezone = "UTC"
    try:
        name, fallback, preview = _preview(row, timezone)
    except PublishingConfigError as err:
        raise _fail(f"bad publishing config: {err}", 2) from None
    console.rule(f"preview: {name}" + (f" (outbox: {fallback})" if fallback else ""))
    console.print_json(json.dumps(preview, default=str))
    console.rule("QA")
    table = Table("check", "score", "passed")
    for c in checks:
        table.add_row(c["check"], f"{c['score']:.2f}", "yes" if c["passed"] else "NO")
    console.print(table if checks else "no QA results")
    if decided and decided.edit:
        e = decided.edit
        console.print(
            f"edited by {e['decided_by']} at {e['decided_at']:%Y-%m-%d %H:%M}: QA {e['qa_score'] or 0:.2f},",
            "legal/factual gate " + ("passed" if e["qa_passed"] else "FAILED") + f"; {e['qa_summary'] or ''}",
        )
    for f in findings:
        line = styled(
            (f"{f['severity']:<7}", "red" if f["severity"] == "error" else "yellow"),
            f" {f['check']}: {f['message']}",
        )
        console.print(line)
        if f.get("excerpt"):
            console.print(f"         “{f['excerpt']}”")
    if claims:
        console.rule("claims")
        for c in claims:
            mark = ("supported", "green") if c["supported"] else ("UNSUPPORTED", "red")
            console.print(
                styled(
                    mark, f" {c['claim_text']}" + (f" ({c['support_ref']})" if c.get("support_ref") else "")
                )
            )
    elif not findings:
        console.print("no findings")
    console.rule("decisions")
    for h in history:
        console.print(
            f"{h['decided_at']:%Y-%m-%d %H:%M} {h['decision']} by {h['decided_by']}"
            + (f": {h['reason']}" if h.get("reason") else "")
            + f" [{h['source']}]"
        )
    if not history:
        console.print("none yet")


PUBLISHABLE_OF_CAMPAIGN = """
    SELECT c.piece_id FROM content_pieces c WHERE c.campaign_id = ? AND {publishable} ORDER BY c.piece_id
"""


@review_app.command("approve")
def approve(
    piece_ids: list[str] = typer.Argument(None, help="piece ids (or --campaign ID --all)"),
    campaign: str | None = typer.Option(None, "--campaign", help="with --all: every publishable piece of it"),
    all_: bool = typer.Option(False, "--all", help="every publishable piece of --campaign not yet approved"),
    by: str | None = typer.Option(None, "--by", help="who approves (default: $USER)"),
    reason: str | None = typer.Option(None, "--reason", help="why (kept with the decision)"),
):
    """Approve the current text of pieces; refused for a piece that fails the legal/factual gate."""
    from splants_dagster.publishing import review, state

    if bool(piece_ids) == bool(all_):
        raise _fail("give piece ids, or --campaign ID --all", 2)
    if all_ and not campaign:
        raise _fail("--all needs --campaign ID", 2)
    who, now = _who(by), dt.datetime.now(dt.UTC)
    with _store().write() as conn:
        if all_:
            ids = [
                r[0]
                for r in conn.execute(
                    PUBLISHABLE_OF_CAMPAIGN.format(publishable=state.publishable_sql("c")), [campaign]
                ).fetchall()
            ]
            if not ids:
                raise _fail(f"campaign {campaign} has no publishable piece (run QA first, or check the id)")
        else:
            ids = list(dict.fromkeys(piece_ids))
        outcome = review.approve_pieces(conn, ids, by=who, at=now, reason=reason, skip_rejected=all_)
    approved, refused, skipped = outcome.done, outcome.refused, outcome.skipped
    for pid in approved:
        console.print(styled(("approved", "green"), f" {pid} (by {who})"))
    for pid, why in skipped:
        console.print(f"skipped {pid}: {why}")
    for pid, why in refused:
        err_console.print(styled(("refused", "red"), f" {pid}: {why}"))
    console.print(f"{len(approved)} approved, {len(skipped)} skipped, {len(refused)} refused")
    if refused:
        raise typer.Exit(1)


@review_app.command("reject")
def reject(
    piece_id: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="why (required)"),
    by: str | None = typer.Option(None, "--by", help="who rejects (default: $USER)"),
):
    """Reject a piece: it goes nowhere (not even the outbox) until a person approves it again."""
    from splants_dagster.publishing import review

    if not reason.strip():
        raise _fail("--reason must not be empty", 2)
    who = _who(by)
    with _store().write() as conn:
        row = review.pieces(conn, [piece_id]).get(piece_id)
        if row is None:
            raise _fail(f"no piece with id {piece_id}")
        review.record(
            conn,
            piece_id=piece_id,
            campaign_id=row["campaign_id"],
            decision="reject",
            by=who,
            at=dt.datetime.now(dt.UTC),
            text=review.text_sha256(row),
            reason=reason.strip(),
        )
    console.print(styled(("rejected", "red"), f" {piece_id} (by {who}): {reason.strip()}"))


def _qa_edit(conn, row: dict[str, Any], new_text: str) -> dict[str, Any]:
    """QA of a person's edit (the rule lives in publishing/review.py, shared with the desk)."""
    from splants_dagster.publishing import review

    try:
        return review.qa_edit(conn, row, new_text, DataPaths.at().brand_file)
    except review.NoBriefError as err:
        raise _fail(str(err)) from None


@review_app.command("edit")
def edit(
    piece_id: str = typer.Argument(...),
    by: str | None = typer.Option(None, "--by", help="who edits (default: $USER)"),
    reason: str | None = typer.Option(None, "--reason", help="why (kept with the edit)"),
):
    """Edit a piece's text in $EDITOR; the edit is re-checked by QA, kept with who/when, and is what gets
    published once approved (approval is refused while it fails the legal/factual gate)."""
    from splants_dagster.publishing import review

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise _fail("set $EDITOR (or $VISUAL) to the editor to open, e.g. EDITOR=nano", 2)
    store = _store()
    with store.read() as conn:
        row = review.pieces(conn, [piece_id]).get(piece_id)
    if row is None:
        raise _fail(f"no piece with id {piece_id}")
    before = row.get("rendered") or row.get("body") or ""
    with tempfile.TemporaryDirectory(prefix="splants-edit-") as tmp:
        path = Path(tmp) / f"{piece_id.replace(':', '_').replace('/', '_')}.md"
        path.write_text(before + "\n", encoding="utf-8")
        try:
            code = subprocess.run([*shlex.split(editor), str(path)], check=False).returncode
        except OSError as err:
            raise _fail(f"cannot run $EDITOR ({editor}): {err}", 2) from None
        if code != 0:
            raise _fail(f"$EDITOR ({editor}) exited with {code}: nothing changed", 1)
        after = path.read_text(encoding="utf-8").strip()
    if not after:
        raise _fail("the edited text is empty: nothing changed (reject the piece instead)", 1)
    if after == before.strip():
        console.print(f"{piece_id}: no change")
        return
    who = _who(by)
    with store.write() as conn:
        qa = _qa_edit(conn, row, after)
        review.record_edit(conn, row, after, by=who, qa=qa, reason=reason)
    console.print(f"{piece_id}: edit kept (by {who}); QA {qa['summary']}")
    if not qa["passed"]:
        err_console.print(
            styled(
                ("blocked", "red"),
                f" the edit fails the {' and '.join(qa['gate'])} check: approval is refused until it is fixed",
            )
        )
        raise typer.Exit(1)
    console.print(f"approve it with: splants review approve {piece_id}")


@review_app.command("import")
def import_(
    campaign: str | None = typer.Option(None, "--campaign", help="only this campaign's review file"),
):
    """Import new entries of reviews/<campaign>.yaml as decisions (a publishing run does this too)."""
    from splants_dagster.publishing import review

    paths = DataPaths.at()
    campaigns = [campaign] if campaign else [p.stem for p in paths.reviews_dir.glob("*.yaml")]
    with _store().write() as conn:
        imported, problems = review.import_yaml(conn, paths.reviews_dir, campaigns, dt.datetime.now(dt.UTC))
    for problem in problems:
        err_console.print(styled(("problem: ", "red"), problem))
    console.print(f"{imported} decision(s) imported")
    if problems:
        raise typer.Exit(1)
