"""OpenAI Chat Completions through the official ``openai`` SDK (``AsyncOpenAI``); with ``base_url`` also any
OpenAI-compatible server (Ollama, vLLM, LM Studio, a gateway).

The system prompt and the suite's shared context come first and byte-identical in every call, so OpenAI's
automatic prompt caching applies to that prefix; ``prompt_cache_key`` (a hash of the prefix) keeps calls
sharing it on the same cache. Cached input tokens are read from ``usage.prompt_tokens_details``.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from splants_dagster.llm.base import LLMRequest, LLMResponse, Usage, estimate_tokens
from splants_dagster.llm.remote import RemoteProvider, error_detail

if TYPE_CHECKING:  # the SDK takes ~0.4 s to import: loaded on the first call, not with the code location
    import openai


class OpenAIProvider(RemoteProvider):
    name = "openai"
    default_endpoint = "https://api.openai.com/v1"

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None = None,
        timeout_s: float = 120.0,
        json_mode: bool = True,
        temperature: bool = True,
        name: str = "openai",
    ):
        super().__init__(model=model, api_key=api_key, base_url=base_url, timeout_s=timeout_s)
        self.name = name
        self.json_mode = json_mode
        self.temperature = temperature
        # OpenAI's own API: current parameter names; compatible servers: the widely implemented ones
        self.native = name == "openai"
        # the SDK loads when a provider is built (inside a step), not with the code location, and not in the
        # first call either: a ~1 s import there would stall the event loop, its progress reports and deadline
        import openai  # noqa: F401

    def _new_client(self) -> openai.AsyncOpenAI:
        import openai

        kwargs = {"api_key": self._api_key, "max_retries": 0, "timeout": self.timeout(openai.Timeout)}
        if self.base_url:
            kwargs["base_url"] = self.base_url
        return openai.AsyncOpenAI(**kwargs)

    def params(self, request: LLMRequest) -> dict:
        params: dict = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.prompt_text},
            ],
        }
        if self.native:
            params["max_completion_tokens"] = request.max_tokens
            prefix = f"{request.system}\n{request.shared_context}"
            params["prompt_cache_key"] = "splants-" + hashlib.sha256(prefix.encode()).hexdigest()[:24]
        else:
            params["max_tokens"] = request.max_tokens
        if self.temperature:
            params["temperature"] = request.temperature
        if self.json_mode and request.json_output:
            params["response_format"] = {"type": "json_object"}
        return params

    async def complete(self, request: LLMRequest) -> LLMResponse:
        import openai

        try:
            reply = await self.sdk().chat.completions.create(**self.params(request))
        except openai.APIStatusError as exc:
            raise self.status_error(
                exc.status_code, exc.response.headers, error_detail(exc.body, exc.message)
            ) from None
        except openai.APIError as exc:
            raise self.call_error(
                exc,
                timed_out=isinstance(exc, openai.APITimeoutError),
                connection=isinstance(exc, openai.APIConnectionError),
            ) from None
        choices = getattr(reply, "choices", None)
        if not choices:
            raise self.error("response has no choices", retryable=True)
        choice = choices[0]
        message = choice.message
        text = (message.content if message else None) or ""
        finish = choice.finish_reason or "stop"
        refusal = getattr(message, "refusal", None)
        if refusal:
            text, finish = refusal, "refusal"
        usage = reply.usage
        if usage is None:  # some compatible servers report none
            counted = Usage(
                estimate_tokens(request.system + request.prompt_text), estimate_tokens(text), 0, True
            )
        else:
            details = usage.prompt_tokens_details
            counted = Usage(
                prompt_tokens=usage.prompt_tokens or 0,
                completion_tokens=usage.completion_tokens or 0,
                cached_tokens=(details.cached_tokens or 0) if details else 0,
                cache_write_tokens=(getattr(details, "cache_write_tokens", None) or 0) if details else 0,
            )
        return LLMResponse(
            text=text,
            provider=self.name,
            model=self.model,
            usage=counted,
            finish_reason=finish,
            request_id=getattr(reply, "id", None),
        )
