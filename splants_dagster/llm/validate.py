"""Checks every reply passes before it counts (and before it is cached): not cut off by the token limit, not
a refusal, not empty, and a JSON object when JSON was asked for. Failures are retryable ``LLMError``s."""

from __future__ import annotations

import json
import re
from dataclasses import replace

from splants_dagster.llm.base import LLMError, LLMRequest, LLMResponse

TRUNCATED = frozenset({"length", "max_tokens"})
REFUSED = frozenset({"refusal", "content_filter"})
FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)
MAX_TOKENS_CAP = 16384


class Truncated(LLMError):
    pass


def check_reply(request: LLMRequest, response: LLMResponse) -> None:
    if response.finish_reason in TRUNCATED:
        raise Truncated(
            f"reply cut off by the token limit (finish_reason={response.finish_reason}, "
            f"max_tokens={request.max_tokens})",
            retryable=True,
        )
    if response.finish_reason in REFUSED:
        raise LLMError(
            f"model refused (finish_reason={response.finish_reason}): {response.text.strip()[:120]!r}",
            retryable=True,
        )
    if not response.text or not response.text.strip():
        raise LLMError("model returned empty text", retryable=True)
    if request.json_output:
        body = response.text.strip()
        fenced = FENCE.match(body)
        if fenced:
            body = fenced.group(1)
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            raise LLMError(f"reply is not valid JSON ({exc.msg} at char {exc.pos})", retryable=True) from None
        except RecursionError:  # a reply of [[[[...]]]]: the parser's recursion limit, not a crash
            raise LLMError("reply is JSON nested too deeply to be a usable object", retryable=True) from None
        if not isinstance(data, dict):
            raise LLMError("reply is JSON but not an object", retryable=True)


def retry_request(request: LLMRequest, problem: LLMError) -> LLMRequest:
    """The request to send after an unusable reply: more room when it was cut off, and a note on what was
    wrong. Only the instruction (the end of the prompt) changes, so the shared prefix stays cacheable."""
    max_tokens = request.max_tokens
    if isinstance(problem, Truncated):
        max_tokens = min(MAX_TOKENS_CAP, max(max_tokens + 256, int(max_tokens * 1.5)))
    note = (
        f"\n\nYour previous reply could not be used ({str(problem)[:160]}). "
        "Reply with the complete JSON object only."
    )
    base = request.instruction.split("\n\nYour previous reply could not be used", 1)[0]
    return replace(request, instruction=base + note, max_tokens=max_tokens)
