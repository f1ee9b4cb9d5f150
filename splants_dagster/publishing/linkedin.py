"""LinkedIn Posts API: ``POST /rest/posts`` with a versioned ``LinkedIn-Version: YYYYMM`` header.

The author is a person (``urn:li:person:...``) or an organization (``urn:li:organization:...``) URN. The
new post's URN comes back in the ``x-restli-id`` header. LinkedIn retires API versions about a year after
release and then answers 426 ``NONEXISTENT_VERSION``: set ``LINKEDIN_VERSION`` to a recent month.

Guarantee: at most once. The Posts API has no idempotency key, and finding one's own recent posts needs
permissions most apps do not have, so an in-flight post whose outcome is unknown is marked for review.
"""

from __future__ import annotations

import re
from typing import Any

from splants_dagster.http.accounts import LINKEDIN_BASE_URL, LINKEDIN_VERSION, LinkedInAccount
from splants_dagster.http.redact import Redactor
from splants_dagster.publishing.base import (
    Checkpoint,
    HttpPublisher,
    OutcomeUnknown,
    Permanent,
    PublishItem,
    PublishResult,
)
from splants_dagster.publishing.render import linkedin_commentary

DEFAULT_BASE_URL = LINKEDIN_BASE_URL
DEFAULT_VERSION = LINKEDIN_VERSION
AUTHOR_URN = re.compile(r"^urn:li:(person|organization):[A-Za-z0-9_-]+$")
VERSION = re.compile(r"^\d{6}(\.\d{2})?$")


class LinkedInPublisher(HttpPublisher):
    name = "linkedin"
    can_reconcile = False
    guarantee = "at most once: an in-flight post whose outcome is unknown is marked for review, never re-sent"

    def __init__(
        self,
        access_token: str,
        author_urn: str,
        *,
        version: str = DEFAULT_VERSION,
        base_url: str = DEFAULT_BASE_URL,
        timeout_s: float = 30.0,
        redact: Redactor | None = None,
    ):
        if not AUTHOR_URN.match(author_urn or ""):
            raise ValueError(
                f"LINKEDIN_AUTHOR_URN {author_urn!r}: expected urn:li:person:<id> or urn:li:organization:<id>"
            )
        if not VERSION.match(version or ""):
            raise ValueError(f"LINKEDIN_VERSION {version!r}: expected YYYYMM, e.g. {DEFAULT_VERSION}")
        self.author = author_urn
        self.version = version
        self.http = LinkedInAccount(access_token, version, base_url, author_urn=author_urn).api(
            timeout_s, redact
        )

    def payload(self, item: PublishItem) -> dict[str, Any]:
        return {
            "author": self.author,
            "commentary": linkedin_commentary(item.rendered or item.body),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }

    def describe(self, item: PublishItem) -> dict[str, Any]:
        return {
            "method": "POST",
            "path": "/rest/posts",
            "headers": {"LinkedIn-Version": self.version},
            "json": self.payload(item),
        }

    def publish(self, item: PublishItem, progress: dict[str, Any], checkpoint: Checkpoint) -> PublishResult:
        try:
            resp = self.http.request("POST", "/rest/posts", json=self.payload(item), ok=(201,), creates=True)
        except Permanent as err:
            if err.status == 426:
                raise Permanent(
                    f"{err.message} — LinkedIn-Version {self.version} is retired: set LINKEDIN_VERSION to a "
                    "recent YYYYMM",
                    status=426,
                ) from None
            raise
        urn = resp.headers.get("x-restli-id") or resp.headers.get("x-linkedin-id")
        if not urn:
            raise OutcomeUnknown("linkedin POST /rest/posts: 201 without an x-restli-id header")
        return PublishResult(urn, f"https://www.linkedin.com/feed/update/{urn}/", {})
