"""One publishing batch: every due, approved item through its publisher, exactly once where the platform
allows it and at most once everywhere. The Dagster step (``publications`` asset) and ``splants publish``
both call :func:`publish_due`.

Before anything is sent to a real platform (not the outbox) the review gate (``publishing/review.py``)
decides whether it may go: a person approved this exact text, or its channel is in ``auto`` mode; never
template/offline text unless allowed. A held item is recorded as ``pending_review`` (or ``rejected``,
``held``) with ``held_reason``, and checked again by every batch. Entries of ``reviews/<campaign>.yaml``
are imported as decisions at the start of a batch.

Per item, each warehouse write is its own short ``store.write()`` session, never held during a call:

1. An item left ``in_flight`` (the last run died mid-call), or flagged ``outcome_unknown``, is reconciled
   first: platforms with a lookup say whether it exists (then it is marked published, or sent again,
   resuming from its checkpoints); platforms without one flag it for review and it is not sent again.
2. ``claim``: ``in_flight`` + attempt number is committed before the remote call.
3. The publisher runs; multi-step publishers checkpoint ids as they get them.
4. The outcome is committed: ``published`` (with the ``content.published`` webhook event queued in the same
   session), ``failed`` with ``next_attempt_at`` (429/5xx: only this item waits), or ``needs_review``.

Re-promotions planned by the engagement anomaly sensor (``engagement_boosts``) are scheduled at the start
of each batch (``state.schedule_boosts``) and then handled like any item, with their own idempotency key
and state row (``boost_publications``); they go to the outbox unless ``boosts="platform"``.

A file lock (``warehouse/.publish.lock``) keeps two publishers (a Dagster run and the CLI) from working at
the same time; a run that finds it taken does nothing and says so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from splants_dagster.publishing import review, state
from splants_dagster.publishing.base import (
    OutcomeUnknown,
    Permanent,
    Publisher,
    PublishError,
    PublishItem,
    PublishResult,
)
from splants_dagster.publishing.config import PublisherSet
from splants_dagster.publishing.webhooks import event_body

Log = Callable[[str, str], None]
EVENT_PUBLISHED = "content.published"
BOOST_OUTBOX = "re-promotion (engagement boost): the outbox unless SPLANTS_BOOST_PUBLISHER=platform"


def _publisher_for(pset: PublisherSet, row: dict[str, Any], boosts: str) -> tuple[Publisher, str | None]:
    """The platform's publisher (or the outbox fallback); a re-promotion goes to the outbox unless
    ``boosts`` is ``platform``."""
    if row.get("boost_id") and boosts != "platform":
        assert pset.outbox is not None
        return pset.outbox, BOOST_OUTBOX
    return pset.for_platform(row["platform"])


def _no_log(level: str, message: str) -> None:
    pass


@dataclass
class ItemOutcome:
    piece_id: str
    platform: str
    publisher: str
    outcome: str  # published | reconciled | retry_later | review | held | dry_run | skipped
    idempotency_key: str = ""
    remote_id: str | None = None
    url: str | None = None
    error: str | None = None
    retry_at: str | None = None
    fallback: str | None = None
    preview: dict[str, Any] | None = None


@dataclass
class BatchReport:
    started_at: dt.datetime
    dry_run: bool = False
    items: list[ItemOutcome] = field(default_factory=list)
    skipped_reason: str | None = None
    webhooks: Counter = field(default_factory=Counter)
    publishers: list[dict[str, str]] = field(default_factory=list)
    webhook_note: str = ""

    @property
    def counts(self) -> Counter:
        return Counter(i.outcome for i in self.items)

    @property
    def failed(self) -> list[ItemOutcome]:
        return [i for i in self.items if i.outcome in ("retry_later", "review")]

    def rows(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in asdict(i).items() if k != "preview"} for i in self.items]


@contextlib.contextmanager
def publish_lock(path: Path, timeout_s: float = 0.0) -> Iterator[bool]:
    """Yields True when this process holds the publishing lock, False when another one does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    held = False
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.1)
        yield held
    finally:
        if held:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _backoff(pset: PublisherSet, attempts: int, retry_after: float | None) -> float:
    s = pset.settings
    delay = min(s.retry_max_s, s.retry_base_s * 2 ** max(0, attempts - 1))
    return max(delay, retry_after or 0.0)


def _event_data(
    item: PublishItem, publisher: str, result: PublishResult, now: dt.datetime, fallback: str | None
) -> dict:
    return {
        "idempotency_key": item.idempotency_key,
        "piece_id": item.piece_id,
        "campaign_id": item.campaign_id,
        "platform": item.platform,
        "content_type": item.content_type,
        "title": item.title,
        "publisher": publisher,
        "outbox": publisher == "outbox",
        "outbox_reason": fallback,
        "remote_id": result.remote_id,
        "url": result.url,
        "scheduled_for": item.publish_at.astimezone(dt.UTC).isoformat(),
        "published_at": now.astimezone(dt.UTC).isoformat(),
    }


class _Batch:
    def __init__(
        self,
        store,
        pset: PublisherSet,
        report: BatchReport,
        run_id: str | None,
        log: Log,
        clock,
        boosts: str = "outbox",
        reviews: dict[str, review.PieceReview] | None = None,
    ):
        self.reviews = reviews or {}
        self.store = store
        self.pset = pset
        self.report = report
        self.run_id = run_id
        self.log = log
        self.clock = clock
        self.boosts = boosts

    def _outcome(
        self, item: PublishItem, publisher: Publisher, outcome: str, fallback: str | None, **fields: Any
    ) -> None:
        self.report.items.append(
            ItemOutcome(
                item.piece_id,
                item.platform,
                publisher.name,
                outcome,
                item.idempotency_key,
                fallback=fallback,
                **fields,
            )
        )

    def _unknown_for_review(
        self,
        item: PublishItem,
        publisher: Publisher,
        note: str,
        fallback: str | None,
        now: dt.datetime,
        progress: dict[str, Any] | None = None,
    ) -> None:
        """An item whose outcome cannot be known waits for a person (``splants publish resolve``); it is
        not sent again. ``progress``: what to keep (default: what is recorded)."""
        with self.store.write() as conn:
            if progress is None:
                progress = state.progress_of(state.load(conn, item.idempotency_key))
            state.mark_unknown_for_review(conn, item, note, now, progress)
        self.log("warning", f"{item.piece_id} on {item.platform}: {note}")
        self._outcome(item, publisher, "review", fallback, error=note)

    def _published(
        self,
        item: PublishItem,
        publisher: Publisher,
        result: PublishResult,
        fallback: str | None,
        outcome: str,
        boost_id: str | None = None,
    ) -> None:
        now = self.clock()
        with self.store.write() as conn:
            state.mark_published(conn, item, publisher.name, result, now, fallback)
            if self.pset.webhooks:
                eid = state.event_id(item.idempotency_key, EVENT_PUBLISHED)
                data = _event_data(item, publisher.name, result, now, fallback)
                if boost_id:
                    data["boost_id"] = boost_id  # a re-promotion of piece_id
                body = event_body(eid, EVENT_PUBLISHED, now.astimezone(dt.UTC).isoformat(), data)
                state.enqueue_event(conn, item, EVENT_PUBLISHED, body, list(self.pset.webhooks.refs), now)
        where = f" → {result.url}" if result.url else ""
        verb = "already there (reconciled)" if outcome == "reconciled" else "published"
        self.log("info", f"{item.piece_id} on {item.platform} via {publisher.name}: {verb}{where}")
        self._outcome(item, publisher, outcome, fallback, remote_id=result.remote_id, url=result.url)

    def _failed(
        self, item: PublishItem, publisher: Publisher, err: PublishError, attempts: int, fallback: str | None
    ) -> None:
        now = self.clock()
        message = self.pset.redact(err.message)
        unknown = isinstance(err, OutcomeUnknown)
        if unknown and not publisher.can_reconcile:
            note = (
                f"outcome unknown ({message}); {publisher.name} has no lookup, so it is not re-sent: check the "
                "platform, then `splants publish resolve`"
            )
            self._unknown_for_review(item, publisher, note, fallback, now)
            return
        too_many = attempts >= self.pset.settings.max_attempts
        review = isinstance(err, Permanent) or too_many
        retry_at = (
            None if review else now + dt.timedelta(seconds=_backoff(self.pset, attempts, err.retry_after))
        )
        if too_many and not isinstance(err, Permanent):
            message = f"{message} (gave up after {attempts} attempts)"
        with self.store.write() as conn:
            state.mark_failed(conn, item, message, now, retry_at, review, outcome_unknown=unknown)
        level = "error" if review else "warning"
        tail = "marked for review" if review else f"retry at {retry_at:%Y-%m-%d %H:%M:%S} UTC"
        self.log(level, f"{item.piece_id} on {item.platform} via {publisher.name}: {message}; {tail}")
        self._outcome(
            item,
            publisher,
            "review" if review else "retry_later",
            fallback,
            error=message,
            retry_at=retry_at.isoformat() if retry_at else None,
        )

    def hold(self, row: dict[str, Any], publisher: Publisher) -> tuple[str, str] | None:
        """The review gate for an item nothing has been sent for yet (an item in flight, or of unknown
        outcome, may already be out there: it is reconciled whatever the gate says)."""
        if row.get("status") == "in_flight" or row.get("outcome_unknown"):
            return None
        outbox = publisher is self.pset.outbox
        policy = self.pset.settings.review
        held = review.hold(row, self.reviews.get(row["piece_id"]), policy, outbox=outbox)
        if held is not None or outbox:
            return held
        held = review.variant_hold(row.get("variants") or [], self.reviews, policy, row["platform"])
        if held is not None:
            return held
        problem = publisher.audience_problem(state.item_from_row(row))
        return (review.HELD, review.AUDIENCE.format(problem=problem)) if problem else None

    def run_item(self, row: dict[str, Any]) -> None:
        item = state.item_from_row(row)
        publisher, fallback = _publisher_for(self.pset, row, self.boosts)
        boost_id = row.get("boost_id")
        held = self.hold(row, publisher)
        if held is not None:
            status, reason = held
            with self.store.write() as conn:
                state.mark_held(conn, item, publisher.name, status, reason, self.clock())
            self.log("info", f"{item.piece_id} on {item.platform}: {status}: {reason}")
            self._outcome(item, publisher, "held", fallback, error=reason)
            return
        progress = state.progress_of(row)
        needs_lookup = (
            row.get("status") == "in_flight"
            or row.get("outcome_unknown")
            or (publisher.can_reconcile and int(row.get("attempts") or 0) > 0)
        )
        if needs_lookup:
            try:
                rec = publisher.reconcile(item, progress)
            except PublishError as err:
                # the lookup itself failed: keep the item as it is and try again later
                now = self.clock()
                retry_at = now + dt.timedelta(seconds=_backoff(self.pset, 1, err.retry_after))
                message = self.pset.redact(f"reconcile: {err.message}")
                with self.store.write() as conn:
                    conn.execute(
                        f"UPDATE {state.table_for(conn, item.idempotency_key)} SET last_error = ?,"
                        " next_attempt_at = ?, updated_at = ? WHERE idempotency_key = ?",
                        [message, retry_at, now, item.idempotency_key],
                    )
                self.log(
                    "warning",
                    f"{item.piece_id} on {item.platform}: {message}; retry at {retry_at:%H:%M:%S} UTC",
                )
                self._outcome(
                    item, publisher, "retry_later", fallback, error=message, retry_at=retry_at.isoformat()
                )
                return
            if rec.state == "found" and rec.result is not None:
                self._published(item, publisher, rec.result, fallback, "reconciled", boost_id)
                return
            if rec.state == "unknown":
                note = self.pset.redact(rec.note)
                self._unknown_for_review(
                    item, publisher, note, fallback, self.clock(), rec.progress or progress
                )
                return
            if rec.progress is not None:
                progress = rec.progress
            if rec.note:
                self.log("info", f"{item.piece_id} on {item.platform}: {rec.note}")

        progress = {**publisher.claim_progress(item), **progress}
        with self.store.write() as conn:
            attempts = state.claim(conn, item, publisher.name, self.clock(), self.run_id, progress, fallback)

        def checkpoint(new_progress: dict[str, Any]) -> None:
            with self.store.write() as conn:
                state.save_progress(conn, item.idempotency_key, new_progress, self.clock())

        try:
            result = publisher.publish(item, dict(progress), checkpoint)
        except PublishError as err:
            self._failed(item, publisher, err, attempts, fallback)
            return
        except Exception as exc:  # a bug after the request may have been processed: treat as unknown
            unknown = OutcomeUnknown(f"{type(exc).__name__}: {exc}")
            self._failed(item, publisher, unknown, attempts, fallback)
            return
        self._published(item, publisher, result, fallback, "published", boost_id)

    def deliver_webhooks(self) -> None:
        sender = self.pset.webhooks
        if sender is None:
            return
        with self.store.write() as conn:
            rows = state.due_webhooks(conn, self.clock())
        refs = sender.refs
        per_round = max(1, sender.attempts)
        max_attempts = per_round * self.pset.settings.webhook_max_rounds
        for row in rows:
            url = refs.get(row["url_ref"])
            now = self.clock()
            if url is None:
                with self.store.write() as conn:
                    state.record_delivery(conn, row, [], "dropped", None, now)
                self.report.webhooks["dropped"] += 1
                continue
            attempts = sender.deliver(
                url,
                row["event_id"],
                row["event_type"],
                row["payload"].encode(),
                first_attempt=int(row["attempts"] or 0) + 1,
            )
            total = int(row["attempts"] or 0) + len(attempts)
            last = attempts[-1]
            refused = (
                last.status_code is not None
                and 400 <= last.status_code < 500
                and last.status_code not in (408, 429)
            )
            if last.ok:
                status, retry_at = "delivered", None
            elif refused or total >= max_attempts:
                status, retry_at = "failed", None
            else:
                delay = min(3600.0, 60.0 * 2 ** (total // per_round - 1))
                status, retry_at = "pending", now + dt.timedelta(seconds=max(delay, last.retry_after or 0))
            with self.store.write() as conn:
                state.record_delivery(conn, row, attempts, status, retry_at, self.clock())
            self.report.webhooks[status] += 1
            if status != "delivered":
                self.log("warning", f"webhook {row['event_id']} to {row['url_ref']}: {status} ({last.error})")


def _rows_for_review(
    conn, store, started, campaign, force_now, clock, log: Log
) -> tuple[list[dict[str, Any]], dict[str, review.PieceReview]]:
    """Imports the review files' new entries, then the due rows with each person's latest edit applied
    (not to a re-promotion, whose text is its own) and the decisions by piece."""
    reviews_dir = store.paths.reviews_dir
    if reviews_dir.is_dir():
        campaigns = [p.stem for p in reviews_dir.glob("*.yaml")]
        imported, problems = review.import_yaml(conn, reviews_dir, campaigns, clock())
        if imported:
            log("info", f"{imported} review decision(s) imported from {reviews_dir}")
        for problem in problems:
            log("warning", f"review file: {problem}")
    rows = state.due_rows(conn, started, campaign, force_now)
    ids = {r["piece_id"] for r in rows} | {v["piece_id"] for r in rows for v in r.get("variants") or ()}
    reviews = review.reviews_by_piece(conn, ids)
    out = []
    for row in rows:
        decided = reviews.get(row["piece_id"])
        row = row if row.get("boost_id") or decided is None else review.with_edit(row, decided.edit)
        if row.get("variants"):  # a platform-split email: variants with their edits, rejected ones left out
            kept = []
            for v in row["variants"]:
                v_review = reviews.get(v["piece_id"])
                if review.review_state(v, v_review)[0] == "rejected":
                    log(
                        "info",
                        f"{row['piece_id']}: A/B variant {v['piece_id']} rejected: left out of the test",
                    )
                    continue
                kept.append(review.with_edit(v, v_review.edit) if v_review else v)
            row = {**row, "variants": kept, "ab_design": "platform_split" if kept else None}
        out.append(row)
    return out, reviews


def publish_due(
    store,
    pset: PublisherSet,
    *,
    now: dt.datetime | None = None,
    campaign: str | None = None,
    force_now: bool = False,
    dry_run: bool = False,
    run_id: str | None = None,
    log: Log | None = None,
    lock_timeout_s: float = 5.0,
    clock: Callable[[], dt.datetime] | None = None,
    boosts: str = "outbox",
) -> BatchReport:
    """Publish every due item (``force_now``: every approved, unpublished item) of ``campaign`` or all,
    re-promotions (engagement boosts) included: through the outbox, or their platform's publisher when
    ``boosts`` is ``platform``."""
    clock = clock or (lambda: dt.datetime.now(dt.UTC))
    log = log or _no_log
    started = now or clock()
    report = BatchReport(
        started_at=started, dry_run=dry_run, publishers=pset.summary(), webhook_note=pset.webhook_note
    )

    if dry_run:
        with store.write() as conn:
            state.schedule_boosts(conn, clock())
            rows, reviews = _rows_for_review(conn, store, started, campaign, force_now, clock, log)
            gate = _Batch(store, pset, report, run_id, log, clock, boosts, reviews)
            for row in rows:
                item = state.item_from_row(row)
                publisher, fallback = _publisher_for(pset, row, boosts)
                held = gate.hold(row, publisher)
                if held is not None:  # shown (what would go once approved), not recorded
                    gate._outcome(
                        item,
                        publisher,
                        "held",
                        fallback,
                        error=f"{held[0]}: {held[1]}",
                        preview=publisher.describe(item),
                    )
                    log("info", f"[dry run] {item.piece_id} on {item.platform}: would be held ({held[1]})")
                    continue
                preview = publisher.describe(item)
                recorded = state.mark_dry_run(conn, item, publisher.name, preview, clock(), fallback)
                report.items.append(
                    ItemOutcome(
                        item.piece_id,
                        item.platform,
                        publisher.name,
                        "dry_run",
                        item.idempotency_key,
                        fallback=fallback,
                        preview=preview,
                        error=None if recorded else f"state kept: {row.get('status')}",
                    )
                )
                log(
                    "info",
                    f"[dry run] {item.piece_id} on {item.platform} via {publisher.name}"
                    + (f" (outbox: {fallback})" if fallback else "")
                    + ": "
                    + pset.redact(json.dumps(preview, default=str)[:800]),
                )
        return report

    lock_path = store.paths.warehouse_dir / ".publish.lock"
    with publish_lock(lock_path, lock_timeout_s) as locked:
        if not locked:
            report.skipped_reason = f"another publishing run holds {lock_path}; nothing done"
            log("warning", report.skipped_reason)
            return report
        with store.write() as conn:
            scheduled = state.schedule_boosts(conn, clock())
            rows, reviews = _rows_for_review(conn, store, started, campaign, force_now, clock, log)
        if scheduled:
            log("info", f"{scheduled} re-promotion(s) scheduled from engagement boosts")
        log("info", f"{len(rows)} item(s) due" + (f" in campaign {campaign}" if campaign else ""))
        batch = _Batch(store, pset, report, run_id, log, clock, boosts, reviews)
        for row in rows:
            batch.run_item(row)
        batch.deliver_webhooks()
    return report
