"""What the desk shows, read from the analysts' snapshot (``Warehouse.read()``: read-only, never blocks a
run). Only selection and layout live here; every rule (review state, the gate, budget policy, suite plan)
is a call into its domain module."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from splants_dagster.platforms import PLATFORMS
from splants_dagster.publishing import review
from splants_dagster.warehouse.queries import qa as qa_queries
from splants_dagster.warehouse.store import dict_rows

STATUSES = ("scheduled", "pending_review", "published", "failed", "rejected")

CALENDAR_SQL = """
    SELECT s.piece_id, s.campaign_id, s.platform, s.content_type, s.publish_at, s.slot_source,
           c.title, c.subject, p.status AS publication, p.held_reason, p.url
    FROM schedule s
    JOIN content_pieces c ON c.piece_id = s.piece_id
    LEFT JOIN publications p ON p.piece_id = s.piece_id AND p.platform = s.platform
    WHERE s.publish_at >= ? AND s.publish_at < ?
      AND (? IS NULL OR s.campaign_id = ?) AND (? IS NULL OR s.platform = ?)
    ORDER BY s.publish_at, s.piece_id
"""


def desk_status(publication: str | None, state: str, mode: str, outbox: bool = False) -> str:
    """One of STATUSES (colour and filters) for a scheduled piece: its publication's status once the
    publishing step has held, sent or failed it, else what the review queue says about its current text
    under its channel's mode (the outbox is always auto: only a rejection holds a piece there)."""
    if publication == "published":
        return "published"
    if publication == "failed":
        return "failed"
    if publication == "rejected" or state == "rejected":
        return "rejected"
    if publication in ("pending_review", "held"):
        return "pending_review"
    if state != "approved" and mode == "review" and not outbox:
        return "pending_review"
    return "scheduled"


def _annotate(
    conn: duckdb.DuckDBPyConnection,
    rows: list[dict[str, Any]],
    policy: review.ReviewPolicy,
    outbox: Collection[str] = (),
):
    ids = [r["piece_id"] for r in rows]
    texts = review.pieces(conn, ids)
    decided = review.reviews_by_piece(conn, ids)
    for r in rows:
        text = texts.get(r["piece_id"]) or r
        state, why = review.review_state(text, decided.get(r["piece_id"]))
        r["review_state"], r["review_reason"] = state, why
        r["status"] = desk_status(
            r.get("publication"), state, policy.mode(r["platform"]), r["platform"] in outbox
        )
        r["qa_status"], r["qa_score"] = text.get("qa_status"), text.get("qa_score")
    return rows


@dataclass
class CalendarView:
    view: str  # week | month
    start: dt.date
    end: dt.date  # exclusive
    tz: str
    days: list[dt.date]
    by_day: dict[dt.date, list[dict[str, Any]]] = field(default_factory=dict)
    campaigns: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)

    @property
    def prev(self) -> dt.date:
        if self.view == "week":
            return self.start - dt.timedelta(days=7)
        return (self.start.replace(day=1) - dt.timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> dt.date:
        return self.end if self.view == "week" else self.end.replace(day=1)


def calendar_range(view: str, anchor: dt.date) -> tuple[dt.date, dt.date, list[dt.date]]:
    """The days shown: a Monday-to-Sunday week, or a month padded to whole weeks (the month's days are
    those with ``day.month == anchor.month``)."""
    if view == "week":
        start = anchor - dt.timedelta(days=anchor.weekday())
        return start, start + dt.timedelta(days=7), [start + dt.timedelta(days=i) for i in range(7)]
    first = anchor.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    grid_start = first - dt.timedelta(days=first.weekday())
    grid_end = following + dt.timedelta(days=(7 - following.weekday()) % 7)
    days = [grid_start + dt.timedelta(days=i) for i in range((grid_end - grid_start).days)]
    return first, following, days


def calendar(
    conn: duckdb.DuckDBPyConnection,
    policy: review.ReviewPolicy,
    outbox: Collection[str],
    timezone: str,
    view: str,
    anchor: dt.date,
    campaign: str | None = None,
    channel: str | None = None,
) -> CalendarView:
    tz = ZoneInfo(timezone)
    start, end, days = calendar_range(view, anchor)
    lo = dt.datetime.combine(days[0], dt.time(0), tzinfo=tz)
    hi = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    rows = dict_rows(conn.execute(CALENDAR_SQL, [lo, hi, campaign, campaign, channel, channel]))
    _annotate(conn, rows, policy, outbox)
    cal = CalendarView(view, start, end, timezone, days)
    for r in rows:
        r["local"] = r["publish_at"].astimezone(tz)
        cal.by_day.setdefault(r["local"].date(), []).append(r)
    cal.campaigns = [
        c for (c,) in conn.execute("SELECT DISTINCT campaign_id FROM schedule ORDER BY 1").fetchall()
    ]
    present = {c for (c,) in conn.execute("SELECT DISTINCT platform FROM schedule").fetchall()}
    cal.channels = [p for p in PLATFORMS if p in present]
    return cal


INBOX_SQL = """
    SELECT s.piece_id, s.campaign_id, s.platform, s.content_type, s.publish_at, c.title, c.subject,
           p.status AS publication, p.held_reason, p.url, coalesce(p.updated_at, c.created_at) AS since
    FROM schedule s
    JOIN content_pieces c ON c.piece_id = s.piece_id
    LEFT JOIN publications p ON p.piece_id = s.piece_id AND p.platform = s.platform
    LEFT JOIN qa_status q ON q.piece_id = s.piece_id
    WHERE coalesce(p.status, '') NOT IN ('published')
    ORDER BY c.created_at, s.publish_at, s.piece_id
"""


def inbox(
    conn: duckdb.DuckDBPyConnection, policy: review.ReviewPolicy, outbox: Collection[str] = ()
) -> list[dict[str, Any]]:
    """Everything waiting for a person (pending review, held, flagged by QA or failed), oldest first."""
    rows = _annotate(conn, dict_rows(conn.execute(INBOX_SQL)), policy, outbox)
    flagged = {
        pid
        for (pid,) in conn.execute(
            "SELECT piece_id FROM qa_status WHERE status NOT IN ('approved', 'auto_fixed')"
        ).fetchall()
    }
    out = []
    for r in rows:
        r["flagged"] = r["piece_id"] in flagged
        if r["status"] in ("pending_review", "failed") or r["flagged"] or r["review_state"] == "stale":
            out.append(r)
    return out


PIECE_SQL = """
    SELECT s.publish_at, s.slot_source, s.publish_at_local, cp.keywords, cp.brief_json, cp.start_date,
           cp.duration_days
    FROM content_pieces c
    LEFT JOIN schedule s ON s.piece_id = c.piece_id
    LEFT JOIN campaigns cp ON cp.campaign_id = c.campaign_id
    WHERE c.piece_id = ?
"""


def highlight(text: str, spans: list[tuple[int, int, str, str]]) -> str:
    """``text`` as HTML with each finding's span in a ``<mark>`` (title: the finding), escaped; overlapping
    spans are merged into the first."""
    out, at = [], 0
    for start, end, label, severity in sorted(spans):
        if start < at or start >= end or end > len(text):
            continue
        out.append(html.escape(text[at:start]))
        out.append(
            f'<mark class="finding {html.escape(severity)}" title="{html.escape(label)}">'
            f"{html.escape(text[start:end])}</mark>"
        )
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out)


def piece(
    conn: duckdb.DuckDBPyConnection, piece_id: str, policy: review.ReviewPolicy, outbox: Collection[str] = ()
) -> dict[str, Any] | None:
    """Everything the piece page shows; None when there is no such piece."""
    text = review.pieces(conn, [piece_id]).get(piece_id)
    if text is None:
        return None
    found = dict_rows(conn.execute(PIECE_SQL, [piece_id]))
    extra = found[0] if found else {}
    decided = review.reviews_by_piece(conn, [piece_id]).get(piece_id)
    state, why = review.review_state(text, decided)
    publication = dict_rows(
        conn.execute("SELECT * FROM publications WHERE piece_id = ? ORDER BY updated_at DESC", [piece_id])
    )
    pub = publication[0] if publication else None
    record = qa_queries.piece_record(conn, piece_id)
    checks, findings, claims, history = (record[k] for k in ("checks", "findings", "claims", "decisions"))
    prediction = dict_rows(
        conn.execute(
            "SELECT predicted_score, predicted_relative, model_version, is_demo, predicted_at FROM ml_predictions"
            " WHERE piece_id = ? ORDER BY predicted_at DESC LIMIT 1",
            [piece_id],
        )
    )
    cost = dict_rows(
        conn.execute(
            "SELECT coalesce(sum(cost_usd), 0) AS usd, count(*) AS calls,"
            " coalesce(list(DISTINCT run_id) FILTER (WHERE run_id IS NOT NULL), []) AS runs"
            " FROM llm_calls WHERE piece_id = ?",
            [piece_id],
        )
    )[0]
    edited = decided is not None and decided.edit is not None
    highlighted: dict[str, str] = {}
    if not edited:  # spans point into QA's text; an edit has its own QA summary instead
        for fname in ("title", "body", "rendered", "subject", "preheader", "seo_title", "meta_description"):
            value = text.get(fname) or ""
            spans = [
                (f["span_start"], f["span_end"], f"{f['check']}: {f['message']}", f["severity"] or "warning")
                for f in findings
                if f.get("field") == fname
                and f.get("span_start") is not None
                and f.get("span_end") is not None
            ]
            spans += [
                (
                    c["span_start"],
                    c["span_end"],
                    f"claim ({'supported' if c['supported'] else 'unsupported'})",
                    "claim",
                )
                for c in dict_rows(
                    conn.execute(
                        "SELECT span_start, span_end, supported FROM qa_claims WHERE piece_id = ? AND is_final"
                        " AND field = ? AND span_start IS NOT NULL",
                        [piece_id, fname],
                    )
                )
            ]
            if value:
                highlighted[fname] = highlight(value, spans)
    brief = json.loads(extra["brief_json"]) if extra.get("brief_json") else {}
    return {
        "piece": text,
        "schedule": extra,
        "brief": brief,
        "review_state": state,
        "review_reason": why,
        "gate": review.gate_problems(conn, text, decided),
        "status": desk_status(
            pub["status"] if pub else None, state, policy.mode(text["platform"]), text["platform"] in outbox
        ),
        "mode": policy.mode(text["platform"]),
        "template": review.is_template(text),
        "publication": pub,
        "checks": checks,
        "findings": findings,
        "claims": claims,
        "history": history,
        "edit": decided.edit if decided else None,
        "prediction": prediction[0] if prediction else None,
        "cost": cost,
        "highlighted": highlighted,
        "sha": review.text_sha256(text),
    }


# ---------------------------------------------------------------- reports and budget


def reports(root: Path) -> list[dict[str, Any]]:
    """``reports/<brand>/<kind>-<period>.html`` with their ``.json`` sidecars, newest period first."""
    base = root / "reports"
    found: list[dict[str, Any]] = []
    if not base.is_dir():
        return found
    for page in sorted(base.glob("*/*.html")):
        meta: dict[str, Any] = {}
        sidecar = page.with_suffix(".json")
        if sidecar.exists():
            try:
                loaded = json.loads(sidecar.read_text(encoding="utf-8"))
                meta = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                meta = {}
        kind, _, period = page.stem.partition("-")
        found.append(
            {
                "path": f"{page.parent.name}/{page.name}",
                "brand": meta.get("brand") or page.parent.name,
                "kind": meta.get("kind") or kind,
                "period": period,
                "period_start": meta.get("period_start") or period,
                "period_end": meta.get("period_end") or "",
                "demo": bool(meta.get("demo")),
                "generated_at": meta.get("generated_at") or "",
            }
        )
    return sorted(found, key=lambda r: (str(r["period_start"]), r["kind"]), reverse=True)


def budget(conn: duckdb.DuckDBPyConnection, root: Path, now: dt.datetime) -> dict[str, Any]:
    """Month to date, forecast, strategy and why: the same calls as ``splants budget``."""
    import os

    from splants_dagster.costs import ledger
    from splants_dagster.costs.config import BUDGET_FILE, BudgetConfigError, env_overrides, load_budget_config
    from splants_dagster.costs.policy import decide, money, month_key, month_start
    from splants_dagster.llm.pricing import DEFAULT_STRATEGY

    try:
        config = load_budget_config(root / BUDGET_FILE, env_overrides())
    except BudgetConfigError as err:
        return {"error": str(err)}
    status = ledger.month_status(conn, now, config)
    default = os.environ.get("SPLANTS_LLM_STRATEGY", "").strip() or DEFAULT_STRATEGY
    decision = decide(status if config.monthly_budget_usd is not None else None, config, default, None)
    per_campaign = dict_rows(
        conn.execute(
            "SELECT campaign_id, sum(cost_usd) AS usd FROM llm_calls WHERE called_at >= ?"
            " GROUP BY 1 ORDER BY 2 DESC NULLS LAST",
            [month_start(now)],
        )
    )
    if config.monthly_budget_usd is None:
        shown = "not set (cost control off)"
    elif not status.limited:
        shown = "unlimited"
    else:
        shown = money(status.budget_usd)
    return {
        "month": status.month,
        "budget": shown,
        "spent": money(status.spent_usd),
        "today": money(status.today_usd),
        "forecast": money(status.forecast_usd),
        "remaining_pct": status.remaining_pct if status.limited else None,
        "strategy": decision.strategy,
        "why": decision.reason,
        "exhausted": decision.exhausted,
        "recorded": ledger.latest_status(conn, month_key(now)),
        "per_campaign": [{**r, "shown": money(r["usd"] or 0.0)} for r in per_campaign],
    }


def campaign_ids(conn: duckdb.DuckDBPyConnection) -> list[str]:
    return [c for (c,) in conn.execute("SELECT campaign_id FROM campaigns ORDER BY 1").fetchall()]
