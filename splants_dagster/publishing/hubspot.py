"""HubSpot: blog posts (``/cms/v3/blogs/posts``) or marketing emails (``/marketing/v3/emails``).

Private-app bearer token. Blog posts need the blog's id (``contentGroupId``, ``HUBSPOT_BLOG_ID``); they are
created as drafts, the id is checkpointed, then pushed live (``/draft/push-live``) unless the action is
``draft``. Emails are created as drafts (name carries the item's key); ``publish`` sends them through
``/marketing/v3/emails/{id}/publish``, which HubSpot only allows on Marketing Hub Enterprise.

A/B: an email carrying its variants (``item.variants``, a platform split) is created as the control, then
its variation with ``POST /marketing/v3/emails/ab-test/create-variation`` (``contentId`` = the control,
``variationName`` carrying the item's key) and the variant's subject and text set with ``PATCH
/marketing/v3/emails/{id}``. HubSpot A/B emails have one variation: the first variant; others stay
alternates. HubSpot splits the recipients and picks the winner.

Blog posts are drafts by default (``HUBSPOT_BLOG_ACTION=publish`` pushes them live).

Guarantee: exactly once. Interrupted attempts are found again — blog posts by slug, emails by name among
those created since the first attempt — and resumed, never created twice.
"""

from __future__ import annotations

from typing import Any

from splants_dagster.http.accounts import HUBSPOT_BASE_URL, HubSpotAccount
from splants_dagster.http.redact import Redactor
from splants_dagster.publishing.base import (
    Checkpoint,
    HttpPublisher,
    PublishItem,
    PublishResult,
    Reconciled,
    iso_z,
)
from splants_dagster.publishing.render import excerpt, markdown_html

DEFAULT_BASE_URL = HUBSPOT_BASE_URL
LIVE = ("PUBLISHED", "SCHEDULED", "PUBLISHED_OR_SCHEDULED")


class _HubSpot(HttpPublisher):
    can_reconcile = True

    def __init__(
        self,
        access_token: str,
        *,
        action: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout_s: float = 30.0,
        redact: Redactor | None = None,
    ):
        if action not in ("draft", "publish"):
            raise ValueError(f"HubSpot action {action!r}: expected draft or publish")
        self.action = action
        self.http = HubSpotAccount(access_token, base_url).api(timeout_s, redact)


class HubSpotBlogPublisher(_HubSpot):
    name = "hubspot_blog"
    guarantee = "exactly once: posts are found by slug and resumed, never created twice"

    def __init__(self, access_token: str, blog_id: str, *, action: str = "draft", **kwargs: Any):
        super().__init__(access_token, action=action, **kwargs)
        self.blog_id = blog_id

    def claim_progress(self, item: PublishItem) -> dict[str, Any]:
        return {"slug": item.slug}

    def payload(self, item: PublishItem, slug: str | None = None) -> dict[str, Any]:
        return {
            "name": item.title,
            "contentGroupId": self.blog_id,
            "slug": slug or item.slug,
            "htmlTitle": item.seo_title or item.title,
            "metaDescription": item.meta_description or excerpt(item.body),
            "postSummary": excerpt(item.body, 300),
            "postBody": markdown_html(item.body),
        }

    def describe(self, item: PublishItem) -> dict[str, Any]:
        body = self.payload(item)
        body["postBody"] = body["postBody"][:300] + "…"
        steps = [{"method": "POST", "path": "/cms/v3/blogs/posts", "json": body}]
        if self.action == "publish":
            steps.append({"method": "POST", "path": "/cms/v3/blogs/posts/{id}/draft/push-live"})
        return {"steps": steps}

    def _result(self, post: dict[str, Any], reconciled: bool = False) -> PublishResult:
        details: dict[str, Any] = {"state": post.get("state")}
        if reconciled:
            details["reconciled"] = True
        return PublishResult(str(post["id"]), post.get("url"), details)

    def publish(self, item: PublishItem, progress: dict[str, Any], checkpoint: Checkpoint) -> PublishResult:
        post_id = progress.get("post_id")
        if not post_id:
            post_id = self.http.create("/cms/v3/blogs/posts", json=self.payload(item, progress.get("slug")))
            checkpoint({**progress, "post_id": post_id})
        if self.action == "publish":
            self.http.request(
                "POST", f"/cms/v3/blogs/posts/{post_id}/draft/push-live", ok=(204, 200), creates=True
            )
        post = self.http.request("GET", f"/cms/v3/blogs/posts/{post_id}").json()
        return self._result(post)

    def reconcile(self, item: PublishItem, progress: dict[str, Any]) -> Reconciled:
        post_id = progress.get("post_id")
        if post_id:
            post = self.http.request("GET", f"/cms/v3/blogs/posts/{post_id}").json()
        else:
            slug = progress.get("slug") or item.slug
            found = self.http.request("GET", "/cms/v3/blogs/posts", params={"slug": slug, "limit": 10}).json()
            post = next((p for p in found.get("results", []) if p.get("slug") == slug), None)
        if post is None:
            return Reconciled("absent", note="no post with this item's slug")
        if self.action == "draft" or post.get("state") in LIVE:
            return Reconciled(
                "found", self._result(post, reconciled=True), note=f"post {post['id']} is {post.get('state')}"
            )
        return Reconciled(
            "absent",
            progress={**progress, "post_id": str(post["id"])},
            note=f"post {post['id']} exists as a draft: resuming",
        )


class HubSpotEmailPublisher(_HubSpot):
    name = "hubspot_email"
    guarantee = "exactly once: emails are found by name and resumed, never created twice"

    def __init__(self, access_token: str, *, action: str = "draft", **kwargs: Any):
        super().__init__(access_token, action=action, **kwargs)

    def payload(self, item: PublishItem) -> dict[str, Any]:
        return {
            "name": f"{item.title[:80]} {item.tag_line}",
            "subject": item.subject or item.title,
            "content": {"plainTextVersion": item.rendered or item.body},
        }

    @staticmethod
    def variation_name(item: PublishItem) -> str:
        v = item.variants[0]
        return f"{(v.title or item.title)[:70]} {item.tag_line} variation {v.piece_id[:24]}"

    def variation_patch(self, item: PublishItem) -> dict[str, Any]:
        v = item.variants[0]
        return {
            "subject": v.subject or item.subject or item.title,
            "content": {"plainTextVersion": v.rendered or v.body},
        }

    def describe(self, item: PublishItem) -> dict[str, Any]:
        steps = [{"method": "POST", "path": "/marketing/v3/emails", "json": self.payload(item)}]
        if item.variants:
            steps.append(
                {
                    "method": "POST",
                    "path": "/marketing/v3/emails/ab-test/create-variation",
                    "json": {"contentId": "{id}", "variationName": self.variation_name(item)},
                }
            )
            steps.append(
                {
                    "method": "PATCH",
                    "path": "/marketing/v3/emails/{variation_id}",
                    "json": self.variation_patch(item),
                }
            )
        if self.action == "publish":
            steps.append({"method": "POST", "path": "/marketing/v3/emails/{id}/publish"})
        return {"steps": steps}

    def publish(self, item: PublishItem, progress: dict[str, Any], checkpoint: Checkpoint) -> PublishResult:
        email_id = progress.get("email_id")
        if not email_id:
            email_id = self.http.create("/marketing/v3/emails", json=self.payload(item))
            progress = {**progress, "email_id": email_id}
            checkpoint(progress)
        details: dict[str, Any] = {"action": self.action}
        if item.variants:
            variation_id = progress.get("variation_id") or self._find_variation(item)
            if not variation_id:
                variation_id = self.http.create(
                    "/marketing/v3/emails/ab-test/create-variation",
                    json={"contentId": email_id, "variationName": self.variation_name(item)},
                )
            if progress.get("variation_id") != variation_id:
                progress = {**progress, "variation_id": variation_id}
                checkpoint(progress)
            self.http.request(
                "PATCH", f"/marketing/v3/emails/{variation_id}", json=self.variation_patch(item), ok=(200,)
            )
            details.update(
                type="ab_email",
                arms=[
                    {"piece_id": item.piece_id, "email_id": email_id},
                    {"piece_id": item.variants[0].piece_id, "email_id": variation_id},
                ],
                alternates=[v.piece_id for v in item.variants[1:]],
            )
        if self.action == "publish":
            self.http.request("POST", f"/marketing/v3/emails/{email_id}/publish", ok=(204, 200), creates=True)
        return PublishResult(email_id, None, details)

    def _find_variation(self, item: PublishItem) -> str | None:
        """A variation an interrupted attempt created (its name carries the item's key)."""
        found = self.http.request(
            "GET", "/marketing/v3/emails", params={"createdAfter": iso_z(item.lookup_since), "limit": 100}
        ).json()
        marker = f"{item.tag_line} variation "
        return next(
            (str(e["id"]) for e in found.get("results", []) if marker in str(e.get("name", ""))), None
        )

    def reconcile(self, item: PublishItem, progress: dict[str, Any]) -> Reconciled:
        email_id = progress.get("email_id")
        email: dict[str, Any] | None
        if email_id:
            email = self.http.request("GET", f"/marketing/v3/emails/{email_id}").json()
        else:
            found = self.http.request(
                "GET", "/marketing/v3/emails", params={"createdAfter": iso_z(item.lookup_since), "limit": 100}
            ).json()
            email = next(
                (e for e in found.get("results", []) if item.tag_line in str(e.get("name", ""))), None
            )
        if email is None:
            return Reconciled("absent", note="no email with this item's key")
        live = email.get("state") in LIVE or email.get("isPublished")
        if item.variants and not live:
            # the A/B variation may be missing: resuming finds it by name or creates it (the PATCH is idempotent)
            return Reconciled(
                "absent", progress={**progress, "email_id": str(email["id"])}, note="A/B email: resuming"
            )
        if self.action == "draft" or live:
            return Reconciled("found", PublishResult(str(email["id"]), None, {"reconciled": True}))
        return Reconciled(
            "absent", progress={**progress, "email_id": str(email["id"])}, note="draft exists: resuming"
        )
