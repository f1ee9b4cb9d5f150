"""Rule-based auto-fixes: what a careful editor would change without rewriting the piece.

Each rule reads the findings of the last evaluation and returns the changed text plus a description of
every change (recorded in ``qa_status.fixes``). Problems that need judgement (a prohibited or
unsupported claim, a copied passage, keyword stuffing, missing sections) are left alone: the piece stays
flagged for a human, or goes to the LLM rewrite when a real provider is configured.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from splants_dagster.platforms import (
    EMAIL_PREHEADER_RANGE,
    EMAIL_SUBJECT_MAX,
    META_DESCRIPTION_RANGE,
    SEO_TITLE_MAX,
)
from splants_dagster.qa.brand_voice import shouted_words
from splants_dagster.qa.legal import UNSUBSCRIBE, disclosure_markers, has_postal_address
from splants_dagster.qa.model import Finding, QAContext, QAText
from splants_dagster.qa.spans import find_phrase, sentence_spans
from splants_dagster.text import truncate_words

if TYPE_CHECKING:
    from splants_dagster.qa.engine import Evaluation

SPLITTERS = [
    (re.compile(r";\s+"), ""),
    (re.compile(r",\s+and\s+"), ""),
    (re.compile(r",\s+but\s+"), "But "),
    (re.compile(r",\s+so\s+"), "So "),
]
MIN_PART_WORDS = 6
SPLIT_OVER = 25


def _match_case(found: str, replacement: str) -> str:
    if not replacement or (found.isupper() and len(found) > 1):  # a shouted word is not shouted back
        return replacement
    if found[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _replace_phrase(value: str, found: str, replacement: str) -> str:
    spans = find_phrase(value, found) if re.match(r"\w", found) else []
    if not spans:
        return value.replace(found, replacement, 1) if found in value else value
    out, last = [], 0
    for s in spans:
        out.append(value[last : s.start])
        out.append(_match_case(value[s.start : s.end], replacement))
        last = s.end
    out.append(value[last:])
    text = "".join(out)
    if not replacement:  # a removed word: tidy the spaces and a dangling article
        text = re.sub(r"\b([Aa])n?\s{2,}", r"\1 ", text)
        text = re.sub(r"[ \t]{2,}", " ", text)
        text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    return text


def replacements(text: QAText, findings: list[Finding], _ctx: QAContext) -> tuple[QAText, list[str]]:
    notes: list[str] = []
    values = {
        f: getattr(text, f) or ""
        for f in ("title", "body", "seo_title", "meta_description", "subject", "preheader")
    }
    done: set[tuple[str, str]] = set()
    for f in findings:
        fix = f.fix or {}
        if "replace" not in fix:
            continue
        field = fix.get("field", f.field)
        key = (field, fix["replace"])
        if key in done or field not in values:
            continue
        done.add(key)
        before = values[field]
        after = _replace_phrase(before, fix["replace"], fix["with"])
        if after != before:
            values[field] = after
            target = f"'{fix['with']}'" if fix["with"] else "removed"
            notes.append(f"{f.check}: '{fix['replace']}' → {target} ({f.code})")
    if any(f.code == "capitalisation" for f in findings):
        for field, value in values.items():
            fixed = re.sub(r"([a-z][.!?]+\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), value)
            if fixed != value:
                values[field] = fixed
                notes.append(f"grammar: capitalised sentence starts in {field}")
    shouted = next((f for f in findings if f.code == "shouting"), None)
    if shouted:
        body = values["body"]
        for m in reversed(shouted_words(body)):
            at_start = not body[: m.start()].strip() or body[: m.start()].rstrip()[-1:] in ".!?\n"
            word = m.group(0).lower()
            body = body[: m.start()] + (word.capitalize() if at_start else word) + body[m.end() :]
        values["body"] = body
        notes.append("brand_voice: words in capitals put in normal case (shouting)")
    bangs = next((f for f in findings if f.code == "exclamation"), None)
    if bangs is not None and bangs.fix is not None:
        keep, seen, out = int(bangs.fix["exclamations"]), 0, []
        for ch in values["body"]:
            if ch == "!":
                seen += 1
                ch = "!" if seen <= keep else "."
            out.append(ch)
        values["body"] = "".join(out)
        notes.append(f"brand_voice: kept {keep} exclamation mark(s), the others became full stops")
    changed = {k: v for k, v in values.items() if v != (getattr(text, k) or "")}
    return (text.with_(**changed) if changed else text), notes


def email_footer(ctx: QAContext) -> str | None:
    """The footer to add to a marketing e-mail: the brand's own, completed when it lacks a part."""
    brand = ctx.brand
    footer = (brand.required_disclosures.get("email") or "").strip()
    parts = [footer] if footer else []
    if not UNSUBSCRIBE.search(footer):
        if not brand.website:
            return None
        parts.append(f"Unsubscribe any time: {brand.website.rstrip('/')}/unsubscribe.")
    if not has_postal_address(footer, ctx):
        if not brand.postal_address:
            return None
        parts.append(brand.postal_address)
    return " ".join(parts)


def legal(text: QAText, findings: list[Finding], ctx: QAContext) -> tuple[QAText, list[str]]:
    notes: list[str] = []
    codes = {f.code for f in findings}
    missing = codes & {"missing_unsubscribe", "missing_postal_address"}
    if missing:
        brand, addition, what = ctx.brand, None, ""
        if missing == {"missing_postal_address"} and brand.postal_address:
            addition, what = brand.postal_address, "the postal address"
        elif missing == {"missing_unsubscribe"} and brand.website:
            addition, what = (
                f"Unsubscribe any time: {brand.website.rstrip('/')}/unsubscribe.",
                "an unsubscribe line",
            )
        else:
            addition, what = email_footer(ctx), "the e-mail footer (unsubscribe line and postal address)"
        if addition:
            text = text.with_(body=f"{text.body.rstrip()}\n\n{addition}")
            notes.append(f"legal: added {what}")
    if codes & {"missing_disclosure", "hidden_disclosure"}:
        marker = disclosure_markers(ctx)[0]
        tags = [t for t in text.hashtags if t.lower() != marker.lower()]
        body = text.body
        if "hidden_disclosure" in codes:
            for m in disclosure_markers(ctx):
                body = _replace_phrase(body, m, "") if find_phrase(body, m) else body
            body = body.strip()
        sep = "\n\n" if text.spec.is_long_form else " "
        text = text.with_(body=f"{marker}{sep}{body}", hashtags=tags)
        notes.append(f"legal: put the disclosure '{marker}' at the start")
    return text, notes


def shorten_to_limit(text: QAText, markers: list[str] | None = None) -> tuple[QAText, list[str]]:
    """Fit the platform's character limit: drop hashtags first, then sentences from the middle (never the
    opening, which carries the hook and any disclosure, nor the last, which carries the call to action)."""
    limit = text.spec.char_limit
    if limit is None or len(text.rendered) <= limit:
        return text, []
    start = len(text.rendered)
    keep = {m.lower() for m in (markers or [])}
    tags, dropped = list(text.hashtags), 0
    while len(text.with_(hashtags=tags).rendered) > limit and any(t.lower() not in keep for t in tags):
        idx = max(i for i, t in enumerate(tags) if t.lower() not in keep)
        tags.pop(idx)
        dropped += 1
    text = text.with_(hashtags=tags)
    sents = [s.text for s in sentence_spans(text.body)]
    removed = 0
    while len(text.rendered) > limit and len(sents) > 2:
        sents.pop(-2)
        removed += 1
        text = text.with_(body=" ".join(sents))
    if len(text.rendered) > limit:
        over = len(text.rendered) - limit
        text = text.with_(body=truncate_words(text.body, max(20, len(text.body) - over)))
    parts = [f"{dropped} hashtag(s)"] if dropped else []
    if removed:
        parts.append(f"{removed} sentence(s)")
    return text, [
        f"legal: shortened from {start} to {len(text.rendered)} characters"
        + (f" (dropped {', '.join(parts)})" if parts else "")
        + f" to fit {limit}"
    ]


def _summary(body: str, low: int, high: int) -> str:
    sents = [s.text for s in sentence_spans(body) if len(s.text.split()) >= 4 and not s.text.endswith(",")]
    out = ""
    for s in sents:
        out = f"{out} {s}".strip()
        if len(out) >= low:
            break
    return truncate_words(out, high) if out else ""


def seo(text: QAText, findings: list[Finding], ctx: QAContext) -> tuple[QAText, list[str]]:
    notes: list[str] = []
    codes = {f.code for f in findings}
    if "seo_title_length" in codes:
        title = text.seo_title or text.title
        text = text.with_(seo_title=truncate_words(title, SEO_TITLE_MAX).rstrip("…").rstrip(" :,-"))
        notes.append(f"seo: SEO title shortened to {len(text.seo_title or '')} characters")
    if "meta_description_length" in codes:
        low, high = META_DESCRIPTION_RANGE
        meta = text.meta_description or ""
        new = truncate_words(meta, high) if len(meta) > high else _summary(text.body, low, high)
        if new and low <= len(new) <= high:
            text = text.with_(meta_description=new)
            notes.append(
                f"seo: meta description {'shortened' if len(meta) > high else 'written from the opening'} "
                f"({len(new)} characters)"
            )
    if "subject_length" in codes:
        subject = text.subject or text.title
        new = truncate_words(subject, EMAIL_SUBJECT_MAX)
        if new:
            text = text.with_(subject=new)
            notes.append(f"seo: subject set to {len(new)} characters")
    if "preheader_length" in codes:
        low, high = EMAIL_PREHEADER_RANGE
        pre = text.preheader or ""
        body = re.sub(r"^(hi|hello|dear)[^\n]*\n", "", text.body.strip(), flags=re.I)
        new = truncate_words(pre, high) if len(pre) > high else _summary(body, low, high)
        if new and low <= len(new) <= high:
            text = text.with_(preheader=new)
            notes.append(f"seo: preheader set to {len(new)} characters")
    if "too_many_hashtags" in codes:
        limit = text.spec.hashtags.max_count
        text = text.with_(hashtags=list(text.hashtags)[:limit])
        notes.append(f"seo: hashtags cut to {limit}")
    link_fix = next((f.fix for f in findings if f.code == "missing_link" and f.fix), None)
    if link_fix:
        cta = (text.cta or ctx.call_to_action or "Learn more").rstrip(".")
        closing = f"{cta}: {link_fix['link']}"
        sep = "\n\n" if (text.spec.is_long_form or text.content_type == "email") else " "
        text = text.with_(body=f"{text.body.rstrip()}{sep}{closing}")
        notes.append("seo: added the call to action with the campaign link")
    return text, notes


def _split_sentence(sentence: str) -> str | None:
    words = sentence.split()
    if len(words) <= SPLIT_OVER:
        return None
    middle = len(sentence) / 2
    best = None
    for pattern, lead in SPLITTERS:
        for m in pattern.finditer(sentence):
            left, right = sentence[: m.start()], sentence[m.end() :]
            if len(left.split()) < MIN_PART_WORDS or len(right.split()) < MIN_PART_WORDS:
                continue
            distance = abs(m.start() - middle)
            if best is None or distance < best[0]:
                tail = (lead + right) if lead else right[:1].upper() + right[1:]
                best = (distance, f"{left.rstrip(',')}. {tail}")
    return best[1] if best else None


def readability(text: QAText, findings: list[Finding], _ctx: QAContext) -> tuple[QAText, list[str]]:
    if not any(f.code in ("too_hard", "long_sentence") for f in findings):
        return text, []
    body, count = text.body, 0
    for s in sorted(sentence_spans(body), key=lambda s: s.start, reverse=True):
        split = _split_sentence(s.text)
        if split:
            body = body[: s.start] + split + body[s.end :]
            count += 1
    if not count:
        return text, []
    return text.with_(body=body), [f"readability: split {count} long sentence(s)"]


def untruths(text: QAText, findings: list[Finding], _ctx: QAContext) -> tuple[QAText, list[str]]:
    """Drops each body sentence that makes an unsupported factual claim (what is not approved is not
    said); a body is never emptied. Legal-lexicon problems and other fields are left to the LLM rewrite
    or a human."""
    bad = [
        f
        for f in findings
        if f.field == "body"
        and f.start is not None
        and f.severity == "error"
        and f.claim is not None
        and not f.claim.get("supported")
    ]
    if not bad:
        return text, []
    body = text.body
    spans = sentence_spans(body)
    starts = [f.start for f in bad if f.start is not None]
    drop = [s for s in spans if any(s.start <= at < s.end for at in starts)]
    if not drop or len(drop) >= len(spans):
        return text, []
    for s in sorted(drop, key=lambda s: s.start, reverse=True):
        body = body[: s.start] + body[s.end :]
    body = re.sub(r"[ \t]{2,}", " ", body)
    body = re.sub(r"\n{3,}", "\n\n", body).strip()
    return text.with_(body=body), [f"factual: removed {len(drop)} sentence(s) with unapproved claims"]


Rule = Callable[[QAText, list[Finding], QAContext], tuple[QAText, list[str]]]
RULES: list[Rule] = [untruths, replacements, legal, seo, readability]


def apply_fixes(text: QAText, evaluation: Evaluation, ctx: QAContext) -> tuple[QAText, list[str]]:
    """Every applicable rule, then the platform length limit (additions such as a disclosure or a
    footer count against it)."""
    findings = [f for c in evaluation.checks.values() for f in c.findings]
    notes: list[str] = []
    for rule in RULES:
        text, more = rule(text, findings, ctx)
        notes += more
    text, more = shorten_to_limit(text, disclosure_markers(ctx) if ctx.paid else [])
    notes += more
    return text, notes
