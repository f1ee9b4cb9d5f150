"""Re-promotions: a boost planned by the engagement anomaly sensor is scheduled and sent by the publishing
step through the exactly-once path (the outbox by default), and its status moves planned → scheduled →
published."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from splants_dagster.cli import app
from splants_dagster.publishing import state
from splants_dagster.publishing.base import idempotency_key
from splants_dagster.publishing.config import build_publishers
from splants_dagster.publishing.runner import BOOST_OUTBOX, publish_due
from splants_dagster_tests.publishing.fakes import FakeWebhookReceiver, FakeX
from splants_dagster_tests.publishing.seeding import piece, publications, seed, settings

NOW = dt.datetime(2026, 1, 6, 12, tzinfo=dt.UTC)
SLOT = NOW + dt.timedelta(hours=3)
BOOST_COPY = "Quick question: what would make compostable pods worth your time? Pre-order now #HearthAndBean"


def run(store, s, when, **kw):
    pset = build_publishers(s)
    try:
        return publish_due(store, pset, now=when, clock=lambda: when, **kw)
    finally:
        pset.close()


def plan_boost(store, piece_id: str, platform: str = "twitter", boost_id: str = "boost-abc") -> None:
    """What the ``engagement_boosts`` asset writes for an under-performing piece."""
    with store.write() as conn:
        conn.execute(
            "INSERT INTO engagement_boosts (boost_id, piece_id, campaign_id, platform, action, rules, planned_at,"
            " slot_reason, boost_copy, status, created_at) VALUES (?, ?, 'pods-test', ?, 're_promote',"
            " ['low_engagement'], ?, 'best slot by data', ?, 'planned', ?)",
            [boost_id, piece_id, platform, SLOT, BOOST_COPY, NOW],
        )


def boost(store, boost_id: str = "boost-abc") -> dict:
    return store.query("SELECT * FROM analytics.engagement_boosts WHERE boost_id = ?", [boost_id])[0]


@pytest.fixture
def x():
    with FakeX() as fake:
        yield fake


def test_a_boost_is_scheduled_then_sent_once_through_the_outbox(store, data_dir, x):
    [pid] = seed(store, [piece("twitter", 1)])
    with FakeWebhookReceiver() as hooks:
        s = settings(data_dir, x=x, hooks=hooks)
        assert run(store, s, NOW).counts == {"published": 1}  # the piece itself, on X
        tweets = len(x.tweets)
        plan_boost(store, pid)

        # the next batch schedules it (its own key and state row), and waits for its slot
        report = run(store, s, NOW + dt.timedelta(minutes=5))
        assert report.items == []
        scheduled = boost(store)
        key = state.boost_key(pid, "twitter", "boost-abc")
        assert scheduled["status"] == "scheduled" and scheduled["publication_key"] == key
        (row,) = store.query("SELECT * FROM analytics.boost_publications")
        assert (row["status"], row["idempotency_key"], row["publish_at"]) == ("pending", key, SLOT)
        assert key != idempotency_key(pid, "twitter")
        with store.read() as conn:
            assert [r["boost_id"] for r in state.due_rows(conn, SLOT)] == ["boost-abc"]

        # at its slot: sent once, through the outbox although X is configured
        report = run(store, s, SLOT + dt.timedelta(minutes=1))
        (item,) = report.items
        assert (item.outcome, item.publisher, item.idempotency_key) == ("published", "outbox", key)
        assert item.fallback == BOOST_OUTBOX and len(x.tweets) == tweets
        sent = boost(store)
        assert (sent["status"], sent["publisher"]) == ("published", "outbox")
        assert sent["published_at"] == SLOT + dt.timedelta(minutes=1) and sent["url"].endswith(".md")
        files = sorted((data_dir / "outbox" / "twitter").glob("*.md"))
        assert [f for f in files if BOOST_COPY in f.read_text()] and str(files[0]) in sent["url"]
        meta = json.loads(next((data_dir / "outbox" / "twitter").glob("*.json")).read_text())
        assert meta["idempotency_key"] == key and meta["piece_id"] == pid
        # publications stays one row per (piece, platform)
        assert list(publications(store)) == [pid] and publications(store)[pid]["publisher"] == "x"
        # content.published for the re-promotion says which boost it is
        (event,) = [e for e in hooks.events if e["data"]["idempotency_key"] == key]
        assert event["data"]["boost_id"] == "boost-abc" and event["data"]["outbox"] is True

        # nothing twice, whatever runs next
        assert run(store, s, SLOT + dt.timedelta(days=1), force_now=True).items == []
        assert len(list((data_dir / "outbox" / "twitter").glob("*.md"))) == 1


def test_platform_mode_sends_the_boost_with_the_platform_publisher(store, data_dir, x):
    [pid] = seed(store, [piece("twitter", 1)])
    s = settings(data_dir, x=x)
    run(store, s, NOW)
    plan_boost(store, pid)
    report = run(store, s, SLOT, boosts="platform")
    (item,) = report.items
    assert (item.outcome, item.publisher, item.fallback) == ("published", "x", None)
    assert any(t["text"] == BOOST_COPY for t in x.tweets.values())
    assert (boost(store)["status"], boost(store)["publisher"]) == ("published", "x")


def test_an_interrupted_boost_is_reconciled_not_sent_twice(store, data_dir):
    [pid] = seed(store, [piece("linkedin", 1)])
    s = settings(data_dir)  # no credentials: everything to the outbox
    run(store, s, NOW)
    plan_boost(store, pid, "linkedin")
    run(store, s, NOW + dt.timedelta(minutes=5))  # scheduled
    # a run claimed it and died after writing the outbox files
    with store.write() as conn:
        (row,) = state.due_rows(conn, SLOT)
        item = state.item_from_row(row)
        pset = build_publishers(s)
        progress = pset.outbox.claim_progress(item)
        state.claim(conn, item, "outbox", SLOT, "dead-run", progress, BOOST_OUTBOX)
        pset.outbox.publish(item, progress, lambda _: None)
        pset.close()
    assert boost(store)["status"] == "scheduled"
    report = run(store, s, SLOT + dt.timedelta(minutes=2))
    assert [i.outcome for i in report.items] == ["reconciled"]
    assert boost(store)["status"] == "published"
    assert len(list((data_dir / "outbox" / "linkedin").glob("*.json"))) == 2  # the piece and its boost


def test_a_boost_resolved_by_hand_is_published_and_unapproved_pieces_are_not_boosted(store, data_dir):
    [pid, rejected] = seed(store, [piece("twitter", 1), piece("twitter", 2, qa="rejected")])
    s = settings(data_dir)
    run(store, s, NOW)
    plan_boost(store, pid)
    plan_boost(store, rejected, boost_id="boost-rejected")
    run(store, s, NOW + dt.timedelta(minutes=5))
    key = state.boost_key(pid, "twitter", "boost-abc")
    with store.write() as conn:
        conn.execute("UPDATE boost_publications SET needs_review = true WHERE idempotency_key = ?", [key])
        assert state.due_rows(conn, SLOT) == []  # flagged: waits for a person; the rejected piece never goes
        state.resolve(conn, key, published=True, now=SLOT, url="https://x.com/hb/status/1")
    sent = boost(store)
    assert (sent["status"], sent["url"]) == ("published", "https://x.com/hb/status/1")
    assert boost(store, "boost-rejected")["status"] == "scheduled"


def test_a_boost_waits_until_its_piece_itself_is_published(store, data_dir):
    [pid] = seed(store, [piece("twitter", 1)])
    s = settings(data_dir)
    run(store, s, NOW, dry_run=True)  # the piece was only dry-run so far (the demo simulator measures those)
    plan_boost(store, pid)
    report = run(store, s, SLOT)  # the piece goes out now; its boost was not due at the start of the batch
    assert [i.idempotency_key for i in report.items] == [idempotency_key(pid, "twitter")]
    assert boost(store)["status"] == "scheduled"
    report = run(store, s, SLOT + dt.timedelta(minutes=1))
    assert [i.outcome for i in report.items] == ["published"] and boost(store)["status"] == "published"


def test_boost_publications_keep_every_column_of_publications(store):
    """The state functions write the same columns to both tables: a column added to ``publications``
    must be added to ``boost_publications`` too (warehouse/tables/engagement.py)."""
    with store.read() as conn:
        columns = {
            table: {r[0] for r in conn.execute(f"SELECT * FROM {table} LIMIT 0").description}
            for table in ("publications", "boost_publications")
        }
    assert columns["publications"] <= columns["boost_publications"]


def test_review_lists_boosts_waiting_for_a_person_and_resolve_takes_their_key(store, data_dir):
    [pid, other] = seed(store, [piece("twitter", 1), piece("linkedin", 2)])
    s = settings(data_dir)
    run(store, s, NOW)
    plan_boost(store, pid)
    run(store, s, NOW + dt.timedelta(minutes=5))  # scheduled: a pending row in boost_publications
    key = state.boost_key(pid, "twitter", "boost-abc")
    with store.write() as conn:
        conn.execute(
            "UPDATE boost_publications SET needs_review = true, last_error = 'outcome unknown (boost)'"
            " WHERE idempotency_key = ?",
            [key],
        )
        conn.execute("UPDATE publications SET needs_review = true WHERE piece_id = ?", [other])
        assert [(r["piece_id"], r["boost_id"]) for r in state.review_rows(conn)] == [
            (other, None),
            (pid, "boost-abc"),
        ]

    runner = CliRunner()
    listed = runner.invoke(app, ["publish", "review"], env={"COLUMNS": "250"})
    assert listed.exit_code == 0, listed.output
    assert (
        key in listed.output and "boost-abc" in listed.output and "outcome unknown (boost)" in listed.output
    )
    assert idempotency_key(other, "linkedin") in listed.output

    resolved = runner.invoke(
        app, ["publish", "resolve", key, "--published", "--url", "https://x.com/hb/status/7"]
    )
    assert resolved.exit_code == 0, resolved.output
    assert boost(store)["status"] == "published"
    again = runner.invoke(app, ["publish", "review"], env={"COLUMNS": "250"})
    assert key not in again.output and idempotency_key(other, "linkedin") in again.output
