"""What every publisher shares: the item to publish, results, the three kinds of failure, and an HTTP
helper that turns transport errors and status codes into those failures.

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
import email.utils
import hashlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

USER_AGENT = "splants-dagster/0.1 (+https://github.com/splants)"
MAX_RETRY_AFTER_S = 6 * 3600.0


class PublishError(Exception):
    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


class Retryable(PublishError):
    """Nothing was created; try again later (honouring ``retry_after`` seconds when the platform gave one)."""


class Permanent(PublishError):
    """The platform refused the request; retrying the same request will not help."""


class OutcomeUnknown(PublishError):
    """The request may or may not have been processed."""


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


class Redactor:
    """Replaces every configured secret in text with ``***``."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        self.secrets: list[str] = []
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        for secret in secrets:
            if secret and len(secret) >= 4 and secret not in self.secrets:
                self.secrets.append(secret)
        self.secrets.sort(key=len, reverse=True)

    def __call__(self, text: Any) -> str:
        out = str(text)
        for secret in self.secrets:
            out = out.replace(secret, "***")
        return out


class _RedactingFilter(logging.Filter):
    """Redacts secrets from records of HTTP libraries' own loggers (httpx logs every request URL at INFO,
    and webhook URLs can carry secrets), in case a deployment routes those loggers somewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.redact = Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.redact.secrets:
            record.msg = self.redact(record.getMessage())
            record.args = None
        return True


_LOG_FILTER = _RedactingFilter()
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).addFilter(_LOG_FILTER)


def redact_in_http_logs(*secrets: str | None) -> None:
    _LOG_FILTER.redact.add(*secrets)


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date), ``x-rate-limit-reset`` (X: epoch
    seconds) or ``ratelimit-reset``/``x-ratelimit-reset`` (seconds from now)."""
    now = time.time() if now is None else now
    lower = {k.lower(): v for k, v in headers.items()}
    value = lower.get("retry-after")
    if value:
        value = value.strip()
        try:
            return min(MAX_RETRY_AFTER_S, max(0.0, float(value)))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if value else None
            if parsed is not None:
                return min(MAX_RETRY_AFTER_S, max(0.0, parsed.timestamp() - now))
    reset = lower.get("x-rate-limit-reset")
    if reset:
        try:
            return min(MAX_RETRY_AFTER_S, max(0.0, float(reset) - now))
        except ValueError:
            pass
    for key in ("ratelimit-reset", "x-ratelimit-reset"):
        if lower.get(key):
            try:
                seconds = float(lower[key])
            except ValueError:
                continue
            # some APIs send an epoch, most a delta
            return min(MAX_RETRY_AFTER_S, max(0.0, seconds - now if seconds > 1e9 else seconds))
    return None


def _error_text(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return resp.text[:300].strip()
    if isinstance(data, dict):
        for key in ("detail", "message", "title", "error_description", "error"):
            value = data.get(key)
            if isinstance(value, str) and value:
                code = data.get("code") or data.get("type") or data.get("errorType") or ""
                errors = data.get("errors")
                extra = ""
                if isinstance(errors, list) and errors:
                    first = errors[0]
                    if isinstance(first, dict):
                        extra = " (" + str(first.get("message") or first.get("detail") or first)[:200] + ")"
                return f"{value}{extra}" + (f" [{code}]" if code and code != "about:blank" else "")
    return str(data)[:300]


class Http:
    """An httpx client for one API that raises the publishing errors above."""

    def __init__(
        self,
        platform: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        timeout_s: float = 30.0,
        redact: Redactor | None = None,
    ):
        self.platform = platform
        self.redact = redact or Redactor()
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
            auth=auth,
            timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
        creates: bool = False,
    ) -> httpx.Response:
        """``creates``: the request changes state remotely, so a timeout after sending is OutcomeUnknown."""
        where = f"{self.platform} {method} {path}"
        try:
            resp = self.client.request(method, path, json=json, params=params, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Retryable(
                self.redact(f"{where}: could not connect ({type(exc).__name__}: {exc})")
            ) from None
        except httpx.HTTPError as exc:
            message = self.redact(f"{where}: no answer after sending ({type(exc).__name__}: {exc})")
            if creates:
                raise OutcomeUnknown(message) from None
            raise Retryable(message) from None
        if resp.status_code in ok:
            return resp
        text = self.redact(_error_text(resp))
        status = resp.status_code
        message = f"{where} → HTTP {status}: {text}"
        if status == 429 or status == 408 or status >= 500:
            raise Retryable(message, status=status, retry_after=retry_after_seconds(resp.headers))
        raise Permanent(message, status=status)

    def create(
        self,
        path: str,
        *,
        json: Any = None,
        ok: tuple[int, ...] = (200, 201),
        id_at: tuple[str, ...] = ("id",),
    ) -> str:
        """POST that creates a remote object; returns its id, found in the JSON answer under the keys
        ``id_at``. An answer without it is OutcomeUnknown: the object may exist all the same."""
        resp = self.request("POST", path, json=json, ok=ok, creates=True)
        try:
            found: Any = resp.json()
            for key in id_at:
                found = found[key]
        except (ValueError, KeyError, TypeError) as exc:
            raise OutcomeUnknown(f"{self.platform} POST {path}: unexpected answer ({exc})") from None
        return str(found)


class HttpPublisher(Publisher):
    """A publisher that talks to one API through :class:`Http` (closed with the publisher)."""

    http: Http

    def close(self) -> None:
        self.http.close()
