"""What a person does in the desk: approve, reject, edit, reschedule, and save a new brief.

Decisions go through the review queue's own functions (``publishing/review.py``: the gate, the text hash,
``record``) in one short ``store.write()`` session each, the serialised writer every run uses: a click made
while a run writes waits for the lock and is never lost, and no run ever waits on the desk for long. Slow
work (QA of an edit, validating a brief) happens before the session opens.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import yaml

from splants_dagster.campaigns.briefs import (
    BriefRegistry,
    CampaignBrief,
    FieldProblem,
    brief_files,
    current_date,
    duplicate_problem,
    read_brief,
)
from splants_dagster.paths import DataPaths
from splants_dagster.platforms import PieceSpec, plan_suite
from splants_dagster.publishing import planning, review
from splants_dagster.publishing.scheduling import MANUAL, SchedulePolicy, Slot, slot_refusal
from splants_dagster.timeutil import as_utc
from splants_dagster.warehouse.store import Warehouse, dict_rows

Outcome = review.ApprovalOutcome


def approve(store: Warehouse, piece_ids: Iterable[str], by: str, reason: str | None = None) -> Outcome:
    """Approve the current text of each piece, as ``splants review approve`` does: refused while the piece
    fails the legal/factual gate (or its edit does), skipped when already approved."""
    with store.write() as conn:
        return review.approve_pieces(
            conn, list(piece_ids), by=by, at=dt.datetime.now(dt.UTC), reason=reason, source="desk"
        )


def reject(store: Warehouse, piece_id: str, by: str, reason: str) -> str | None:
    """Reject a piece (it goes nowhere, not even the outbox); returns the problem, or None when done."""
    if not reason.strip():
        return "a reason is required to reject a piece"
    with store.write() as conn:
        row = review.pieces(conn, [piece_id]).get(piece_id)
        if row is None:
            return f"no piece with id {piece_id}"
        review.record(
            conn,
            piece_id=piece_id,
            campaign_id=row["campaign_id"],
            decision="reject",
            by=by,
            at=dt.datetime.now(dt.UTC),
            text=review.text_sha256(row),
            reason=reason.strip(),
            source="desk",
        )
    return None


def edit(store: Warehouse, paths: DataPaths, piece_id: str, text: str, by: str) -> dict[str, Any]:
    """Keep a person's edit after QA re-checks it (on the snapshot, before the write lock is taken).
    Returns the QA result (``passed`` False: approval stays refused until the text is fixed) or
    ``{"error": ...}``."""
    text = text.replace("\r\n", "\n").strip()
    if not text:
        return {"error": "the edited text is empty: nothing changed (reject the piece instead)"}
    with store.read() as conn:
        row = review.pieces(conn, [piece_id]).get(piece_id)
        if row is None:
            return {"error": f"no piece with id {piece_id}"}
        if text == (row.get("rendered") or row.get("body") or "").strip():
            return {"error": "no change"}
        try:
            qa = review.qa_edit(conn, row, text, paths.brand_file)
        except review.NoBriefError as err:
            return {"error": str(err)}
    with store.write() as conn:
        review.record_edit(conn, row, text, by=by, qa=qa, source="desk")
    return qa


# ---------------------------------------------------------------- rescheduling

SLOTS_SQL = """
    SELECT s.piece_id, s.platform, s.content_type, s.publish_at, s.slot_source, coalesce(s.slot_score, 0) AS score,
           coalesce(s.is_pillar, false) AS is_pillar, s.variant_of, p.status AS publication
    FROM schedule s
    LEFT JOIN publications p ON p.piece_id = s.piece_id AND p.platform = s.platform
    WHERE s.campaign_id = ?
"""
# other campaigns share the channels: their slots count for spacing and caps, as when the schedule is built
SHARED_SQL = """
    SELECT piece_id, platform, publish_at FROM schedule WHERE campaign_id <> ? AND publish_at BETWEEN ? AND ?
"""


def _slots(conn: duckdb.DuckDBPyConnection, campaign_id: str, tz: str) -> list[Slot]:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    slots = []
    for r in dict_rows(conn.execute(SLOTS_SQL, [campaign_id])):
        when = as_utc(r["publish_at"])
        if when is None:
            continue
        slots.append(
            Slot(
                r["piece_id"],
                r["platform"],
                r["content_type"] or "",
                when,
                when.astimezone(zone),
                r["slot_source"] or "prior",
                float(r["score"]),
                is_pillar=bool(r["is_pillar"]),
                variant_of=r["variant_of"],
                fixed=r["publication"] in ("published", "in_flight"),
            )
        )
    return slots


def _shared(
    conn: duckdb.DuckDBPyConnection, campaign_id: str, start: dt.date, days: int, tz: str
) -> list[Slot]:
    """Other campaigns' slots near this campaign's window, fixed and never a pillar (as ``planning``
    gives them to the scheduler)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    first = dt.datetime.combine(start, dt.time(0), tzinfo=dt.UTC) - planning.WINDOW_PAD
    last = (
        dt.datetime.combine(start + dt.timedelta(days=days), dt.time(0), tzinfo=dt.UTC) + planning.WINDOW_PAD
    )
    out = []
    for r in dict_rows(conn.execute(SHARED_SQL, [campaign_id, first, last])):
        when = as_utc(r["publish_at"])
        if when is not None:
            out.append(
                Slot(r["piece_id"], r["platform"], "", when, when.astimezone(zone), "", 0.0, fixed=True)
            )
    return out


def reschedule(store: Warehouse, piece_id: str, local: dt.datetime, timezone: str) -> str | None:
    """Move a scheduled piece to ``local`` (a naive wall-clock time in the brand's timezone). Refused, with
    the rule named, when the scheduler's own rules do not allow the slot (``slot_refusal``, among the
    campaign's slots and other campaigns' on the same channels) or the piece already went out. The slot is
    marked ``slot_source = 'manual'``: rebuilding the schedule keeps it while those rules allow it.
    Returns the refusal, or None when moved."""
    from zoneinfo import ZoneInfo

    when = local.replace(tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)
    with store.write() as conn:  # check and move under one lock: no other write slips in between
        found = dict_rows(
            conn.execute(
                "SELECT s.campaign_id, c.start_date, c.duration_days FROM schedule s"
                " JOIN campaigns c ON c.campaign_id = s.campaign_id WHERE s.piece_id = ?",
                [piece_id],
            )
        )
        if not found:
            return f"{piece_id} is not scheduled"
        info = found[0]
        slots = _slots(conn, info["campaign_id"], timezone)
        moving = next((s for s in slots if s.piece_id == piece_id), None)
        if moving is None:
            return f"{piece_id} is not scheduled"
        if moving.fixed:
            return f"{piece_id} already went out: it cannot be moved"
        target = Slot(**{**moving.__dict__, "publish_at": when, "local": when.astimezone(ZoneInfo(timezone))})
        days = int(info["duration_days"])
        shared = _shared(conn, info["campaign_id"], info["start_date"], days, timezone)
        refusal = slot_refusal(
            target, [*slots, *shared], info["start_date"], days, timezone, SchedulePolicy()
        )
        if refusal:
            return refusal
        conn.execute(
            "UPDATE schedule SET publish_at = ?, publish_at_local = ?, slot_source = ? WHERE piece_id = ?",
            [when, target.local.isoformat(), MANUAL, piece_id],
        )
        conn.execute(
            "UPDATE publications SET publish_at = ? WHERE piece_id = ? AND status NOT IN ('published', 'in_flight')",
            [when, piece_id],
        )
    return None


# ---------------------------------------------------------------- new campaign


def brief_data(form: dict[str, Any]) -> dict[str, Any]:
    """The YAML mapping of a brief from the form's fields (empty fields left out, so the model's defaults
    and messages apply exactly as for a file written by hand)."""

    def lines(name: str) -> list[str]:
        return [x.strip() for x in str(form.get(name) or "").splitlines() if x.strip()]

    data: dict[str, Any] = {}
    for name in ("id", "topic", "goal", "audience", "tone", "call_to_action", "link", "start_date"):
        value = str(form.get(name) or "").strip()
        if value:
            data[name] = value
    for name in ("platforms", "content_types"):
        values = form.get(name) or []
        data[name] = [values] if isinstance(values, str) else list(values)
    for name in ("duration_days", "variants"):
        raw = str(form.get(name) or "").strip()
        if raw:
            data[name] = int(raw) if raw.lstrip("-").isdigit() else raw
    if form.get("paid"):
        data["paid"] = True
    if lines("keywords"):
        data["keywords"] = lines("keywords")
    if lines("facts"):
        data["facts"] = lines("facts")
    refs = form.get("source_ref") or []
    roles = form.get("source_role") or []
    refs = [refs] if isinstance(refs, str) else list(refs)
    roles = [roles] if isinstance(roles, str) else list(roles)
    sources = [
        {"ref": ref.strip(), "role": (roles[i] if i < len(roles) else "reference") or "reference"}
        for i, ref in enumerate(refs)
        if ref and ref.strip()
    ]
    if sources:
        data["sources"] = sources
    return data


FORM_FIELDS = (
    "id",
    "topic",
    "goal",
    "audience",
    "start_date",
    "duration_days",
    "call_to_action",
    "link",
    "variants",
    "platforms",
    "content_types",
    "keywords",
    "facts",
    "sources",
)


@dataclass
class BriefCheck:
    data: dict[str, Any]
    yaml_text: str
    brief: CampaignBrief | None
    problems: list[FieldProblem]
    plan: list[PieceSpec]

    fields = FORM_FIELDS

    @property
    def by_field(self) -> dict[str, list[str]]:
        """Each problem's message under the form field it belongs to (``sources.0.role`` → sources)."""
        out: dict[str, list[str]] = {}
        for p in self.problems:
            out.setdefault(p.field.split(".")[0].split("[")[0], []).append(p.message)
        return out


def check_brief(paths: DataPaths, form: dict[str, Any], today: dt.date | None = None) -> BriefCheck:
    """Validate the form as the sensor will read the file: the YAML is written to a scratch folder and read
    with ``read_brief`` (same model, same messages); an id another brief already uses is refused."""
    data = brief_data(form)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    entries = BriefRegistry.beside(paths.campaigns_dir).load()
    with tempfile.TemporaryDirectory(prefix="splants-desk-") as tmp:
        scratch = Path(tmp) / f"{data.get('id') or 'new'}.yaml"
        scratch.write_text(text, encoding="utf-8")
        scanned = read_brief(scratch, today=today or current_date(), entries=entries)
    problems = list(scanned.error.problems) if scanned.error else []
    brief = scanned.brief
    if brief is not None:
        for path in brief_files(paths.campaigns_dir):
            other = read_brief(path, today=today or current_date(), entries=entries)
            if path.stem == brief.id or (other.brief is not None and other.brief.id == brief.id):
                problems.append(duplicate_problem(brief.id, path.name))
                break
    plan = (
        plan_suite(brief.id, list(brief.platforms), list(brief.content_types), brief.word_targets())
        if brief is not None
        else []
    )
    return BriefCheck(data, text, brief if not problems else None, problems, plan)


def save_brief(paths: DataPaths, check: BriefCheck) -> Path:
    """Write the validated brief into ``campaigns/`` atomically (the sensor never sees half a file)."""
    assert check.brief is not None
    paths.campaigns_dir.mkdir(parents=True, exist_ok=True)
    target = paths.campaigns_dir / f"{check.brief.id}.yaml"
    header = "# written by the desk (splants desk); edit freely, see docs/briefs.md\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=paths.campaigns_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(header + check.yaml_text)
    os.replace(tmp, target)
    return target
