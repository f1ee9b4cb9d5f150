"""Readers for the engagement numbers of items this system published, one per platform API.

Each ``fetch_*`` takes the platform's :class:`~splants_dagster.http.api.ApiClient` (the one client per
platform, built by its account in ``splants_dagster/http/accounts.py`` and also used to publish: base
URL, credentials, timeouts) and returns a :class:`Pull`: the running totals per remote id (a cumulative
snapshot) and an error per id that could not be read. A refused credential or a rate limit stops that
platform's pull (one error for every id) instead of hammering the API. Every error message goes through
the client's redactor, so a credential echoed by an API never reaches the warehouse or a log.

Response shapes (the fields read):
- X API v2 ``GET /2/tweets?ids=..&tweet.fields=public_metrics``: ``data[].public_metrics``
  {impression_count, like_count, reply_count, retweet_count, quote_count, bookmark_count}; unknown ids in
  ``errors[]`` (``value`` / ``resource_id``).
- LinkedIn ``GET /rest/socialActions/{urn}``: ``likesSummary.totalLikes``,
  ``commentsSummary.aggregatedTotalComments``; with an organization,
  ``GET /rest/organizationalEntityShareStatistics?q=organizationalEntity&...&shares=List(...)``:
  ``elements[].totalShareStatistics`` {impressionCount, uniqueImpressionsCount, clickCount, likeCount,
  commentCount, shareCount}.
- WordPress.com / Jetpack stats ``GET /rest/v1.1/sites/{site}/stats/post/{id}``: ``views``; comment
  count from the core REST API ``GET /wp-json/wp/v2/comments?post={id}&per_page=1`` header ``X-WP-Total``.
- Mailchimp ``GET /3.0/reports/{campaign_id}``: emails_sent, bounces{hard_bounces, soft_bounces,
  syntax_errors}, opens{unique_opens}, clicks{unique_subscriber_clicks}.
- HubSpot ``GET /marketing/v3/emails/{id}?includeStats=true``: ``stats.counters`` {sent, delivered, open,
  click, bounce}.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from splants_dagster.http.api import ApiClient
from splants_dagster.http.redact import Redactor
from splants_dagster.http.retry import retry_after_seconds

Counters = dict[str, int | None]


@dataclass
class Pull:
    snapshots: dict[str, Counters] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def fail_all(self, ids: Iterable[str], message: str) -> None:
        for remote_id in ids:
            if remote_id not in self.snapshots:
                self.errors[remote_id] = message


class StopPull(Exception):
    """The platform refused us as a whole (credentials, rate limit): stop asking it this run."""


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def _sum(*values: int | None) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _check(response: httpx.Response, platform: str, remote_id: str | None = None) -> dict[str, Any] | None:
    """The JSON body; None for a per-item 404; StopPull for 401/403/429; HTTPStatusError otherwise."""
    if response.status_code in (401, 403):
        raise StopPull(f"{platform}: HTTP {response.status_code} (check the access token and its scopes)")
    if response.status_code == 429:
        wait = retry_after_seconds(response.headers)
        retry = "?" if wait is None else f"{wait:g} s"
        raise StopPull(f"{platform}: rate limited (HTTP 429, retry after {retry})")
    if response.status_code == 404 and remote_id is not None:
        return None
    response.raise_for_status()
    return response.json()


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def _pulling(ids: Sequence[str], redact: Redactor) -> Iterator[Pull]:
    """The pull of ``ids``: when the platform refuses us as a whole or cannot be reached, every id not
    read by then gets that error. Every error is redacted of the client's secrets."""
    pull = Pull()
    try:
        yield pull
    except StopPull as stop:
        pull.fail_all(ids, str(stop))
    except httpx.TransportError as exc:
        pull.fail_all(ids, f"cannot reach the API: {type(exc).__name__}")
    finally:
        pull.errors = {rid: redact(message) for rid, message in pull.errors.items()}


def _read_each(
    pull: Pull, platform: str, ids: Iterable[str], read: Callable[[str], Counters | None], missing: str
) -> None:
    """Each id's counters from ``read`` (None: the error ``missing``); an HTTP error is that id's alone."""
    for remote_id in ids:
        try:
            counters = read(remote_id)
        except httpx.HTTPStatusError as exc:
            pull.errors[remote_id] = f"{platform}: HTTP {exc.response.status_code}"
            continue
        if counters is None:
            pull.errors[remote_id] = f"{platform}: {missing}"
        else:
            pull.snapshots[remote_id] = counters


# ----------------------------------------------------------------------------------------------------- X


def x_counters(tweet: dict[str, Any]) -> Counters:
    m = tweet.get("public_metrics") or {}
    likes, replies = _int(m.get("like_count")), _int(m.get("reply_count"))
    shares = _sum(_int(m.get("retweet_count")), _int(m.get("quote_count")))
    return {
        "impressions": _int(m.get("impression_count")),
        "likes": likes,
        "comments": replies,
        "shares": shares,
        "engagements": _sum(likes, replies, shares, _int(m.get("bookmark_count"))),
    }


def fetch_x(api: ApiClient, ids: Sequence[str]) -> Pull:
    with _pulling(ids, api.redact) as pull:
        for chunk in _chunks(list(ids), 100):
            body = _check(
                api.get(
                    "/2/tweets",
                    params={"ids": ",".join(chunk), "tweet.fields": "public_metrics,created_at"},
                ),
                "x",
            )
            for tweet in (body or {}).get("data") or []:
                pull.snapshots[str(tweet["id"])] = x_counters(tweet)
            for err in (body or {}).get("errors") or []:
                rid = str(err.get("resource_id") or err.get("value") or "")
                if rid:
                    pull.errors[rid] = f"x: {err.get('title') or 'error'}: {err.get('detail') or ''}".strip()
            for rid in chunk:
                if rid not in pull.snapshots and rid not in pull.errors:
                    pull.errors[rid] = "x: not returned by the API"
    return pull


# ---------------------------------------------------------------------------------------------- LinkedIn


def linkedin_counters(social: dict[str, Any] | None, stats: dict[str, Any] | None) -> Counters:
    likes = comments = None
    if social:
        likes = _int((social.get("likesSummary") or {}).get("totalLikes"))
        summary = social.get("commentsSummary") or {}
        comments = _int(summary.get("aggregatedTotalComments", summary.get("count")))
    counters: Counters = {"likes": likes, "comments": comments, "engagements": _sum(likes, comments)}
    if stats:
        counters.update(
            {
                "impressions": _int(stats.get("impressionCount")),
                "reach": _int(stats.get("uniqueImpressionsCount")),
                "clicks": _int(stats.get("clickCount")),
                "likes": _int(stats.get("likeCount")),
                "comments": _int(stats.get("commentCount")),
                "shares": _int(stats.get("shareCount")),
            }
        )
        counters["engagements"] = _sum(
            counters["likes"], counters["comments"], counters["shares"], counters["clicks"]
        )
    return counters


def _restli_list(urns: Sequence[str]) -> str:
    return "List(" + ",".join(quote(u, safe="") for u in urns) + ")"


def fetch_linkedin(api: ApiClient, urns: Sequence[str], organization_urn: str | None = None) -> Pull:
    """Likes and comments of each post; with ``organization_urn``, also its share statistics."""
    with _pulling(urns, api.redact) as pull:
        stats: dict[str, dict[str, Any]] = {}
        if organization_urn:
            for kind, param in (("share", "shares"), ("ugcPost", "ugcPosts")):
                wanted = [u for u in urns if u.startswith(f"urn:li:{kind}:")]
                for chunk in _chunks(wanted, 20):
                    query = (
                        "q=organizationalEntity&organizationalEntity="
                        f"{quote(organization_urn, safe='')}&{param}={_restli_list(chunk)}"
                    )
                    body = _check(api.get(f"/rest/organizationalEntityShareStatistics?{query}"), "linkedin")
                    for element in (body or {}).get("elements") or []:
                        urn = element.get("share") or element.get("ugcPost")
                        if urn:
                            stats[urn] = element.get("totalShareStatistics") or {}

        def read(urn: str) -> Counters | None:
            social = _check(api.get(f"/rest/socialActions/{quote(urn, safe='')}"), "linkedin", urn)
            if social is None and urn not in stats:
                return None
            return linkedin_counters(social, stats.get(urn))

        _read_each(pull, "linkedin", urns, read, "post not found (404)")
    return pull


# --------------------------------------------------------------------------------------------- WordPress


def fetch_wordpress(
    post_ids: Sequence[str],
    *,
    site: ApiClient | None = None,
    stats: ApiClient | None = None,
    stats_site: str | None = None,
) -> Pull:
    """Views from the WordPress.com/Jetpack stats API (``stats`` for the site ``stats_site``) and the
    comment count from the site's own REST API (``site``), each when configured."""

    def read(post_id: str) -> Counters | None:
        views = comments = None
        if stats is not None and stats_site:
            body = _check(
                stats.get(f"/rest/v1.1/sites/{quote(stats_site, safe='')}/stats/post/{post_id}"),
                "wordpress",
                post_id,
            )
            views = _int(body.get("views")) if body else None
        if site is not None:
            response = site.get("/comments", params={"post": post_id, "per_page": 1})
            if _check(response, "wordpress", post_id) is not None:
                comments = _int(response.headers.get("x-wp-total"))
        if views is None and comments is None:
            return None
        return {"impressions": views, "comments": comments, "engagements": comments}

    redact = Redactor()
    for client in (site, stats):
        if client is not None:
            redact.add(*client.redact.secrets)
    with _pulling(post_ids, redact) as pull:
        _read_each(pull, "wordpress", post_ids, read, "no stats for this post")
    return pull


# --------------------------------------------------------------------------------------------- Mailchimp


def mailchimp_counters(report: dict[str, Any]) -> Counters:
    sent = _int(report.get("emails_sent"))
    b = report.get("bounces") or {}
    bounces = _sum(_int(b.get("hard_bounces")), _int(b.get("soft_bounces")), _int(b.get("syntax_errors")))
    opens = _int((report.get("opens") or {}).get("unique_opens"))
    c = report.get("clicks") or {}
    clicks = _int(c.get("unique_subscriber_clicks", c.get("unique_clicks")))
    return {
        "impressions": sent,
        "reach": None if sent is None else sent - (bounces or 0),
        "engagements": opens,
        "opens": opens,
        "clicks": clicks,
        "bounces": bounces,
    }


def fetch_mailchimp(api: ApiClient, campaign_ids: Sequence[str]) -> Pull:
    def read(cid: str) -> Counters | None:
        body = _check(api.get(f"/reports/{cid}"), "mailchimp", cid)
        return None if body is None else mailchimp_counters(body)

    with _pulling(campaign_ids, api.redact) as pull:
        _read_each(pull, "mailchimp", campaign_ids, read, "report not found (404)")
    return pull


# ----------------------------------------------------------------------------------------------- HubSpot


def hubspot_counters(email: dict[str, Any]) -> Counters:
    c = (email.get("stats") or {}).get("counters") or {}
    bounce = _int(c.get("bounce"))
    if bounce is None:
        bounce = _sum(_int(c.get("hardbounced")), _int(c.get("softbounced")))
    opens = _int(c.get("open"))
    return {
        "impressions": _int(c.get("sent")),
        "reach": _int(c.get("delivered")),
        "engagements": opens,
        "opens": opens,
        "clicks": _int(c.get("click")),
        "bounces": bounce,
    }


def fetch_hubspot(api: ApiClient, email_ids: Sequence[str]) -> Pull:
    def read(eid: str) -> Counters | None:
        body = _check(api.get(f"/marketing/v3/emails/{eid}", params={"includeStats": "true"}), "hubspot", eid)
        return None if body is None else hubspot_counters(body)

    with _pulling(email_ids, api.redact) as pull:
        _read_each(pull, "hubspot", email_ids, read, "email not found (404)")
    return pull
