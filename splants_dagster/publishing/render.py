"""Turning a stored piece into what each platform accepts: HTML, X threads, LinkedIn's little text format."""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

X_LIMIT = 280
X_URL_WEIGHT = 23
URL = re.compile(r"https?://\S+", re.IGNORECASE)
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@functools.cache
def _md() -> MarkdownIt:
    """The CommonMark renderer, built on first use (markdown-it is not needed to load the code location)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def slugify(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", norm.lower()).strip("-")


def markdown_html(text: str) -> str:
    """CommonMark to HTML; raw HTML in the text is escaped, never passed through."""
    return _md().render(text or "").strip()


def email_html(
    title: str, body_markdown: str, preheader: str | None = None, footer_merge_tag: str | None = None
) -> str:
    """A minimal, client-safe HTML email: hidden preheader, body, unsubscribe link when a tag is given."""
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title></head>",
    ]
    parts.append(
        '<body style="font-family:Arial,Helvetica,sans-serif;line-height:1.5;max-width:640px;margin:auto">'
    )
    if preheader:
        parts.append(
            '<span style="display:none;max-height:0;overflow:hidden;mso-hide:all">'
            f"{html.escape(preheader)}</span>"
        )
    parts.append(markdown_html(body_markdown))
    if footer_merge_tag and footer_merge_tag not in body_markdown:
        parts.append(f'<p style="font-size:12px;color:#666"><a href="{footer_merge_tag}">Unsubscribe</a></p>')
    parts.append("</body></html>")
    return "\n".join(parts)


def x_weighted_length(text: str) -> int:
    """X's weighted character count: URLs count 23, most Latin/punctuation 1, everything else (CJK,
    emoji) 2 — the twitter-text v3 configuration."""
    length = 0
    last = 0
    for match in URL.finditer(text):
        length += _weigh(text[last : match.start()]) + X_URL_WEIGHT
        last = match.end()
    return length + _weigh(text[last:])


def _weigh(chunk: str) -> int:
    total = 0
    for ch in unicodedata.normalize("NFC", chunk):
        cp = ord(ch)
        light = cp <= 4351 or 8192 <= cp <= 8205 or 8208 <= cp <= 8223 or 8242 <= cp <= 8247
        total += 1 if light else 2
    return total


def x_thread(text: str, limit: int = X_LIMIT) -> list[str]:
    """The text as one post, or as a numbered thread of posts that each fit ``limit`` (split at sentence,
    then word boundaries)."""
    text = text.strip()
    if x_weighted_length(text) <= limit:
        return [text]
    suffix_room = len(" (99/99)")
    budget = limit - suffix_room
    pieces: list[str] = []
    for sentence in SENTENCE_END.split(text):
        words = sentence.split()
        chunk = ""
        for word in words:
            while x_weighted_length(word) > budget:  # a single over-long token: hard cut
                pieces.append(word[:budget])
                word = word[budget:]
            candidate = f"{chunk} {word}".strip()
            if x_weighted_length(candidate) <= budget:
                chunk = candidate
            else:
                pieces.append(chunk)
                chunk = word
        if chunk:
            pieces.append(chunk)
    posts: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current} {piece}".strip()
        if current and x_weighted_length(candidate) > budget:
            posts.append(current)
            current = piece
        else:
            current = candidate
    if current:
        posts.append(current)
    n = len(posts)
    return [f"{p} ({i}/{n})" for i, p in enumerate(posts, 1)]


LITTLE_TEXT_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
HASHTAG = re.compile(r"(?<![\w#])#(\w+)")


def linkedin_commentary(text: str) -> str:
    """LinkedIn's "little text" format: reserved characters backslash-escaped (an unescaped "(" or "@"
    silently truncates a post), hashtags written as ``{hashtag|\\#|tag}`` so they stay hashtags."""
    out = []
    last = 0
    for match in HASHTAG.finditer(text):
        out.append(LITTLE_TEXT_RESERVED.sub(r"\\\1", text[last : match.start()]))
        out.append("{hashtag|\\#|" + match.group(1) + "}")
        last = match.end()
    out.append(LITTLE_TEXT_RESERVED.sub(r"\\\1", text[last:]))
    return "".join(out)


def excerpt(text: str, chars: int = 155) -> str:
    plain = re.sub(r"[#*_>`\[\]]", "", text or "").strip()
    first = next((p.strip() for p in plain.split("\n\n") if p.strip()), "")
    return first if len(first) <= chars else first[:chars].rsplit(" ", 1)[0] + "…"
