"""Anthropic Messages through the official ``anthropic`` SDK (``AsyncAnthropic``).

The suite's shared context is its own content block ending in a ``cache_control`` breakpoint, so the
system prompt plus that block (identical in every call of a suite) is written to Anthropic's prompt cache
once and read at the cached rate afterwards; the instruction follows in a second block. Usage reports
``input_tokens`` (uncached), ``cache_read_input_tokens`` and ``cache_creation_input_tokens`` separately;
the ledger's ``prompt_tokens`` is their sum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splants_dagster.llm.base import LLMRequest, LLMResponse, Usage
from splants_dagster.llm.remote import RemoteProvider, error_detail

if TYPE_CHECKING:  # the SDK takes ~1-2 s to import: loaded on the first call, not with the code location
    import anthropic

# Anthropic stop reasons in the vocabulary the validators use (OpenAI's finish reasons)
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "refusal",
}


class AnthropicProvider(RemoteProvider):
    name = "anthropic"
    default_endpoint = "https://api.anthropic.com"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # the SDK loads when a provider is built (inside a step), not with the code location, and not in
        # the first call either: a ~1 s import there would stall the event loop, its progress and deadline
        import anthropic  # noqa: F401

    def _new_client(self) -> anthropic.AsyncAnthropic:
        import anthropic

        kwargs = {"api_key": self._api_key, "max_retries": 0, "timeout": self.timeout(anthropic.Timeout)}
        if self.base_url:
            kwargs["base_url"] = self.base_url
        return anthropic.AsyncAnthropic(**kwargs)

    def params(self, request: LLMRequest) -> dict:
        return {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "system": [{"type": "text", "text": request.system}],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "text",
                            "text": request.shared_context,
                            "cache_control": {"type": "ephemeral"},
                        },
                        {"type": "text", "text": request.instruction},
                    ],
                }
            ],
        }

    async def complete(self, request: LLMRequest) -> LLMResponse:
        import anthropic

        try:
            reply = await self.sdk().messages.create(**self.params(request))
        except anthropic.APIStatusError as exc:
            raise self.status_error(
                exc.status_code, exc.response.headers, exc.api_message or error_detail(exc.body, exc.message)
            ) from None
        except anthropic.APIError as exc:
            raise self.call_error(
                exc,
                timed_out=isinstance(exc, anthropic.APITimeoutError),
                connection=isinstance(exc, anthropic.APIConnectionError),
            ) from None
        blocks = getattr(reply, "content", None)
        if blocks is None or getattr(reply, "usage", None) is None:
            raise self.error("response has no content or usage", retryable=True)
        text = "".join(getattr(b, "text", "") for b in blocks if getattr(b, "type", None) == "text")
        usage = reply.usage
        read = usage.cache_read_input_tokens or 0
        written = usage.cache_creation_input_tokens or 0
        return LLMResponse(
            text=text,
            provider=self.name,
            model=self.model,
            usage=Usage(
                prompt_tokens=(usage.input_tokens or 0) + read + written,
                completion_tokens=usage.output_tokens or 0,
                cached_tokens=read,
                cache_write_tokens=written,
            ),
            finish_reason=STOP_REASONS.get(reply.stop_reason or "end_turn", reply.stop_reason or "stop"),
            request_id=getattr(reply, "id", None),
        )
