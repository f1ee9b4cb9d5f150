"""Each publisher against a fake server that speaks the platform's wire format."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from splants_dagster.publishing.base import Permanent, PublishItem, Retryable, idempotency_key
from splants_dagster.publishing.hubspot import HubSpotBlogPublisher, HubSpotEmailPublisher
from splants_dagster.publishing.linkedin import LinkedInPublisher
from splants_dagster.publishing.mailchimp import MailchimpPublisher, quarter_hour_after
from splants_dagster.publishing.render import linkedin_commentary, x_thread, x_weighted_length
from splants_dagster.publishing.webhooks import WebhookSender, sign, url_ref, verify
from splants_dagster.publishing.wordpress import WordPressPublisher
from splants_dagster.publishing.x import XPublisher
from splants_dagster_tests.fixtures_http import Reply
from splants_dagster_tests.publishing.fakes import (
    FakeHubSpot,
    FakeLinkedIn,
    FakeMailchimp,
    FakeWebhookReceiver,
    FakeWordPress,
    FakeX,
)
from splants_dagster_tests.publishing.seeding import LONG_X

WHEN = dt.datetime(2026, 12, 8, 13, tzinfo=dt.UTC)


def item(platform: str = "blog", **kw) -> PublishItem:
    piece_id = kw.pop("piece_id", f"camp:{platform}:x")
    values = dict(
        idempotency_key=idempotency_key(piece_id, platform),
        piece_id=piece_id,
        campaign_id="camp",
        platform=platform,
        content_type="blog" if platform == "blog" else ("email" if platform == "email" else "social_post"),
        title="Compostable coffee pods: a practical guide",
        body="Intro about pods.\n\n## Why it matters\n\nThey break down at home.",
        rendered="Compostable pods that break down at home (really). #HearthAndBean @friends",
        publish_at=WHEN,
        seo_title="Compostable coffee pods guide",
        meta_description="Everything you need to know about compostable coffee pods at home.",
        subject="Your guide to compostable pods",
        preheader="Practical tips for busy mornings",
        keywords=("compostable coffee pods", "home compostable"),
    )
    values.update(kw)
    return PublishItem(**values)


def no_checkpoint(progress):
    pass


def test_wordpress_creates_terms_once_and_posts_with_app_password():
    with FakeWordPress() as wp:
        wp.add_term("tags", "home compostable")  # exists already: reused, not created
        pub = WordPressPublisher(wp.url, wp.username, wp.app_password, status="publish")
        first = pub.publish(item(), {}, no_checkpoint)
        second = pub.publish(item(piece_id="camp:blog:y"), {}, no_checkpoint)
        pub.close()
        posts = [r for r in wp.requests if r.method == "POST" and r.path.endswith("/posts")]
        auth = posts[0].headers["authorization"]
        assert auth == "Basic " + base64.b64encode(f"{wp.username}:{wp.app_password}".encode()).decode()
        body = posts[0].json()
        assert body["status"] == "publish" and body["title"] == "Compostable coffee pods: a practical guide"
        assert (
            body["content"].startswith("<p>Intro about pods.</p>")
            and "<h2>Why it matters</h2>" in body["content"]
        )
        assert body["excerpt"].startswith("Everything you need")
        assert body["meta"]["_yoast_wpseo_title"] == "Compostable coffee pods guide"
        assert body["meta"]["splants_idempotency_key"] == item().idempotency_key
        assert body["slug"].endswith(item().idempotency_key[:10])
        assert wp.terms_created == {
            ("categories", "Compostable Coffee Pods"): 1,
            ("tags", "compostable coffee pods"): 1,
        }
        assert len(body["categories"]) == 1 and len(body["tags"]) == 2
        assert first.url.endswith(f"/{body['slug']}/") and first.remote_id != second.remote_id


def test_wordpress_future_status_sends_date_and_reconciles_by_slug():
    with FakeWordPress() as wp:
        pub = WordPressPublisher(wp.url, wp.username, wp.app_password, status="future")
        future = item(publish_at=dt.datetime(2030, 1, 1, 9, tzinfo=dt.UTC))
        assert pub.reconcile(future, {}).state == "absent"
        result = pub.publish(future, {}, no_checkpoint)
        sent = next(r for r in wp.requests if r.method == "POST" and r.path.endswith("/posts")).json()
        assert sent["status"] == "future" and sent["date_gmt"] == "2030-01-01T09:00:00"
        found = pub.reconcile(future, {})
        assert found.state == "found" and found.result.remote_id == result.remote_id
        lookup = [r for r in wp.requests if r.method == "GET" and "/posts?" in r.path][-1].path
        assert "context=edit" in lookup and "status=publish%2Cfuture%2Cdraft" in lookup


def test_wordpress_errors_are_classified():
    with FakeWordPress() as wp:
        bad = WordPressPublisher(wp.url, wp.username, "wrong password")
        with pytest.raises(Permanent, match=r"401.*not currently logged in"):
            bad.publish(item(), {}, no_checkpoint)
        pub = WordPressPublisher(wp.url, wp.username, wp.app_password)
        wp.faults.append(
            Reply(
                503, {"code": "maintenance", "message": "Briefly unavailable"}, headers={"Retry-After": "120"}
            )
        )
        with pytest.raises(Retryable) as exc:
            pub.publish(item(), {}, no_checkpoint)
        assert exc.value.retry_after == 120 and exc.value.status == 503
        assert wp.creates == {}


def test_x_single_post_and_thread_with_replies():
    with FakeX() as x:
        pub = XPublisher(x.token, base_url=x.url)
        short = pub.publish(item("twitter"), {}, no_checkpoint)
        assert short.url == f"https://x.com/i/web/status/{short.remote_id}"
        checkpoints = []
        long = pub.publish(
            item("twitter", piece_id="camp:twitter:long", rendered=LONG_X), {}, checkpoints.append
        )
        thread = long.details["thread"]
        assert len(thread) == 2 and [c["tweet_ids"] for c in checkpoints] == [thread[:1], thread]
        posts = [r.json() for r in x.requests if r.method == "POST"][1:]
        assert "reply" not in posts[0] and posts[1]["reply"] == {"in_reply_to_tweet_id": thread[0]}
        assert posts[0]["text"].endswith("(1/2)") and posts[1]["text"].endswith("(2/2)")
        assert all(x_weighted_length(p["text"]) <= 280 for p in posts)
        assert x.requests[0].headers["authorization"] == f"Bearer {x.token}"


def test_x_429_gives_retry_after_and_the_thread_resumes():
    with FakeX() as x:
        pub = XPublisher(x.token, base_url=x.url)
        long = item("twitter", rendered=LONG_X)
        x.faults = []
        progress: dict = {}
        x.slow_create = {}
        # first part goes out, the second is rate limited
        original = x.next_create

        def second_limited():
            if x.create_count == 1 and not x.faults:
                x.faults.append(x.rate_limited(reset_in_s=300))
            return original()

        x.next_create = second_limited
        with pytest.raises(Retryable) as exc:
            pub.publish(long, {}, progress.update)
        assert exc.value.status == 429 and 290 <= exc.value.retry_after <= 300
        assert len(progress["tweet_ids"]) == 1
        x.next_create = original
        result = pub.publish(long, dict(progress), progress.update)
        assert result.details["thread"][0] == progress["tweet_ids"][0]
        assert sum(x.creates.values()) == 2  # each part exactly once
        # reconcile: a complete thread is found from its checkpoints; a partial one is unknown
        assert pub.reconcile(long, progress).state == "found"
        assert pub.reconcile(long, {"tweet_ids": progress["tweet_ids"][:1]}).state == "unknown"


def test_linkedin_headers_urn_and_little_text():
    with FakeLinkedIn() as li:
        pub = LinkedInPublisher(li.token, "urn:li:organization:5515715", version="202510", base_url=li.url)
        result = pub.publish(item("linkedin"), {}, no_checkpoint)
        rec = li.requests[0]
        assert rec.path == "/rest/posts"
        assert (
            rec.headers["linkedin-version"] == "202510"
            and rec.headers["x-restli-protocol-version"] == "2.0.0"
        )
        assert rec.headers["authorization"] == f"Bearer {li.token}"
        body = rec.json()
        assert body["author"] == "urn:li:organization:5515715" and body["lifecycleState"] == "PUBLISHED"
        assert body["commentary"] == (
            "Compostable pods that break down at home \\(really\\). {hashtag|\\#|HearthAndBean} \\@friends"
        )
        assert result.remote_id.startswith("urn:li:share:")
        assert result.url == f"https://www.linkedin.com/feed/update/{result.remote_id}/"


def test_linkedin_retired_version_is_permanent_and_explained():
    with FakeLinkedIn(active_versions=("202511",)) as li:
        pub = LinkedInPublisher(li.token, "urn:li:person:AbC123", version="202401", base_url=li.url)
        with pytest.raises(Permanent, match="LINKEDIN_VERSION") as exc:
            pub.publish(item("linkedin"), {}, no_checkpoint)
        assert exc.value.status == 426 and "NONEXISTENT_VERSION" in exc.value.message
    with pytest.raises(ValueError, match="urn:li:person"):
        LinkedInPublisher("t", "person:123")


def test_mailchimp_create_content_send_and_reconcile():
    with FakeMailchimp() as mc:
        pub = MailchimpPublisher(mc.api_key, "us21", mc.list_id, base_url=mc.url, segment_id="4242")
        checkpoints = []
        email = item("email")
        result = pub.publish(email, {}, checkpoints.append)
        paths = [(r.method, r.path.split("?")[0]) for r in mc.requests]
        cid = result.remote_id
        assert paths == [
            ("GET", f"/3.0/lists/{mc.list_id}"),
            ("POST", "/3.0/campaigns"),
            ("PUT", f"/3.0/campaigns/{cid}/content"),
            ("POST", f"/3.0/campaigns/{cid}/actions/send"),
            ("GET", f"/3.0/campaigns/{cid}"),
        ]
        assert checkpoints == [{"campaign_id": cid}]
        user, _, key = base64.b64decode(mc.requests[1].headers["authorization"][6:]).decode().partition(":")
        assert key == mc.api_key and user
        created = mc.requests[1].json()
        assert created["settings"]["subject_line"] == "Your guide to compostable pods"
        assert created["settings"]["reply_to"] == "hello@hearthandbean.example"
        assert created["recipients"] == {"list_id": mc.list_id, "segment_opts": {"saved_segment_id": 4242}}
        assert email.tag_line in created["settings"]["title"]
        assert "*|UNSUB|*" in mc.content[cid]["html"] and "Practical tips" in mc.content[cid]["html"]
        assert mc.sends[cid] == 1 and result.details["status"] == "sent"
        # a later attempt finds it by its title key and does not send again
        found = pub.reconcile(email, {})
        assert found.state == "found" and found.result.remote_id == cid


def test_mailchimp_resumes_a_campaign_created_but_not_sent_and_schedules_on_the_quarter():
    with FakeMailchimp() as mc:
        pub = MailchimpPublisher(
            mc.api_key,
            "us21",
            mc.list_id,
            base_url=mc.url,
            action="schedule",
            whole_list=True,
            from_name="Hearth & Bean",
            reply_to="hi@example.com",
            clock=lambda: dt.datetime(2026, 12, 8, 12, 7, tzinfo=dt.UTC),
        )
        email = item("email", publish_at=dt.datetime(2026, 12, 8, 12, 10, tzinfo=dt.UTC))
        mc.faults = []
        body = pub.campaign_body(email, "Hearth & Bean", "hi@example.com")
        pub.http.request("POST", "/campaigns", json=body, ok=(200,))  # an earlier attempt died after this
        rec = pub.reconcile(email, {})
        assert rec.state == "absent" and rec.progress["campaign_id"]
        result = pub.publish(email, rec.progress, no_checkpoint)
        assert len(mc.campaigns) == 1 and result.details["status"] == "schedule"
        assert mc.campaigns[result.remote_id]["send_time"] == "2026-12-08T12:30:00+00:00"
    assert (
        quarter_hour_after(
            dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.UTC), dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)
        ).minute
        == 0
    )
    assert (
        quarter_hour_after(
            dt.datetime(2026, 1, 1, 10, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)
        ).minute
        == 15
    )


def test_hubspot_blog_post_and_email():
    with FakeHubSpot() as hs:
        blog = HubSpotBlogPublisher(hs.token, "123456789", base_url=hs.url, action="publish")
        checkpoints = []
        result = blog.publish(item(), {}, checkpoints.append)
        assert result.details["state"] == "PUBLISHED" and checkpoints == [{"post_id": result.remote_id}]
        created = hs.requests[0]
        assert created.headers["authorization"] == f"Bearer {hs.token}"
        assert created.json()["contentGroupId"] == "123456789" and created.json()["slug"] == item().slug
        assert blog.reconcile(item(), {}).state == "found"
        email_pub = HubSpotEmailPublisher(hs.token, base_url=hs.url)
        email = item("email")
        assert email_pub.reconcile(email, {}).state == "absent"
        sent = email_pub.publish(email, {}, no_checkpoint)
        assert hs.emails[sent.remote_id]["state"] == "DRAFT"
        assert email_pub.reconcile(email, {}).state == "found"
        with pytest.raises(Permanent, match="401"):
            HubSpotEmailPublisher("wrong", base_url=hs.url).publish(email, {}, no_checkpoint)


def test_webhook_signature_retries_and_redacted_reference():
    body = json.dumps({"id": "evt_1", "type": "content.published", "data": {}}).encode()
    assert verify("s3cret", body, sign("s3cret", body))
    assert not verify("s3cret", body + b" ", sign("s3cret", body))
    assert not verify("other", body, sign("s3cret", body))
    url = "https://hooks.example.com/services/T000/B000/XXXXSECRET"
    assert "XXXXSECRET" not in url_ref(url) and url_ref(url).startswith("https://hooks.example.com/…#")
    with FakeWebhookReceiver() as hooks:
        hooks.faults = [
            Reply(500, {"error": "boom"}),
            Reply(429, {"error": "slow down"}, headers={"Retry-After": "0"}),
        ]
        slept = []
        sender = WebhookSender([f"{hooks.url}/in"], hooks.secret, backoff_s=0.01, sleep=slept.append)
        attempts = sender.deliver(f"{hooks.url}/in", "evt_1", "content.published", body)
        assert [a.status_code for a in attempts] == [500, 429, 200] and attempts[-1].ok
        assert slept == [0.01, 0.02]
        assert hooks.events == [json.loads(body)] and hooks.bad_signatures == 0


def test_render_helpers():
    assert x_thread("short") == ["short"]
    parts = x_thread("word " * 200)
    assert len(parts) > 1 and all(x_weighted_length(p) <= 280 for p in parts)
    assert x_weighted_length("https://example.com/a/very/long/path/" + "x" * 100) == 23
    assert x_weighted_length("日本") == 4
    assert linkedin_commentary("a_b #tag (c)") == "a\\_b {hashtag|\\#|tag} \\(c\\)"
