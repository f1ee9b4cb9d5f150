"""Retry timing: exponential backoff with jitter, honouring the server's ``Retry-After``."""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` tries per provider; waits ``base_delay_s × 2^(n-1)`` (capped at ``max_delay_s``),
    scaled by a random factor in [0.5, 1) so concurrent callers spread out; never less than the server's
    ``Retry-After``. A ``Retry-After`` above ``max_retry_after_s`` ends the retries at once (the next
    provider, if any, takes over) instead of blocking the step."""

    max_attempts: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_retry_after_s: float = 60.0

    def delay(
        self, attempt: int, retry_after: float | None = None, rng: Callable[[], float] = random.random
    ) -> float | None:
        """Seconds to wait after failed attempt ``attempt`` (1-based); None when no retry is left."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None and retry_after > self.max_retry_after_s:
            return None
        backoff = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)) * (0.5 + 0.5 * rng())
        return max(backoff, retry_after or 0.0)


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date), if present."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
