"""Grammar and spelling: a dictionary spell check plus rules for repeated words, articles, sentence length,
passive-voice overuse, capitalisation and repeated punctuation.

Spelling uses pyspellchecker's English word-frequency dictionary (installed from PyPI with the package,
no download at run time). British spellings are accepted (``colour``, ``organise``, ``centre``), and so
are the brand's names, the campaign's keywords, hashtags, URLs, e-mail addresses, and every word of the
brief and the research sources. Capitalised words in mid-sentence are taken as names and skipped.
"""

from __future__ import annotations

import functools
import re

from splants_dagster.qa.model import CheckResult, Finding, QAContext, QAText
from splants_dagster.qa.spans import excerpt, mask, sentence_spans, word_spans

NAME = "grammar"
PASS_AT = 0.75
LONG_SENTENCE = 30
VERY_LONG_SENTENCE = 45
PASSIVE_SHARE = 0.3

# Everyday marketing and web words missing from the dictionary.
EXTRA_WORDS = frozenset(
    [
        "instagram",
        "linkedin",
        "tiktok",
        "youtube",
        "facebook",
        "pinterest",
        "whatsapp",
        "hashtag",
        "hashtags",
        "ebook",
        "ebooks",
        "webinar",
        "webinars",
        "signup",
        "signups",
        "app",
        "apps",
        "emoji",
        "emojis",
        "influencer",
        "influencers",
        "wifi",
        "vlog",
        "vlogs",
        "smartphone",
        "smartphones",
        "barista",
        "baristas",
        "cafe",
        "cafes",
        "wellbeing",
        "upcycled",
        "upcycling",
        "preorder",
        "preorders",
        "onboarding",
        "skincare",
        "haircare",
        "startup",
        "startups",
        "checkout",
        "dropdown",
        "homepage",
        "subreddit",
        "podcast",
        "podcasts",
        "livestream",
        "unboxing",
        "vegan",
        "plastics",
        "compostable",
        "biodegradable",
        "recyclable",
        "refillable",
        "reusable",
        "microplastics",
        "lifecycle",
        "ecommerce",
        "omnichannel",
        "b2b",
        "b2c",
        "saas",
        "arabica",
        "robusta",
        "decaf",
        "espresso",
        "cortado",
        "flatwhite",
    ]
)
PREFIXES = frozenset(
    [
        "pre",
        "co",
        "re",
        "non",
        "self",
        "multi",
        "anti",
        "eco",
        "post",
        "sub",
        "un",
        "over",
        "under",
        "semi",
        "mid",
        "mini",
        "micro",
        "inter",
        "e",
    ]
)
BRITISH = [
    (re.compile(r"our(?=s?$|ite|ed|ing|able|er|ful|less)"), "or"),
    (re.compile(r"is(e|ed|es|ing|ation|ations|er|ers)$"), r"iz\1"),
    (re.compile(r"ys(e|ed|es|ing)$"), r"yz\1"),
    (re.compile(r"tre(s?)$"), r"ter\1"),
    (re.compile(r"ence$"), "ense"),
    (re.compile(r"ogue(s?)$"), r"og\1"),
    (re.compile(r"ll(ed|ing|er|ers)$"), r"l\1"),
    (re.compile(r"mme(s?)$"), r"m\1"),
    (re.compile(r"que(s?)$"), r"ck\1"),
    (re.compile(r"^aluminium$"), "aluminum"),
]
CONTRACTION = re.compile(r"(n't|'ll|'re|'ve|'d|'m|'s|s')$")

REPEATED = re.compile(r"(?<![\w'’-])([A-Za-z]+)(\s+)(\1)(?![\w'’-])", re.IGNORECASE)
REPEAT_OK = {"had", "that", "bye", "ha", "no", "very", "so"}
ARTICLE_A = re.compile(r"(?<![\w'’-])([Aa])\s+([aeiouAEIOU][a-z]+)")
ARTICLE_A_SILENT_H = re.compile(r"(?<![\w'’-])([Aa])\s+((?:hour|honest|honou?r|heir)[a-z]*)")
ARTICLE_AN = re.compile(r"(?<![\w'’-])([Aa]n)\s+([b-df-hj-np-tv-zB-DF-HJ-NP-TV-Z][a-z]+)")
A_BEFORE_VOWEL_OK = re.compile(r"^(uni|use|usu|uti|ure|euro|eu|one|once|ukr|ur[aio])", re.I)
AN_BEFORE_CONSONANT_OK = re.compile(r"^(hour|honest|honou?r|heir|herb)", re.I)
NEVER = re.compile(r"(?!)")
REPEATED_PUNCT = re.compile(r"([!?])\1+|\.\.(?!\.)|,,")
PASSIVE = re.compile(
    r"\b(?:am|is|are|was|were|be|been|being)\s+(?:\w+ly\s+)?"
    r"(?:\w{3,}ed|known|made|given|taken|done|seen|written|built|sold|shown|found|held|kept|told|brought|"
    r"bought|thought|sent|spent|paid|chosen|grown|drawn|driven|broken|spoken|hidden|worn|born|begun|"
    r"understood|led|meant|run|set|put|cut)\b",
    re.IGNORECASE,
)
PASSIVE_NOT = re.compile(
    r"\b(?:is|are|was|were|be|been)\s+(?:interested|tired|excited|based|used to|bored|"
    r"supposed|concerned|pleased|worried|scared|married|qualified|committed|"
    r"dedicated|designed|need)\b",
    re.IGNORECASE,
)


@functools.cache
def spell_checker():
    from spellchecker import SpellChecker

    checker = SpellChecker(language="en", distance=1)  # distance 2 takes seconds on long words
    checker.word_frequency.load_words(EXTRA_WORDS)
    return checker


def _known(word: str, vocabulary: frozenset[str]) -> bool:
    checker = spell_checker()
    w = word.lower().replace("’", "'")
    if w in vocabulary or w in checker:
        return True
    base = CONTRACTION.sub("", w)
    if base != w and (base in vocabulary or base in checker or base + "s" in checker):
        return True
    if "-" in w:
        parts = [p for p in w.split("-") if p]
        return all(p in PREFIXES or _known(p, vocabulary) for p in parts)
    for pattern, repl in BRITISH:
        american = pattern.sub(repl, w)
        if american != w and american in checker:
            return True
    return bool(w.endswith("s") and len(w) > 3 and (w[:-1] in checker or w[:-1] in vocabulary))


def _skip(word: str) -> bool:
    bare = word.replace("’", "'").strip("'-")
    if len(bare) <= 1:
        return True
    if bare.isupper():  # acronyms, script marks like [HOOK]
        return True
    return any(c.isupper() for c in bare[1:])  # PodCo, iPhone, McDonald


def _suggestion(word: str, vocabulary: frozenset[str]) -> tuple[str, str | None]:
    checker = spell_checker()
    lower = word.lower()
    local = sorted(v for v in vocabulary if _edit_distance_one(lower, v))
    best = local[0] if local else (checker.correction(lower) if len(lower) <= 20 else None)
    if not best or best == lower:
        return (
            "check the spelling; if it is a name or product term, add it to the brief's keywords or brand.yaml",
            None,
        )
    fixed = best[:1].upper() + best[1:] if word[:1].isupper() else best
    return f"did you mean '{fixed}'?", fixed


def _edit_distance_one(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diffs) == 1 or (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def spelling_findings(text: QAText, ctx: QAContext) -> list[Finding]:
    findings: list[Finding] = []
    vocabulary = ctx.vocabulary | {w.lower() for tag in text.hashtags for w in re.findall(r"[A-Za-z]+", tag)}
    seen: set[str] = set()
    for field, value in text.fields().items():
        masked = mask(value)
        starts = {s.start for s in sentence_spans(masked, include_headings=True)}
        title_like = field in ("title", "seo_title", "subject")
        for span in word_spans(masked):
            word = span.text
            if _skip(word):
                continue
            capitalised = word[:1].isupper()
            at_start = span.start in starts or _after_break(masked, span.start)
            if capitalised and not at_start and not title_like:
                continue  # a name in mid-sentence
            if _known(word, vocabulary):
                continue
            key = word.lower()
            if key in seen:
                continue
            seen.add(key)
            suggestion, fixed = _suggestion(word, vocabulary)
            fix = None
            # auto-fix only one-letter slips, and capitalised words only towards a word of this campaign
            if (
                fixed
                and len(word) >= 4
                and _edit_distance_one(key, fixed.lower())
                and (word.islower() or fixed.lower() in vocabulary)
            ):
                fix = {"replace": word, "with": fixed, "field": field}
            findings.append(
                Finding(
                    NAME,
                    "spelling",
                    f"'{word}' is not an English word in the dictionary",
                    excerpt(value, span.start, span.end),
                    suggestion,
                    "warning",
                    field,
                    span.start,
                    span.end,
                    fix,
                )
            )
    return findings


def _after_break(text: str, pos: int) -> bool:
    """True when only markup, quotes or a colon separate ``pos`` from the start of its line."""
    line_start = text.rfind("\n", 0, pos) + 1
    before = text[line_start:pos].strip()
    return before == "" or bool(re.fullmatch(r"[#>*\-•\d.)\[\]A-Z\s:\"“(]*", before))


def rule_findings(text: QAText) -> list[Finding]:
    findings: list[Finding] = []
    for field, value in text.fields().items():
        masked = mask(value)
        for m in REPEATED.finditer(masked):
            if m.group(1).lower() in REPEAT_OK:
                continue
            findings.append(
                Finding(
                    NAME,
                    "repeated_word",
                    f"'{m.group(1)}' is repeated",
                    excerpt(value, m.start(), m.end()),
                    f"remove the second '{m.group(3)}'",
                    "warning",
                    field,
                    m.start(),
                    m.end(),
                    {"replace": m.group(0), "with": m.group(1), "field": field},
                )
            )
        for pattern, ok, right in (
            (ARTICLE_A, A_BEFORE_VOWEL_OK, "an"),
            (ARTICLE_A_SILENT_H, NEVER, "an"),
            (ARTICLE_AN, AN_BEFORE_CONSONANT_OK, "a"),
        ):
            for m in pattern.finditer(masked):
                if ok.match(m.group(2)):
                    continue
                article = right if m.group(1)[0].islower() else right.capitalize()
                findings.append(
                    Finding(
                        NAME,
                        "article",
                        f"'{m.group(1)} {m.group(2)}': use '{article}' before this word",
                        excerpt(value, m.start(), m.end()),
                        f"write '{article} {m.group(2)}'",
                        "warning",
                        field,
                        m.start(),
                        m.end(),
                        {"replace": m.group(0), "with": f"{article} {m.group(2)}", "field": field},
                    )
                )
        for m in REPEATED_PUNCT.finditer(masked):
            findings.append(
                Finding(
                    NAME,
                    "punctuation",
                    f"repeated punctuation '{m.group(0)}'",
                    excerpt(value, m.start(), m.end()),
                    "use a single mark",
                    "warning",
                    field,
                    m.start(),
                    m.end(),
                    {"replace": m.group(0), "with": m.group(0)[0], "field": field},
                )
            )
        for m in re.finditer(r"[a-z][.!?]+\s+([a-z][a-z]+)\b", masked):
            if m.group(1) in ("e", "g", "i", "etc", "vs"):
                continue
            findings.append(
                Finding(
                    NAME,
                    "capitalisation",
                    f"sentence starts with a lower-case letter: '{m.group(1)}'",
                    excerpt(value, m.start(1), m.end(1)),
                    f"write '{m.group(1).capitalize()}'",
                    "warning",
                    field,
                    m.start(1),
                    m.end(1),
                )
            )
    body_sentences = sentence_spans(mask(text.body))
    for s in body_sentences:
        n = len(s.text.split())
        if n > LONG_SENTENCE:
            findings.append(
                Finding(
                    NAME,
                    "long_sentence",
                    f"sentence of {n} words (aim for at most {LONG_SENTENCE})",
                    excerpt(text.body, s.start, s.start + min(len(s.text), 90), context=0),
                    "split it into two or three shorter sentences",
                    "warning",
                    "body",
                    s.start,
                    s.end,
                    {"split": True, "words": n},
                )
            )
    passive = [s for s in body_sentences if PASSIVE.search(s.text) and not PASSIVE_NOT.search(s.text)]
    if len(passive) >= 2 and len(passive) / max(1, len(body_sentences)) > PASSIVE_SHARE:
        first = passive[0]
        findings.append(
            Finding(
                NAME,
                "passive_voice",
                f"{len(passive)} of {len(body_sentences)} sentences are in the passive voice "
                f"(more than {PASSIVE_SHARE:.0%})",
                excerpt(text.body, first.start, first.end, context=0),
                "say who does what: 'we roast the beans weekly' rather than 'the beans are roasted weekly'",
                "warning",
                "body",
                first.start,
                first.end,
            )
        )
    return findings


PENALTY = {
    "spelling": 0.1,
    "repeated_word": 0.15,
    "article": 0.05,
    "punctuation": 0.05,
    "capitalisation": 0.05,
    "passive_voice": 0.15,
}


def check(text: QAText, ctx: QAContext) -> CheckResult:
    findings = spelling_findings(text, ctx) + rule_findings(text)
    penalty = sum(PENALTY.get(f.code, 0.0) for f in findings)
    long_ones = [f for f in findings if f.code == "long_sentence"]
    penalty += min(
        0.25, sum(0.1 if (f.fix or {}).get("words", 0) > VERY_LONG_SENTENCE else 0.05 for f in long_ones)
    )
    score = round(max(0.0, 1.0 - penalty), 4)
    counts = {code: sum(1 for f in findings if f.code == code) for code in {f.code for f in findings}}
    return CheckResult(
        NAME,
        score,
        score >= PASS_AT and not any(f.severity == "error" for f in findings),
        tuple(findings),
        {"counts": counts},
    )
