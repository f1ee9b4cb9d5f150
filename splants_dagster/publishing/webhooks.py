"""Outgoing webhooks: ``content.published`` (and later events) as signed JSON POSTs.

Every request carries ``X-Splants-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the raw body with
``SPLANTS_WEBHOOK_SECRET``; receivers recompute it over the bytes they received and compare in constant
time (:func:`verify`). ``X-Splants-Event`` names the event and ``X-Splants-Delivery`` is the event id,
which stays the same across retries so receivers can drop duplicates: delivery is at least once.

A delivery is retried a few times within a run with the shared backoff policy
(:class:`~splants_dagster.http.retry.RetryPolicy`: exponential, honouring ``Retry-After``; a receiver
asking for a longer wait than ``max_backoff_s`` is left until a later run), then again on later runs; every attempt is logged (``webhook_deliveries``). Webhook URLs often embed secrets, so
only :func:`url_ref` (scheme, host and a short hash) is ever stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from splants_dagster.http.api import USER_AGENT
from splants_dagster.http.redact import Redactor, redact_in_http_logs
from splants_dagster.http.retry import RetryPolicy, retry_after_seconds

SIGNATURE_HEADER = "X-Splants-Signature-256"
EVENT_HEADER = "X-Splants-Event"
DELIVERY_HEADER = "X-Splants-Delivery"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver runs: does ``header`` match the HMAC of the raw ``body``?"""
    if not header:
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


def url_ref(url: str) -> str:
    parts = urlsplit(url)
    digest = hashlib.sha256(url.encode()).hexdigest()[:10]
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}/…#{digest}"


def parse_urls(value: str | None) -> list[str]:
    if not value:
        return []
    return [u for u in (p.strip() for p in value.replace("\n", ",").replace(" ", ",").split(",")) if u]


def event_body(event_id: str, event_type: str, created_at: str, data: dict[str, Any]) -> bytes:
    return json.dumps(
        {"id": event_id, "type": event_type, "created_at": created_at, "data": data},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


@dataclass(frozen=True)
class Attempt:
    attempt: int
    status_code: int | None
    ok: bool
    error: str | None
    duration_ms: float
    retry_after: float | None = None


class WebhookSender:
    def __init__(
        self,
        urls: list[str],
        secret: str,
        *,
        timeout_s: float = 10.0,
        attempts: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        redact: Redactor | None = None,
    ):
        self.urls = list(urls)
        self.secret = secret
        self.attempts = attempts
        self.policy = RetryPolicy(
            max_attempts=attempts,
            base_delay_s=backoff_s,
            max_delay_s=max_backoff_s,
            max_retry_after_s=max_backoff_s,
            jitter=False,
        )
        self.sleep = sleep
        self.redact = redact or Redactor()
        self.redact.add(secret, *urls)
        redact_in_http_logs(secret, *urls)  # httpx logs each request URL, and these URLs are secrets
        self.client = httpx.Client(
            timeout=timeout_s, headers={"User-Agent": USER_AGENT}, follow_redirects=False
        )

    def close(self) -> None:
        self.client.close()

    @property
    def refs(self) -> dict[str, str]:
        return {url_ref(u): u for u in self.urls}

    def deliver(
        self, url: str, event_id: str, event_type: str, body: bytes, first_attempt: int = 1
    ) -> list[Attempt]:
        """POST with up to ``attempts`` tries and exponential backoff; stops at the first 2xx or at a 4xx
        other than 408/429 (the receiver refused the event; retrying will not help)."""
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: event_type,
            DELIVERY_HEADER: event_id,
            SIGNATURE_HEADER: sign(self.secret, body),
        }
        log: list[Attempt] = []
        for i in range(self.attempts):
            started = time.perf_counter()
            status: int | None = None
            retry_after = None
            try:
                resp = self.client.post(url, content=body, headers=headers)
                status = resp.status_code
                ok = 200 <= status < 300
                error = None if ok else f"HTTP {status}: {resp.text[:200]}"
                retry_after = retry_after_seconds(resp.headers) if status in (429, 503) else None
            except httpx.HTTPError as exc:
                ok = False
                error = f"{type(exc).__name__}: {exc}"
            took = (time.perf_counter() - started) * 1000
            log.append(
                Attempt(
                    first_attempt + i,
                    status,
                    ok,
                    self.redact(error) if error else None,
                    round(took, 1),
                    retry_after,
                )
            )
            if ok or (status is not None and 400 <= status < 500 and status not in (408, 429)):
                break
            delay = self.policy.delay(i + 1, retry_after)
            if delay is None:
                break
            self.sleep(delay)
        return log
