"""Uniqueness: near-duplicate detection with 5-word shingles, and copied passages.

Containment (the share of this piece's 5-word shingles that also occur in the other text) is measured
against three kinds of text, each with its own tolerance:

- research sources: a run of 12 or more consecutive words copied from a source is a failure (score 0);
  otherwise borrowing beyond 10 % of the shingles costs 1.5 times the excess (30 % borrowed -> -0.3);
- other campaigns' content: no boilerplate across campaigns. Above ``EARLIER_REUSE_LIMIT`` (15 %) of the
  piece's shingles found in earlier campaigns' pieces (all of them together) the piece is flagged
  (an ``error``, ``earlier_duplicate``); the score falls with the share (0.5 at the limit, 0 at 45 %);
- this campaign's other pieces: repurposing the pillar across platforms is the point, so only overlap
  beyond 60 % costs (at most -0.25: an identical cross-post is a warning, not a failure), a warning
  from 90 %. A piece's own variants and original are skipped.

Approved wording is not borrowing: a 5-word shingle that lies inside an approved statement (a brief or
brand fact, a consented testimonial, the brand's required disclosures and postal address, the call to
action) never counts towards source overlap or earlier-campaign reuse. Stating the same approved fact word
for word in two campaigns, or repeating the legally required e-mail footer, is accuracy, not boilerplate;
the share is still taken over all of the piece's shingles, so only the piece's own wording is judged.
"""

from __future__ import annotations

import functools

from splants_dagster.content.scoring import COPY_RUN
from splants_dagster.qa.model import CheckResult, Finding, QAContext, QAText
from splants_dagster.qa.spans import excerpt, locate_tokens
from splants_dagster.text import longest_shared_run, normalise, shingles, strip_hashtags

NAME = "uniqueness"
PASS_AT = 0.75
SHINGLE = 5
EARLIER_REUSE_LIMIT = 0.15  # the one place the cross-campaign boilerplate threshold lives


def tokens_of(text: str) -> list[str]:
    return normalise(strip_hashtags(text))


@functools.lru_cache(maxsize=4096)
def _prepared(text: str) -> tuple[tuple[str, ...], frozenset[tuple[str, ...]]]:
    toks = tokens_of(text)
    return tuple(toks), frozenset(shingles(toks, SHINGLE))


def _earlier_union(ctx: QAContext) -> frozenset:
    """Every 5-word shingle of the earlier campaigns' pieces (computed once per context)."""
    cached = ctx.__dict__.get("_earlier_shingles")
    if cached is None:
        cached = frozenset().union(*(_prepared(t)[1] for t in ctx.earlier.values()))
        ctx.__dict__["_earlier_shingles"] = cached
    return cached


def _approved_shingles(ctx: QAContext) -> frozenset:
    """The 5-word shingles of the approved wording (computed once per context)."""
    cached = ctx.__dict__.get("_approved_shingles")
    if cached is None:
        brand = ctx.brand
        texts = [*ctx.facts.values(), *(str(t.get("quote") or "") for t in ctx.testimonials)]
        texts += [*brand.required_disclosures.values(), brand.postal_address or "", ctx.call_to_action or ""]
        cached = frozenset().union(*(_prepared(t)[1] for t in texts if t))
        ctx.__dict__["_approved_shingles"] = cached
    return cached


def _borrowed(mine: frozenset, theirs: frozenset, approved: frozenset) -> float:
    return len((mine - approved) & theirs) / len(mine) if mine and theirs else 0.0


def _best(mine: frozenset, others: dict[str, str], approved: frozenset) -> tuple[float, str | None]:
    best, ref = 0.0, None
    for key, other in others.items():
        value = _borrowed(mine, _prepared(other)[1], approved)
        if value > best:
            best, ref = value, key
    return best, ref


def check(text: QAText, ctx: QAContext) -> CheckResult:
    body = text.body
    toks, mine = _prepared(body)
    approved = _approved_shingles(ctx)
    findings: list[Finding] = []

    copied, copied_from, copy_start = 0, None, -1
    for ref, src in ctx.sources.items():
        run, start = longest_shared_run(list(toks), list(_prepared(src)[0]), COPY_RUN)
        if run > copied:
            copied, copied_from, copy_start = run, ref, start
    src_share, src_ref = _best(mine, ctx.sources, approved)
    related = {text.piece_id, text.base_id}
    siblings = {
        k: v
        for k, v in ctx.siblings.items()
        if k not in related and ctx.sibling_bases.get(k, k) != text.base_id
    }
    sib_share, sib_ref = _best(mine, siblings, frozenset())
    old_share, old_ref = _best(mine, ctx.earlier, approved)
    reused = _earlier_union(ctx)
    reuse_share = _borrowed(mine, reused, approved)

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
    if reuse_share > EARLIER_REUSE_LIMIT:
        findings.append(
            Finding(
                NAME,
                "earlier_duplicate",
                f"{reuse_share:.0%} of this piece's 5-word phrases were already used by earlier campaigns "
                f"(most by {old_ref}, {old_share:.0%}); the limit is {EARLIER_REUSE_LIMIT:.0%}",
                "",
                "write fresh copy instead of recycling an earlier campaign's text",
                "error",
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
            0.0
            if reuse_share <= EARLIER_REUSE_LIMIT
            else min(1.0, 0.5 + (reuse_share - EARLIER_REUSE_LIMIT) / 0.6),
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
        "earlier_reuse": round(reuse_share, 4),
        "most_similar_earlier": old_ref,
    }
    return CheckResult(NAME, score, passed, tuple(findings), details)
