"""Small text utilities shared by research, scoring and QA: words, sentences, hashtags, shingles."""

from __future__ import annotations

import re
from collections.abc import Iterable

WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")
HASHTAG = re.compile(r"(?<![\w#])#([A-Za-z][A-Za-z0-9_]{1,49})")
URL = re.compile(r"https?://[^\s)>\]]+")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“#*\-])")
MARKDOWN_NOISE = re.compile(r"(^#+\s*|\*\*|__|`|^\s*[-*]\s+|^\s*\d+\.\s+)", re.MULTILINE)

STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "also",
        "get",
        "gets",
        "got",
        "one",
        "two",
        "three",
        "new",
        "like",
        "make",
        "makes",
        "us",
        "it's",
        "we're",
        "you're",
        "let's",
        "can't",
        "don't",
        "won't",
        "isn't",
        "aren't",
        "here's",
        "that's",
        "there's",
        "what's",
        "via",
        "per",
    ]
)


def plain_text(markdown: str) -> str:
    """Markdown without heading marks, emphasis or list bullets, and without URLs."""
    return URL.sub("", MARKDOWN_NOISE.sub("", markdown))


def words(text: str) -> list[str]:
    return WORD.findall(plain_text(text))


def word_count(text: str) -> int:
    return len(words(text))


def sentences(text: str) -> list[str]:
    flat = " ".join(line.strip() for line in plain_text(text).splitlines() if line.strip())
    return [s.strip() for s in SENTENCE_END.split(flat) if s.strip()]


def normalise(text: str) -> list[str]:
    """Lower-case word tokens used for matching and shingling."""
    return [w.lower().strip("'’-") for w in words(text)]


def hashtags(text: str) -> list[str]:
    return [f"#{h}" for h in HASHTAG.findall(text)]


def strip_hashtags(text: str) -> str:
    return re.sub(r"\s{2,}", " ", HASHTAG.sub("", text)).strip()


def contains_phrase(text: str, phrase: str) -> bool:
    """Whole-word, case-insensitive phrase match (so 'tea' does not match 'team')."""
    tokens = normalise(phrase)
    if not tokens:
        return False
    pattern = r"\b" + r"[\s\-]+".join(re.escape(t) for t in tokens) + r"\b"
    return re.search(pattern, text, re.IGNORECASE) is not None


def count_phrase(text: str, phrase: str) -> int:
    tokens = normalise(phrase)
    if not tokens:
        return 0
    pattern = r"\b" + r"[\s\-]+".join(re.escape(t) for t in tokens) + r"\b"
    return len(re.findall(pattern, text, re.IGNORECASE))


def shingles(tokens: list[str], size: int = 5) -> set[tuple[str, ...]]:
    if len(tokens) < size:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def jaccard(a: set, b: set) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def longest_shared_run(tokens: list[str], other: list[str], min_len: int = 12) -> tuple[int, int]:
    """Length and start (in ``tokens``) of the longest run of consecutive words also found in ``other``.

    Only runs of at least ``min_len`` words are searched for exactly; shorter ones report (0, -1).
    """
    if len(tokens) < min_len or len(other) < min_len:
        return 0, -1
    index: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(other) - min_len + 1):
        index.setdefault(tuple(other[i : i + min_len]), []).append(i)
    best, best_start, i = 0, -1, 0
    while i <= len(tokens) - min_len:
        starts = index.get(tuple(tokens[i : i + min_len]))
        if not starts:
            i += 1
            continue
        run = 0
        for j in starts:
            k = min_len
            while i + k < len(tokens) and j + k < len(other) and tokens[i + k] == other[j + k]:
                k += 1
            run = max(run, k)
        if run > best:
            best, best_start = run, i
        i += max(1, run - min_len + 1)
    return best, best_start


def content_terms(text: str) -> list[str]:
    return [t for t in normalise(text) if t not in STOP_WORDS and len(t) > 2 and not t.isdigit()]


def ngrams(tokens: Iterable[str], n: int) -> list[str]:
    toks = list(tokens)
    return [" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)]


def truncate_words(text: str, max_chars: int) -> str:
    """Cut ``text`` at a word boundary so it fits ``max_chars`` (adding an ellipsis when cut)."""
    if len(text) <= max_chars:
        return text
    cut = text[: max(0, max_chars - 1)].rsplit(" ", 1)[0].rstrip(",;:-—")
    return cut + "…"
