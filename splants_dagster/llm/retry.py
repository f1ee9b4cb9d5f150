"""Retry timing of LLM calls: the shared policy of every outside call (``splants_dagster/http/retry.py``),
under the names the LLM client uses: :class:`RetryPolicy` (exponential backoff with jitter, never less
than the server's ``Retry-After``) and :func:`parse_retry_after` (seconds from a response's headers:
``retry-after-ms``, ``Retry-After`` as seconds or an HTTP date, ...)."""

from __future__ import annotations

from splants_dagster.http.retry import RetryPolicy as RetryPolicy
from splants_dagster.http.retry import retry_after_seconds as parse_retry_after

__all__ = ["RetryPolicy", "parse_retry_after"]
