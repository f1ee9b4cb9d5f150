"""Uniqueness: near-duplicate detection with 5-word shingles, and copied passages.

Containment (the share of this piece's 5-word shingles that also occur in the other text) is measured
against three kinds of text, each with its own tolerance:

- research sources: a run of 12 or more consecutive words copied from a source is a failure (score 0);
  otherwise borrowing beyond 10 % of the shingles costs 1.5 times the excess (30 % borrowed -> -0.3);
- other campaigns' content: recycled text costs from 40 % containment upwards and is an error at 85 %;
- this campaign's other pieces: repurposing the pillar across platforms is the point, so only overlap
  beyond 60 % costs (at most -0.25: an identical cross-post is a warning, not a failure), a warning
  from 90 %. A piece's own variants and original are skipped.
"""

from __future__ import annotations

import functools

from splants_dagster.qa.model import CheckResult, Finding, QAContext, QAText
from splants_dagster.qa.spans import excerpt, locate_tokens
from splants_dagster.scoring import COPY_RUN
from splants_dagster.text import longest_shared_run, normalise, shingles, strip_hashtags

NAME = "uniqueness"
PASS_AT = 0.75
SHINGLE = 5


def tokens_of(text: str) -> list[str]:
    return normalise(strip_hashtags(text))


@functools.lru_cache(maxsize=4096)
def _prepared(text: str) -> tuple[tuple[str, ...], frozenset[tuple[str, ...]]]:
    toks = tokens_of(text)
    return tuple(toks), frozenset(shingles(toks, SHINGLE))


def containment(mine: frozenset, theirs: frozenset) -> float:
    return len(mine & theirs) / len(mine) if mine and theirs else 0.0


def _best(mine: frozenset, others: dict[str, str]) -> tuple[float, str | None]:
    best, ref = 0.0, None
    for key, other in others.items():
        value = containment(mine, _prepared(other)[1])
        if value > best:
            best, ref = value, key
    return best, ref


def check(text: QAText, ctx: QAContext) -> CheckResult:
    body = text.body
    toks, mine = _prepared(body)
    findings: list[Finding] = []

    copied, copied_from, copy_start = 0, None, -1
    for ref, src in ctx.sources.items():
        run, start = longest_shared_run(list(toks), list(_prepared(src)[0]), COPY_RUN)
        if run > copied:
            copied, copied_from, copy_start = run, ref, start
    src_share, src_ref = _best(mine, ctx.sources)
    related = {text.piece_id, text.base_id}
    siblings = {
        k: v
        for k, v in ctx.siblings.items()
        if k not in related and ctx.sibling_bases.get(k, k) != text.base_id
    }
    sib_share, sib_ref = _best(mine, siblings)
    old_share, old_ref = _best(mine, ctx.earlier)

    if copied >= COPY_RUN:
        span = locate_tokens(list(toks[copy_start : copy_start + copied]), body)
        findings.append(
            Finding(
                NAME,
                "copied_passage",
                f"{copied} consecutive words are copied from the source {copied_from} "
                f"(the limit is {COPY_RUN - 1})",
                excerpt(body, span.start, span.end, context=0)
                if span
                else " ".join(toks[copy_start : copy_start + copied]),
                "rewrite the passage in the brand's own words, or quote it briefly with attribution",
                "error",
                "body",
                span.start if span else None,
                span.end if span else None,
            )
        )
    elif src_share >= 0.15:
        findings.append(
            Finding(
                NAME,
                "source_overlap",
                f"{src_share:.0%} of this piece's 5-word phrases also appear in the source {src_ref}",
                "",
                "paraphrase more, and add the brand's own angle",
                "warning",
            )
        )
    if old_share >= 0.6:
        findings.append(
            Finding(
                NAME,
                "earlier_duplicate",
                f"{old_share:.0%} of this piece's 5-word phrases repeat earlier content ({old_ref})",
                "",
                "write fresh copy instead of recycling an earlier campaign's text",
                "error" if old_share >= 0.85 else "warning",
            )
        )
    if sib_share >= 0.9:
        findings.append(
            Finding(
                NAME,
                "sibling_duplicate",
                f"{sib_share:.0%} of this piece's 5-word phrases repeat {sib_ref} of the same campaign",
                "",
                "adapt the message to the platform rather than cross-posting the same text",
                "warning",
            )
        )

    if copied >= COPY_RUN:
        score = 0.0
    else:
        penalty = max(
            min(1.0, 1.5 * max(0.0, src_share - 0.1)),
            max(0.0, (old_share - 0.4) / 0.6),
            0.25 * max(0.0, (sib_share - 0.6) / 0.4),
        )
        score = round(max(0.0, 1.0 - penalty), 4)
    passed = score >= PASS_AT and not any(f.severity == "error" for f in findings)
    details = {
        "copied_words": copied,
        "copied_from": copied_from,
        "source_overlap": round(src_share, 4),
        "most_similar_source": src_ref,
        "sibling_overlap": round(sib_share, 4),
        "most_similar_sibling": sib_ref,
        "earlier_overlap": round(old_share, 4),
        "most_similar_earlier": old_ref,
    }
    return CheckResult(NAME, score, passed, tuple(findings), details)
