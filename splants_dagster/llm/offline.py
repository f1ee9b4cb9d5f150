"""The offline provider: deterministic, no network, no key. Its output is labelled ``model="offline"``.

It answers the same requests as a real model, in the same JSON shapes, by composing text from the
structured payload (brief, brand, approved facts, research) with :mod:`splants_dagster.content.writer`. Token
counts are estimates (4 characters per token) and flagged as such in the ledger; the cost is zero.

Its "audience insights" are not research: they are read off the brief's own audience and topic wording
and labelled ``basis: assumed`` wherever they are stored or shown. Nothing is picked from canned lists.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from typing import Any

from splants_dagster.content.writer import compose
from splants_dagster.llm.base import LLMError, LLMRequest, LLMResponse, Usage, estimate_tokens
from splants_dagster.text import STOP_WORDS, content_terms

# neutral search modifiers: no superlative ("best") or price claim ("affordable") a piece could repeat
MODIFIERS = [
    "{kw} guide",
    "{kw} tips",
    "how to choose {kw}",
    "{kw} explained",
    "{kw} for beginners",
    "{kw} questions",
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
    """Audience insights read off the brief's own words (``basis: assumed``): what the audience and topic
    say they want or dislike, and questions about the brief's keywords. No pain point, motivation or
    channel is invented; a brief that names none gets none."""
    audience = payload.get("audience", "").rstrip(".")
    topic = payload.get("topic", "").rstrip(".")
    primary = (payload.get("keywords") or [topic])[0]
    goal = payload.get("goal", "").rstrip(".")
    segment = re.split(r"\b(who|that|which)\b|,", audience)[0].strip() or audience
    questions = list(payload.get("source_questions", []))[:3]
    forms = _by_topic(QUESTION_FORMS, topic)
    questions += [forms[i].format(kw=kw) for i, kw in enumerate((payload.get("keywords") or [primary])[:2])]
    said = f"{audience}. {topic}"
    return {
        "basis": "assumed",
        "basis_note": "derived from the brief's wording by the offline provider; not audience research",
        "segments": [segment],
        "pain_points": _clauses(DISLIKES, said),
        "motivations": _clauses(WANTS, said),
        "questions": list(dict.fromkeys(questions))[:5],
        "channels": [],
        "goal_alignment": f"Messaging should connect {primary} to the campaign goal: {goal}.",
    }


QUESTION_FORMS = [
    "What should you know about {kw}?",
    "How does {kw} work?",
    "What comes with {kw}?",
    "What is {kw}, exactly?",
    "Where does {kw} fit in?",
]


def _by_topic(options: list[str], topic: str) -> list[str]:
    """``options`` rotated by the topic, so two campaigns ask their questions in different words."""
    start = int(hashlib.sha256(topic.encode()).hexdigest()[:8], 16) % len(options)
    return options[start:] + options[:start]


WANTS = re.compile(r"\b(?:want|wants|need|needs|love|loves|prefer|looking for|care about)\s+([^,.;]+)", re.I)
DISLIKES = re.compile(
    r"\b(?:hate|hates|dislike|tired of|struggle with|worry about|frustrated by)\s+([^,.;]+)", re.I
)


def _clauses(pattern: re.Pattern, text: str) -> list[str]:
    """What follows the verb, up to the next clause ("want less packaging waste" -> "less packaging waste")."""
    found = [re.split(r"\s+(?:but|and|who|while)\s+", m.group(1).strip())[0] for m in pattern.finditer(text)]
    return list(dict.fromkeys(f for f in found if f))[:3]


def _piece(payload: dict[str, Any]) -> dict[str, Any]:
    return compose(payload, style="standard")
