"""Factual accuracy: numbers, statistics, dates and named claims must be supported by the brief, the brand
profile or the research sources.

What counts as a claim: percentages, money, multipliers (``3x``), numbers of 10 or more (digits or
words), years and calendar dates, and claim phrases (``studies show``, ``clinically proven``,
``according to ...``, ``#1``, ``award-winning``, ``certified`` ...). Small counts below 10 without a unit
of their own (``3 tips``, ``five minutes``) are phrasing, not statistics, and are not checked.

A number is supported when the same value of the same kind (percent, money, multiplier, year, plain
number) occurs in the support text; a date when its day and month (or the year) do; a claim phrase when a
support sentence uses the same wording (or names the same authority) and shares a subject word with the
sentence making the claim.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from splants_dagster.qa.model import CheckResult, Finding, QAContext, QAText
from splants_dagster.qa.spans import excerpt, mask, sentence_spans
from splants_dagster.text import STOP_WORDS, content_terms

NAME = "factual"
PASS_AT = 0.75

MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for m in names
}
MONTH_RE = r"(January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
DATE_DM = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH_RE}(?:,?\s+(\d{{4}}))?\b", re.I)
DATE_MD = re.compile(rf"\b{MONTH_RE}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?", re.I)
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
NUMBER = re.compile(
    r"(?<![\w.,/#£$€-])(?P<cur>[£$€]\s?)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<suf>\s?%|\s?per\s?cent\b|\s?percent\b|x\b|\s?(?:k|m|bn)\b|\s(?:million|billion|thousand)\b)?"
    r"(?![\w%])"
)
WORD_NUMBERS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "thousand": 1000,
    "dozen": 12,
    "million": 1_000_000,
    "billion": 1_000_000_000,
}
SMALL_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "half": 0.5,
    "twice": 2,
    "double": 2,
    "triple": 3,
}
_NUM_WORD = "|".join(sorted([*WORD_NUMBERS, *SMALL_WORDS], key=len, reverse=True))
WORD_NUMBER = re.compile(
    rf"\b(?P<words>(?:{_NUM_WORD})(?:[\s-]+(?:and\s+)?(?:{_NUM_WORD}))*)\b"
    r"(?P<suf>\s+(?:per\s?cent|percent|times))?",
    re.I,
)
MULTIPLIER_WORDS = re.compile(
    r"\b(twice|double|triple|\w+\s+times)\s+(as|more|faster|longer|better|the)\b", re.I
)
CLAIMS = [
    re.compile(
        r"\b(studies|study|research|science|data|surveys?|tests?|experts?|scientists|doctors|dentists|"
        r"nutritionists)\s+(show|shows|showed|prove|proves|proved|suggest|suggests|say|says|agree|agrees|"
        r"confirm|confirms|found|recommend|recommends)\b",
        re.I,
    ),
    re.compile(
        r"\b(scientifically|clinically|independently|laboratory|lab)[\s-](proven|tested|verified)\b", re.I
    ),
    re.compile(r"\bproven to\b", re.I),
    re.compile(r"\baccording to\s+(?P<who>(?:the\s+)?[A-Z][\w&.'-]*(?:\s+(?:of\s+)?[A-Z][\w&.'-]*)*)"),
    re.compile(r"(?<![\w])(#1|number one|no\. ?1)\b", re.I),
    re.compile(
        r"\b(best[- ]selling|bestselling|award[- ]winning|world'?s first|first[- ]ever|market[- ]leading|"
        r"industry[- ]leading|leading brand|most popular|most trusted|certified|accredited|"
        r"(?:endorsed|approved|recommended) by\s+(?P<by>[A-Z][\w&.'-]*(?:\s+[A-Z][\w&.'-]*)*))",
        re.I,
    ),
]


@dataclass(frozen=True)
class Claim:
    kind: str  # percent | money | multiplier | number | year | date | phrase
    value: object
    start: int
    end: int
    text: str


def _value(raw: str) -> float:
    return float(raw.replace(",", ""))


def _kind(cur: str | None, suf: str | None) -> tuple[str, float]:
    s = (suf or "").strip().lower()
    factor = {"k": 1e3, "m": 1e6, "bn": 1e9, "thousand": 1e3, "million": 1e6, "billion": 1e9}.get(s, 1.0)
    if cur:
        return "money", factor
    if s in ("%", "percent", "per cent", "percent") or s.startswith("per"):
        return "percent", 1.0
    if s == "x":
        return "multiplier", 1.0
    return "number", factor


def extract(text: str, *, all_numbers: bool = False) -> list[Claim]:
    """The numeric and date claims of ``text`` (URLs, e-mail addresses and hashtags ignored).

    ``all_numbers`` keeps small counts too (used on the support text, where anything may back a claim).
    """
    plain = mask(text)
    claims: list[Claim] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for pattern, order in ((DATE_DM, "dm"), (DATE_MD, "md")):
        for m in pattern.finditer(plain):
            if order == "dm":
                day, month, year = int(m.group(1)), MONTHS[m.group(2).lower().rstrip(".")], m.group(3)
            else:
                month, day, year = MONTHS[m.group(1).lower().rstrip(".")], int(m.group(2)), m.group(3)
            if 1 <= day <= 31 and free(m.start(), m.end()):
                taken.append((m.start(), m.end()))
                claims.append(Claim("date", (month, day), m.start(), m.end(), m.group(0)))
                if year:
                    claims.append(Claim("year", int(year), m.start(), m.end(), m.group(0)))
    for m in ISO_DATE.finditer(plain):
        if free(m.start(), m.end()):
            taken.append((m.start(), m.end()))
            claims.append(Claim("date", (int(m.group(2)), int(m.group(3))), m.start(), m.end(), m.group(0)))
            claims.append(Claim("year", int(m.group(1)), m.start(), m.end(), m.group(0)))
    for m in NUMBER.finditer(plain):
        if not free(m.start(), m.end()):
            continue
        kind, factor = _kind(m.group("cur"), m.group("suf"))
        value = _value(m.group("num")) * factor
        raw = m.group("num")
        if kind == "number" and re.fullmatch(r"(19|20)\d\d", raw):
            kind = "year"
        if kind == "number" and value < 10 and not all_numbers and "." not in raw:
            continue
        taken.append((m.start(), m.end()))
        claims.append(Claim(kind, value, m.start(), m.end(), m.group(0).strip()))
    for m in WORD_NUMBER.finditer(plain):
        if not free(m.start(), m.end()):
            continue
        value = words_value(m.group("words"))
        suf = (m.group("suf") or "").strip().lower()
        kind = "percent" if "cent" in suf else ("multiplier" if suf == "times" else "number")
        if kind == "number" and value < 10 and not all_numbers:
            continue
        taken.append((m.start(), m.end()))
        claims.append(Claim(kind, float(value), m.start(), m.end(), m.group(0)))
    for m in MULTIPLIER_WORDS.finditer(plain):
        word = m.group(1).split()[0].lower()
        value = (
            {"twice": 2, "double": 2, "triple": 3}.get(word)
            or WORD_NUMBERS.get(word)
            or SMALL_WORDS.get(word)
        )
        if value is None and word.isdigit():
            value = int(word)
        if value is not None and free(m.start(), m.end()):
            claims.append(Claim("multiplier", float(value), m.start(), m.end(), m.group(0)))
    return claims


def words_value(phrase: str) -> float:
    """``"ten thousand"`` -> 10000, ``"twenty-five"`` -> 25, ``"half"`` -> 0.5."""
    total, current = 0.0, 0.0
    for word in re.findall(r"[a-z]+", phrase.lower()):
        if word == "and":
            continue
        if word == "hundred":
            current = (current or 1) * 100
        elif word in ("thousand", "million", "billion"):
            total += (current or 1) * WORD_NUMBERS[word]
            current = 0
        else:
            current += WORD_NUMBERS.get(word, SMALL_WORDS.get(word, 0))
    return total + current


@dataclass(frozen=True)
class Support:
    values: frozenset[tuple[str, object]]
    sentences: tuple[str, ...]
    lowered: str


@functools.lru_cache(maxsize=64)
def build_support(corpus: str, dates: tuple[dt.date, ...] = ()) -> Support:
    values: set[tuple[str, object]] = set()
    for c in extract(corpus, all_numbers=True):
        values.add((c.kind, c.value if c.kind == "date" else float(c.value)))
        if c.kind in ("number", "percent") and isinstance(c.value, float):
            values.add(("number_any", float(c.value)))
    for d in dates:
        values.add(("date", (d.month, d.day)))
        values.add(("year", float(d.year)))
    sents = tuple(s.text for s in sentence_spans(corpus.replace(". ", ".\n")))
    return Support(frozenset(values), sents, corpus.lower())


def _supported_number(claim: Claim, support: Support) -> bool:
    if claim.kind == "date":
        return ("date", claim.value) in support.values
    value = float(claim.value)  # type: ignore[arg-type]
    if (claim.kind, value) in support.values:
        return True
    # a plain number is also backed by the same value stated as a percentage ("15% off" -> "save 15")
    return claim.kind == "number" and ("number_any", value) in support.values


def _stem(word: str) -> str:
    return word.lower()[:6]


def _supported_phrase(match: re.Match[str], sentence: str, support: Support) -> bool:
    who = (match.groupdict().get("who") or match.groupdict().get("by") or "").strip()
    if who:
        name = re.sub(r"^the\s+", "", who, flags=re.I).lower()
        return name in support.lowered
    trigger = [w for w in re.findall(r"[a-z]+", match.group(0).lower()) if w not in STOP_WORDS]
    topic = {_stem(t) for t in content_terms(sentence)} - {_stem(t) for t in trigger}
    for s in support.sentences:
        lowered = s.lower()
        if not all(_stem(t) in lowered for t in trigger):
            continue
        if not topic or len(topic & {_stem(t) for t in content_terms(s)}) >= 1:
            return True
    return False


def check(text: QAText, ctx: QAContext) -> CheckResult:
    support = build_support(ctx.support_corpus, ctx.dates)
    findings: list[Finding] = []
    checked = 0
    for field, value in text.fields().items():
        for claim in extract(value):
            checked += 1
            if _supported_number(claim, support):
                continue
            what = {
                "percent": "percentage",
                "money": "amount of money",
                "multiplier": "comparison",
                "year": "year",
                "date": "date",
            }.get(claim.kind, "number")
            findings.append(
                Finding(
                    NAME,
                    "unsupported_date" if claim.kind in ("date", "year") else "unsupported_number",
                    f"the {what} '{claim.text}' is not in the brief or the research sources",
                    excerpt(value, claim.start, claim.end),
                    "cite where it comes from (add the source to the brief) or remove it",
                    "error",
                    field,
                    claim.start,
                    claim.end,
                )
            )
        masked = mask(value)
        spans = sentence_spans(masked, include_headings=True)
        for pattern in CLAIMS:
            for m in pattern.finditer(masked):
                checked += 1
                sentence = next((s.text for s in spans if s.start <= m.start() < s.end), masked)
                if _supported_phrase(m, sentence, support):
                    continue
                findings.append(
                    Finding(
                        NAME,
                        "unsupported_claim",
                        f"the claim '{m.group(0).strip()}' is not backed by the brief or the research sources",
                        excerpt(value, m.start(), m.end()),
                        "name the study or certificate in the brief's sources, or drop the claim",
                        "error",
                        field,
                        m.start(),
                        m.end(),
                    )
                )
    numbers = sum(1 for f in findings if f.code != "unsupported_claim")
    phrases = len(findings) - numbers
    score = round(max(0.0, 1.0 - 0.35 * numbers - 0.25 * phrases), 4)
    passed = score >= PASS_AT and not findings
    return CheckResult(NAME, score, passed, tuple(findings), {"claims_checked": checked})
