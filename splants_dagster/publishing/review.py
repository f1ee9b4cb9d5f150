"""The review queue: nothing reaches a real audience until a person has approved the exact text.

Every piece bound for a real platform (WordPress, HubSpot, X, LinkedIn, Mailchimp: never the outbox) waits
as ``pending_review`` until a person approves it, unless its channel is set to ``mode: auto`` in
``$SPLANTS_DATA_DIR/publishing.yaml``. Decisions (approve | reject | edit) are rows of ``review_decisions``
with who, when, why and the SHA-256 of the text decided on: an approval lets out only that text, so a piece
whose text changes afterwards (regenerated, auto-fixed again, edited) waits for a new approval. An ``edit``
decision carries the person's text, which is then what is published (and what needs approving).

Independently of the mode, text from the offline provider or the template writer is never sent to a real
platform unless ``SPLANTS_ALLOW_TEMPLATE_CONTENT=1`` (or ``allow_template_content: true`` in the same file);
and an A/B variant of a blog piece is never sent to a blog platform as a second post.

``reviews/<campaign>.yaml`` (``splants_dagster.qa.reviews``) keeps working: its entries are imported here
(:func:`import_yaml`) with the text current when an entry is first seen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from splants_dagster.campaigns.briefs import BriefError, FieldProblem
from splants_dagster.platforms import PLATFORMS
from splants_dagster.warehouse.store import dict_rows, scalar

CONFIG_FILE = "publishing.yaml"
ALLOW_ENV = "SPLANTS_ALLOW_TEMPLATE_CONTENT"
MODES = ("review", "auto")
DECISIONS = ("approve", "reject", "edit")
# publication statuses of items held back before any platform call
PENDING_REVIEW = "pending_review"
REJECTED = "rejected"
HELD = "held"
HELD_STATUSES = (PENDING_REVIEW, REJECTED, HELD)

AWAITING = "awaiting approval (channel mode review): splants review approve {piece}"
STALE = "awaiting approval: the text changed after {by} approved it on {at:%Y-%m-%d %H:%M} UTC"
TEMPLATE = f"template/offline content: set {ALLOW_ENV}=1 to allow"
VARIANT = "A/B variant of a blog piece: one post per article, the variant is not sent as a second post"
VARIANT_ALT = (
    "A/B variant kept as an alternate: no audience split on this channel, so it is not sent as a second"
    " post (set sequential_test: true in the brief to publish versions in turn)"
)
AUDIENCE = "audience: {problem}"
BOOST = "re-promotion to a real platform: set the channel to mode auto in publishing.yaml to send it"
REJECTED_BY = "rejected by {by}: {reason}"


class PublishingConfigError(BriefError):
    """``publishing.yaml`` cannot be used; the message names the file, each bad field and its value."""


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class ReviewPolicy:
    """Per channel ``review`` (a person approves each piece) or ``auto``; the outbox is always auto."""

    modes: Mapping[str, str] = field(default_factory=dict)
    default: str = "review"
    allow_template_content: bool = False
    # publishing.yaml ``mailchimp:`` (segment_id, tag, whole_list): who a Mailchimp send goes to
    mailchimp: Mapping[str, Any] = field(default_factory=dict)

    def mode(self, platform: str) -> str:
        return self.modes.get(platform, self.default)

    @classmethod
    def all_auto(cls, allow_template_content: bool = True) -> ReviewPolicy:
        return cls({}, "auto", allow_template_content)


def load_policy(path: Path, allow_env: str | None = None) -> ReviewPolicy:
    """The policy of ``path`` (absent: every channel ``review``); ``allow_env`` is the value of
    ``SPLANTS_ALLOW_TEMPLATE_CONTENT`` (set to a true value, it allows template content too).

    ```yaml
    default_mode: review          # review | auto, for channels not listed
    channels:
      twitter: {mode: auto}       # or simply  twitter: auto
      blog: {mode: review}
    allow_template_content: false
    mailchimp: {segment_id: "12345"}   # or {tag: newsletter}, or {whole_list: true}
    ```
    """
    data: Any = {}
    if path.exists():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
            raise PublishingConfigError(
                str(path), [FieldProblem("(yaml)", where, "malformed YAML")]
            ) from None
        except (ValueError, OverflowError, RecursionError) as exc:  # undecodable, or e.g. 0000-00-00
            raise PublishingConfigError(
                str(path), [FieldProblem("(yaml)", type(exc).__name__, f"cannot be read: {str(exc)[:200]}")]
            ) from None
    problems: list[FieldProblem] = []
    if not isinstance(data, dict):
        raise PublishingConfigError(
            str(path), [FieldProblem("(file)", type(data).__name__, "must be a mapping")]
        )
    known = {"default_mode", "channels", "allow_template_content", "mailchimp"}
    problems += [
        FieldProblem(str(k), data[k], f"is not a known field (use {', '.join(sorted(known))})")
        for k in data
        if k not in known
    ]
    default = data.get("default_mode", "review")
    if default not in MODES:
        problems.append(FieldProblem("default_mode", default, "must be 'review' or 'auto'"))
    modes: dict[str, str] = {}
    channels = data.get("channels") or {}
    if not isinstance(channels, dict):
        problems.append(FieldProblem("channels", channels, "must map channel names to {mode: review|auto}"))
        channels = {}
    for name, value in channels.items():
        mode = value.get("mode") if isinstance(value, dict) else value
        if name not in PLATFORMS:
            problems.append(
                FieldProblem(f"channels.{name}", name, f"unknown channel (one of {', '.join(PLATFORMS)})")
            )
        elif mode not in MODES:
            problems.append(FieldProblem(f"channels.{name}.mode", mode, "must be 'review' or 'auto'"))
        else:
            modes[str(name)] = str(mode)
    allow = data.get("allow_template_content", False)
    if not isinstance(allow, bool):
        problems.append(FieldProblem("allow_template_content", allow, "must be true or false"))
        allow = False
    mailchimp, mc_problems = _mailchimp_audience(data.get("mailchimp"))
    problems += mc_problems
    if problems:
        raise PublishingConfigError(str(path), problems)
    return ReviewPolicy(
        modes, default if default in MODES else "review", allow or _truthy(allow_env or ""), mailchimp
    )


def _mailchimp_audience(value: Any) -> tuple[dict[str, Any], list[FieldProblem]]:
    """``mailchimp: {segment_id: 123, tag: NAME, whole_list: true}``, each optional."""
    if value is None:
        return {}, []
    if not isinstance(value, dict):
        return {}, [FieldProblem("mailchimp", value, "must be a mapping (segment_id, tag, whole_list)")]
    out: dict[str, Any] = {}
    problems = [
        FieldProblem(f"mailchimp.{k}", value[k], "is not a known field (use segment_id, tag, whole_list)")
        for k in value
        if k not in ("segment_id", "tag", "whole_list")
    ]
    seg = value.get("segment_id")
    if seg is not None:
        if isinstance(seg, bool) or not str(seg).strip().isdigit():
            problems.append(
                FieldProblem("mailchimp.segment_id", seg, "must be a saved segment id (a number)")
            )
        else:
            out["segment_id"] = str(seg).strip()
    tag = value.get("tag")
    if tag is not None:
        if not isinstance(tag, str) or not tag.strip():
            problems.append(FieldProblem("mailchimp.tag", tag, "must be a tag name"))
        else:
            out["tag"] = tag.strip()
    whole = value.get("whole_list", False)
    if not isinstance(whole, bool):
        problems.append(FieldProblem("mailchimp.whole_list", whole, "must be true or false"))
    else:
        out["whole_list"] = whole
    return out, problems


def policy_for_data_dir(root: Path) -> ReviewPolicy:
    return load_policy(root / CONFIG_FILE, os.environ.get(ALLOW_ENV))


# ---------------------------------------------------------------- text


TEXT_FIELDS = ("title", "body", "rendered", "seo_title", "meta_description", "subject", "preheader", "cta")


def text_sha256(row: Mapping[str, Any]) -> str:
    """The SHA-256 of every field of a piece that is published (after any edit): an approval holds for
    exactly this text."""
    payload = {k: row.get(k) or "" for k in TEXT_FIELDS}
    payload["hashtags"] = list(row.get("hashtags") or [])
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def with_edit(row: dict[str, Any], decision: Mapping[str, Any] | None) -> dict[str, Any]:
    """``row`` with the text of the person's latest edit, if any (it replaces body and rendered text)."""
    if not decision or decision.get("edited_text") is None:
        return row
    return {**row, "body": decision["edited_text"], "rendered": decision["edited_text"]}


def is_template(row: Mapping[str, Any]) -> bool:
    """Written by the offline provider or the template writer (the piece or the original of a variant)."""
    for prefix in ("", "original_"):
        if (row.get(f"{prefix}provider") == "offline" or row.get(f"{prefix}model") == "offline") or row.get(
            f"{prefix}candidate_strategy"
        ) == "template":
            return True
    return False


# ---------------------------------------------------------------- decisions


@dataclass(frozen=True)
class PieceReview:
    """What people decided about one piece: its latest edit and its latest approve/reject."""

    edit: dict[str, Any] | None = None
    verdict: dict[str, Any] | None = None


def reviews_by_piece(
    conn: duckdb.DuckDBPyConnection, piece_ids: Iterable[str] | None = None
) -> dict[str, PieceReview]:
    ids = list(piece_ids) if piece_ids is not None else None
    if ids == []:
        return {}
    where = "WHERE piece_id IN (SELECT unnest(?::VARCHAR[]))" if ids is not None else ""
    rows = dict_rows(
        conn.execute(
            f"SELECT * FROM review_decisions {where} ORDER BY decided_at, decision_id",
            [ids] if ids is not None else [],
        )
    )
    edits: dict[str, dict[str, Any]] = {}
    verdicts: dict[str, dict[str, Any]] = {}
    for r in rows:
        (edits if r["decision"] == "edit" else verdicts)[r["piece_id"]] = r
    return {pid: PieceReview(edits.get(pid), verdicts.get(pid)) for pid in {*edits, *verdicts}}


def review_state(row: Mapping[str, Any], review: PieceReview | None) -> tuple[str, str | None]:
    """``approved`` | ``stale`` | ``rejected`` | ``pending`` for the piece's current text (``row`` with
    the edit applied), with the hold reason when not approved."""
    verdict = review.verdict if review else None
    if verdict is None:
        return "pending", AWAITING.format(piece=row["piece_id"])
    if verdict["decision"] == "reject":
        return "rejected", REJECTED_BY.format(
            by=verdict["decided_by"], reason=verdict.get("reason") or "no reason given"
        )
    if verdict["text_sha256"] == text_sha256(row):
        return "approved", None
    return "stale", STALE.format(by=verdict["decided_by"], at=verdict["decided_at"].astimezone(dt.UTC))


def hold(
    row: Mapping[str, Any], review: PieceReview | None, policy: ReviewPolicy, *, outbox: bool
) -> tuple[str, str] | None:
    """``(status, held_reason)`` when the item must not go to its platform now, else None. ``row`` is a
    due row (with the edit applied). The outbox is always auto."""
    state, reason = review_state(row, review)
    if state == "rejected":  # a person's rejection stops the outbox too
        return REJECTED, reason or ""
    if outbox:
        return None
    if row.get("boost_id"):
        return (HELD, BOOST) if policy.mode(row["platform"]) != "auto" else None
    if row.get("variant_of") and row.get("ab_design") != "sequential":
        return HELD, VARIANT if row["platform"] == "blog" else VARIANT_ALT
    if is_template(row) and not policy.allow_template_content:
        return PENDING_REVIEW, TEMPLATE
    if policy.mode(row["platform"]) == "auto" or state == "approved":
        return None
    return PENDING_REVIEW, reason or ""


def variant_hold(
    variants: list[Mapping[str, Any]], reviews: Mapping[str, PieceReview], policy: ReviewPolicy, platform: str
) -> tuple[str, str] | None:
    """The gate for the A/B variants a platform-split publication carries (their original passed): each
    must be approved like a piece of its own (rejected variants were already left out)."""
    for v in variants:
        if is_template(v) and not policy.allow_template_content:
            return PENDING_REVIEW, f"A/B variant {v['piece_id']}: {TEMPLATE}"
        if policy.mode(platform) == "auto":
            continue
        state, reason = review_state(v, reviews.get(v["piece_id"]))
        if state != "approved":
            return PENDING_REVIEW, f"A/B variant {v['piece_id']}: {reason}"
    return None


def record(
    conn: duckdb.DuckDBPyConnection,
    *,
    piece_id: str,
    campaign_id: str | None,
    decision: str,
    by: str,
    at: dt.datetime,
    text: str,
    reason: str | None = None,
    edited_text: str | None = None,
    qa: Mapping[str, Any] | None = None,
    source: str = "cli",
    decision_id: str | None = None,
) -> str:
    """Store one decision (``text``: the SHA-256 of the text it was taken on); returns its id."""
    if decision not in DECISIONS:
        raise ValueError(f"decision {decision!r}: expected one of {', '.join(DECISIONS)}")
    did = (
        decision_id
        or "rd_"
        + hashlib.sha256(f"{piece_id}|{decision}|{by}|{at.isoformat()}|{text}".encode()).hexdigest()[:20]
    )
    qa = qa or {}
    conn.execute(
        "INSERT INTO review_decisions (decision_id, piece_id, campaign_id, decision, decided_by, decided_at, reason,"
        " text_sha256, edited_text, qa_score, qa_passed, qa_summary, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (decision_id) DO NOTHING",
        [
            did,
            piece_id,
            campaign_id,
            decision,
            by,
            at,
            reason,
            text,
            edited_text,
            qa.get("score"),
            qa.get("passed"),
            qa.get("summary"),
            source,
        ],
    )
    return did


PIECE_SQL = """
    SELECT c.*, o.provider AS original_provider, o.model AS original_model,
           o.candidate_strategy AS original_candidate_strategy, q.status AS qa_status, q.qa_score
    FROM content_pieces c
    LEFT JOIN content_pieces o ON o.piece_id = c.variant_of
    LEFT JOIN qa_status q ON q.piece_id = c.piece_id
"""


def pieces(conn: duckdb.DuckDBPyConnection, piece_ids: list[str]) -> dict[str, dict[str, Any]]:
    """``content_pieces`` rows (plus QA status) by id, with each person's latest edit applied."""
    rows = dict_rows(
        conn.execute(PIECE_SQL + " WHERE c.piece_id IN (SELECT unnest(?::VARCHAR[]))", [piece_ids])
    )
    reviews = reviews_by_piece(conn, piece_ids)
    return {r["piece_id"]: with_edit(r, (reviews.get(r["piece_id"]) or PieceReview()).edit) for r in rows}


def gate_problems(
    conn: duckdb.DuckDBPyConnection, row: Mapping[str, Any], review: PieceReview | None
) -> list[str]:
    """Why a person may not approve this text: QA rejected it, or it fails the legal or factual gate
    (of the person's edit when there is one, else of QA's final round)."""
    if row.get("qa_status") == "rejected":
        return ["QA decision is rejected"]
    edit = review.edit if review else None
    if edit is not None:
        return (
            []
            if edit.get("qa_passed")
            else [f"the edit fails the legal/factual gate: {edit.get('qa_summary')}"]
        )
    failing = conn.execute(
        'SELECT DISTINCT "check" FROM qa_results WHERE piece_id = ? AND is_final AND NOT passed'
        " AND \"check\" IN ('legal', 'factual') ORDER BY 1",
        [row["piece_id"]],
    ).fetchall()
    return [f"fails the {c} check" for (c,) in failing]


def import_yaml(
    conn: duckdb.DuckDBPyConnection, reviews_dir: Path, campaign_ids: Iterable[str], now: dt.datetime
) -> tuple[int, list[str]]:
    """Entries of ``reviews/<campaign>.yaml`` not imported yet become decisions on the current text
    (the file stays an import path). Returns (imported, problems); a bad file is skipped and named."""
    from splants_dagster.qa.reviews import ReviewFileError, load_reviews, review_file

    imported, problems = 0, []
    for cid in sorted(set(campaign_ids)):
        path = review_file(reviews_dir, cid)
        try:
            entries = load_reviews(path)
        except ReviewFileError as err:
            problems.append(str(err))
            continue
        if not entries:
            continue
        rows = pieces(conn, list(entries))
        reviews = reviews_by_piece(conn, list(entries))
        for pid, entry in entries.items():
            row = rows.get(pid)
            if row is None:
                problems.append(f"{path}: field '{pid}': no such piece")
                continue
            did = "yaml_" + hashlib.sha256(f"{pid}|{entry.fingerprint()}".encode()).hexdigest()[:20]
            if scalar(conn, "SELECT count(*) FROM review_decisions WHERE decision_id = ?", [did]):
                continue
            if entry.decision == "approve":
                blocked = gate_problems(conn, row, reviews.get(pid))
                if blocked:
                    problems.append(f"{path}: field '{pid}': approval refused: {'; '.join(blocked)}")
                    continue
            record(
                conn,
                piece_id=pid,
                campaign_id=cid,
                decision=entry.decision,
                by=entry.by,
                at=now,
                text=text_sha256(row),
                reason=entry.note,
                source=f"yaml:{path.name}",
                decision_id=did,
            )
            imported += 1
    return imported, problems


class NoBriefError(ValueError):
    """The piece's campaign has no registered brief, so a person's edit cannot be re-checked by QA."""


def qa_edit(
    conn: duckdb.DuckDBPyConnection, row: Mapping[str, Any], new_text: str, brand_file: Path
) -> dict[str, Any]:
    """QA of a person's edit with the campaign's context: score, summary and the legal/factual gate
    (``passed`` is False while the edit fails either). Used by ``splants review edit`` and the desk."""
    from splants_dagster.campaigns.briefs import CampaignBrief, load_brand
    from splants_dagster.qa.campaign import qa_context_for
    from splants_dagster.qa.engine import evaluate
    from splants_dagster.qa.model import QAText, spec_for

    found = conn.execute(
        "SELECT brief_json FROM campaigns WHERE campaign_id = ?", [row["campaign_id"]]
    ).fetchone()
    if not found or not found[0]:
        raise NoBriefError(f"campaign {row['campaign_id']} has no registered brief: cannot QA the edit")
    brief = CampaignBrief.model_validate_json(found[0])
    brand = load_brand(brand_file)
    sources = {
        ref: (text, role)
        for ref, text, role in conn.execute(
            "SELECT ref, text, role FROM research_sources WHERE campaign_id = ? AND ok", [row["campaign_id"]]
        ).fetchall()
    }
    ctx = qa_context_for(
        brief,
        brand,
        {k: v[0] for k, v in sources.items()},
        roles={k: v[1] or "reference" for k, v in sources.items()},
    )
    spec = spec_for(row["campaign_id"], row["platform"], row["content_type"], brief.word_targets())
    evaluation = evaluate(QAText.from_row({**row, "body": new_text}, spec), ctx)
    gate = [
        name
        for name in ("legal", "factual")
        if name in evaluation.checks and not evaluation.checks[name].passed
    ]
    return {"score": evaluation.score, "passed": not gate, "summary": evaluation.summary(), "gate": gate}


@dataclass
class ApprovalOutcome:
    """What :func:`approve_pieces` did with each id: approved, skipped (with why) or refused (with why)."""

    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def record_edit(
    conn: duckdb.DuckDBPyConnection,
    row: dict[str, Any],
    text: str,
    *,
    by: str,
    qa: Mapping[str, Any],
    source: str = "cli",
    reason: str | None = None,
) -> str:
    """Record a person's edit of the piece in ``row`` (its QA re-check, :func:`qa_edit`, in ``qa``): the
    decision holds for the edited text's SHA-256. One rule for ``splants review edit`` and the desk."""
    return record(
        conn,
        piece_id=row["piece_id"],
        campaign_id=row["campaign_id"],
        decision="edit",
        by=by,
        at=dt.datetime.now(dt.UTC),
        text=text_sha256(with_edit(row, {"edited_text": text})),
        reason=reason,
        edited_text=text,
        qa=qa,
        source=source,
    )


def approve_pieces(
    conn: duckdb.DuckDBPyConnection,
    piece_ids: Sequence[str],
    *,
    by: str,
    at: dt.datetime,
    reason: str | None = None,
    source: str = "cli",
    skip_rejected: bool = False,
) -> ApprovalOutcome:
    """Approve the current text of each piece, in one write session (``splants review approve`` and the
    desk): skipped when already approved (and, with ``skip_rejected``, when rejected), refused while the
    piece fails the legal/factual gate or does not exist."""
    ids = list(dict.fromkeys(piece_ids))
    out = ApprovalOutcome()
    rows = pieces(conn, ids)
    decided = reviews_by_piece(conn, ids)
    for pid in ids:
        row = rows.get(pid)
        if row is None:
            out.refused.append((pid, "no such piece"))
            continue
        current, _ = review_state(row, decided.get(pid))
        if current == "approved":
            out.skipped.append((pid, "already approved"))
            continue
        if skip_rejected and current == "rejected":
            out.skipped.append((pid, "rejected (approve it by id to override)"))
            continue
        problems = gate_problems(conn, row, decided.get(pid))
        if problems:
            out.refused.append((pid, "; ".join(problems)))
            continue
        record(
            conn,
            piece_id=pid,
            campaign_id=row["campaign_id"],
            decision="approve",
            by=by,
            at=at,
            text=text_sha256(row),
            reason=reason,
            source=source,
        )
        out.done.append(pid)
    return out
