"""Text features of a post that engagement depends on (and the predictor can learn from)."""

from __future__ import annotations

import re
from typing import Any

from splants_dagster.text import hashtags

WORDS = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")
QUESTION = re.compile(r"\?")
CTA = re.compile(
    r"\b(shop|buy|order|pre-?order|sign up|subscribe|register|download|learn more|read more|try|book|"
    r"get yours|join|visit|click|tap|link in bio|discover)\b",
    re.IGNORECASE,
)


def text_features(text: str | None) -> dict[str, Any]:
    """word_count, hashtag_count, has_question, has_cta (all None without a text)."""
    if not text:
        return {"word_count": None, "hashtag_count": None, "has_question": None, "has_cta": None}
    body = re.sub(r"(?<![\w#])#\w+", " ", text)
    return {
        "word_count": len(WORDS.findall(body)),
        "hashtag_count": len(hashtags(text)),
        "has_question": bool(QUESTION.search(text)),
        "has_cta": bool(CTA.search(text)),
    }
