"""Fake platforms on 127.0.0.1 speaking each API's wire format (paths, auth headers, JSON shapes, error
bodies, rate-limit headers) and counting what they received. Built on ``helpers.FakeAPI``.

Each fake keeps state like the real service (posts, terms, campaigns), so lookups work, and has:
- ``faults``: replies to give, in order, to the next create requests (e.g. a 429 with rate-limit headers);
- ``slow_create``: ``{n: seconds}`` — the n-th create (1-based) is stored, then answered after a delay
  (``create_received[n]`` is set when it arrives), which lets a test kill a client mid-call;
- ``creates``: a Counter of what was created (by slug / text / title).
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import threading
import time
from collections import Counter, defaultdict
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from splants_dagster.publishing.webhooks import verify
from splants_dagster_tests.fixtures_http import FakeAPI, Recorded, Reply


class FakePlatform(FakeAPI):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.faults: list[Reply] = []
        self.slow_create: dict[int, float] = {}
        self.create_received: dict[int, threading.Event] = defaultdict(threading.Event)
        self.create_count = 0
        self.creates: Counter = Counter()
        super().__init__()

    def _handle(self, rec: Recorded) -> Reply:
        parts = urlsplit(rec.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self.lock:
            return self.handle(rec, parts.path, query)

    def handle(self, rec: Recorded, path: str, query: dict[str, str]) -> Reply:
        raise NotImplementedError

    def next_create(self) -> tuple[Reply | None, float]:
        """A queued fault for this create, or (None, delay) to go ahead."""
        if self.faults:
            return self.faults.pop(0), 0.0
        self.create_count += 1
        n = self.create_count
        self.create_received[n].set()
        return None, self.slow_create.get(n, 0.0)


def _basic(rec: Recorded) -> tuple[str, str] | None:
    header = rec.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


def _bearer(rec: Recorded) -> str | None:
    header = rec.headers.get("authorization", "")
    return header[7:] if header.startswith("Bearer ") else None


# --- WordPress -----------------------------------------------------------------------------------------


class FakeWordPress(FakePlatform):
    STATUSES = frozenset({"publish", "future", "draft", "pending", "private"})

    def __init__(self, username: str = "editor", app_password: str = "abcd EFGH ijkl MNOP qrst UVWX"):
        super().__init__()
        self.username = username
        self.app_password = app_password
        self.posts: dict[int, dict[str, Any]] = {}
        self.terms: dict[str, dict[int, dict[str, Any]]] = {"categories": {}, "tags": {}}
        self.ids = itertools.count(100)
        self.terms_created: Counter = Counter()

    @staticmethod
    def error(status: int, code: str, message: str, **data: Any) -> Reply:
        return Reply(status, {"code": code, "message": message, "data": {"status": status, **data}})

    def add_term(self, taxonomy: str, name: str) -> int:
        term_id = next(self.ids)
        self.terms[taxonomy][term_id] = {
            "id": term_id,
            "name": name.replace("&", "&amp;"),
            "slug": name.lower().replace(" ", "-"),
            "taxonomy": "category" if taxonomy == "categories" else "post_tag",
        }
        return term_id

    def handle(self, rec, path, query):
        if _basic(rec) != (self.username, self.app_password):
            return self.error(401, "rest_not_logged_in", "You are not currently logged in.")
        prefix = "/wp-json/wp/v2/"
        if not path.startswith(prefix):
            return self.error(404, "rest_no_route", "No route was found matching the URL and request method.")
        route = path[len(prefix) :]
        if route in ("categories", "tags"):
            if rec.method == "GET":
                needle = query.get("search", "").lower()
                return Reply(200, [t for t in self.terms[route].values() if needle in t["name"].lower()])
            name = rec.json()["name"]
            for term in self.terms[route].values():
                if term["name"].replace("&amp;", "&").lower() == name.lower():
                    return self.error(
                        400,
                        "term_exists",
                        "A term with the name provided already exists with this parent.",
                        term_id=term["id"],
                    )
            self.terms_created[(route, name)] += 1
            term_id = self.add_term(route, name)
            return Reply(201, self.terms[route][term_id])
        if route == "posts" and rec.method == "GET":
            statuses = set(query.get("status", "publish").split(","))
            if statuses - {"publish"} and query.get("context") != "edit":
                return self.error(400, "rest_invalid_param", "Invalid parameter(s): status")
            slug = query.get("slug")
            found = [
                p
                for p in self.posts.values()
                if (slug is None or p["slug"] == slug) and p["status"] in statuses
            ]
            return Reply(200, found, headers={"X-WP-Total": str(len(found)), "X-WP-TotalPages": "1"})
        if route == "posts" and rec.method == "POST":
            body = rec.json()
            for field in ("title", "content", "status", "slug"):
                if not isinstance(body.get(field), str):
                    return self.error(400, "rest_invalid_param", f"Invalid parameter(s): {field}")
            if body["status"] not in self.STATUSES:
                return self.error(400, "rest_invalid_param", "Invalid parameter(s): status")
            for tax in ("categories", "tags"):
                if any(t not in self.terms[tax] for t in body.get(tax, [])):
                    return self.error(400, "rest_invalid_param", f"Invalid parameter(s): {tax}")
            fault, delay = self.next_create()
            if fault is not None:
                return fault
            post_id = next(self.ids)
            status = body["status"]
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            if (
                status == "future"
                and body.get("date_gmt")
                and dt.datetime.fromisoformat(body["date_gmt"]) <= now
            ):
                status = "publish"
            post = {
                "id": post_id,
                "date_gmt": body.get("date_gmt")
                or dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
                "slug": body["slug"],
                "status": status,
                "type": "post",
                "link": f"{self.url}/{body['slug']}/",
                "title": {"raw": body["title"], "rendered": body["title"]},
                "content": {"raw": body["content"], "rendered": body["content"], "protected": False},
                "excerpt": {"raw": body.get("excerpt", ""), "rendered": body.get("excerpt", "")},
                "categories": body.get("categories", []),
                "tags": body.get("tags", []),
                "meta": body.get("meta", {}),
            }
            self.posts[post_id] = post
            self.creates[body["slug"]] += 1
            return Reply(201, post, delay_s=delay)
        return self.error(404, "rest_no_route", "No route was found matching the URL and request method.")


# --- X -------------------------------------------------------------------------------------------------


class FakeX(FakePlatform):
    def __init__(self, token: str = "x-user-token-123456"):
        super().__init__()
        self.token = token
        self.tweets: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(1_800_000_000_000_000_000)
        self.remaining = 100

    def limits(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": str(self.remaining),
            "x-rate-limit-reset": str(int(time.time()) + 900),
        }

    def handle(self, rec, path, query):
        if _bearer(rec) != self.token:
            return Reply(
                401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
            )
        if path == "/2/tweets" and rec.method == "GET":
            return self.lookup(query.get("ids", ""))
        if path != "/2/tweets" or rec.method != "POST":
            return Reply(
                404,
                {
                    "title": "Not Found Error",
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                    "detail": "Could not find the requested resource",
                    "status": 404,
                },
            )
        body = rec.json()
        text = body.get("text", "")
        if not text or len(text) > 280:
            return Reply(
                400,
                {
                    "errors": [{"message": "text length is invalid"}],
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": "https://api.twitter.com/2/problems/invalid-request",
                },
            )
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply_to is not None and reply_to not in self.tweets:
            return Reply(
                400,
                {
                    "errors": [{"message": "The tweet to reply to was not found"}],
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": "https://api.twitter.com/2/problems/invalid-request",
                },
            )
        if any(t["text"] == text for t in self.tweets.values()):
            return Reply(
                403,
                {
                    "detail": "You are not allowed to create a Tweet with duplicate content.",
                    "type": "about:blank",
                    "title": "Forbidden",
                    "status": 403,
                },
            )
        fault, delay = self.next_create()
        if fault is not None:
            return fault
        tweet_id = str(next(self.ids))
        self.tweets[tweet_id] = {"id": tweet_id, "text": text, "in_reply_to": reply_to}
        self.creates[text] += 1
        self.remaining -= 1
        return Reply(
            201,
            {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}},
            headers=self.limits(),
            delay_s=delay,
        )

    METRICS: ClassVar[dict[str, int]] = {
        "impression_count": 1500,
        "like_count": 40,
        "reply_count": 2,
        "retweet_count": 3,
        "quote_count": 1,
        "bookmark_count": 4,
    }

    def lookup(self, ids: str) -> Reply:
        """``GET /2/tweets?ids=..&tweet.fields=public_metrics``: what engagement reads back."""
        data, errors = [], []
        for tid in (i for i in ids.split(",") if i):
            if tid in self.tweets:
                data.append({"id": tid, "text": self.tweets[tid]["text"], "public_metrics": self.METRICS})
            else:
                errors.append({"value": tid, "resource_id": tid, "title": "Not Found Error", "detail": tid})
        return Reply(200, {"data": data, **({"errors": errors} if errors else {})})

    def rate_limited(self, reset_in_s: int) -> Reply:
        return Reply(
            429,
            {
                "title": "Too Many Requests",
                "detail": "Too Many Requests",
                "type": "about:blank",
                "status": 429,
            },
            headers={
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(int(time.time()) + reset_in_s),
            },
        )


# --- LinkedIn ------------------------------------------------------------------------------------------


class FakeLinkedIn(FakePlatform):
    def __init__(
        self, token: str = "li-token-abcdef", active_versions: tuple[str, ...] = ("202510", "202511")
    ):
        super().__init__()
        self.token = token
        self.active_versions = active_versions
        self.posts: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(7_300_000_000_000_000_000)

    def handle(self, rec, path, query):
        if _bearer(rec) != self.token:
            return Reply(
                401,
                {
                    "status": 401,
                    "serviceErrorCode": 65600,
                    "code": "INVALID_ACCESS_TOKEN",
                    "message": "Invalid access token",
                },
            )
        version = rec.headers.get("linkedin-version")
        if version not in self.active_versions:
            return Reply(
                426,
                {
                    "status": 426,
                    "code": "NONEXISTENT_VERSION",
                    "message": f"Requested version {version} is not active",
                },
            )
        if rec.headers.get("x-restli-protocol-version") != "2.0.0":
            return Reply(
                400,
                {
                    "status": 400,
                    "code": "ILLEGAL_ARGUMENT",
                    "message": "Restli protocol version 2.0.0 required",
                },
            )
        if path != "/rest/posts" or rec.method != "POST":
            return Reply(404, {"status": 404, "code": "NOT_FOUND", "message": "Not Found"})
        body = rec.json()
        missing = [
            f
            for f in ("author", "commentary", "visibility", "distribution", "lifecycleState")
            if f not in body
        ]
        if missing or not str(body.get("author", "")).startswith("urn:li:"):
            return Reply(
                422,
                {"status": 422, "code": "UNPROCESSABLE_ENTITY", "message": f"missing or invalid: {missing}"},
            )
        fault, delay = self.next_create()
        if fault is not None:
            return fault
        urn = f"urn:li:share:{next(self.ids)}"
        self.posts[urn] = body
        self.creates[body["commentary"]] += 1
        return Reply(201, raw=b"", headers={"x-restli-id": urn, "x-linkedin-id": urn}, delay_s=delay)


# --- Mailchimp -----------------------------------------------------------------------------------------


class FakeMailchimp(FakePlatform):
    def __init__(self, api_key: str = "0123456789abcdef0123456789abcdef-us21", list_id: str = "a1b2c3d4e5"):
        super().__init__()
        self.api_key = api_key
        self.list_id = list_id
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.content: dict[str, dict[str, Any]] = {}
        self.sends: Counter = Counter()
        self.ids = itertools.count(1)
        self.tags: dict[str, int] = {"pod-fans": 4011, "newsletter": 4012}  # tag name -> static segment id

    @staticmethod
    def problem(status: int, title: str, detail: str) -> Reply:
        return Reply(
            status,
            {
                "type": "https://mailchimp.com/developer/marketing/docs/errors/",
                "title": title,
                "status": status,
                "detail": detail,
                "instance": "d7d7f2a4-0000-4000-8000-000000000000",
            },
            headers={"content-type": "application/problem+json"},
        )

    def handle(self, rec, path, query):
        auth = _basic(rec)
        if auth is None or auth[1] != self.api_key:
            return self.problem(
                401,
                "API Key Invalid",
                "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
            )
        if path == f"/3.0/lists/{self.list_id}" and rec.method == "GET":
            return Reply(
                200,
                {
                    "id": self.list_id,
                    "name": "Hearth & Bean",
                    "campaign_defaults": {
                        "from_name": "Hearth & Bean",
                        "from_email": "hello@hearthandbean.example",
                        "subject": "",
                        "language": "en",
                    },
                },
            )
        if path == "/3.0/campaigns" and rec.method == "GET":
            since = query.get("since_create_time")
            found = [
                c
                for c in self.campaigns.values()
                if not since or c["create_time"] >= since.replace("Z", "+00:00")
            ]
            return Reply(200, {"campaigns": found, "total_items": len(found)})
        if path == f"/3.0/lists/{self.list_id}/tag-search" and rec.method == "GET":
            name = query.get("name", "")
            found = [{"id": i, "name": n} for n, i in self.tags.items() if name.lower() in n.lower()]
            return Reply(200, {"tags": found, "total_items": len(found)})
        if path == "/3.0/campaigns" and rec.method == "POST":
            body = rec.json()
            invalid = self.problem(400, "Invalid Resource", "The resource submitted could not be validated.")
            if body.get("type") not in ("regular", "variate"):
                return invalid
            if (body.get("recipients") or {}).get("list_id") != self.list_id:
                return invalid
            if self._bad_segment((body.get("recipients") or {}).get("segment_opts")):
                return invalid
            if body["type"] == "variate":
                vs = body.get("variate_settings") or {}
                if (
                    vs.get("winner_criteria") not in ("opens", "clicks", "manual", "total_revenue")
                    or not 10 <= int(vs.get("test_size") or 0) <= 100
                    or not isinstance(vs.get("wait_time"), int)
                    or ("subject_lines" in vs and len(set(vs["subject_lines"])) < 2)
                ):
                    return invalid
            elif "variate_settings" in body:
                return invalid
            fault, delay = self.next_create()
            if fault is not None:
                return fault
            cid = f"{next(self.ids):010x}"
            campaign = {
                "id": cid,
                "web_id": 1000 + len(self.campaigns),
                "type": "regular",
                "create_time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "archive_url": f"http://eepurl.com/{cid}",
                "long_archive_url": f"https://us21.campaign-archive.com/?id={cid}",
                "status": "save",
                "settings": body["settings"],
                "recipients": body["recipients"],
            }
            if body["type"] == "variate":
                campaign["type"] = "variate"
                campaign["variate_settings"] = body["variate_settings"]
            self.campaigns[cid] = campaign
            self.creates[body["settings"]["title"]] += 1
            return Reply(200, campaign, delay_s=delay)
        parts = path.split("/")
        if len(parts) >= 4 and parts[1] == "3.0" and parts[2] == "campaigns":
            cid = parts[3]
            campaign = self.campaigns.get(cid)
            if campaign is None:
                return self.problem(404, "Resource Not Found", "The requested resource could not be found.")
            tail = "/".join(parts[4:])
            if tail == "" and rec.method == "GET":
                return Reply(200, campaign)
            if tail == "content" and rec.method == "PUT":
                content = rec.json()
                if "variate_contents" in content and (
                    campaign["type"] != "variate"
                    or len(content["variate_contents"]) < 2
                    or any(
                        not c.get("content_label") or not c.get("html") for c in content["variate_contents"]
                    )
                ):
                    return self.problem(
                        400, "Invalid Resource", "The resource submitted could not be validated."
                    )
                self.content[cid] = content
                return Reply(
                    200,
                    {
                        "html": self.content[cid].get("html"),
                        "plain_text": self.content[cid].get("plain_text"),
                    },
                )
            if tail in ("actions/send", "actions/schedule") and rec.method == "POST":
                if campaign["status"] != "save":
                    return self.problem(
                        400, "Bad Request", "This campaign has already been sent or scheduled."
                    )
                content = self.content.get(cid) or {}
                htmls = [c.get("html") or "" for c in content.get("variate_contents", [content])]
                if not all("*|UNSUB|*" in html for html in htmls):
                    return self.problem(400, "Bad Request", "Your Campaign is not ready to send.")
                if tail == "actions/schedule":
                    when = dt.datetime.fromisoformat(rec.json()["schedule_time"].replace("Z", "+00:00"))
                    if when.minute % 15 or when.second:
                        return self.problem(
                            400,
                            "Bad Request",
                            "Schedule time must be on the quarter-hour (:00, :15, :30, :45).",
                        )
                    campaign["status"] = "schedule"
                    campaign["send_time"] = when.isoformat()
                else:
                    campaign["status"] = "sent"
                self.sends[cid] += 1
                return Reply(204, raw=b"")
        return self.problem(404, "Resource Not Found", "The requested resource could not be found.")

    def _bad_segment(self, opts: Any) -> bool:
        """A segment the API would refuse: a saved segment id that is not a number, or a tag condition
        naming a tag id this audience does not have."""
        if opts is None:
            return False
        if "saved_segment_id" in opts:
            return not isinstance(opts["saved_segment_id"], int)
        conditions = opts.get("conditions") or []
        return not conditions or any(
            c.get("condition_type") != "StaticSegment"
            or c.get("op") != "static_is"
            or c.get("value") not in self.tags.values()
            for c in conditions
        )

    def audiences(self) -> list[dict[str, Any]]:
        """Every campaign's recipients, in creation order."""
        return [c["recipients"] for c in self.campaigns.values()]


# --- HubSpot -------------------------------------------------------------------------------------------


class FakeHubSpot(FakePlatform):
    def __init__(self, token: str = "pat-eu1-00000000-0000-0000-0000-000000000000"):
        super().__init__()
        self.token = token
        self.posts: dict[str, dict[str, Any]] = {}
        self.emails: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(160_000_000_000)

    @staticmethod
    def error(status: int, category: str, message: str) -> Reply:
        return Reply(
            status,
            {
                "status": "error",
                "message": message,
                "correlationId": "3c1d0b8e-0000-4000-8000-000000000000",
                "category": category,
            },
        )

    def handle(self, rec, path, query):
        if _bearer(rec) != self.token:
            return self.error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if path == "/cms/v3/blogs/posts" and rec.method == "POST":
            body = rec.json()
            if not body.get("contentGroupId"):
                return self.error(400, "VALIDATION_ERROR", "contentGroupId is required")
            fault, delay = self.next_create()
            if fault is not None:
                return fault
            pid = str(next(self.ids))
            post = {
                "id": pid,
                "name": body["name"],
                "slug": body["slug"],
                "state": "DRAFT",
                "contentGroupId": body["contentGroupId"],
                "url": f"https://blog.example.com/{body['slug']}",
                "created": now,
                "updated": now,
                "metaDescription": body.get("metaDescription"),
                "postBody": body.get("postBody"),
            }
            self.posts[pid] = post
            self.creates[body["slug"]] += 1
            return Reply(201, post, delay_s=delay)
        if path == "/cms/v3/blogs/posts" and rec.method == "GET":
            found = [p for p in self.posts.values() if "slug" not in query or p["slug"] == query["slug"]]
            return Reply(200, {"total": len(found), "results": found})
        if path.startswith("/cms/v3/blogs/posts/"):
            rest = path[len("/cms/v3/blogs/posts/") :].split("/")
            post = self.posts.get(rest[0])
            if post is None:
                return self.error(404, "OBJECT_NOT_FOUND", "Blog post not found")
            if rest[1:] == [] and rec.method == "GET":
                return Reply(200, post)
            if rest[1:] == ["draft", "push-live"] and rec.method == "POST":
                post["state"] = "PUBLISHED"
                return Reply(204, raw=b"")
        if path == "/marketing/v3/emails" and rec.method == "POST":
            body = rec.json()
            if not body.get("name"):
                return self.error(400, "VALIDATION_ERROR", "name is required")
            fault, delay = self.next_create()
            if fault is not None:
                return fault
            eid = str(next(self.ids))
            email = {
                "id": eid,
                "name": body["name"],
                "subject": body.get("subject"),
                "state": "DRAFT",
                "isPublished": False,
                "createdAt": now,
                "content": body.get("content", {}),
            }
            self.emails[eid] = email
            self.creates[body["name"]] += 1
            return Reply(201, email, delay_s=delay)
        if path == "/marketing/v3/emails/ab-test/create-variation" and rec.method == "POST":
            body = rec.json()
            control = self.emails.get(str(body.get("contentId")))
            if control is None or not body.get("variationName"):
                return self.error(400, "VALIDATION_ERROR", "contentId and variationName are required")
            if any(e.get("abTestOf") == control["id"] for e in self.emails.values()):
                return self.error(400, "VALIDATION_ERROR", "This email already has an A/B variation")
            fault, delay = self.next_create()
            if fault is not None:
                return fault
            eid = str(next(self.ids))
            email = {
                **control,
                "id": eid,
                "name": body["variationName"],
                "createdAt": now,
                "abTestOf": control["id"],
            }
            control["abTest"] = True
            self.emails[eid] = email
            self.creates[body["variationName"]] += 1
            return Reply(201, email, delay_s=delay)
        if path == "/marketing/v3/emails" and rec.method == "GET":
            after = query.get("createdAfter", "")
            found = [e for e in self.emails.values() if e["createdAt"] >= after]
            return Reply(200, {"total": len(found), "results": found})
        if path.startswith("/marketing/v3/emails/"):
            rest = path[len("/marketing/v3/emails/") :].split("/")
            email = self.emails.get(rest[0])
            if email is None:
                return self.error(404, "OBJECT_NOT_FOUND", "Email not found")
            if rest[1:] == [] and rec.method == "GET":
                return Reply(200, email)
            if rest[1:] == [] and rec.method == "PATCH":
                email.update({k: v for k, v in rec.json().items() if k in ("subject", "content", "name")})
                return Reply(200, email)
            if rest[1:] == ["publish"] and rec.method == "POST":
                email["state"], email["isPublished"] = "PUBLISHED", True
                return Reply(204, raw=b"")
        return self.error(404, "OBJECT_NOT_FOUND", "Not found")


# --- webhook receiver ----------------------------------------------------------------------------------


class FakeWebhookReceiver(FakePlatform):
    def __init__(self, secret: str = "whsec-test-secret-0123"):
        super().__init__()
        self.secret = secret
        self.events: list[dict[str, Any]] = []
        self.bad_signatures = 0

    def handle(self, rec, path, query):
        if rec.method != "POST":
            return Reply(405, {"error": "method not allowed"})
        if not verify(self.secret, rec.body, rec.headers.get("x-splants-signature-256")):
            self.bad_signatures += 1
            return Reply(401, {"error": "bad signature"})
        if self.faults:
            return self.faults.pop(0)
        event = json.loads(rec.body)
        if (
            rec.headers.get("x-splants-delivery") != event["id"]
            or rec.headers.get("x-splants-event") != event["type"]
        ):
            return Reply(400, {"error": "headers do not match the body"})
        self.events.append(event)
        self.creates[event["id"]] += 1
        return Reply(200, {"ok": True})
