"""SEO: the SPLANTS formula from ``scoring.seo_score`` (keyword presence .35, density .25, placement .20,
structure .20) plus findings for what to change: title length, meta description 120-160 characters,
headings, links, e-mail subject and preheader, hashtag count, keyword presence, placement and stuffing.

Keywords: up to five for long-form pieces, three for e-mail, the primary and one secondary for short
posts (a 40-word post cannot carry five key phrases). Without keywords (``splants qa`` with no
``--keywords``) only the structure part is scored.
"""

from __future__ import annotations

import re

from splants_dagster.content.scoring import CTA_WORDS, PieceText, seo_score
from splants_dagster.platforms import (
    EMAIL_PREHEADER_RANGE,
    EMAIL_SUBJECT_MAX,
    META_DESCRIPTION_RANGE,
    SEO_TITLE_MAX,
)
from splants_dagster.qa.model import CheckResult, Finding, QAContext, QAText
from splants_dagster.qa.spans import excerpt, find_phrase, sentence_spans
from splants_dagster.text import words

NAME = "seo"
PASS_AT = 0.6
LONG_FORM = ("blog", "landing_page", "press_release", "product_description")
STUFFING_DENSITY = 5.0  # % of words; the formula's density part is 0 from here on
STUFFING_SHORT = 4  # occurrences of the primary keyword in a short piece
NO_KEYWORD = "\u2063"  # matches nothing: the structure part of the formula does not depend on keywords


def keywords_for(text: QAText, ctx: QAContext) -> list[str]:
    n = 5 if text.content_type in LONG_FORM else 3 if text.content_type == "email" else 2
    return ctx.keywords[:n]


def piece_text(text: QAText) -> PieceText:
    return PieceText(
        title=text.title,
        body=text.body,
        hashtags=list(text.hashtags),
        seo_title=text.seo_title,
        meta_description=text.meta_description,
        subject=text.subject,
        preheader=text.preheader,
        cta=text.cta,
        rendered=text.rendered,
    )


def _finding(
    code: str,
    message: str,
    suggestion: str,
    field: str = "body",
    severity: str = "warning",
    value: str = "",
    start: int | None = None,
    end: int | None = None,
    fix=None,
) -> Finding:
    if value and start is not None:
        snippet = excerpt(value, start, start if end is None else end)
    else:
        snippet = value[:120] if value else ""
    return Finding(NAME, code, message, snippet, suggestion, severity, field, start, end, fix)


def check(text: QAText, ctx: QAContext) -> CheckResult:
    spec = text.spec
    kws = keywords_for(text, ctx)
    link = ctx.link
    result = seo_score(piece_text(text), kws or [NO_KEYWORD], spec, link)
    score = result.score if kws else result.structure
    findings: list[Finding] = []
    ctype = text.content_type

    if ctype in ("blog", "landing_page"):
        seo_title = text.seo_title or text.title
        if len(seo_title) > SEO_TITLE_MAX:
            findings.append(
                _finding(
                    "seo_title_length",
                    f"SEO title is {len(seo_title)} characters (max {SEO_TITLE_MAX})",
                    "shorten it; search engines cut longer titles",
                    "seo_title",
                    value=seo_title,
                    fix={"field": "seo_title"},
                )
            )
        low, high = META_DESCRIPTION_RANGE
        meta = text.meta_description or ""
        if not low <= len(meta) <= high:
            findings.append(
                _finding(
                    "meta_description_length",
                    f"meta description is {len(meta)} characters (aim for {low}-{high})",
                    "summarise the page in one or two sentences of 120-160 characters",
                    "meta_description",
                    value=meta,
                    fix={"field": "meta_description"},
                )
            )
        h2 = len(re.findall(r"^##\s+", text.body, re.M))
        if h2 < 3:
            findings.append(
                _finding(
                    "headings",
                    f"{h2} H2 section headings (at least 3 help readers and search)",
                    "break the text into sections with '## ' headings",
                )
            )
        if re.search(r"^#\s+", text.body, re.M):
            findings.append(
                _finding(
                    "headings",
                    "the body has its own H1 heading (the title is the H1)",
                    "use '## ' for section headings",
                    severity="info",
                )
            )
    if ctype == "email":
        subject = text.subject or ""
        if not 0 < len(subject) <= EMAIL_SUBJECT_MAX:
            findings.append(
                _finding(
                    "subject_length",
                    f"subject is {len(subject)} characters (1-{EMAIL_SUBJECT_MAX})",
                    "a short, specific subject line",
                    "subject",
                    value=subject,
                    fix={"field": "subject"},
                )
            )
        low, high = EMAIL_PREHEADER_RANGE
        pre = text.preheader or ""
        if not low <= len(pre) <= high:
            findings.append(
                _finding(
                    "preheader_length",
                    f"preheader is {len(pre)} characters (aim for {low}-{high})",
                    "add a preheader that completes the subject line",
                    "preheader",
                    value=pre,
                    fix={"field": "preheader"},
                )
            )
    rule = spec.hashtags
    if len(text.hashtags) > rule.max_count:
        findings.append(
            _finding(
                "too_many_hashtags",
                f"{len(text.hashtags)} hashtags ({spec.platform} allows {rule.max_count})",
                "keep the most relevant ones",
                "hashtags",
                fix={"field": "hashtags"},
            )
        )
    if link and link not in text.body and ctype != "video_script":
        findings.append(
            _finding(
                "missing_link",
                f"the campaign link {link} is not in the text",
                "end with the call to action and the link",
                fix={"link": link},
            )
        )
    elif not link and not (CTA_WORDS.search(text.body) or "http" in text.body):
        findings.append(
            _finding(
                "missing_link",
                "no call to action or link",
                "tell the reader what to do next",
                severity="info",
            )
        )

    if kws:
        primary = kws[0]
        everything = "\n".join(text.fields().values())
        if not find_phrase(everything, primary):
            findings.append(
                _finding(
                    "missing_keyword",
                    f"the primary keyword '{primary}' does not appear",
                    f"use '{primary}' in the title and the first paragraph",
                )
            )
        else:
            first_100 = " ".join(words(text.body)[:100])
            title = text.seo_title or text.subject or text.title
            if ctype in (*LONG_FORM, "email") and not (
                find_phrase(title, primary) or find_phrase(first_100, primary)
            ):
                findings.append(
                    _finding(
                        "keyword_placement",
                        f"'{primary}' is neither in the title nor in the first 100 words",
                        "move it into the title or the opening",
                        severity="info",
                    )
                )
        occurrences = len(find_phrase(text.body, primary))
        total = max(1, len(words(text.body)))
        density = 100 * occurrences * len(primary.split()) / total
        long_form = spec.is_long_form or total >= 150
        stuffed = (
            (density >= STUFFING_DENSITY and occurrences >= 3) if long_form else occurrences >= STUFFING_SHORT
        )
        per_sentence = [s for s in sentence_spans(text.body) if len(find_phrase(s.text, primary)) >= 3]
        if stuffed or per_sentence:
            where = per_sentence[0] if per_sentence else None
            findings.append(
                _finding(
                    "keyword_stuffing",
                    f"keyword stuffing: '{primary}' {occurrences} times in {total} words"
                    + (f" ({density:.1f}% of the words)" if long_form else ""),
                    "use the keyword once or twice and write naturally around it; search engines penalise stuffing",
                    severity="error",
                    value=text.body,
                    start=where.start if where else None,
                    end=where.end if where else None,
                )
            )
        elif long_form and density > 2.5:
            findings.append(
                _finding(
                    "keyword_density",
                    f"'{primary}' makes up {density:.1f}% of the words (aim for 0.5-2.5%)",
                    "replace some repetitions with pronouns or synonyms",
                    severity="info",
                )
            )
    else:
        findings.append(
            _finding(
                "no_keywords",
                "no keywords given: presence, density and placement not scored",
                "pass --keywords (or set them in the brief)",
                severity="info",
            )
        )

    score = round(score, 4)
    passed = score >= PASS_AT and not any(f.severity == "error" for f in findings)
    details = {
        "keywords": kws,
        "presence": result.presence,
        "density": result.density,
        "placement": result.placement,
        "structure": result.structure,
        **{k: v for k, v in result.details.items() if k != "reason"},
    }
    return CheckResult(NAME, score, passed, tuple(findings), details)
