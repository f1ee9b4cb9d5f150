"""The provider interface every LLM backend implements, and the records the call ledger keeps."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class LLMRequest:
    """One completion request.

    ``shared_context`` is the part every call of a suite shares (brand, brief, research). Providers put it
    first and byte-identical so provider-side prompt caching applies; ``instruction`` is the task.
    ``payload`` carries the same task as structured data for the offline provider, which composes text
    instead of reading prose.
    """

    purpose: str
    system: str
    shared_context: str
    instruction: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    max_tokens: int = 2048
    temperature: float = 0.7
    piece_id: str | None = None
    json_output: bool = True

    @property
    def prompt_text(self) -> str:
        return f"{self.shared_context}\n\n{self.instruction}"

    def cache_key(self, provider: str, model: str) -> str:
        """Stable key of (provider, model, prompt, parameters) for the response cache."""
        blob = json.dumps(
            {
                "provider": provider,
                "model": model,
                "system": self.system,
                "shared": self.shared_context,
                "instruction": self.instruction,
                "max_tokens": self.max_tokens,
                "temperature": self.temperature,
                "json": self.json_output,
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class Usage:
    """Tokens of one call. ``prompt_tokens`` counts every input token, including ``cached_tokens`` (read
    from the provider's prompt cache, billed at the cached rate) and ``cache_write_tokens`` (written to it,
    which Anthropic bills at a premium)."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0
    estimated: bool = False
    cache_write_tokens: int = 0


@dataclass(frozen=True)
class LLMResponse:
    text: str
    provider: str
    model: str
    usage: Usage
    finish_reason: str = "stop"
    request_id: str | None = None


class LLMError(Exception):
    """A call that did not produce usable text. ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


@runtime_checkable
class Provider(Protocol):
    """An LLM backend. ``name`` goes into the ledger (``offline``, ``openai``, ``anthropic``, ...)."""

    name: str
    model: str
    is_offline: bool

    async def complete(self, request: LLMRequest) -> LLMResponse: ...


@dataclass(frozen=True)
class CallRecord:
    """One row of the LLM call ledger: every call, offline and cache hits included.

    ``status`` is ``ok`` (a usable reply), ``rejected`` (a billed reply that was unusable: empty, cut off by
    the token limit, a refusal, malformed JSON; it is retried) or ``error`` (no reply: an HTTP error, a
    timeout or a dropped connection; nothing billed). A cache hit is ``ok`` with ``cached=True`` and zero
    tokens and cost.
    """

    call_id: str
    campaign_id: str | None
    asset: str
    purpose: str
    piece_id: str | None
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    tokens_estimated: bool
    cost_usd: float
    cached: bool
    latency_ms: float
    status: str
    error: str | None
    strategy: str | None
    run_id: str | None
    called_at: dt.datetime
    # attempt number of this request on this provider (1 = first try); retries get their own rows
    attempt: int = 1
    # "provider/model" whose failure this call stands in for, when the call is a fallback
    fallback_from: str | None = None
    cache_write_tokens: int = 0

    def to_json(self) -> str:
        row = asdict(self)
        row["called_at"] = self.called_at.isoformat()
        return json.dumps(row, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> CallRecord:
        row = json.loads(line)
        row["called_at"] = dt.datetime.fromisoformat(row["called_at"])
        return cls(**row)


def estimate_tokens(text: str) -> int:
    """A rough token count (about 4 characters per token) used where a provider reports none."""
    return max(1, (len(text) + 3) // 4)


def redact(text: str, secrets: list[str | None]) -> str:
    """``text`` with every secret replaced, for error messages that may echo a request."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "[redacted]")
    return text
