"""Retry timing shared by every outside call (platform APIs, webhooks, LLM providers): the one
``Retry-After`` parser and the one backoff policy.

``Retry-After`` (RFC 9110 §10.2.3) is either delta-seconds or an HTTP-date. Some APIs say the same thing
in their own headers: ``retry-after-ms`` (OpenAI), ``x-rate-limit-reset`` (X: epoch seconds) and
``ratelimit-reset`` / ``x-ratelimit-reset`` (seconds from now, or an epoch). A wait is never longer than
:data:`MAX_RETRY_AFTER_S`, so a broken or hostile header cannot park an item for days.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

MAX_RETRY_AFTER_S = 6 * 3600.0
EPOCH_THRESHOLD = 1e9  # a "reset" value above this is an epoch (2001-09-09), below it a delta


def _seconds(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_retry_after(
    value: str | None, now: float | None = None, cap: float = MAX_RETRY_AFTER_S
) -> float | None:
    """Seconds to wait from one ``Retry-After`` value: delta-seconds or an HTTP-date (``now``: epoch
    seconds, default the clock). A date in the past is 0; a negative or unreadable value is None (ignored:
    the caller's own backoff applies); anything longer than ``cap`` is ``cap``."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    seconds = _seconds(text)
    if seconds is None:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": UTC, per RFC 5322
            when = when.replace(tzinfo=dt.UTC)
        seconds = when.timestamp()
        seconds = max(0.0, seconds - (time.time() if now is None else now))
    elif seconds < 0:
        return None
    return min(cap, seconds)


def retry_after_seconds(
    headers: Mapping[str, str] | None, now: float | None = None, cap: float = MAX_RETRY_AFTER_S
) -> float | None:
    """Seconds to wait from a response's headers: ``retry-after-ms``, ``Retry-After``, X's
    ``x-rate-limit-reset`` (epoch seconds) or ``ratelimit-reset``/``x-ratelimit-reset``; None if none
    says (a readable one)."""
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    ms = _seconds(lower.get("retry-after-ms") or "")
    if ms is not None and ms >= 0:
        return min(cap, ms / 1000)
    found = parse_retry_after(lower.get("retry-after"), now, cap)
    if found is not None:
        return found
    now = time.time() if now is None else now
    for key in ("x-rate-limit-reset", "ratelimit-reset", "x-ratelimit-reset"):
        reset = _seconds(lower.get(key) or "")
        if reset is None or reset < 0:
            continue
        epoch = key == "x-rate-limit-reset" or reset > EPOCH_THRESHOLD
        return min(cap, max(0.0, reset - now if epoch else reset))
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` tries; after failed attempt n waits ``base_delay_s × 2^(n-1)`` (capped at
    ``max_delay_s``), scaled by a random factor in [0.5, 1) when ``jitter`` (so concurrent callers spread
    out), never less than the server's ``Retry-After``. A ``Retry-After`` above ``max_retry_after_s``
    ends the retries at once (a later run, or the next provider, takes over) instead of blocking."""

    max_attempts: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_retry_after_s: float = 60.0
    jitter: bool = True

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """The backoff alone after failed attempt ``attempt`` (1-based), ignoring the attempt limit."""
        delay = min(self.max_delay_s, self.base_delay_s * 2 ** max(0, attempt - 1))
        return delay * (0.5 + 0.5 * rng()) if self.jitter else delay

    def delay(
        self, attempt: int, retry_after: float | None = None, rng: Callable[[], float] = random.random
    ) -> float | None:
        """Seconds to wait after failed attempt ``attempt`` (1-based); None when no retry is left."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None and retry_after > self.max_retry_after_s:
            return None
        return max(self.backoff(attempt, rng), retry_after or 0.0)
