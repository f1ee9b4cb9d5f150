"""What the SDK-backed providers share: one SDK client per event loop, and errors turned into LLMError.

The SDKs' own retries are switched off (``max_retries=0``): the LLM client retries itself so that every
attempt, failed or not, gets its own ledger row and the backoff honours ``Retry-After`` the same way for
every provider.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from splants_dagster.http.redact import redact
from splants_dagster.llm.base import LLMError
from splants_dagster.llm.retry import parse_retry_after

RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
CONNECT_TIMEOUT_S = 10.0  # a server that does not even accept the connection is not worth waiting for


class RemoteProvider:
    """Base of the SDK providers. Subclasses set ``name`` and implement ``_new_client`` and ``complete``.

    The API key is kept in a private attribute and never appears in ``repr``, logs or error messages.
    """

    name = "remote"
    is_offline = False
    default_endpoint = ""  # the SDK's own endpoint when ``base_url`` is not set

    def __init__(self, *, model: str, api_key: str, base_url: str | None, timeout_s: float):
        self.model = model
        self._api_key = api_key
        self.base_url = base_url
        self.timeout_s = timeout_s
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, model={self.model!r}, base_url={self.base_url!r})"

    @property
    def label(self) -> str:
        return f"{self.name}/{self.model}"

    @property
    def endpoint(self) -> str:
        """Where requests go (for messages; the URL carries no credentials)."""
        return self.base_url or self.default_endpoint

    def timeout(self, kind: Any) -> Any:
        """``timeout_s`` per request phase (a reply may take that long), connecting within 10 s; ``kind`` is
        the SDK's ``Timeout`` class (each SDK bundles its own HTTP client)."""
        return kind(self.timeout_s, connect=min(CONNECT_TIMEOUT_S, self.timeout_s))

    def _new_client(self) -> Any:
        raise NotImplementedError

    def sdk(self) -> Any:
        """The SDK client of the running event loop (an async HTTP pool cannot outlive its loop)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = self._new_client()
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.close()
        self._client = None
        self._loop = None

    def error(self, message: str, *, retryable: bool, retry_after: float | None = None) -> LLMError:
        text = redact(f"{self.label}: {message}", [self._api_key])
        return LLMError(text, retryable=retryable, retry_after=retry_after)

    def status_error(self, status: int, headers: Mapping[str, str], detail: str | None) -> LLMError:
        retryable = status in RETRYABLE_STATUS or status >= 500
        retry_after = parse_retry_after(headers)
        what = f"HTTP {status}"
        if detail:
            what += f" {' '.join(str(detail).split())[:240]}"
        if retry_after is not None:
            what += f" (Retry-After {retry_after:g}s)"
        return self.error(what, retryable=retryable, retry_after=retry_after)

    def call_error(self, exc: Exception, *, timed_out: bool, connection: bool) -> LLMError:
        """The (retryable) error of an SDK call that got no usable answer: a timeout, a failed connection,
        or an unusable response."""
        if timed_out:
            return self.error(f"no reply within {self.timeout_s:g}s (timeout)", retryable=True)
        if connection:
            cause = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
            return self.error(f"connection failed ({cause})", retryable=True)
        return self.error(f"unusable response ({type(exc).__name__})", retryable=True)


def error_detail(body: object, fallback: str) -> str:
    """The ``error.message`` of an OpenAI- or Anthropic-style error body."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return fallback
