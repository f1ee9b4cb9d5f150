"""Platform API readers against loopback servers speaking each API's response format."""

from __future__ import annotations

import base64
import datetime as dt
from urllib.parse import parse_qs, unquote, urlparse

import dagster as dg

from splants_dagster.defs.engagement.resources import build_resources
from splants_dagster.defs.engagement.windows import range_tags
from splants_dagster.engagement import apis
from splants_dagster.http.accounts import (
    HubSpotAccount,
    LinkedInAccount,
    MailchimpAccount,
    WordPressSite,
    WordPressStats,
    XAccount,
    mailchimp_root,
)
from splants_dagster_tests.fixtures_http import FakeServer, Recorded, Reply

from .conftest import BLOG, EMAIL, LINKEDIN, TWEET, publication, raw_query, seed_campaign


def x_handler(req: Recorded) -> Reply:
    query = parse_qs(urlparse(req.path).query)
    if req.headers.get("authorization") != "Bearer x-token":
        return Reply(401, {"title": "Unauthorized"})
    data, errors = [], []
    for tid in query["ids"][0].split(","):
        if tid == "404404":
            errors.append(
                {
                    "value": tid,
                    "detail": f"Could not find tweet with ids: [{tid}].",
                    "title": "Not Found Error",
                    "resource_type": "tweet",
                    "parameter": "ids",
                    "resource_id": tid,
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
            )
            continue
        data.append(
            {
                "id": tid,
                "text": "hello",
                "edit_history_tweet_ids": [tid],
                "public_metrics": {
                    "retweet_count": 3,
                    "reply_count": 2,
                    "like_count": 40,
                    "quote_count": 1,
                    "bookmark_count": 4,
                    "impression_count": 1500,
                },
            }
        )
    body = {"data": data}
    if errors:
        body["errors"] = errors
    return Reply(200, body)


def test_x_public_metrics_and_unknown_ids():
    with FakeServer(x_handler) as server, XAccount("x-token", server.url).api() as api:
        pull = apis.fetch_x(api, ["1799", "404404"])
    assert pull.snapshots["1799"] == {
        "impressions": 1500,
        "likes": 40,
        "comments": 2,
        "shares": 4,
        "engagements": 50,
    }
    assert "Not Found Error" in pull.errors["404404"]
    (request,) = server.requests
    assert urlparse(request.path).path == "/2/tweets"
    assert parse_qs(urlparse(request.path).query)["tweet.fields"] == ["public_metrics,created_at"]


def test_a_refused_token_stops_the_pull_without_leaking_it():
    with FakeServer(x_handler) as server, XAccount("wrong-secret", server.url).api() as api:
        pull = apis.fetch_x(api, ["1", "2"])
    assert not pull.snapshots and set(pull.errors) == {"1", "2"}
    assert all("HTTP 401" in e and "wrong-secret" not in e for e in pull.errors.values())


def test_unreachable_api_is_reported_per_item():
    with HubSpotAccount("token", "http://127.0.0.1:9").api(timeout_s=1) as api:
        pull = apis.fetch_hubspot(api, ["1"])
    assert pull.errors["1"].startswith("cannot reach the API")


def linkedin_handler(req: Recorded) -> Reply:
    assert req.headers["linkedin-version"] == "202506"
    assert req.headers["x-restli-protocol-version"] == "2.0.0"
    path = urlparse(req.path).path
    if path.startswith("/rest/socialActions/"):
        urn = unquote(path.rsplit("/", 1)[1])
        return Reply(
            200,
            {
                "target": urn,
                "likesSummary": {"totalLikes": 12, "likedByCurrentUser": False, "aggregatedTotalLikes": 12},
                "commentsSummary": {"count": 3, "aggregatedTotalComments": 4, "topLevelCount": 3},
            },
        )
    if path == "/rest/organizationalEntityShareStatistics":
        query = urlparse(req.path).query
        assert "q=organizationalEntity" in query and "shares=List(urn%3Ali%3Ashare%3A77)" in query
        return Reply(
            200,
            {
                "paging": {"count": 10, "start": 0, "links": []},
                "elements": [
                    {
                        "totalShareStatistics": {
                            "uniqueImpressionsCount": 700,
                            "shareCount": 5,
                            "engagement": 0.05,
                            "clickCount": 30,
                            "likeCount": 13,
                            "impressionCount": 900,
                            "commentCount": 4,
                        },
                        "share": "urn:li:share:77",
                        "organizationalEntity": "urn:li:organization:5",
                    }
                ],
            },
        )
    return Reply(404, {"message": "not found"})


def test_linkedin_social_actions_and_share_statistics():
    with (
        FakeServer(linkedin_handler) as server,
        LinkedInAccount("li-token", "202506", server.url).api() as api,
    ):
        social_only = apis.fetch_linkedin(api, ["urn:li:ugcPost:9"])
        with_org = apis.fetch_linkedin(api, ["urn:li:share:77"], "urn:li:organization:5")
    assert social_only.snapshots["urn:li:ugcPost:9"] == {"likes": 12, "comments": 4, "engagements": 16}
    stats = with_org.snapshots["urn:li:share:77"]
    assert (stats["impressions"], stats["reach"], stats["clicks"], stats["shares"]) == (900, 700, 30, 5)
    assert stats["engagements"] == 13 + 4 + 5 + 30


def wordpress_handler(req: Recorded) -> Reply:
    path = urlparse(req.path).path
    if path == "/rest/v1.1/sites/hearthandbean.example/stats/post/42":
        assert req.headers["authorization"] == "Bearer wp-token"
        return Reply(
            200,
            {
                "date": "2026-11-25",
                "views": 321,
                "years": {},
                "averages": {},
                "weeks": [],
                "fields": ["period", "views"],
                "data": [["2026-11-24", 300], ["2026-11-25", 21]],
            },
        )
    if path == "/wp-json/wp/v2/comments":
        assert parse_qs(urlparse(req.path).query)["post"] == ["42"]
        user, password = base64.b64decode(req.headers["authorization"].split()[1]).decode().split(":")
        assert (user, password) == ("editor", "app pass")
        return Reply(200, [{"id": 1, "post": 42}], headers={"X-WP-Total": "6", "X-WP-TotalPages": "6"})
    return Reply(404, {"code": "rest_no_route"})


def test_wordpress_views_and_comment_count():
    with (
        FakeServer(wordpress_handler) as server,
        WordPressSite(server.url, "editor", "app pass").api() as site,
        WordPressStats("hearthandbean.example", "wp-token", server.url).api() as stats,
    ):
        pull = apis.fetch_wordpress(["42"], site=site, stats=stats, stats_site="hearthandbean.example")
    assert pull.snapshots["42"] == {"impressions": 321, "comments": 6, "engagements": 6}


def mailchimp_handler(req: Recorded) -> Reply:
    _user, key = base64.b64decode(req.headers["authorization"].split()[1]).decode().split(":")
    assert key == "abc-us21"
    cid = urlparse(req.path).path.rsplit("/", 1)[1]
    if cid != "c42":
        return Reply(
            404,
            {
                "type": "https://mailchimp.com/developer/marketing/docs/errors/",
                "title": "Resource Not Found",
                "status": 404,
                "detail": "The requested resource could not be found.",
            },
        )
    return Reply(
        200,
        {
            "id": "c42",
            "campaign_title": "Launch",
            "type": "regular",
            "list_id": "l1",
            "subject_line": "Pods!",
            "emails_sent": 2000,
            "abuse_reports": 0,
            "unsubscribed": 3,
            "send_time": "2026-11-20T09:00:00+00:00",
            "bounces": {"hard_bounces": 5, "soft_bounces": 7, "syntax_errors": 1},
            "forwards": {"forwards_count": 0, "forwards_opens": 0},
            "opens": {"opens_total": 1100, "unique_opens": 700, "open_rate": 0.35},
            "clicks": {
                "clicks_total": 150,
                "unique_clicks": 95,
                "unique_subscriber_clicks": 90,
                "click_rate": 0.045,
            },
        },
    )


def test_mailchimp_report():
    with (
        FakeServer(mailchimp_handler) as server,
        MailchimpAccount("abc-us21", base_url=server.url).api() as api,
    ):
        pull = apis.fetch_mailchimp(api, ["c42", "nope"])
    assert pull.snapshots["c42"] == {
        "impressions": 2000,
        "reach": 1987,
        "engagements": 700,
        "opens": 700,
        "clicks": 90,
        "bounces": 13,
    }
    assert pull.errors["nope"] == "mailchimp: report not found (404)"
    assert mailchimp_root("abc-us21") == "https://us21.api.mailchimp.com"
    assert mailchimp_root("abc-us21", "us5") == "https://us5.api.mailchimp.com"


def hubspot_handler(req: Recorded) -> Reply:
    assert req.headers["authorization"] == "Bearer hs-token"
    assert parse_qs(urlparse(req.path).query)["includeStats"] == ["true"]
    return Reply(
        200,
        {
            "id": "555",
            "name": "Launch email",
            "state": "PUBLISHED",
            "stats": {
                "counters": {
                    "sent": 1200,
                    "delivered": 1180,
                    "open": 500,
                    "click": 60,
                    "bounce": 20,
                    "hardbounced": 8,
                    "softbounced": 12,
                    "unsubscribed": 2,
                },
                "ratios": {"openratio": 42.4, "clickratio": 5.1},
            },
        },
    )


def test_hubspot_email_statistics():
    with FakeServer(hubspot_handler) as server, HubSpotAccount("hs-token", server.url).api() as api:
        pull = apis.fetch_hubspot(api, ["555"])
    assert pull.snapshots["555"] == {
        "impressions": 1200,
        "reach": 1180,
        "engagements": 500,
        "opens": 500,
        "clicks": 60,
        "bounces": 20,
    }
    assert urlparse(server.requests[0].path).path == "/marketing/v3/emails/555"


def test_engagement_events_pulls_published_items_through_the_resources(
    data_dir, store, instance, resources, monkeypatch
):
    """The asset reads publications, calls each configured API and stores running totals for today."""
    now = dt.datetime.now(dt.UTC)
    seed_campaign(
        store,
        data_dir,
        [
            publication(TWEET, "twitter", "x", "1799", now - dt.timedelta(hours=5)),
            publication(LINKEDIN, "linkedin", "linkedin", "urn:li:share:77", now - dt.timedelta(hours=5)),
            publication(BLOG, "blog", "outbox", "outbox/blog.json", now - dt.timedelta(hours=5)),
            publication(EMAIL, "email", "mailchimp", "c42", now - dt.timedelta(hours=5)),
        ],
    )
    with FakeServer(x_handler) as x, FakeServer(linkedin_handler) as li, FakeServer(mailchimp_handler) as mc:
        monkeypatch.setenv("X_ACCESS_TOKEN", "x-token")
        monkeypatch.setenv("X_API_BASE_URL", x.url)
        monkeypatch.setenv("LINKEDIN_ACCESS_TOKEN", "li")
        monkeypatch.setenv("LINKEDIN_VERSION", "202506")
        monkeypatch.setenv("LINKEDIN_ORGANIZATION_URN", "urn:li:organization:5")
        monkeypatch.setenv("LINKEDIN_API_BASE_URL", li.url)
        monkeypatch.setenv("MAILCHIMP_API_KEY", "abc-us21")
        monkeypatch.setenv("MAILCHIMP_API_BASE_URL", mc.url)
        monkeypatch.setenv("SPLANTS_ENGAGEMENT_SIMULATOR", "0")
        from splants_dagster.defs.engagement.assets import engagement_events

        today = now.date()
        for _ in range(2):  # the hourly pull again: the day's snapshots and posts are replaced, not added
            result = dg.materialize(
                [engagement_events],
                instance=instance,
                resources={**resources, **build_resources()},
                tags=range_tags(today, today),
            )
            assert result.success
    assert raw_query(store, "SELECT count(*) AS n FROM events.engagement_events")[0]["n"] == 3
    rows = {
        r["piece_id"]: r
        for r in raw_query(store, "SELECT * FROM events.engagement_events WHERE event_date = ?", [today])
    }
    assert set(rows) == {TWEET, LINKEDIN, EMAIL}  # the outbox "publication" has nothing to measure
    assert (
        rows[TWEET]["impressions"] == 1500 and rows[TWEET]["source"] == "api:x" and rows[TWEET]["cumulative"]
    )
    assert rows[LINKEDIN]["impressions"] == 900 and rows[EMAIL]["opens"] == 700
    assert not any(r["is_demo"] for r in rows.values())
    (mat,) = [m for m in result.get_asset_materialization_events()]
    meta = mat.materialization.metadata
    assert meta["api_snapshots"].value == 3 and meta["api_errors"].value == 0
    assert meta["simulator"].value.startswith("off")
    posts = store.query("SELECT piece_id, has_question FROM engagement_posts WHERE source = 'api'")
    assert sorted(p["piece_id"] for p in posts) == sorted([TWEET, LINKEDIN, EMAIL])
