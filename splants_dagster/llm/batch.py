"""Provider batch APIs, through the official SDKs: OpenAI Batch (a JSONL file of Chat Completions requests,
``POST /v1/files`` + ``POST /v1/batches``, results as an output file) and Anthropic Message Batches
(``POST /v1/messages/batches``, results as JSONL at ``results_url``). Both answer within 24 hours and bill
half the synchronous price.

How a batch reaches the content tables:

1. A step that may wait (economy, campaign starting days later) generates through a
   :class:`DeferringClient`: replies already in the response cache are used, every other request is
   collected instead of being sent, and :meth:`BatchAPI.submit` sends them as one batch.
2. When the provider reports the batch finished, :func:`record_results` turns each result into a ledger
   row priced from the reported usage × ``price_factor`` (call ids derived from batch and request ids, so
   collecting twice records once) and puts every accepted reply into the response cache, under the key the
   synchronous request would have had.
3. Generating again is then served from the cache: the pieces are materialized at no further cost.

The request bodies are exactly what the synchronous providers send (``provider.params(request)``), so
prompts, models and prompt-cache prefixes are the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from splants_dagster.http.redact import redact
from splants_dagster.llm.anthropic_provider import STOP_REASONS
from splants_dagster.llm.base import CallRecord, LLMError, LLMRequest, LLMResponse, Usage
from splants_dagster.llm.cache import CacheEntry, ResponseCache
from splants_dagster.llm.client import CallContext, PriceFn, Validator
from splants_dagster.llm.journal import CallJournal
from splants_dagster.llm.validate import check_reply

if (
    TYPE_CHECKING
):  # the SDKs take ~1.5 s to import: loaded when a batch is sent or polled, not with the code location
    import anthropic
    import openai

BATCH_PROVIDERS = ("openai", "anthropic")
OPENAI_DONE = frozenset({"completed", "failed", "expired", "cancelled"})
CHAT_ENDPOINT: Final = "/v1/chat/completions"


class BatchError(Exception):
    """A batch API call failed (message redacted of the key)."""


@dataclass(frozen=True)
class BatchItem:
    """One request of a batch: enough to check its reply and file it in the cache and the ledger."""

    custom_id: str
    cache_key: str
    purpose: str
    piece_id: str | None
    max_tokens: int
    json_output: bool = True

    @classmethod
    def of(cls, custom_id: str, cache_key: str, request: LLMRequest) -> BatchItem:
        return cls(
            custom_id, cache_key, request.purpose, request.piece_id, request.max_tokens, request.json_output
        )

    def request(self) -> LLMRequest:
        return LLMRequest(
            purpose=self.purpose,
            system="",
            shared_context="",
            instruction="",
            max_tokens=self.max_tokens,
            piece_id=self.piece_id,
            json_output=self.json_output,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def custom_id(index: int, cache_key: str) -> str:
    """Unique within a batch; Anthropic allows ``[a-zA-Z0-9_-]{1,64}``."""
    return f"r{index:04d}-{cache_key[:24]}"


@dataclass(frozen=True)
class BatchState:
    batch_id: str
    provider_status: str  # as the provider names it
    finished: bool
    total: int = 0
    succeeded: int = 0
    failed: int = 0
    ended_at: dt.datetime | None = None
    output_ref: str | None = None  # OpenAI output file id / Anthropic results_url
    error_ref: str | None = None  # OpenAI error file id


@dataclass(frozen=True)
class BatchResult:
    custom_id: str
    response: LLMResponse | None = None
    error: str | None = None


class BatchAPI(Protocol):
    name: str

    def submit(
        self, provider: Any, requests: list[tuple[str, LLMRequest]], metadata: Mapping[str, str]
    ) -> BatchState: ...

    def status(self, batch_id: str) -> BatchState: ...

    def results(self, state: BatchState, model: str) -> list[BatchResult]: ...


class _SDKBatches:
    name = "base"

    def __init__(self, *, api_key: str, base_url: str | None = None, timeout_s: float = 60.0):
        self._api_key = api_key
        self.base_url = base_url
        self.timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def _fail(self, what: str, exc: Exception) -> BatchError:
        status = getattr(exc, "status_code", None)
        detail = f"HTTP {status}" if status else type(exc).__name__
        message = getattr(exc, "message", None) or str(exc)
        return BatchError(
            redact(f"{self.name} batch {what} failed ({detail}): {message}"[:400], [self._api_key])
        )

    def _kwargs(self) -> dict[str, Any]:
        # no SDK retries: creating a batch twice would bill twice; the sensor simply polls again later
        kwargs: dict[str, Any] = {"api_key": self._api_key, "max_retries": 0, "timeout": self.timeout_s}
        if self.base_url:
            kwargs["base_url"] = self.base_url
        return kwargs


class OpenAIBatchAPI(_SDKBatches):
    name = "openai"

    def _client(self) -> openai.OpenAI:
        import openai

        return openai.OpenAI(**self._kwargs())

    @staticmethod
    def _state(batch: Any) -> BatchState:
        counts = batch.request_counts
        ended = batch.completed_at or batch.failed_at or batch.expired_at or batch.cancelled_at
        return BatchState(
            batch_id=batch.id,
            provider_status=batch.status,
            finished=batch.status in OPENAI_DONE,
            total=counts.total if counts else 0,
            succeeded=counts.completed if counts else 0,
            failed=counts.failed if counts else 0,
            ended_at=dt.datetime.fromtimestamp(ended, dt.UTC) if ended else None,
            output_ref=batch.output_file_id,
            error_ref=batch.error_file_id,
        )

    def submit(
        self, provider: Any, requests: list[tuple[str, LLMRequest]], metadata: Mapping[str, str]
    ) -> BatchState:
        import openai

        lines = [
            json.dumps(
                {"custom_id": cid, "method": "POST", "url": CHAT_ENDPOINT, "body": provider.params(req)}
            )
            for cid, req in requests
        ]
        data = ("\n".join(lines) + "\n").encode()
        try:
            with self._client() as client:
                uploaded = client.files.create(
                    file=("splants-batch.jsonl", data, "application/jsonl"), purpose="batch"
                )
                batch = client.batches.create(
                    input_file_id=uploaded.id,
                    endpoint=CHAT_ENDPOINT,
                    completion_window="24h",
                    metadata=dict(metadata),
                )
        except openai.OpenAIError as exc:
            raise self._fail("submission", exc) from None
        return self._state(batch)

    def status(self, batch_id: str) -> BatchState:
        import openai

        try:
            with self._client() as client:
                return self._state(client.batches.retrieve(batch_id))
        except openai.OpenAIError as exc:
            raise self._fail(f"status of {batch_id}", exc) from None

    def results(self, state: BatchState, model: str) -> list[BatchResult]:
        import openai

        out: list[BatchResult] = []
        try:
            with self._client() as client:
                for ref in (state.output_ref, state.error_ref):
                    if ref:
                        out += [
                            self._line(json.loads(x), model)
                            for x in client.files.content(ref).text.splitlines()
                            if x.strip()
                        ]
        except (ValueError, RecursionError) as exc:  # not JSON lines, or nested past the parser's limit
            raise BatchError(
                f"{self.name} batch {state.batch_id}: results are not usable JSON lines ({type(exc).__name__})"
            ) from None
        except openai.OpenAIError as exc:
            raise self._fail(f"results of {state.batch_id}", exc) from None
        return out

    def _line(self, line: Mapping[str, Any], model: str) -> BatchResult:
        cid = line.get("custom_id", "")
        if line.get("error"):
            err = line["error"]
            return BatchResult(
                cid,
                error=f"{err.get('code')}: {err.get('message')}" if isinstance(err, Mapping) else str(err),
            )
        response = line.get("response") or {}
        status = response.get("status_code")
        body = response.get("body") or {}
        if status != 200:
            inner = body.get("error", {}) if isinstance(body, Mapping) else {}
            return BatchResult(
                cid,
                error=f"HTTP {status}: {inner.get('message', '') if isinstance(inner, Mapping) else inner}",
            )
        return BatchResult(cid, response=openai_reply(body, model, "openai"))


def openai_reply(body: Mapping[str, Any], model: str, name: str = "openai") -> LLMResponse:
    """A Chat Completions response body as the synchronous provider reads it (text, finish reason,
    refusals, usage with cached tokens)."""
    choices = body.get("choices") or []
    if not choices:
        return LLMResponse("", name, body.get("model") or model, Usage(0, 0), finish_reason="error")
    choice = choices[0]
    message = choice.get("message") or {}
    text = message.get("content") or ""
    finish = choice.get("finish_reason") or "stop"
    if message.get("refusal"):
        text, finish = message["refusal"], "refusal"
    usage = body.get("usage") or {}
    details = usage.get("prompt_tokens_details") or {}
    return LLMResponse(
        text=text,
        provider=name,
        model=model,
        usage=Usage(
            prompt_tokens=usage.get("prompt_tokens") or 0,
            completion_tokens=usage.get("completion_tokens") or 0,
            cached_tokens=details.get("cached_tokens") or 0,
        ),
        finish_reason=finish,
        request_id=body.get("id"),
    )


class AnthropicBatchAPI(_SDKBatches):
    name = "anthropic"

    def _client(self) -> anthropic.Anthropic:
        import anthropic

        return anthropic.Anthropic(**self._kwargs())

    @staticmethod
    def _state(batch: Any) -> BatchState:
        counts = batch.request_counts
        return BatchState(
            batch_id=batch.id,
            provider_status=batch.processing_status,
            finished=batch.processing_status == "ended",
            total=counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired,
            succeeded=counts.succeeded,
            failed=counts.errored + counts.canceled + counts.expired,
            ended_at=batch.ended_at,
            output_ref=batch.results_url,
        )

    def submit(
        self, provider: Any, requests: list[tuple[str, LLMRequest]], metadata: Mapping[str, str]
    ) -> BatchState:
        import anthropic

        try:
            with self._client() as client:
                batch = client.messages.batches.create(
                    requests=[{"custom_id": cid, "params": provider.params(req)} for cid, req in requests]
                )
        except anthropic.AnthropicError as exc:
            raise self._fail("submission", exc) from None
        return self._state(batch)

    def status(self, batch_id: str) -> BatchState:
        import anthropic

        try:
            with self._client() as client:
                return self._state(client.messages.batches.retrieve(batch_id))
        except anthropic.AnthropicError as exc:
            raise self._fail(f"status of {batch_id}", exc) from None

    def results(self, state: BatchState, model: str) -> list[BatchResult]:
        import anthropic

        out: list[BatchResult] = []
        try:
            with self._client() as client:
                for item in client.messages.batches.results(state.batch_id):
                    result = item.result
                    if result.type == "succeeded":
                        out.append(
                            BatchResult(item.custom_id, response=anthropic_reply(result.message, model))
                        )
                    elif result.type == "errored":
                        error = getattr(getattr(result, "error", None), "error", None)
                        out.append(
                            BatchResult(item.custom_id, error=f"errored: {getattr(error, 'message', error)}")
                        )
                    else:
                        out.append(BatchResult(item.custom_id, error=result.type))
        except anthropic.AnthropicError as exc:
            raise self._fail(f"results of {state.batch_id}", exc) from None
        return out


def anthropic_reply(message: Any, model: str) -> LLMResponse:
    """A Messages response (SDK object) as the synchronous provider reads it."""
    text = "".join(
        getattr(b, "text", "") for b in (message.content or []) if getattr(b, "type", None) == "text"
    )
    usage = message.usage
    read = usage.cache_read_input_tokens or 0
    written = usage.cache_creation_input_tokens or 0
    stop = message.stop_reason or "end_turn"
    return LLMResponse(
        text=text,
        provider="anthropic",
        model=model,
        usage=Usage(
            prompt_tokens=(usage.input_tokens or 0) + read + written,
            completion_tokens=usage.output_tokens or 0,
            cached_tokens=read,
            cache_write_tokens=written,
        ),
        finish_reason=STOP_REASONS.get(stop, stop),
        request_id=getattr(message, "id", None),
    )


# ---------------------------------------------------------------------------------------- collection


def batch_call_id(batch_id: str, cid: str) -> str:
    """Deterministic, so that a batch collected twice (a step retried) lands in the ledger once."""
    return hashlib.sha256(f"batch:{batch_id}:{cid}".encode()).hexdigest()[:32]


@dataclass
class Collected:
    batch_id: str
    ok: int = 0
    rejected: int = 0
    errors: int = 0
    cost_usd: float = 0.0
    calls: list[dict[str, Any]] = field(default_factory=list)  # llm_batch_calls rows


def record_results(
    results: Iterable[BatchResult],
    items: Mapping[str, BatchItem],
    *,
    batch_id: str,
    provider: str,
    model: str,
    context: CallContext,
    price: PriceFn,
    price_factor: float,
    journal: CallJournal,
    cache: ResponseCache | None,
    validate: Validator | None = None,
    called_at: dt.datetime | None = None,
    latency_ms: float = 0.0,
) -> Collected:
    """One ledger row per request of the batch (a request without a result is an ``error`` row) and a
    cache entry per accepted reply."""
    when = called_at or dt.datetime.now(dt.UTC)
    by_id = {r.custom_id: r for r in results}
    done = Collected(batch_id)
    for cid, item in items.items():
        result = by_id.get(cid, BatchResult(cid, error="no result for this request in the batch output"))
        response = result.response
        status, error, cost = "ok", result.error, 0.0
        if response is None:
            status = "error"
        else:
            cost = round(price(provider, model, response.usage) * price_factor, 10)
            try:
                check_reply(item.request(), response)
                if validate:
                    validate(response)
            except LLMError as problem:
                status, error = "rejected", str(problem)
        usage = response.usage if response is not None else Usage(0, 0)
        record = CallRecord(
            call_id=batch_call_id(batch_id, cid),
            campaign_id=context.campaign_id,
            asset=context.asset,
            purpose=item.purpose,
            piece_id=item.piece_id,
            provider=provider,
            model=model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cached_tokens=usage.cached_tokens,
            tokens_estimated=False,
            cost_usd=cost,
            cached=False,
            latency_ms=latency_ms,
            status=status,
            error=None if error is None else f"batch {batch_id}: {error}"[:500],
            strategy=context.strategy,
            run_id=context.run_id,
            called_at=when,
            cache_write_tokens=usage.cache_write_tokens,
        )
        journal.append(record)
        if status == "ok" and cache is not None and response is not None:
            cache.put(
                CacheEntry(
                    cache_key=item.cache_key,
                    provider=provider,
                    model=model,
                    purpose=item.purpose,
                    piece_id=item.piece_id,
                    campaign_id=context.campaign_id,
                    text=response.text,
                    finish_reason=response.finish_reason,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    cached_tokens=usage.cached_tokens,
                    cost_usd=cost,
                    source_call_id=record.call_id,
                    created_at=when,
                )
            )
        done.ok += status == "ok"
        done.rejected += status == "rejected"
        done.errors += status == "error"
        done.cost_usd += cost
        done.calls.append(
            {
                "batch_id": batch_id,
                "custom_id": cid,
                "call_id": record.call_id,
                "campaign_id": context.campaign_id,
                "piece_id": item.piece_id,
                "purpose": item.purpose,
                "status": status,
            }
        )
    return done


# ---------------------------------------------------------------------------------------- deferral


class Deferred(LLMError):
    """A request that was not answered now: it goes (or already went) to a batch."""


class DeferringClient:
    """Stands in for an :class:`~splants_dagster.llm.client.LLMClient` during generation that may wait.

    Requests with an accepted reply in the response cache are answered from it (through the client, so the
    hit is a ledger row); every other request is kept in ``deferred`` (or counted in ``waiting`` when a
    pending batch already carries it) and raises :class:`Deferred`, so no provider call is made.
    """

    premium_available = False

    def __init__(self, client: Any, pending_keys: Iterable[str] = ()):
        self.client = client
        self.pending_keys = set(pending_keys)
        self.deferred: dict[str, LLMRequest] = {}
        self.waiting: set[str] = set()

    @property
    def provider(self) -> Any:
        return self.client.provider

    async def complete(
        self, request: LLMRequest, *, validate: Validator | None = None, **_: Any
    ) -> LLMResponse:
        primary = self.client.provider
        for candidate in [*getattr(self.client, "alternates", []), primary]:
            hit = self.client.cached_reply(request, candidate, validate)
            if hit is not None:
                return hit
        key = request.cache_key(primary.name, primary.model)
        if key in self.pending_keys:
            self.waiting.add(key)
            raise Deferred(f"{request.piece_id or request.purpose}: waiting for a pending batch")
        self.deferred[key] = request
        raise Deferred(f"{request.piece_id or request.purpose}: sent to a batch")

    def batch_requests(self) -> list[tuple[str, str, LLMRequest]]:
        """(custom id, cache key, request) of every deferred request, in a stable order."""
        return [(custom_id(i, key), key, req) for i, (key, req) in enumerate(sorted(self.deferred.items()))]
