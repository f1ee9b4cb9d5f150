"""What every publisher shares: the item to publish, results, and the three kinds of failure (defined
with the one HTTP client per platform in ``splants_dagster/http/api.py``).

The failure kinds drive the exactly-once state machine (``state.py`` / ``runner.py``):

- :class:`Retryable`: the platform answered and did not create anything (429, 5xx, 408) or the request
  never left (connection refused); the item is retried at ``next_attempt_at``.
- :class:`Permanent`: the platform refused the request (bad credentials, invalid content, retired API
  version); a person must fix something, so the item is marked for review.
- :class:`OutcomeUnknown`: the request may have been processed (timeout or dropped connection after it
  was sent). Platforms with a lookup reconcile before any re-send; the others mark the item for review.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

# the failure kinds and the client are the shared HTTP layer's (one per platform, also used to read
# engagement); publishing names them as before
from splants_dagster.http.api import ApiClient
from splants_dagster.http.api import ApiError as PublishError  # noqa: F401 - the name runner.py uses
from splants_dagster.http.api import OutcomeUnknown as OutcomeUnknown
from splants_dagster.http.api import Permanent as Permanent
from splants_dagster.http.api import Retryable as Retryable


def iso_z(when: dt.datetime) -> str:
    """``when`` in UTC as ISO 8601 with a ``Z`` (the form the platforms' APIs take)."""
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def idempotency_key(piece_id: str, platform: str) -> str:
    """Stable per (piece, platform): the same piece is never two publications, whatever the run."""
    return hashlib.sha256(f"{piece_id}|{platform}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class ABVariant:
    """One A/B variant carried inside its original's publication (a platform-split email)."""

    piece_id: str
    subject: str | None
    preheader: str | None
    body: str
    rendered: str
    title: str = ""


@dataclass(frozen=True)
class PublishItem:
    """One approved piece, due on one platform, with everything a publisher may need (and no secrets)."""

    idempotency_key: str
    piece_id: str
    campaign_id: str
    platform: str
    content_type: str
    title: str
    body: str
    rendered: str
    publish_at: dt.datetime
    seo_title: str | None = None
    meta_description: str | None = None
    subject: str | None = None
    preheader: str | None = None
    cta: str | None = None
    hashtags: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    is_pillar: bool = False
    variant_of: str | None = None
    link: str | None = None
    first_attempt_at: dt.datetime | None = None
    # A/B: ``platform_split`` (this email carries its variants: the platform splits the audience),
    # ``sequential`` (one version of a sequential test) or None
    ab_design: str | None = None
    variants: tuple[ABVariant, ...] = ()
    # the brief's email audience (Mailchimp saved segment id / tag); the publishing config's otherwise
    email_segment: str | None = None
    email_tag: str | None = None

    @property
    def short_key(self) -> str:
        return self.idempotency_key[:12]

    @property
    def slug(self) -> str:
        from splants_dagster.publishing.render import slugify

        base = slugify(self.title)[:60].strip("-") or "post"
        return f"{base}-{self.idempotency_key[:10]}"

    @property
    def lookup_since(self) -> dt.datetime:
        """Where a lookup of recently created remote objects starts: a day before the earliest of the first
        attempt, the scheduled time and now (``--now`` publishes ahead of schedule)."""
        candidates = [self.publish_at, dt.datetime.now(dt.UTC)]
        if self.first_attempt_at is not None:
            candidates.append(self.first_attempt_at)
        return min(c.astimezone(dt.UTC) for c in candidates) - dt.timedelta(days=1)

    @property
    def tag_line(self) -> str:
        """A marker carried in remote titles/names so a lookup can find this item again."""
        return f"[splants {self.short_key}]"


@dataclass(frozen=True)
class PublishResult:
    remote_id: str
    url: str | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reconciled:
    """What a lookup found: ``found`` (already there: do not send), ``absent`` (safe to send, possibly
    resuming from ``progress``), or ``unknown`` (cannot tell: a person decides)."""

    state: Literal["found", "absent", "unknown"]
    result: PublishResult | None = None
    progress: dict[str, Any] | None = None
    note: str = ""


Checkpoint = Callable[[dict[str, Any]], None]


class Publisher(ABC):
    """A destination for pieces of some platforms."""

    name: str = "publisher"
    can_reconcile: bool = False
    guarantee: str = ""

    @abstractmethod
    def describe(self, item: PublishItem) -> dict[str, Any]:
        """What would be sent (method, path, body), for dry runs; never includes credentials."""

    @abstractmethod
    def publish(self, item: PublishItem, progress: dict[str, Any], checkpoint: Checkpoint) -> PublishResult:
        """Send the item. ``progress`` holds what earlier attempts recorded through ``checkpoint`` (e.g. the
        ids of tweets already posted in a thread), so a retry resumes instead of starting again."""

    def audience_problem(self, item: PublishItem) -> str | None:
        """Why ``item`` must not be sent to this platform's audience as configured (checked by the gate
        before any call, e.g. a Mailchimp send to a whole list), or None."""
        return None

    def claim_progress(self, item: PublishItem) -> dict[str, Any]:
        """What to record with the claim, before the first remote call, so a later lookup searches for
        exactly what was sent even if the piece is regenerated in between (e.g. the slug)."""
        return {}

    def reconcile(self, item: PublishItem, progress: dict[str, Any]) -> Reconciled:
        """Look up whether an earlier, interrupted attempt already created the item."""
        return Reconciled("unknown", note=f"{self.name} has no lookup for items created earlier")

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


class HttpPublisher(Publisher):
    """A publisher that talks to one API through its account's :class:`ApiClient` (closed with the
    publisher)."""

    http: ApiClient

    def close(self) -> None:
        self.http.close()
