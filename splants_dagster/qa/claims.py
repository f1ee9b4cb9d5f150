"""Checkable claims in marketing copy, and what supports each of them.

Nothing a piece states may be invented: every checkable claim must trace to an approved statement. A
claim is one of

- a number: money, percentage, multiplier (``3x``, ``twice as``), duration (``48 hours``, ``every seven
  days``, ``a fortnight``), a count with its noun (``30 pods``, ``a dozen origins``), a year or a date;
  digits and words alike, small numbers included when they carry a unit or count something;
- a comparison (``lighter than``, ``faster``), a superlative (``best``, ``#1``, ``the only``, ``first``),
  an award or certification, social proof (``join 50,000 ...``, ``loved by``), testimony (a quotation,
  ``customers tell us``, ``we often hear``), an experience claim (``we see this again and again``),
  scarcity or urgency (``only 12 left``, ``ends tonight``), an appeal to research (``studies show``).

Support, in order: the approved facts of the brief and the brand (``brief:1``, ``brand:2``), the brief's
own fields (topic, goal, audience, call to action, link, the campaign window), the brand profile, the
consented testimonials (quoted verbatim, with the author named), and the brand's ``own`` source pages.
A ``reference`` source (a study, a standard) supports a claim only when it states it literally and the
piece cites it. A ``competitor`` page never supports our claims: when only a competitor page matches,
the claim is unsupported and the finding names the competitor.

A number is supported by a statement with the same value of the same kind (and, for counts, a shared
noun: ``12 boxes`` is not ``12 weeks``; durations compare in days, so ``two weeks`` is ``14 days``). A
worded claim is supported by one statement that contains its trigger words (``certified``, ``best``)
and most of the words it is about (the few content words after it).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from splants_dagster.qa.spans import mask, sentence_spans
from splants_dagster.text import STOP_WORDS, normalise

ROLES = ("own", "competitor", "reference")

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
MONTH_RE = (
    r"(January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
)
DATE_DM = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH_RE}(?:,?\s+(\d{{4}}))?\b", re.I)
DATE_MD = re.compile(rf"\b{MONTH_RE}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?", re.I)
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
NUMBER = re.compile(
    r"(?<![\w.,/#£$€-])(?P<cur>[£$€]\s?)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<suf>\s?%|\s?per\s?cent\b|\s?percent\b|x\b|\s?(?:k|bn)\b|\s(?:million|billion|thousand)\b)?"
    r"(?P<plus>\+)?(?![\w%])"
)
WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
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
_NUM_WORD = "|".join(sorted(WORD_NUMBERS, key=len, reverse=True))
WORD_NUMBER = re.compile(
    rf"\b(?P<words>(?:{_NUM_WORD})(?:[\s-]+(?:and\s+)?(?:{_NUM_WORD}))*)\b"
    r"(?P<suf>\s+(?:per\s?cent|percent|times))?",
    re.I,
)
FORTNIGHT = re.compile(r"\b(?:a|one)\s+fortnight\b|\bfortnightly\b", re.I)
MULTIPLIER_WORDS = re.compile(
    r"\b(twice|double|triple|\w+\s+times)\s+(as|more|faster|longer|better|the|less|fewer)\b", re.I
)
DAYS = {
    "second": 1 / 86400,
    "sec": 1 / 86400,
    "minute": 1 / 1440,
    "min": 1 / 1440,
    "hour": 1 / 24,
    "hr": 1 / 24,
    "day": 1.0,
    "week": 7.0,
    "fortnight": 14.0,
    "month": 30.0,
    "year": 365.0,
    "yr": 365.0,
}
# nouns after a small count that describe the text itself, not the world ("3 tips", "two ways")
PHRASING_NOUNS = frozenset(
    [
        "tip",
        "way",
        "step",
        "reason",
        "thing",
        "idea",
        "question",
        "mistake",
        "trick",
        "sign",
        "rule",
        "lesson",
        "option",
        "part",
        "point",
        "minute-read",
        "of",
        "or",
        "and",
        "to",
        "more",
        "other",
        "you",
        "us",
        "them",
        "it",
    ]
)
UNIT_STOP = frozenset(STOP_WORDS) | {"every", "each", "per", "a", "an", "the", "of", "than", "more", "over"}


def singular(word: str) -> str:
    w = word.lower().strip("'’")
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("es") and w[-3] in "sxz":
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def stem(word: str) -> str:
    return singular(word)[:6]


def words_value(phrase: str) -> float:
    """``"ten thousand"`` -> 10000, ``"twenty-five"`` -> 25, ``"a dozen"`` -> 12."""
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
            current += WORD_NUMBERS.get(word, 0)
    return total + current


@dataclass(frozen=True)
class Claim:
    """One checkable claim in a field: ``kind``, the words that make it, where it is, and what it is about.

    Numbers carry ``value`` (days for a duration) and ``unit`` (the count's nouns); worded claims carry
    ``trigger`` (the claim words) and ``about`` (the content words it is made about)."""

    kind: str
    text: str
    start: int
    end: int
    sentence: str = ""
    value: Any = None
    unit: frozenset[str] = frozenset()
    trigger: tuple[str, ...] = ()
    about: tuple[str, ...] = ()
    quote: str = ""

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS


NUMERIC_KINDS = ("money", "percent", "multiplier", "duration", "count", "number", "year", "date")


def _unit_words(after: str) -> list[str]:
    out: list[str] = []
    for m in re.finditer(r"[A-Za-z][A-Za-z'’-]*|[.,;:!?()\n]", after[:60]):
        w = m.group(0)
        if not w[0].isalpha():
            break
        if w.lower() in UNIT_STOP:
            if out:
                break
            continue
        out.append(singular(w.split("-")[0]))
        if len(out) == 3:
            break
    return out


def _number_claim(kind: str, value: float, start: int, end: int, text: str, after: str) -> Claim:
    """A number with the words after it: a duration when they start with a time unit, a count when the
    number is small and counts a noun, a plain number otherwise; ``None`` for phrasing (``3 tips``)."""
    unit = _unit_words(after)
    first = unit[0] if unit else ""
    if unit and kind in ("number", "count"):
        m = re.match(r"[\s-]*(?:(?:a|an|the|of|every|each|per)\s+)?([A-Za-z][A-Za-z'’-]*)", after)
        if m and singular(m.group(1).split("-")[0]) == first:
            text, end = text + after[: m.end()], end + m.end()
    if kind == "number" and first in DAYS:
        return Claim("duration", text, start, end, value=value * DAYS[first])
    if kind != "number":
        return Claim(kind, text, start, end, value=value, unit=frozenset(unit))
    return Claim("count" if unit else "number", text, start, end, value=value, unit=frozenset(unit))


def numbers(text: str, *, all_numbers: bool = False) -> list[Claim]:
    """The numeric claims of ``text`` (URLs, e-mail addresses, hashtags and mentions ignored).

    Small numbers (below 10) count when they carry a unit or count a noun (``every 7 days``, ``three
    origins``); ``one`` and counts of the text's own parts (``3 tips``) are phrasing. ``all_numbers``
    keeps every number (the support side, where anything may back a claim)."""
    plain = mask(text)
    claims: list[Claim] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    def keep(c: Claim | None, raw_value: float, decimal: bool = False) -> None:
        if c is None:
            return
        small = raw_value < 10 and not decimal
        phrasing = c.kind == "number" or raw_value == 1 or _first_unit(plain, c.end) in PHRASING_NOUNS
        if not all_numbers and small and c.kind in ("number", "count") and phrasing:
            return
        taken.append((c.start, c.end))
        claims.append(c)

    for pattern, order in ((DATE_DM, "dm"), (DATE_MD, "md")):
        for m in pattern.finditer(plain):
            if order == "dm":
                day, month, year = int(m.group(1)), MONTHS[m.group(2).lower().rstrip(".")], m.group(3)
            else:
                month, day, year = MONTHS[m.group(1).lower().rstrip(".")], int(m.group(2)), m.group(3)
            if 1 <= day <= 31 and free(m.start(), m.end()):
                taken.append((m.start(), m.end()))
                claims.append(Claim("date", m.group(0), m.start(), m.end(), value=(month, day)))
                if year:
                    claims.append(Claim("year", m.group(0), m.start(), m.end(), value=float(year)))
    for m in ISO_DATE.finditer(plain):
        if free(m.start(), m.end()):
            taken.append((m.start(), m.end()))
            claims.append(
                Claim("date", m.group(0), m.start(), m.end(), value=(int(m.group(2)), int(m.group(3))))
            )
            claims.append(Claim("year", m.group(0), m.start(), m.end(), value=float(m.group(1))))
    for m in FORTNIGHT.finditer(plain):
        if free(m.start(), m.end()):
            taken.append((m.start(), m.end()))
            claims.append(Claim("duration", m.group(0), m.start(), m.end(), value=14.0))
    for m in NUMBER.finditer(plain):
        if not free(m.start(), m.end()):
            continue
        cur, suf, raw = m.group("cur"), (m.group("suf") or "").strip().lower(), m.group("num")
        factor = {"k": 1e3, "bn": 1e9, "thousand": 1e3, "million": 1e6, "billion": 1e9}.get(suf, 1.0)
        value = float(raw.replace(",", "")) * factor
        if cur:
            kind = "money"
        elif suf in ("%", "percent", "per cent") or suf.startswith("per"):
            kind = "percent"
        elif suf == "x":
            kind = "multiplier"
        elif re.fullmatch(r"(19|20)\d\d", raw):
            kind = "year"
        else:
            kind = "number"
        claim = _number_claim(kind, value, m.start(), m.end(), m.group(0).strip(), plain[m.end() :])
        keep(claim, value, decimal="." in raw)
    for m in WORD_NUMBER.finditer(plain):
        if not free(m.start(), m.end()):
            continue
        value = words_value(m.group("words"))
        suf = (m.group("suf") or "").strip().lower()
        kind = "percent" if "cent" in suf else ("multiplier" if suf == "times" else "number")
        keep(_number_claim(kind, float(value), m.start(), m.end(), m.group(0), plain[m.end() :]), value)
    for m in MULTIPLIER_WORDS.finditer(plain):
        word = m.group(1).split()[0].lower()
        times = {"twice": 2, "double": 2, "triple": 3}.get(word) or WORD_NUMBERS.get(word)
        if times is None and word.isdigit():
            times = int(word)
        if times is not None and free(m.start(), m.end()):
            taken.append((m.start(), m.end()))
            claims.append(Claim("multiplier", m.group(0), m.start(), m.end(), value=float(times)))
    return sorted(claims, key=lambda c: (c.start, c.kind))


def _first_unit(plain: str, end: int) -> str:
    unit = _unit_words(plain[end:])
    return unit[0] if unit else ""


def _p(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


# (kind, pattern): worded claims. The match's words (stop words aside) are the claim's trigger.
WORDED: list[tuple[str, re.Pattern[str]]] = [
    ("superlative", _p(r"(?<![\w])#1\b|\bnumber one\b|\bno\.\s?1\b")),
    (
        "superlative",
        _p(
            r"\b(?:(?<!works )(?<!work )(?<!its )(?<!their )(?<!your )(?<!at )best(?![- ]before\b| wishes\b)|finest|greatest|biggest|largest|freshest|fastest|cheapest|"
            r"lowest|highest|strongest|smoothest|richest|tastiest|greenest|healthiest|lightest|safest|purest|"
            r"cleanest|quietest|tastiest|unbeatable|unrivall?ed|unmatched|unparalleled|world[- ]class|"
            r"first[- ]ever|world'?s first|market[- ]leading|industry[- ]leading|leading|top[- ]rated|"
            r"(?<!at )(?:most|least) (?!of\b|people\b|days\b|mornings\b|machines\b|pod\b|pods\b)[a-z]+)\b"
        ),
    ),
    ("superlative", _p(r"\b(?:the|our|uk'?s|britain'?s|world'?s) only\b")),
    (
        "superlative",
        _p(
            r"\b(?:the|our) first\b(?! (?:time|week|day|month|step|sip|cup|order|box|delivery|thing|"
            r"few|two|three|batch|pack|one)\b)"
        ),
    ),
    (
        "comparison",
        _p(
            r"\b(?!rather\b|other\b|sooner\b|later\b|longer\b(?= than \d))(?:[a-z]+er|more [a-z]+|less [a-z]+|"
            r"fewer [a-z]+) than\b(?! (?:\d|ever\b))"
        ),
    ),
    (
        "comparison",
        _p(
            r"\b(?:better|faster|cheaper|fresher|stronger|lighter|healthier|greener|richer|smoother|tastier|"
            r"quicker|cleaner|safer|outperforms?|outlasts?|compared (?:to|with)|versus|vs\.?)\b"
        ),
    ),
    (
        "award",
        _p(
            r"\b(?:award[- ]winning|awards?|awarded|won(?!['’]t)|winners? of|certified|certification|certificate|"
            r"accredited|accreditation|(?:approved|endorsed|recommended) by|b corp|fairtrade|fair trade|"
            r"soil association|rainforest alliance|ok compost(?: home)?|tüv|en 13432|bpi|great taste awards?|"
            r"usda organic|vegan society|carbon trust|iso \d+)\b"
        ),
    ),
    (
        "social_proof",
        _p(
            r"\bjoin(?:ed|ing)?\s+(?:the\s+)?(?:over\s+|more than\s+|our\s+)?(?:[\w,.+]+\s+){0,2}(?:customers|people|"
            r"fans|subscribers|members|drinkers|households|others|families|lovers|community|readers|brewers)\b|"
            r"\b(?:thousands|hundreds|millions|tens of thousands) of\b|"
            r"\b(?:loved|trusted|used|chosen|enjoyed|rated|backed|adored|praised) by\b|"
            r"\brated\s+\d|\b\d(?:\.\d)?\s*(?:/\s*5|out of (?:5|five)|stars?)\b|\b(?:five|5)[- ]stars?\b|"
            r"\bcustomers?\s+(?:love|adore|rave)\b|\beveryone(?:'s| is)\s+(?:talking|switching|loving)\b|"
            r"\b(?:best[- ]?selling|bestsellers?|most popular|fan favou?rites?|cult favou?rites?|"
            r"our community of)\b|\b(?:customers|subscribers|households|reviews)\b(?= (?:across|nationwide|"
            r"already|and counting))"
        ),
    ),
    (
        "testimony",
        _p(
            r"\b(?:customers|people|many of you|some of you|readers|subscribers|our (?:customers|"
            r"subscribers|readers|community|regulars)|baristas|reviewers|fans|users|coffee lovers)\s+(?:often\s+|"
            r"always\s+|keep\s+|regularly\s+|constantly\s+)?(?:tell|told|say|said|write|wrote|rave|swear)\b"
            r"|\bwe (?:often |always |keep |constantly |regularly )?(?:hear|get asked)\b|"
            r"\bas one (?:customer|subscriber|reader|barista|fan|user) (?:put it|said|told us|wrote)\b|"
            r"\b(?:reviews?|testimonials?|feedback)\s+(?:say|says|show|shows|agree|agrees)\b"
        ),
    ),
    (
        "experience",
        _p(
            r"\bin our experience\b|\bwe(?:'ve| have)\s+(?:seen|found|noticed|learned|learnt|helped)\b|"
            r"\bwe see (?:this|it|that|the same)\b|\bagain and again\b|\btime (?:and|after) time\b|"
            r"\bover the years\b|\bcountless\b|\bfor (?:years|decades|generations)\b|\btried and tested\b|"
            r"\btime[- ]tested\b|\bwe know from\b"
        ),
    ),
    (
        "scarcity",
        _p(
            r"\bonly\s+(?:\d+|[a-z]+)\s+(?:[a-z]+\s+)?(?:left|remaining)\b|\b\d+\s+(?:[a-z]+\s+)?(?:left|"
            r"remaining)\b|\blimited (?:stock|supply|supplies|edition|time|offer|numbers|run)\b|"
            r"\bwhile (?:stocks|supplies) last\b|\bselling (?:out )?fast\b|\b(?:almost|nearly) (?:gone|sold out)\b|"
            r"\blow (?:in )?stock\b|\blast chance\b|\bends (?:tonight|today|soon|at midnight|midnight|tomorrow)\b|"
            r"\btoday only\b|\bhurry\b|\bdon'?t miss out\b|\bbefore (?:it'?s|they'?re) gone\b|\bfinal hours\b|"
            r"\blast few\b|\bfew left\b|\bgoing fast\b|\bact now\b|\bnow or never\b|\bsold out\b|"
            r"\bonce (?:it'?s|they'?re) gone\b"
        ),
    ),
    (
        "research",
        _p(
            r"\b(?:studies|study|research|science|data|surveys?|tests?|experts?|scientists|doctors|dentists|"
            r"nutritionists)\s+(?:show|shows|showed|prove|proves|proved|suggest|suggests|say|says|agree|"
            r"agrees|confirm|confirms|found|recommend|recommends)\b|"
            r"\b(?:scientifically|clinically|independently|laboratory|lab)[\s-](?:proven|tested|verified)\b|"
            r"\bproven to\b|\baccording to\b"
        ),
    ),
]
QUOTE = re.compile(r"[“\"]([^”\"\n]{8,400})[”\"]")
CLAUSE_END = re.compile(r"[,;:()—–!?]|\s-\s|\.\s|\.$")


def _terms(text: str) -> list[str]:
    return [t for t in normalise(text) if t not in STOP_WORDS and len(t) > 1 and not t.isdigit()]


def _about(sentence: str, start: int, end: int) -> tuple[str, ...]:
    """What a worded claim is about: up to four content words after it in its clause (or three before)."""
    tail = sentence[end:]
    stop = CLAUSE_END.search(tail)
    after = _terms(tail[: stop.start()] if stop else tail)[:4]
    if after:
        return tuple(after)
    head = sentence[:start]
    cut = max((m.end() for m in CLAUSE_END.finditer(head)), default=0)
    return tuple(_terms(head[cut:])[-3:])


def extract_claims(text: str) -> list[Claim]:
    """Every checkable claim of a field's text, each with the sentence it is in."""
    plain = mask(text)
    spans = sentence_spans(plain, include_headings=True)

    def sentence_at(pos: int) -> tuple[int, str]:
        for s in spans:
            if s.start <= pos < s.end:
                return s.start, s.text
        return 0, plain

    out: list[Claim] = []
    for c in numbers(text):
        _, sent = sentence_at(c.start)
        out.append(Claim(c.kind, c.text, c.start, c.end, sent, c.value, c.unit))
    taken: list[tuple[int, int]] = [(c.start, c.end) for c in out if c.kind in ("count", "duration")]
    for m in QUOTE.finditer(plain):
        inner = m.group(1).strip()
        if len(inner.split()) < 4:
            continue  # a short quoted phrase is a name or a scare quote, not testimony
        off, sent = sentence_at(m.start())
        out.append(Claim("quote", m.group(0), m.start(), m.end(), sent, quote=inner))
        taken.append((m.start(), m.end()))
    for kind, pattern in WORDED:
        for m in pattern.finditer(plain):
            if any(s <= m.start() < e for s, e in taken) and kind != "scarcity":
                continue
            off, sent = sentence_at(m.start())
            words = normalise(m.group(0))
            trigger = tuple(t for t in words if t not in STOP_WORDS or t in ("only", "first")) or tuple(words)
            about = _about(sent, m.start() - off, m.end() - off)
            out.append(Claim(kind, m.group(0), m.start(), m.end(), sent, trigger=trigger, about=about))
            taken.append((m.start(), m.end()))
    return sorted(out, key=lambda c: (c.start, c.end))


@dataclass(frozen=True)
class Statement:
    """A text that may support claims: ``ref`` names it (``brief:1``, ``brief:audience``, ``brand:2``,
    ``testimonial:1``, or a source ref), ``role`` says how far it is trusted."""

    ref: str
    text: str
    role: str  # fact | brief | brand | testimonial | own | reference | competitor
    author: str = ""


@dataclass
class _Prepared:
    statement: Statement
    numbers: list[Claim]
    sentences: list[frozenset[str]]  # stems per sentence
    words: str  # normalised words joined by spaces, padded


def _prepare(st: Statement) -> _Prepared:
    nums = numbers(st.text, all_numbers=True)
    sents = [
        frozenset(stem(t) for t in normalise(s.text)) for s in sentence_spans(st.text.replace(". ", ".\n"))
    ]
    if not sents:
        sents = [frozenset(stem(t) for t in normalise(st.text))]
    return _Prepared(st, nums, sents, " " + " ".join(normalise(st.text)) + " ")


class Evidence:
    """Every statement a campaign's claims may rest on, prepared once per context."""

    def __init__(self, statements: Iterable[Statement], dates: Sequence[Any] = ()):
        self.statements = [_prepare(s) for s in statements if s.text and s.text.strip()]
        self.dates = {(d.month, d.day) for d in dates}
        self.years = {float(d.year) for d in dates}

    def by_role(self, *roles: str) -> list[_Prepared]:
        return [p for p in self.statements if p.statement.role in roles]


TRUSTED = ("fact", "brief", "brand", "testimonial", "own")


def _number_match(claim: Claim, cand: Claim) -> bool:
    if claim.kind == "date":
        return cand.kind == "date" and cand.value == claim.value
    if claim.kind in ("count", "number"):
        if cand.kind not in ("count", "number", "percent") or float(cand.value) != float(claim.value):
            return False
        return not claim.unit or not cand.unit or bool(claim.unit & cand.unit)
    if claim.kind == "duration":
        return cand.kind == "duration" and abs(float(cand.value) - float(claim.value)) < 1e-6
    return cand.kind == claim.kind and float(cand.value) == float(claim.value)


def _numbers_support(claim: Claim, prepared: _Prepared) -> bool:
    return any(_number_match(claim, c) for c in prepared.numbers)


def _worded_support(claim: Claim, prepared: _Prepared) -> bool:
    trigger = {stem(t) for t in claim.trigger}
    about = [stem(t) for t in claim.about if stem(t) not in trigger]
    for sent in prepared.sentences:
        if not trigger <= sent:
            continue
        if not about or (len(trigger) >= 2 and len(about) == 1):
            return True  # a named scheme or a multi-word claim says enough by itself
        shared = sum(1 for t in about if t in sent)
        if shared / len(about) >= 0.67 or (len(about) >= 3 and shared >= 2 and shared / len(about) >= 0.5):
            return True
    return False


def _quote_support(claim: Claim, prepared: _Prepared) -> bool:
    inner = " ".join(normalise(claim.quote))
    return bool(inner) and f" {inner} " in prepared.words


def _literal(claim: Claim, prepared: _Prepared) -> bool:
    """A reference source states the claim literally: the claim holds there and most of the claim's
    sentence (its content words) is in one sentence of the source."""
    holds = (
        _numbers_support(claim, prepared)
        if claim.numeric
        else _quote_support(claim, prepared)
        if claim.kind == "quote"
        else _worded_support(claim, prepared)
    )
    if not holds:
        return False
    terms = {stem(t) for t in _terms(claim.sentence)}
    if not terms:
        return True
    return any(len(terms & s) / len(terms) >= 0.6 for s in prepared.sentences)


def citation_names(ref: str) -> set[str]:
    """Words that cite a source: its host's name (``ons`` for ons.gov.uk) and its file or path name."""
    parsed = urlparse(ref)
    names: set[str] = set()
    if parsed.netloc:
        host = parsed.netloc.lower().removeprefix("www.").split(":")[0]
        names.add(host)
        names.add(host.split(".")[0])
        path = parsed.path
    else:
        path = ref
    stemmed = re.sub(r"\.[a-z0-9]{2,5}$", "", path.rstrip("/").split("/")[-1].lower())
    names.update(w for w in re.split(r"[-_\s.]+", stemmed) if len(w) >= 3 and w not in STOP_WORDS)
    generic = {"index", "html", "page", "source", "sources", "www", "com", "org", "report", "article", "blog"}
    return {n for n in names if n and n not in generic}


def cites(text: str, ref: str, title: str = "") -> bool:
    lowered = text.lower()
    names = citation_names(ref)
    if title:
        names |= {t for t in _terms(title) if len(t) > 3}
    return any(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", lowered) for n in names)


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    supported: bool
    support: str | None  # the fact id / source ref that supports it (or the competitor that alone does)
    code: str  # supported | unsupported | competitor_only | uncited_reference | unconsented_quote
    note: str = ""


def _holds(claim: Claim, prepared: _Prepared) -> bool:
    if claim.numeric:
        return _numbers_support(claim, prepared)
    if claim.kind == "quote":
        return _quote_support(claim, prepared)
    return _worded_support(claim, prepared)


def judge(claim: Claim, evidence: Evidence, field_text: str) -> Verdict:
    """Whether ``claim`` is supported and by what."""
    if claim.kind == "research" and claim.trigger[:1] == ("according",):
        return _attribution(claim, evidence)
    if claim.kind == "date" and claim.value in evidence.dates:
        return Verdict(claim, True, "brief:dates", "supported")
    if claim.kind == "year" and claim.value in evidence.years:
        return Verdict(claim, True, "brief:dates", "supported")
    for prepared in evidence.by_role(*TRUSTED):
        if _holds(claim, prepared):
            st = prepared.statement
            if st.role == "testimonial" and st.author:
                first = st.author.split()[0].lower()
                if first not in field_text.lower():
                    return Verdict(
                        claim, False, st.ref, "unattributed_quote", f"quote of {st.author} without their name"
                    )
            return Verdict(claim, True, st.ref, "supported")
    for prepared in evidence.by_role("reference"):
        if _literal(claim, prepared):
            ref = prepared.statement.ref
            if cites(field_text, ref):
                return Verdict(claim, True, ref, "supported", "stated by a reference source, cited")
            return Verdict(
                claim, False, ref, "uncited_reference", f"stated by {ref} but the piece does not cite it"
            )
    for prepared in evidence.by_role("competitor"):
        if _holds(claim, prepared):
            ref = prepared.statement.ref
            return Verdict(claim, False, ref, "competitor_only", f"supported only by competitor page {ref}")
    if claim.kind in ("quote", "testimony"):
        return Verdict(claim, False, None, "unsupported", "no consented testimonial says this")
    return Verdict(claim, False, None, "unsupported")


def _attribution(claim: Claim, evidence: Evidence) -> Verdict:
    """``according to X``: X must be a cited source we may rely on, or named by an approved fact (what the
    sentence then says is judged claim by claim)."""
    named = " ".join(claim.about)
    for prepared in evidence.statements:
        st = prepared.statement
        if st.role in ("own", "reference") and named and cites(named, st.ref):
            return Verdict(claim, True, st.ref, "supported", "names a source of the brief")
        if st.role == "fact" and claim.about and all(stem(t) in prepared.words for t in claim.about[:2]):
            return Verdict(claim, True, st.ref, "supported")
    for prepared in evidence.by_role("competitor"):
        if named and cites(named, prepared.statement.ref):
            ref = prepared.statement.ref
            return Verdict(claim, False, ref, "competitor_only", f"cites competitor page {ref}")
    return Verdict(claim, False, None, "unsupported", "names an authority the brief does not list")


@functools.lru_cache(maxsize=32)
def _evidence_cached(key: tuple) -> Evidence:
    statements, dates = key
    return Evidence([Statement(*s) for s in statements], dates)


def evidence_for(statements: Sequence[Statement], dates: Sequence[Any] = ()) -> Evidence:
    key = (tuple((s.ref, s.text, s.role, s.author) for s in statements), tuple(dates))
    return _evidence_cached(key)


@dataclass
class ClaimRow:
    field: str
    verdict: Verdict
    # dataclasses.field spelled out: the class has an attribute named ``field``
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        c = self.verdict.claim
        return {
            "kind": c.kind,
            "text": c.text,
            "field": self.field,
            "span": [c.start, c.end],
            "supported": self.verdict.supported,
            "support": self.verdict.support,
            "status": self.verdict.code,
        }


def statements_from(
    facts: Mapping[str, str] | None,
    brief_fields: Mapping[str, str] | None,
    brand_text: str,
    testimonials: Sequence[Mapping[str, Any]] | None,
    sources: Mapping[str, str] | None,
    roles: Mapping[str, str] | None,
) -> list[Statement]:
    out = [Statement(ref, text, "fact") for ref, text in (facts or {}).items()]
    out += [Statement(f"brief:{name}", text, "brief") for name, text in (brief_fields or {}).items() if text]
    out.append(Statement("brand:profile", brand_text, "brand"))
    for i, t in enumerate(testimonials or (), start=1):
        if t.get("consent", True):
            out.append(
                Statement(
                    f"testimonial:{i}", str(t.get("quote", "")), "testimonial", str(t.get("author", ""))
                )
            )
    for ref, text in (sources or {}).items():
        role = (roles or {}).get(ref, "reference")
        out.append(Statement(ref, text, role if role in ROLES else "reference"))
    return out
