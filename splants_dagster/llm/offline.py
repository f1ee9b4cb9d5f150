"""The offline provider: deterministic, no network, no key. Its output is labelled ``model="offline"``.

It answers the same requests as a real model, in the same JSON shapes, by composing text from the
structured payload (brief, brand, research) with :mod:`splants_dagster.writer`. Token counts are
estimates (4 characters per token) and flagged as such in the ledger; the cost is zero.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
from typing import Any

from splants_dagster.llm.base import LLMError, LLMRequest, LLMResponse, Usage, estimate_tokens
from splants_dagster.text import STOP_WORDS, content_terms
from splants_dagster.writer import compose

MODIFIERS = [
    "best {kw}",
    "{kw} tips",
    "how to choose {kw}",
    "{kw} benefits",
    "{kw} for beginners",
    "affordable {kw}",
]


class OfflineProvider:
    name = "offline"
    model = "offline"
    is_offline = True

    async def complete(self, request: LLMRequest) -> LLMResponse:
        handlers = {
            "research.keywords": _keywords,
            "research.audience": _audience,
            "content.piece": _piece,
            "content.variant": _piece,
        }
        handler = handlers.get(request.purpose.split(":")[0])
        if handler is None:
            raise LLMError(f"the offline provider has no writer for purpose '{request.purpose}'")
        text = json.dumps(handler(dict(request.payload)), ensure_ascii=False)
        usage = Usage(estimate_tokens(request.system + request.prompt_text), estimate_tokens(text), 0, True)
        return LLMResponse(text=text, provider=self.name, model=self.model, usage=usage)


def _keywords(payload: dict[str, Any]) -> dict[str, Any]:
    """Related keyword phrases built from the topic, the brief's keywords and the sources' terms."""
    base = list(payload.get("keywords", []))
    topic_terms = [t for t in content_terms(payload.get("topic", "")) if t not in STOP_WORDS]
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(topic_terms)]
    suggestions: list[dict[str, Any]] = []
    seen = {k.lower() for k in base}
    for i, kw in enumerate(base[:3] + pairs[:3]):
        template = MODIFIERS[i % len(MODIFIERS)]
        phrase = template.format(kw=kw.lower())
        if phrase not in seen:
            seen.add(phrase)
            suggestions.append({"keyword": phrase, "relevance": round(0.8 - 0.05 * i, 2)})
    for term in payload.get("source_terms", [])[:4]:
        if term.lower() not in seen:
            seen.add(term.lower())
            suggestions.append({"keyword": term.lower(), "relevance": 0.55})
    return {"keywords": suggestions[:10]}


def _audience(payload: dict[str, Any]) -> dict[str, Any]:
    audience = payload.get("audience", "").rstrip(".")
    topic = payload.get("topic", "").rstrip(".")
    primary = (payload.get("keywords") or [topic])[0]
    goal = payload.get("goal", "").rstrip(".")
    segment = re.split(r"\b(who|that|which)\b|,", audience)[0].strip() or audience
    questions = list(payload.get("source_questions", []))[:3]
    questions += [
        f"What should you know about {primary} before you start?",
        f"How much time does it take to get {primary} right?",
        "How do you choose the right option for you?",
    ]
    return {
        "segments": [segment, f"{segment} new to {primary}", f"{segment} already committed to {primary}"],
        "pain_points": _pick(PAINS, topic, 3),
        "motivations": _pick(MOTIVATIONS, topic, 3),
        "questions": list(dict.fromkeys(questions))[:5],
        "channels": ["search", "email newsletters", "social media recommendations"],
        "goal_alignment": f"Messaging should connect {primary} to the campaign goal: {goal}.",
    }


PAINS = [
    "too little time to research the options",
    "unclear or exaggerated claims",
    "the worry that switching costs more than it saves",
    "conflicting advice from every direction",
    "products that promise more than they deliver",
    "routines that never quite stick",
    "hidden costs that show up later",
    "too many choices and too little guidance",
]
MOTIVATIONS = [
    "real confidence in every purchase",
    "less time spent on research",
    "a routine worth keeping",
    "better results without extra effort",
    "choices that fit their values",
    "a little more calm in a busy week",
]


def _pick(options: list[str], seed_text: str, n: int) -> list[str]:
    """``n`` options chosen by the topic, so different campaigns hear different angles."""
    rng = random.Random(int(hashlib.sha256(seed_text.encode()).hexdigest()[:8], 16))
    return rng.sample(options, k=n)


def _piece(payload: dict[str, Any]) -> dict[str, Any]:
    return compose(payload, style="standard")
