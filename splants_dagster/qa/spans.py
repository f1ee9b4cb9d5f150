"""Text positions for findings: sentences and words with their character offsets in the original text.

The helpers in ``splants_dagster.text`` flatten markdown and lose offsets; QA findings point at the exact
span, so these work on the raw field text. Line breaks, headings and list items end a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from splants_dagster.text import HASHTAG, URL

EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{2,}")
SENTENCE_BREAK = re.compile(r"(?<=[.!?…])(?P<close>[\"'”’)]*)\s+(?=[\"“'(\[]?[A-Z0-9#*\-])")
WORD = re.compile(r"[A-Za-z][A-Za-z'’]*(?:-[A-Za-z][A-Za-z'’]*)*")
HEADING = re.compile(r"^\s*#{1,6}\s+")
BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


def mask(text: str, *patterns: re.Pattern[str]) -> str:
    """``text`` with every match of ``patterns`` (URLs, e-mail addresses, hashtags and mentions by
    default) blanked out by spaces, so offsets stay valid."""
    pats = patterns or (URL, EMAIL, HASHTAG, MENTION)
    out = text
    for pat in pats:
        out = pat.sub(lambda m: " " * len(m.group(0)), out)
    return out


def lines(text: str) -> list[Span]:
    spans, pos = [], 0
    for raw in text.split("\n"):
        if raw.strip():
            lead = len(raw) - len(raw.lstrip())
            spans.append(Span(pos + lead, pos + len(raw.rstrip()), raw.strip()))
        pos += len(raw) + 1
    return spans


def sentence_spans(text: str, include_headings: bool = False) -> list[Span]:
    """Sentences of ``text`` with their offsets. A heading or list item is a unit of its own; headings
    are left out unless ``include_headings``."""
    out: list[Span] = []
    for line in lines(text):
        is_heading = bool(HEADING.match(line.text))
        if is_heading and not include_headings:
            continue
        prefix = HEADING.match(line.text) or BULLET.match(line.text)
        start = line.start + (prefix.end() if prefix else 0)
        chunk = text[start : line.end]
        pos = 0
        for m in SENTENCE_BREAK.finditer(chunk):
            stop = m.start() + len(m.group("close"))
            piece = chunk[pos:stop].strip()
            if piece:
                offset = start + pos + (len(chunk[pos:stop]) - len(chunk[pos:stop].lstrip()))
                out.append(Span(offset, offset + len(piece), piece))
            pos = m.end()
        piece = chunk[pos:].strip()
        if piece:
            offset = start + pos + (len(chunk[pos:]) - len(chunk[pos:].lstrip()))
            out.append(Span(offset, offset + len(piece), piece))
    return out


def word_spans(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), m.group(0)) for m in WORD.finditer(text)]


def words_in(text: str) -> list[str]:
    return [m.group(0) for m in WORD.finditer(text)]


def excerpt(text: str, start: int, end: int, context: int = 30, limit: int = 160) -> str:
    """The span with a little context on both sides, on one line."""
    lo, hi = max(0, start - context), min(len(text), end + context)
    snippet = ("…" if lo > 0 else "") + text[lo:hi] + ("…" if hi < len(text) else "")
    snippet = " ".join(snippet.split())
    return snippet if len(snippet) <= limit else snippet[: limit - 1] + "…"


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive pattern for ``phrase`` (spaces and hyphens interchangeable)."""
    parts = [re.escape(p) for p in re.split(r"[\s\-]+", phrase.strip()) if p]
    body = r"[\s\-]+".join(parts)
    left = r"(?<![\w])" if parts and re.match(r"\w", phrase.strip()) else ""
    right = r"(?![\w])" if parts and re.search(r"\w$", phrase.strip()) else ""
    return re.compile(left + body + right, re.IGNORECASE)


def find_phrase(text: str, phrase: str) -> list[Span]:
    return [Span(m.start(), m.end(), m.group(0)) for m in phrase_pattern(phrase).finditer(text)]


def locate_tokens(tokens: list[str], text: str) -> Span | None:
    """Where a run of normalised tokens (see ``text.normalise``) occurs in ``text``."""
    if not tokens:
        return None
    pattern = r"(?<![\w])" + r"[\W_]+".join(re.escape(t) for t in tokens) + r"(?![\w])"
    m = re.search(pattern, text, re.IGNORECASE)
    return Span(m.start(), m.end(), m.group(0)) if m else None
