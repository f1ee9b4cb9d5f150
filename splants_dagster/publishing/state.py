"""The publication state machine in the warehouse: one row per (piece, platform), keyed by its
idempotency key. Every function takes a connection of a ``Warehouse.write()`` session (``USE core`` set);
callers keep those sessions short and never hold one during a network call.

    pending ──claim──▶ in_flight ──▶ published
                          │  ├──▶ failed (Retryable: next_attempt_at) ──claim──▶ in_flight ...
                          │  └──▶ failed + needs_review (Permanent, or too many attempts)
                          └── run died: next run reconciles ──▶ published | claim again | needs_review
    pending ──dry run──▶ dry_run (a real run still publishes it)
    pending ──review gate──▶ pending_review | rejected | held (publishing/review.py; re-checked every batch)

Re-promotions planned by the engagement anomaly sensor (``engagement_boosts``) go through the same state
machine in their own table, ``boost_publications`` (one row per boost, key per piece × platform × boost),
so ``publications`` stays one row per (piece, platform). :func:`schedule_boosts` turns planned boosts into
pending rows (boost ``planned`` → ``scheduled``); publishing one marks its boost ``published``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import duckdb

from splants_dagster.publishing.base import ABVariant, PublishItem, PublishResult, idempotency_key
from splants_dagster.publishing.utm import tag_item
from splants_dagster.warehouse.store import dict_rows, scalar

PUBLISHABLE = ("approved", "auto_fixed")
PUBLICATIONS = "publications"
BOOST_PUBLICATIONS = "boost_publications"


def boost_key(piece_id: str, platform: str, boost_id: str) -> str:
    """The idempotency key of a re-promotion: stable per (piece, platform, boost)."""
    return hashlib.sha256(f"{piece_id}|{platform}|{boost_id}".encode()).hexdigest()[:24]


def table_for(conn: duckdb.DuckDBPyConnection, key: str) -> str:
    """The state table holding ``key``: a re-promotion's row is created (pending) in
    ``boost_publications`` by :func:`schedule_boosts` before any state change; other keys are in
    ``publications``. So the state changes below (and ``splants publish resolve``) serve both."""
    found = scalar(conn, f"SELECT count(*) FROM {BOOST_PUBLICATIONS} WHERE idempotency_key = ?", [key])
    return BOOST_PUBLICATIONS if found else PUBLICATIONS


def publishable_sql(alias: str = "c") -> str:
    """SQL condition: the content piece ``alias`` may be published. Its own QA decision is approved or
    auto_fixed, or a person approved it; a variant QA has not judged separately inherits its parent's decision (QA only derives
    variants from approved pieces)."""
    ok = ", ".join(f"'{s}'" for s in PUBLISHABLE)
    return (
        f"(EXISTS (SELECT 1 FROM qa_status q WHERE q.piece_id = {alias}.piece_id AND q.status IN ({ok}))"
        # a person approved it (``splants review approve``, e.g. a piece QA flagged) and has not rejected it
        # since; QA's rejection stands. The review gate (publishing/review.py) checks the approved text.
        f" OR (EXISTS (SELECT 1 FROM review_decisions d WHERE d.piece_id = {alias}.piece_id"
        " AND d.decision = 'approve' AND NOT EXISTS (SELECT 1 FROM review_decisions r"
        " WHERE r.piece_id = d.piece_id AND r.decision = 'reject' AND r.decided_at >= d.decided_at))"
        f" AND NOT EXISTS (SELECT 1 FROM qa_status q WHERE q.piece_id = {alias}.piece_id AND q.status = 'rejected'))"
        f" OR ({alias}.variant_of IS NOT NULL"
        f" AND NOT EXISTS (SELECT 1 FROM qa_status q WHERE q.piece_id = {alias}.piece_id)"
        f" AND EXISTS (SELECT 1 FROM qa_status q WHERE q.piece_id = {alias}.variant_of AND q.status IN ({ok}))))"
    )


def due_rows(
    conn: duckdb.DuckDBPyConnection,
    now: dt.datetime,
    campaign: str | None = None,
    force_now: bool = False,
) -> list[dict[str, Any]]:
    """Scheduled, approved, unpublished items that are due (or all of them with ``force_now``), plus any
    left in flight by a run that died; an item waiting for ``next_attempt_at`` (including an in-flight one
    whose lookup failed) waits unless ``force_now``. Items marked for review are never picked up.
    Also the re-promotions (planned or scheduled boosts of publishable pieces) due by the same rules; their
    rows carry ``boost_id`` and the boost's text as body."""
    sql = f"""
        SELECT s.piece_id, s.campaign_id, s.platform, s.content_type, s.publish_at,
               c.title, c.body, c.rendered, c.seo_title, c.meta_description, c.subject, c.preheader, c.cta,
               c.hashtags, c.is_pillar, c.variant_of, cp.keywords, cp.brief_json,
               p.idempotency_key, p.status, coalesce(p.attempts, 0) AS attempts, p.progress,
               coalesce(p.outcome_unknown, false) AS outcome_unknown, p.next_attempt_at, p.first_attempt_at,
               NULL::VARCHAR AS boost_id, p.held_reason, p.updated_at AS state_updated_at, s.ab_design,
               c.provider, c.model, c.candidate_strategy, o.provider AS original_provider,
               o.model AS original_model, o.candidate_strategy AS original_candidate_strategy
        FROM schedule s
        JOIN content_pieces c ON c.piece_id = s.piece_id
        LEFT JOIN content_pieces o ON o.piece_id = c.variant_of
        LEFT JOIN campaigns cp ON cp.campaign_id = s.campaign_id
        LEFT JOIN publications p ON p.piece_id = s.piece_id AND p.platform = s.platform
        WHERE {publishable_sql("c")}
          AND coalesce(p.status, 'pending') <> 'published'
          AND NOT coalesce(p.needs_review, false)
          AND (? IS NULL OR s.campaign_id = ?)
          AND (p.status = 'in_flight' OR ? OR s.publish_at <= ?)
          AND (? OR p.next_attempt_at IS NULL OR p.next_attempt_at <= ?)
        UNION ALL BY NAME
        SELECT b.piece_id, coalesce(b.campaign_id, c.campaign_id) AS campaign_id, b.platform, c.content_type,
               coalesce(p.publish_at, b.planned_at) AS publish_at, c.title, b.boost_copy AS body,
               b.boost_copy AS rendered, c.seo_title, c.meta_description, c.subject, c.preheader, c.cta,
               -- the boost's text already carries its hashtags
               []::VARCHAR[] AS hashtags, false AS is_pillar, NULL::VARCHAR AS variant_of, cp.keywords,
               cp.brief_json, p.idempotency_key, p.status, coalesce(p.attempts, 0) AS attempts, p.progress,
               coalesce(p.outcome_unknown, false) AS outcome_unknown, p.next_attempt_at, p.first_attempt_at,
               b.boost_id, p.held_reason, p.updated_at AS state_updated_at, c.provider, c.model,
               c.candidate_strategy
        FROM engagement_boosts b
        JOIN content_pieces c ON c.piece_id = b.piece_id
        LEFT JOIN campaigns cp ON cp.campaign_id = c.campaign_id
        LEFT JOIN {BOOST_PUBLICATIONS} p ON p.boost_id = b.boost_id
        WHERE b.status IN ('planned', 'scheduled') AND b.planned_at IS NOT NULL AND {publishable_sql("c")}
          -- a re-promotion follows the piece's own publication (a dry run is not one)
          AND EXISTS (SELECT 1 FROM publications o WHERE o.piece_id = b.piece_id AND o.platform = b.platform
                      AND o.status = 'published')
          AND coalesce(p.status, 'pending') <> 'published'
          AND NOT coalesce(p.needs_review, false)
          AND (? IS NULL OR c.campaign_id = ?)
          AND (p.status = 'in_flight' OR ? OR coalesce(p.publish_at, b.planned_at) <= ?)
          AND (? OR p.next_attempt_at IS NULL OR p.next_attempt_at <= ?)
        ORDER BY publish_at, piece_id, boost_id NULLS FIRST
    """
    params = [campaign, campaign, force_now, now, force_now, now]
    rows = dict_rows(conn.execute(sql, params + params))
    for row in rows:
        if row.get("ab_design") == "platform_split" and not row.get("boost_id"):
            row["variants"] = variant_rows(conn, row["piece_id"], row["platform"])
    return rows


def variant_rows(conn: duckdb.DuckDBPyConnection, piece_id: str, platform: str) -> list[dict[str, Any]]:
    """The publishable A/B variants a platform-split publication carries (with what the review gate
    needs: the text fields and who wrote them)."""
    return dict_rows(
        conn.execute(
            f"""SELECT c.piece_id, c.title, c.body, c.rendered, c.seo_title, c.meta_description, c.subject,
                       c.preheader, c.cta, c.hashtags, c.provider, c.model, c.candidate_strategy
                FROM content_pieces c
                WHERE c.variant_of = ? AND c.platform = ? AND {publishable_sql("c")}
                ORDER BY c.piece_id""",
            [piece_id, platform],
        )
    )


def item_from_row(row: dict[str, Any]) -> PublishItem:
    brief: dict[str, Any] = {}
    if row.get("brief_json"):
        try:
            loaded = json.loads(row["brief_json"])
            brief = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            brief = {}
    link = brief.get("link")
    publish_at = row["publish_at"]
    if publish_at.tzinfo is None:
        publish_at = publish_at.replace(tzinfo=dt.UTC)
    first = row.get("first_attempt_at")
    key = row.get("idempotency_key") or (
        boost_key(row["piece_id"], row["platform"], row["boost_id"])
        if row.get("boost_id")
        else idempotency_key(row["piece_id"], row["platform"])
    )
    item = PublishItem(
        idempotency_key=key,
        piece_id=row["piece_id"],
        campaign_id=row["campaign_id"],
        platform=row["platform"],
        content_type=row.get("content_type") or "",
        title=row.get("title") or "",
        body=row.get("body") or "",
        rendered=row.get("rendered") or row.get("body") or "",
        publish_at=publish_at,
        seo_title=row.get("seo_title"),
        meta_description=row.get("meta_description"),
        subject=row.get("subject"),
        preheader=row.get("preheader"),
        cta=row.get("cta"),
        hashtags=tuple(row.get("hashtags") or ()),
        keywords=tuple(row.get("keywords") or ()),
        is_pillar=bool(row.get("is_pillar")),
        variant_of=row.get("variant_of"),
        link=link,
        ab_design=row.get("ab_design") if not row.get("boost_id") else None,
        variants=tuple(
            ABVariant(
                v["piece_id"],
                v.get("subject"),
                v.get("preheader"),
                v.get("body") or "",
                v.get("rendered") or v.get("body") or "",
                v.get("title") or "",
            )
            for v in row.get("variants") or ()
        ),
        email_segment=_text(brief.get("email_segment")),
        email_tag=_text(brief.get("email_tag")),
        first_attempt_at=first.replace(tzinfo=dt.UTC)
        if first is not None and first.tzinfo is None
        else first,
    )
    return tag_item(item, brief)  # UTM tags on links to the landing page (publishing/utm.py)


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


def load(conn: duckdb.DuckDBPyConnection, key: str) -> dict[str, Any] | None:
    rows = dict_rows(conn.execute(f"SELECT * FROM {table_for(conn, key)} WHERE idempotency_key = ?", [key]))
    return rows[0] if rows else None


def progress_of(row: dict[str, Any] | None) -> dict[str, Any]:
    if not row or not row.get("progress"):
        return {}
    value = row["progress"]
    return json.loads(value) if isinstance(value, str) else dict(value)


def _upsert(conn: duckdb.DuckDBPyConnection, item: PublishItem, values: dict[str, Any]) -> None:
    base = {
        "idempotency_key": item.idempotency_key,
        "piece_id": item.piece_id,
        "platform": item.platform,
        "campaign_id": item.campaign_id,
        "publish_at": item.publish_at,
    }
    row = {**base, **values}
    cols = list(row)
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "idempotency_key")
    conn.execute(
        f"INSERT INTO {table_for(conn, item.idempotency_key)} ({', '.join(cols)}) "
        f"VALUES ({', '.join('?' for _ in cols)}) "
        f"ON CONFLICT (idempotency_key) DO UPDATE SET {updates}",
        [row[c] for c in cols],
    )


def claim(
    conn: duckdb.DuckDBPyConnection,
    item: PublishItem,
    publisher: str,
    now: dt.datetime,
    run_id: str | None,
    progress: dict[str, Any],
    fallback_reason: str | None,
) -> int:
    """Write ``in_flight`` before the remote call; returns the attempt number."""
    row = load(conn, item.idempotency_key) or {}
    attempts = int(row.get("attempts") or 0) + 1
    _upsert(
        conn,
        item,
        {
            "status": "in_flight",
            "publisher": publisher,
            "attempts": attempts,
            "progress": json.dumps(progress) if progress else None,
            "first_attempt_at": row.get("first_attempt_at") or now,
            "in_flight_since": now,
            "run_id": run_id,
            "fallback_reason": fallback_reason,
            "outcome_unknown": False,
            "needs_review": False,
            "held_reason": None,
            "updated_at": now,
        },
    )
    return attempts


def save_progress(
    conn: duckdb.DuckDBPyConnection, key: str, progress: dict[str, Any], now: dt.datetime
) -> None:
    conn.execute(
        f"UPDATE {table_for(conn, key)} SET progress = ?, updated_at = ? WHERE idempotency_key = ?",
        [json.dumps(progress), now, key],
    )


def mark_published(
    conn: duckdb.DuckDBPyConnection,
    item: PublishItem,
    publisher: str,
    result: PublishResult,
    now: dt.datetime,
    fallback_reason: str | None,
) -> None:
    _upsert(
        conn,
        item,
        {
            "status": "published",
            "publisher": publisher,
            "remote_id": result.remote_id,
            "url": result.url,
            "last_error": None,
            "next_attempt_at": None,
            "needs_review": False,
            "outcome_unknown": False,
            "published_at": now,
            "fallback_reason": fallback_reason,
            "updated_at": now,
        },
    )
    _boost_published(conn, item.idempotency_key)


def _boost_published(conn: duckdb.DuckDBPyConnection, key: str) -> None:
    """A re-promotion that went out: its boost becomes ``published`` (no-op for other keys)."""
    conn.execute(
        f"""
        UPDATE engagement_boosts b SET status = 'published', published_at = p.published_at, url = p.url,
               publisher = p.publisher
        FROM {BOOST_PUBLICATIONS} p
        WHERE p.idempotency_key = ? AND p.status = 'published' AND b.boost_id = p.boost_id
        """,
        [key],
    )


def schedule_boosts(conn: duckdb.DuckDBPyConnection, now: dt.datetime) -> int:
    """Planned re-promotions become pending publications (boost ``planned`` → ``scheduled``, at its
    ``planned_at``); boosts whose publication is published (also by hand) are marked ``published``.
    Idempotent; returns the number of boosts scheduled."""
    planned = dict_rows(
        conn.execute(
            "SELECT b.boost_id, b.piece_id, b.platform, coalesce(b.campaign_id, c.campaign_id) AS campaign_id,"
            " b.planned_at FROM engagement_boosts b LEFT JOIN content_pieces c ON c.piece_id = b.piece_id"
            " WHERE b.status = 'planned' AND b.planned_at IS NOT NULL"
        )
    )
    for b in planned:
        key = boost_key(b["piece_id"], b["platform"], b["boost_id"])
        conn.execute(
            f"INSERT INTO {BOOST_PUBLICATIONS} (idempotency_key, boost_id, piece_id, platform, campaign_id, status,"
            " attempts, publish_at, needs_review, outcome_unknown, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, false, false, ?) ON CONFLICT (idempotency_key) DO NOTHING",
            [key, b["boost_id"], b["piece_id"], b["platform"], b["campaign_id"], b["planned_at"], now],
        )
        conn.execute(
            "UPDATE engagement_boosts SET status = 'scheduled', publication_key = ?, scheduled_at = ?"
            " WHERE boost_id = ? AND status = 'planned'",
            [key, now, b["boost_id"]],
        )
    for (key,) in conn.execute(
        f"SELECT p.idempotency_key FROM {BOOST_PUBLICATIONS} p JOIN engagement_boosts b ON b.boost_id = p.boost_id"
        " WHERE p.status = 'published' AND b.status <> 'published'"
    ).fetchall():
        _boost_published(conn, key)
    return len(planned)


def mark_failed(
    conn: duckdb.DuckDBPyConnection,
    item: PublishItem,
    error: str,
    now: dt.datetime,
    next_attempt_at: dt.datetime | None,
    needs_review: bool,
    outcome_unknown: bool = False,
) -> None:
    conn.execute(
        f"UPDATE {table_for(conn, item.idempotency_key)} SET status = 'failed', last_error = ?,"
        " next_attempt_at = ?, needs_review = ?, outcome_unknown = ?, in_flight_since = NULL, updated_at = ?"
        " WHERE idempotency_key = ?",
        [error[:2000], next_attempt_at, needs_review, outcome_unknown, now, item.idempotency_key],
    )


def mark_unknown_for_review(
    conn: duckdb.DuckDBPyConnection,
    item: PublishItem,
    note: str,
    now: dt.datetime,
    progress: dict[str, Any] | None,
) -> None:
    """The outcome cannot be known and the platform has no lookup: leave it in flight, flag it for a person."""
    _upsert(
        conn,
        item,
        {
            "status": "in_flight",
            "needs_review": True,
            "outcome_unknown": True,
            "last_error": note[:2000],
            "next_attempt_at": None,
            "progress": json.dumps(progress) if progress else None,
            "updated_at": now,
        },
    )


def mark_held(
    conn: duckdb.DuckDBPyConnection,
    item: PublishItem,
    publisher: str,
    status: str,
    reason: str,
    now: dt.datetime,
) -> None:
    """Held before any platform call (``pending_review`` | ``rejected`` | ``held``) and why; attempts and
    progress of earlier attempts are kept. Nothing is written when the row already says exactly that."""
    row = load(conn, item.idempotency_key) or {}
    if row.get("status") == status and row.get("held_reason") == reason:
        return
    _upsert(
        conn,
        item,
        {
            "status": status,
            "publisher": publisher,
            "held_reason": reason[:2000],
            "attempts": int(row.get("attempts") or 0),
            "next_attempt_at": None,
            "updated_at": now,
        },
    )


def mark_dry_run(
    conn: duckdb.DuckDBPyConnection,
    item: PublishItem,
    publisher: str,
    payload: dict[str, Any],
    now: dt.datetime,
    fallback_reason: str | None,
) -> bool:
    """Record what a dry run would send; only touches items nothing real has happened to yet."""
    row = load(conn, item.idempotency_key)
    if row and row.get("status") not in (None, "pending", "dry_run"):
        return False
    _upsert(
        conn,
        item,
        {
            "status": "dry_run",
            "publisher": publisher,
            "dry_run_payload": json.dumps(payload, default=str),
            "fallback_reason": fallback_reason,
            "attempts": int((row or {}).get("attempts") or 0),
            "updated_at": now,
        },
    )
    return True


def ensure_pending(conn: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], now: dt.datetime) -> int:
    """A ``pending`` row for every newly scheduled (piece, platform); existing rows keep their state."""
    added = 0
    for r in rows:
        key = idempotency_key(r["piece_id"], r["platform"])
        before = scalar(conn, "SELECT count(*) FROM publications WHERE idempotency_key = ?", [key])
        if before:
            conn.execute(
                "UPDATE publications SET publish_at = ? WHERE idempotency_key = ?"
                " AND status IN ('pending', 'dry_run', 'failed', 'pending_review', 'held', 'rejected')",
                [r["publish_at"], key],
            )
            continue
        conn.execute(
            "INSERT INTO publications (idempotency_key, piece_id, platform, campaign_id, status, attempts, publish_at,"
            " needs_review, outcome_unknown, updated_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, false, false, ?)",
            [key, r["piece_id"], r["platform"], r["campaign_id"], r["publish_at"], now],
        )
        added += 1
    return added


def event_id(key: str, event_type: str) -> str:
    return "evt_" + hashlib.sha256(f"{key}|{event_type}".encode()).hexdigest()[:24]


def enqueue_event(
    conn: duckdb.DuckDBPyConnection,
    item: PublishItem,
    event_type: str,
    body: bytes,
    url_refs: list[str],
    now: dt.datetime,
) -> str:
    """One queue row per endpoint, in the same session as the state change that caused the event."""
    eid = event_id(item.idempotency_key, event_type)
    for ref in url_refs:
        conn.execute(
            "INSERT INTO webhook_queue (event_id, url_ref, event_type, piece_id, platform, idempotency_key, payload,"
            " status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)"
            " ON CONFLICT (event_id, url_ref) DO NOTHING",
            [
                eid,
                ref,
                event_type,
                item.piece_id,
                item.platform,
                item.idempotency_key,
                body.decode(),
                now,
                now,
            ],
        )
    return eid


def due_webhooks(conn: duckdb.DuckDBPyConnection, now: dt.datetime) -> list[dict[str, Any]]:
    return dict_rows(
        conn.execute(
            "SELECT * FROM webhook_queue WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
            " ORDER BY created_at, event_id, url_ref",
            [now],
        )
    )


def record_delivery(
    conn: duckdb.DuckDBPyConnection,
    row: dict[str, Any],
    attempts: list[Any],
    status: str,
    next_attempt_at: dt.datetime | None,
    now: dt.datetime,
) -> None:
    for a in attempts:
        conn.execute(
            "INSERT INTO webhook_deliveries (event_id, url_ref, event_type, attempt, status_code, ok, error, duration_ms,"
            " attempted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                row["event_id"],
                row["url_ref"],
                row["event_type"],
                a.attempt,
                a.status_code,
                a.ok,
                a.error,
                a.duration_ms,
                now,
            ],
        )
    last_error = next((a.error for a in reversed(attempts) if a.error), None)
    conn.execute(
        "UPDATE webhook_queue SET status = ?, attempts = attempts + ?, next_attempt_at = ?, last_error = ?,"
        " delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END WHERE event_id = ? AND url_ref = ?",
        [status, len(attempts), next_attempt_at, last_error, status, now, row["event_id"], row["url_ref"]],
    )


REVIEW_COLUMNS = "idempotency_key, piece_id, platform, publisher, status, attempts, last_error"


def review_rows(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The items waiting for a person, of both tables (``boost_id`` set for a re-promotion), by piece;
    :func:`resolve` takes any of their keys."""
    return dict_rows(
        conn.execute(
            f"SELECT {REVIEW_COLUMNS}, NULL AS boost_id FROM {PUBLICATIONS} WHERE needs_review"
            f" UNION ALL SELECT {REVIEW_COLUMNS}, boost_id FROM {BOOST_PUBLICATIONS} WHERE needs_review"
            " ORDER BY piece_id, boost_id NULLS FIRST, platform"
        )
    )


def resolve(
    conn: duckdb.DuckDBPyConnection,
    key: str,
    *,
    published: bool,
    now: dt.datetime,
    remote_id: str | None = None,
    url: str | None = None,
) -> dict[str, Any] | None:
    """A person's decision on an item marked for review: it is out there (published) or it is not
    (retry: back to pending, keeping the progress of confirmed parts)."""
    row = load(conn, key)
    if row is None:
        return None
    table = table_for(conn, key)
    if published:
        conn.execute(
            f"UPDATE {table} SET status = 'published', needs_review = false, outcome_unknown = false,"
            " remote_id = coalesce(?, remote_id), url = coalesce(?, url), published_at = coalesce(published_at, ?),"
            " last_error = 'resolved by hand: published', next_attempt_at = NULL, updated_at = ? WHERE idempotency_key = ?",
            [remote_id, url, now, now, key],
        )
        _boost_published(conn, key)
    else:
        conn.execute(
            f"UPDATE {table} SET status = 'pending', needs_review = false, outcome_unknown = false,"
            " next_attempt_at = NULL, last_error = 'resolved by hand: retry', updated_at = ? WHERE idempotency_key = ?",
            [now, key],
        )
    return load(conn, key)
