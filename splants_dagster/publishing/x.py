"""X API v2: ``POST /2/tweets`` with an OAuth 2.0 user-context bearer token; threads for longer posts.

A post longer than 280 weighted characters becomes a numbered thread, each part a reply
(``reply.in_reply_to_tweet_id``) to the one before. The id of every part is checkpointed as soon as X
returns it, so a retry after a 429 resumes the thread where it stopped.

Guarantee: at most once. X has no idempotency key and no lookup by client reference, so when a run dies
while a post is in flight the item is marked for review instead of being re-sent (X would usually refuse
an exact duplicate with 403 anyway). Rate limits: 429 with ``x-rate-limit-reset`` (epoch seconds) delays
the item until then.
"""

from __future__ import annotations

from typing import Any

from splants_dagster.http.accounts import X_BASE_URL, XAccount
from splants_dagster.http.redact import Redactor
from splants_dagster.publishing.base import (
    Checkpoint,
    HttpPublisher,
    PublishItem,
    PublishResult,
    Reconciled,
)
from splants_dagster.publishing.render import x_thread

DEFAULT_BASE_URL = X_BASE_URL


def tweet_url(tweet_id: str) -> str:
    return f"https://x.com/i/web/status/{tweet_id}"


class XPublisher(HttpPublisher):
    name = "x"
    can_reconcile = False
    guarantee = "at most once: an in-flight post whose outcome is unknown is marked for review, never re-sent"

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout_s: float = 30.0,
        redact: Redactor | None = None,
    ):
        self.http = XAccount(access_token, base_url).api(timeout_s, redact)

    def parts(self, item: PublishItem) -> list[str]:
        return x_thread(item.rendered or item.body)

    def describe(self, item: PublishItem) -> dict[str, Any]:
        parts = self.parts(item)
        return {
            "method": "POST",
            "path": "/2/tweets",
            "posts": len(parts),
            "json": [
                {"text": p} if i == 0 else {"text": p, "reply": {"in_reply_to_tweet_id": "<previous id>"}}
                for i, p in enumerate(parts)
            ],
        }

    def publish(self, item: PublishItem, progress: dict[str, Any], checkpoint: Checkpoint) -> PublishResult:
        parts = self.parts(item)
        ids: list[str] = list(progress.get("tweet_ids") or [])
        for index in range(len(ids), len(parts)):
            body: dict[str, Any] = {"text": parts[index]}
            if ids:
                body["reply"] = {"in_reply_to_tweet_id": ids[-1]}
            ids.append(self.http.create("/2/tweets", json=body, ok=(201, 200), id_at=("data", "id")))
            checkpoint({"tweet_ids": list(ids), "parts": len(parts)})
        return PublishResult(ids[0], tweet_url(ids[0]), {"thread": ids} if len(ids) > 1 else {})

    def reconcile(self, item: PublishItem, progress: dict[str, Any]) -> Reconciled:
        ids = list(progress.get("tweet_ids") or [])
        parts = self.parts(item)
        if ids and len(ids) >= len(parts):
            return Reconciled(
                "found", PublishResult(ids[0], tweet_url(ids[0]), {"thread": ids, "reconciled": True})
            )
        done = f"{len(ids)} of {len(parts)} posts confirmed" if len(parts) > 1 else "the post"
        return Reconciled(
            "unknown",
            progress={"tweet_ids": ids, "parts": len(parts)},
            note=(
                f"outcome unknown: the run stopped while {done} was in flight; X has no lookup by client "
                "reference, so it is not re-sent. Check the account, then `splants publish resolve`."
            ),
        )
