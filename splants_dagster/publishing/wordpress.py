"""WordPress REST API (``/wp-json/wp/v2/posts``) with an application password (HTTP Basic auth).

Each post gets a slug that ends with the item's idempotency key, so an interrupted attempt is found again
with ``GET /posts?slug=...`` (any status, ``context=edit``) before anything is re-sent: exactly once.
Categories and tags are looked up by name and created when missing. SEO title and description go into
post meta under configurable keys (Yoast's by default); WordPress ignores meta keys a site has not
registered for REST, so the site (or its SEO plugin) must expose them for them to stick.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from splants_dagster.http.accounts import WordPressSite
from splants_dagster.http.redact import Redactor
from splants_dagster.publishing.base import (
    Checkpoint,
    HttpPublisher,
    Permanent,
    PublishItem,
    PublishResult,
    Reconciled,
)
from splants_dagster.publishing.render import excerpt, markdown_html

STATUSES = ("draft", "publish", "future")
LOOKUP_STATUSES = "publish,future,draft,pending,private"


class WordPressPublisher(HttpPublisher):
    name = "wordpress"
    can_reconcile = True
    guarantee = "exactly once: interrupted attempts are found by slug before any re-send"

    def __init__(
        self,
        site_url: str,
        username: str,
        app_password: str,
        *,
        status: str = "publish",
        category: str | None = None,
        seo_title_key: str = "_yoast_wpseo_title",
        seo_description_key: str = "_yoast_wpseo_metadesc",
        timeout_s: float = 30.0,
        redact: Redactor | None = None,
    ):
        if status not in STATUSES:
            raise ValueError(f"WordPress status {status!r}: expected one of {', '.join(STATUSES)}")
        self.status = status
        self.category = category
        self.seo_title_key = seo_title_key
        self.seo_description_key = seo_description_key
        self.http = WordPressSite(site_url, username, app_password).api(timeout_s, redact)

    def _categories(self, item: PublishItem) -> list[str]:
        name = self.category or (item.keywords[0].title() if item.keywords else "")
        return [name] if name else []

    def _tags(self, item: PublishItem) -> list[str]:
        return list(dict.fromkeys([k for k in item.keywords[:5]] + [h.lstrip("#") for h in item.hashtags]))

    def claim_progress(self, item: PublishItem) -> dict[str, Any]:
        return {"slug": item.slug}

    def payload(
        self, item: PublishItem, category_ids: list[int], tag_ids: list[int], slug: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": item.title,
            "content": markdown_html(item.body),
            "excerpt": item.meta_description or excerpt(item.body),
            "status": self.status,
            "slug": slug or item.slug,
            "categories": category_ids,
            "tags": tag_ids,
            "meta": {
                self.seo_title_key: item.seo_title or item.title,
                self.seo_description_key: item.meta_description or excerpt(item.body),
                "splants_idempotency_key": item.idempotency_key,
            },
        }
        if self.status == "future":
            body["date_gmt"] = (
                item.publish_at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds")
            )
        return body

    def describe(self, item: PublishItem) -> dict[str, Any]:
        body = self.payload(item, [], [])
        body["content"] = body["content"][:300] + ("…" if len(body["content"]) > 300 else "")
        body["categories"] = self._categories(item)
        body["tags"] = self._tags(item)
        return {"method": "POST", "path": "/wp-json/wp/v2/posts", "json": body}

    def term_id(self, taxonomy: str, name: str) -> int:
        """The id of the category/tag called ``name``, created when missing."""
        found = self.http.request("GET", f"/{taxonomy}", params={"search": name, "per_page": 100}).json()
        for term in found if isinstance(found, list) else []:
            if html.unescape(str(term.get("name", ""))).casefold() == name.casefold():
                return int(term["id"])
        try:
            created = self.http.request("POST", f"/{taxonomy}", json={"name": name}, ok=(200, 201))
        except Permanent as err:
            # created concurrently (or by an interrupted attempt): WordPress names the existing term
            if err.status == 400 and "term_exists" in err.message:
                again = self.http.request(
                    "GET", f"/{taxonomy}", params={"search": name, "per_page": 100}
                ).json()
                for term in again:
                    if html.unescape(str(term.get("name", ""))).casefold() == name.casefold():
                        return int(term["id"])
            raise
        return int(created.json()["id"])

    def publish(self, item: PublishItem, progress: dict[str, Any], checkpoint: Checkpoint) -> PublishResult:
        category_ids = [self.term_id("categories", n) for n in self._categories(item)]
        tag_ids = [self.term_id("tags", n) for n in self._tags(item)]
        body = self.payload(item, category_ids, tag_ids, progress.get("slug"))
        resp = self.http.request("POST", "/posts", json=body, ok=(201,), creates=True)
        post = resp.json()
        return PublishResult(
            str(post["id"]),
            post.get("link"),
            {
                "status": post.get("status"),
                "slug": post.get("slug"),
                "categories": category_ids,
                "tags": tag_ids,
            },
        )

    def find(self, slug: str) -> dict[str, Any] | None:
        resp = self.http.request(
            "GET", "/posts", params={"slug": slug, "status": LOOKUP_STATUSES, "context": "edit"}
        )
        for post in resp.json():
            if post.get("slug") == slug:
                return post
        return None

    def reconcile(self, item: PublishItem, progress: dict[str, Any]) -> Reconciled:
        slug = progress.get("slug") or item.slug
        post = self.find(slug)
        if post is None:
            return Reconciled("absent", note=f"no post with slug {slug}")
        return Reconciled(
            "found",
            PublishResult(
                str(post["id"]), post.get("link"), {"status": post.get("status"), "reconciled": True}
            ),
            note=f"found post {post['id']} by slug",
        )
