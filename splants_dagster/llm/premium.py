"""Premium multi-model generation: two providers draft the same request in parallel, a third call merges.

Used when OpenAI and Anthropic are both configured and the strategy is ``quality``. If one draft fails
the other is used alone (no merge); if the merge fails the caller keeps the better-scored draft. Every
call (both drafts, the merge, their retries) is a ledger row like any other.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

from splants_dagster.llm.base import LLMError, LLMRequest, LLMResponse
from splants_dagster.llm.client import LLMClient, Validator, label

MERGE_PURPOSE = "content.merge"


@dataclass
class PremiumOutcome:
    drafts: list[LLMResponse]
    merged: LLMResponse | None
    failures: dict[str, str] = field(default_factory=dict)


def merge_request(request: LLMRequest, drafts: list[LLMResponse]) -> LLMRequest:
    """Same system prompt and shared context as the drafts (so the provider's prompt cache applies), with
    the original task and both drafts in the instruction."""
    blocks = "\n".join(
        f"Draft {chr(65 + i)}:\n<untrusted-data>\n{d.text.strip()}\n</untrusted-data>"
        for i, d in enumerate(drafts)
    )
    instruction = (
        f"{request.instruction}\n\n## Task: merge the drafts\nTwo writers answered the task above. Write the "
        "final version: keep the strongest hook, the most specific facts that are in the brief or research, "
        "the clearest structure and call to action; fix anything that breaks the rules above. Do not mention "
        f"the drafts.\n{blocks}\nAnswer with one JSON object in the same shape as the drafts."
    )
    return replace(
        request,
        purpose=MERGE_PURPOSE,
        instruction=instruction,
        payload={},
        temperature=min(request.temperature, 0.4),
    )


async def premium_complete(
    client: LLMClient, request: LLMRequest, *, validate: Validator | None = None
) -> PremiumOutcome:
    partner = client.premium_partner
    if partner is None:
        raise ValueError("premium mode needs a second provider (client.premium_partner)")
    drafters = [client.provider, partner]
    results = await asyncio.gather(
        *(client.complete(request, validate=validate, provider=p) for p in drafters), return_exceptions=True
    )
    drafts: list[LLMResponse] = []
    failures: dict[str, str] = {}
    for provider, result in zip(drafters, results, strict=True):
        if isinstance(result, LLMError):
            failures[label(provider)] = str(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            drafts.append(result)
    if not drafts:
        what = request.purpose + (f" for {request.piece_id}" if request.piece_id else "")
        raise LLMError(f"{what}: both premium drafts failed: " + " | ".join(failures.values()))
    merged = None
    if len(drafts) == 2:
        try:
            merged = await client.complete(merge_request(request, drafts), validate=validate)
        except LLMError as exc:
            failures["merge"] = str(exc)
    return PremiumOutcome(drafts, merged, failures)
