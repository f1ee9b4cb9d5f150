"""The publishing step end to end over the fakes: exactly once, failures isolated per item, the outbox,
dry runs, reconciliation of interrupted items, webhooks, and secrets kept out of everything stored."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from splants_dagster.publishing import state
from splants_dagster.publishing.base import idempotency_key
from splants_dagster.publishing.config import build_publishers
from splants_dagster.publishing.outbox import LABEL
from splants_dagster.publishing.runner import publish_due, publish_lock
from splants_dagster.publishing.webhooks import verify
from splants_dagster_tests.fixtures_http import Reply
from splants_dagster_tests.publishing.fakes import (
    FakeHubSpot,
    FakeLinkedIn,
    FakeMailchimp,
    FakeWebhookReceiver,
    FakeWordPress,
    FakeX,
)
from splants_dagster_tests.publishing.seeding import (
    LONG_X,
    files_containing,
    piece,
    publications,
    seed,
    settings,
)

NOW = dt.datetime(2026, 1, 6, 12, tzinfo=dt.UTC)


def clock_at(when: dt.datetime):
    return lambda: when


def run(store, s, when=NOW, **kw):
    pset = build_publishers(s)
    logs: list[tuple[str, str]] = []
    try:
        report = publish_due(
            store, pset, now=when, clock=clock_at(when), log=lambda lvl, msg: logs.append((lvl, msg)), **kw
        )
    finally:
        pset.close()
    return report, logs


@pytest.fixture
def fakes():
    with (
        FakeWordPress() as wp,
        FakeX() as x,
        FakeLinkedIn() as li,
        FakeMailchimp() as mc,
        FakeWebhookReceiver() as hooks,
    ):
        yield {"wp": wp, "x": x, "li": li, "mc": mc, "hooks": hooks}


def full_suite() -> list[dict]:
    return [
        piece("blog", 1, is_pillar=True),
        piece("twitter", 1),
        piece("twitter", 2, rendered=LONG_X),
        piece("linkedin", 1),
        piece("email", 1),
        piece("instagram", 1, hashtags=["#HearthAndBean"]),
    ]


def test_everything_published_once_and_a_rerun_sends_nothing(store, data_dir, fakes):
    ids = seed(store, full_suite())
    s = settings(data_dir, **fakes)
    report, _ = run(store, s)
    assert report.counts == {"published": 6}
    rows = publications(store)
    assert {r["status"] for r in rows.values()} == {"published"}
    assert {rows[i]["publisher"] for i in ids} == {"wordpress", "x", "linkedin", "mailchimp", "outbox"}
    assert all(r["attempts"] == 1 and r["remote_id"] and r["url"] for r in rows.values())
    assert rows[ids[0]]["idempotency_key"] == idempotency_key(ids[0], "blog")
    assert rows[ids[2]]["url"].startswith("https://x.com/i/web/status/")
    wp, x, li, mc, hooks = fakes["wp"], fakes["x"], fakes["li"], fakes["mc"], fakes["hooks"]
    assert sum(wp.creates.values()) == 1 and sum(x.creates.values()) == 3  # 1 post + a 2-part thread
    assert sum(li.creates.values()) == 1 and sum(mc.sends.values()) == 1
    # content.published once per publication, signed
    assert len(hooks.events) == 6 and hooks.bad_signatures == 0
    assert {e["data"]["piece_id"] for e in hooks.events} == set(ids)
    outbox_event = next(e for e in hooks.events if e["data"]["platform"] == "instagram")
    assert outbox_event["data"]["outbox"] is True and "instagram" in outbox_event["data"]["outbox_reason"]
    deliveries = store.query("SELECT * FROM analytics.webhook_deliveries")
    assert len(deliveries) == 6 and all(d["ok"] for d in deliveries)
    assert all("path-secret-991" not in d["url_ref"] for d in deliveries)

    before = {name: len(f.requests) for name, f in fakes.items()}
    again, _ = run(store, s, when=NOW + dt.timedelta(days=1), force_now=True)
    assert again.items == [] and {name: len(f.requests) for name, f in fakes.items()} == before


def test_a_429_on_one_platform_delays_only_that_item(store, data_dir, fakes):
    ids = seed(store, [piece("blog", 1, is_pillar=True), piece("twitter", 1), piece("linkedin", 1)])
    x = fakes["x"]
    x.faults.append(x.rate_limited(reset_in_s=600))
    report, logs = run(store, settings(data_dir, wp=fakes["wp"], x=x, li=fakes["li"]))
    assert report.counts == {"published": 2, "retry_later": 1}
    rows = publications(store)
    limited = rows[ids[1]]
    assert limited["status"] == "failed" and limited["attempts"] == 1 and not limited["needs_review"]
    assert "HTTP 429" in limited["last_error"]
    wait = (limited["next_attempt_at"] - NOW).total_seconds()
    assert 590 <= wait <= 600  # x-rate-limit-reset honoured (longer than the 60 s backoff)
    assert all(rows[i]["status"] == "published" for i in ids if i != ids[1])
    assert any(lvl == "warning" and "429" in msg for lvl, msg in logs)
    # not due again before next_attempt_at; published after it, once
    early, _ = run(store, settings(data_dir, x=x), when=NOW + dt.timedelta(minutes=5))
    assert early.items == []
    late, _ = run(store, settings(data_dir, x=x), when=NOW + dt.timedelta(minutes=11))
    assert late.counts == {"published": 1}
    assert publications(store)[ids[1]]["attempts"] == 2 and sum(x.creates.values()) == 1


def test_server_errors_back_off_and_permanent_errors_go_to_review(store, data_dir, fakes):
    ids = seed(store, [piece("email", 1), piece("linkedin", 1), piece("twitter", 1)])
    fakes["mc"].faults.append(FakeMailchimp.problem(503, "Service Unavailable", "try later"))
    s = settings(data_dir, **fakes, linkedin_version="202401", max_attempts=2)
    run(store, s)
    rows = publications(store)
    assert (
        rows[ids[0]]["status"] == "failed" and (rows[ids[0]]["next_attempt_at"] - NOW).total_seconds() == 60
    )
    assert rows[ids[1]]["needs_review"] and "LINKEDIN_VERSION" in rows[ids[1]]["last_error"]
    assert rows[ids[2]]["status"] == "published"
    # the reviewed item is never picked up again; the 503 one retries (after reconciling: no duplicate)
    second, _ = run(store, s, when=NOW + dt.timedelta(minutes=2))
    assert [i.piece_id for i in second.items] == [ids[0]] and second.items[0].outcome == "published"
    assert len(fakes["mc"].campaigns) == 1
    # too many attempts also ends in review
    fakes["x"].faults += [FakeX().rate_limited(1), FakeX().rate_limited(1)]
    seed(store, [piece("twitter", 2)])
    key = idempotency_key(piece("twitter", 2)["piece_id"], "twitter")
    run(store, s, when=NOW + dt.timedelta(minutes=3))
    run(store, s, when=NOW + dt.timedelta(minutes=10))
    with store.write() as conn:
        row = state.load(conn, key)
    assert row["needs_review"] and row["attempts"] == 2 and "gave up after 2 attempts" in row["last_error"]


def test_interrupted_wordpress_item_is_reconciled_not_resent(store, data_dir, fakes):
    [pid] = seed(store, [piece("blog", 1)])
    s = settings(data_dir, **fakes)
    pset = build_publishers(s)
    row = None
    wordpress = pset.by_platform["blog"]
    with store.write() as conn:
        row = state.due_rows(conn, NOW)[0]
        item = state.item_from_row(row)
        state.claim(conn, item, "wordpress", NOW, "dead-run", wordpress.claim_progress(item), None)
    # the dead run's request had reached WordPress
    wordpress.publish(item, wordpress.claim_progress(item), lambda p: None)
    pset.close()
    assert sum(fakes["wp"].creates.values()) == 1
    # the piece is regenerated before the re-run: the lookup still uses the slug that was sent
    with store.write() as conn:
        conn.execute("UPDATE content_pieces SET title = 'A brand new title' WHERE piece_id = ?", [pid])
    report, logs = run(store, s)
    assert [i.outcome for i in report.items] == ["reconciled"]
    assert sum(fakes["wp"].creates.values()) == 1
    row = publications(store)[pid]
    assert row["status"] == "published" and row["remote_id"] and row["attempts"] == 1
    assert any("reconciled" in m for _, m in logs)


def test_interrupted_x_item_is_marked_for_review_never_resent(store, data_dir, fakes):
    [pid] = seed(store, [piece("twitter", 1)])
    with store.write() as conn:
        item = state.item_from_row(state.due_rows(conn, NOW)[0])
        state.claim(conn, item, "x", NOW, "dead-run", {}, None)
    report, _ = run(store, settings(data_dir, **fakes))
    assert [i.outcome for i in report.items] == ["review"]
    assert fakes["x"].requests == []
    row = publications(store)[pid]
    assert row["status"] == "in_flight" and row["needs_review"] and "resolve" in row["last_error"]
    # nothing happens on later runs until a person decides
    assert run(store, settings(data_dir, **fakes), force_now=True)[0].items == []
    with store.write() as conn:
        state.resolve(conn, row["idempotency_key"], published=False, now=NOW)
    report, _ = run(store, settings(data_dir, **fakes))
    assert report.counts == {"published": 1} and sum(fakes["x"].creates.values()) == 1


def test_timeout_after_sending_is_reconciled_on_wordpress_and_reviewed_on_x(store, data_dir, fakes):
    ids = seed(store, [piece("blog", 1), piece("twitter", 1)])
    fakes["wp"].slow_create = {1: 1.5}
    fakes["x"].slow_create = {1: 1.5}
    s = settings(data_dir, **fakes, timeout_s=0.5)
    report, _ = run(store, s)
    rows = publications(store)
    assert (
        rows[ids[0]]["status"] == "failed"
        and rows[ids[0]]["outcome_unknown"]
        and not rows[ids[0]]["needs_review"]
    )
    assert rows[ids[1]]["status"] == "in_flight" and rows[ids[1]]["needs_review"]
    assert "no answer after sending" in rows[ids[1]]["last_error"]
    report, _ = run(store, settings(data_dir, **fakes), when=NOW + dt.timedelta(minutes=2))
    assert [i.outcome for i in report.items] == ["reconciled"]
    assert sum(fakes["wp"].creates.values()) == 1 and sum(fakes["x"].creates.values()) == 1


def test_outbox_fallback_is_labelled_and_holds_no_secrets(store, data_dir, fakes):
    pieces = [piece("blog", 1, is_pillar=True), piece("twitter", 1), piece("email", 1), piece("pinterest", 1)]
    ids = seed(store, pieces)
    report, _ = run(store, settings(data_dir, hooks=fakes["hooks"]))
    assert report.counts == {"published": 4}
    rows = publications(store)
    assert {r["publisher"] for r in rows.values()} == {"outbox"}
    assert "X_ACCESS_TOKEN" in rows[ids[1]]["fallback_reason"]
    assert "WORDPRESS_URL" in rows[ids[0]]["fallback_reason"]
    outbox = data_dir / "outbox"
    x_json = next((outbox / "twitter").glob("*.json"))
    meta = json.loads(x_json.read_text())
    assert meta["label"] == LABEL and meta["published"] is False
    assert (
        "X_ACCESS_TOKEN" in meta["why_outbox"] and meta["idempotency_key"] == rows[ids[1]]["idempotency_key"]
    )
    assert meta["publish_at_local"].endswith("+00:00")  # Europe/London in January
    x_md = x_json.with_suffix(".md").read_text()
    assert x_md.startswith(f"<!-- {LABEL}") and pieces[1]["rendered"] in x_md
    blog_html = next((outbox / "blog").glob("*.html")).read_text()
    assert LABEL in blog_html and "<h2>Why it matters</h2>" in blog_html
    email_html = next((outbox / "email").glob("*.html")).read_text()
    assert "Practical tips" in email_html and LABEL in email_html
    assert (
        "no pinterest publisher"
        in json.loads(next((outbox / "pinterest").glob("*.json")).read_text())["why_outbox"]
    )
    # rerun: reconciled from the files, nothing rewritten twice
    before = sorted(p.name for p in outbox.rglob("*"))
    with store.write() as conn:
        conn.execute("UPDATE publications SET status = 'in_flight' WHERE piece_id = ?", [ids[1]])
    report, _ = run(store, settings(data_dir), force_now=True)
    assert [i.outcome for i in report.items] == ["reconciled"]
    assert sorted(p.name for p in outbox.rglob("*")) == before
    assert files_containing(outbox, [fakes["hooks"].secret, "path-secret-991"]) == []


def test_dry_run_sends_nothing_records_payloads_and_a_real_run_follows(store, data_dir, fakes):
    ids = seed(
        store, [piece("blog", 1, is_pillar=True), piece("instagram", 1), piece("twitter", 2, rendered=LONG_X)]
    )
    s = settings(data_dir, **fakes)
    report, logs = run(store, s, dry_run=True)
    assert report.counts == {"dry_run": 3}
    assert all(not f.requests for f in fakes.values())
    assert not (data_dir / "outbox").exists()
    rows = publications(store)
    assert {r["status"] for r in rows.values()} == {"dry_run"}
    blog_payload = json.loads(rows[ids[0]]["dry_run_payload"])
    assert blog_payload["path"] == "/wp-json/wp/v2/posts" and blog_payload["json"]["status"] == "draft"
    thread = json.loads(rows[ids[2]]["dry_run_payload"])
    assert thread["posts"] == 2
    assert "instagram" in json.loads(rows[ids[1]]["dry_run_payload"])["why_outbox"]
    assert all(msg.startswith("[dry run]") for _, msg in logs)
    report, _ = run(store, s)
    assert report.counts == {"published": 3}
    # a dry run never overwrites real state
    again, _ = run(store, s, dry_run=True, force_now=True)
    assert again.items == []


def test_secrets_never_reach_the_warehouse_outbox_or_logs(store, data_dir, fakes, caplog):
    caplog.set_level(logging.INFO, logger="httpx")  # httpx logs every request URL at INFO
    ids = seed(store, full_suite())
    wp, x = fakes["wp"], fakes["x"]
    # an API that echoes the credential back in its error message
    x.faults.append(
        Reply(400, {"title": "Invalid Request", "detail": f"bad token {x.token}", "type": "about:blank"})
    )
    s = settings(data_dir, **fakes)
    report, logs = run(store, s)
    secrets = [
        wp.app_password,
        x.token,
        fakes["li"].token,
        fakes["mc"].api_key,
        fakes["hooks"].secret,
        "path-secret-991",
    ]
    assert publications(store)[ids[1]]["needs_review"]
    assert "bad token [redacted]" in publications(store)[ids[1]]["last_error"]
    assert files_containing(data_dir, secrets) == []
    assert not [m for _, m in logs if any(sec in m for sec in secrets)]
    assert not [i for i in report.rows() if any(sec in json.dumps(i, default=str) for sec in secrets)]
    http_log = "\n".join(r.getMessage() for r in caplog.records)
    assert "POST [redacted]" in http_log and not [sec for sec in secrets if sec in http_log]
    assert not [sec for sec in secrets if sec in repr(s)]


def test_webhooks_retry_later_and_log_every_attempt(store, data_dir, fakes):
    hooks = fakes["hooks"]
    hooks.faults = [Reply(500, {"error": "down"})] * 3
    [pid] = seed(store, [piece("twitter", 1)])
    report, _ = run(store, settings(data_dir, **fakes))
    assert report.webhooks == {"pending": 1}
    queue = store.query("SELECT * FROM webhook_queue")
    assert queue[0]["attempts"] == 3 and queue[0]["status"] == "pending" and queue[0]["next_attempt_at"] > NOW
    assert len(store.query("SELECT * FROM analytics.webhook_deliveries WHERE NOT ok")) == 3
    report, _ = run(store, settings(data_dir, **fakes), when=NOW + dt.timedelta(minutes=5))
    assert report.items == [] and report.webhooks == {"delivered": 1}
    event = hooks.events[0]
    assert event["type"] == "content.published" and event["data"]["piece_id"] == pid
    raw = next(r for r in hooks.requests if r.headers.get("x-splants-delivery") == event["id"])
    assert verify(hooks.secret, raw.body, raw.headers["x-splants-signature-256"])
    attempts = store.query("SELECT attempt, ok FROM analytics.webhook_deliveries ORDER BY attempt")
    assert [(a["attempt"], a["ok"]) for a in attempts] == [(1, False), (2, False), (3, False), (4, True)]


def test_unsigned_webhooks_are_never_sent_and_hubspot_takes_blog_and_email(store, data_dir, fakes):
    with FakeHubSpot() as hs:
        ids = seed(store, [piece("blog", 1), piece("email", 1)])
        s = settings(data_dir, hs=hs, webhook_urls=fakes["hooks"].url, email_publisher="hubspot")
        report, _ = run(store, s)
        assert "never sent unsigned" in report.webhook_note and not fakes["hooks"].requests
        rows = publications(store)
        assert rows[ids[0]]["publisher"] == "hubspot_blog" and rows[ids[1]]["publisher"] == "hubspot_email"
        assert len(hs.posts) == 1 and len(hs.emails) == 1


def test_only_one_publisher_at_a_time(store, data_dir):
    seed(store, [piece("twitter", 1)])
    with publish_lock(store.paths.warehouse_dir / ".publish.lock") as held:
        assert held
        pset = build_publishers(settings(data_dir))
        report = publish_due(store, pset, now=NOW, lock_timeout_s=0.1)
        pset.close()
    assert report.skipped_reason and "another publishing run" in report.skipped_reason
    assert publications(store) == {}


def test_unapproved_and_future_items_wait_and_campaign_filter_applies(store, data_dir):
    ids = seed(
        store,
        [
            piece("twitter", 1, qa="flagged"),
            piece("twitter", 2, publish_at=NOW + dt.timedelta(hours=2)),
            piece("twitter", 3),
            piece(
                "twitter", 4, variant_of="pods-test:twitter:social_post:3", qa=None
            ),  # inherits its parent's approval
        ],
    )
    report, _ = run(store, settings(data_dir))
    assert sorted(i.piece_id for i in report.items) == sorted([ids[2], ids[3]])
    assert run(store, settings(data_dir), campaign="other-campaign", force_now=True)[0].items == []
    report, _ = run(store, settings(data_dir), force_now=True)
    assert [i.piece_id for i in report.items] == [ids[1]]


def test_a_failed_lookup_keeps_the_item_in_flight_and_backs_off(store, data_dir, fakes):
    [pid] = seed(store, [piece("blog", 1)])
    with store.write() as conn:
        item = state.item_from_row(state.due_rows(conn, NOW)[0])
        state.claim(conn, item, "wordpress", NOW, "dead-run", {"slug": item.slug}, None)
    wp = fakes["wp"]
    original = wp.handle
    wp.handle = lambda rec, path, query: (
        Reply(502, {"code": "bad_gateway", "message": "upstream down"})
        if rec.method == "GET"
        else original(rec, path, query)
    )
    report, _ = run(store, settings(data_dir, wp=wp))
    assert [i.outcome for i in report.items] == ["retry_later"] and "reconcile" in report.items[0].error
    row = publications(store)[pid]
    assert row["status"] == "in_flight" and row["next_attempt_at"] > NOW and not wp.creates
    assert run(store, settings(data_dir, wp=wp), when=NOW + dt.timedelta(seconds=30))[0].items == []
    wp.handle = original
    report, _ = run(store, settings(data_dir, wp=wp), when=NOW + dt.timedelta(minutes=2))
    assert report.counts == {"published": 1} and sum(wp.creates.values()) == 1
