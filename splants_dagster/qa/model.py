"""The shapes every QA check shares: the text under review, its context, findings and check results."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from splants_dagster.campaigns.briefs import BrandProfile
from splants_dagster.content.suite import Draft, render
from splants_dagster.platforms import WORD_TARGETS, PieceSpec, is_compatible, plan_suite
from splants_dagster.qa.claims import Evidence, evidence_for, statements_from

CHECK_NAMES: tuple[str, ...] = (
    "grammar",
    "uniqueness",
    "brand_voice",
    "factual",
    "seo",
    "legal",
    "readability",
    "substance",
)
SEVERITIES = ("error", "warning", "info")
TEXT_FIELDS = ("title", "body", "seo_title", "meta_description", "subject", "preheader")
SHORT_TYPES = ("social_post", "ad_copy", "video_script")


@dataclass(frozen=True)
class Finding:
    """One problem: where it is (field + character span), what is wrong and how to fix it.

    ``severity``: ``error`` blocks approval whatever the score (a legal violation, a copied passage, an
    unsupported statistic, a claim the brand avoids); ``warning`` lowers the check's score; ``info`` is
    advice. ``code`` is the machine-readable reason (``missing_unsubscribe``, ``spelling`` ...). ``fix``
    carries what a rule-based auto-fix needs (e.g. ``{"replace": "teh", "with": "the"}``).
    """

    check: str
    code: str
    message: str
    excerpt: str = ""
    suggestion: str = ""
    severity: str = "warning"
    field: str = "body"
    start: int | None = None
    end: int | None = None
    fix: Mapping[str, Any] | None = None
    claim: Mapping[str, Any] | None = None  # factual: the claim (kind, text, span, supported, support)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("fix")
        data["span"] = [self.start, self.end] if self.start is not None else None
        data.pop("start")
        data.pop("end")
        if self.claim is None:
            data.pop("claim")
        else:
            data["claim"] = dict(self.claim)
            data["supported"] = self.claim.get("supported")
            data["support"] = self.claim.get("support")
        return data


@dataclass(frozen=True)
class CheckResult:
    name: str
    score: float
    passed: bool
    findings: tuple[Finding, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "passed": self.passed,
            "findings": [f.as_dict() for f in self.findings],
        }


def spec_for(
    campaign_id: str,
    platform: str,
    content_type: str,
    word_targets: Mapping[str, tuple[int, int]] | None = None,
) -> PieceSpec:
    """The piece's slot with its platform rules and word target (as the content suite plans it)."""
    if not is_compatible(platform, content_type):
        raise ValueError(f"content type {content_type!r} cannot be published on {platform!r}")
    specs = plan_suite(campaign_id, [platform], [content_type], dict(word_targets or WORD_TARGETS))
    return next(s for s in specs if (s.platform, s.content_type) == (platform, content_type))


@dataclass(frozen=True)
class QAText:
    """A piece under review: its slot (``spec``) and every text field a check may look at."""

    piece_id: str
    spec: PieceSpec
    title: str
    body: str
    hashtags: tuple[str, ...] = ()
    seo_title: str | None = None
    meta_description: str | None = None
    subject: str | None = None
    preheader: str | None = None
    cta: str | None = None
    variant_of: str | None = None
    variant_dimension: str | None = None

    @property
    def platform(self) -> str:
        return self.spec.platform

    @property
    def content_type(self) -> str:
        return self.spec.content_type

    @property
    def base_id(self) -> str:
        """The original piece this one belongs to (itself for an original)."""
        return self.variant_of or self.piece_id

    @property
    def draft(self) -> Draft:
        return Draft(
            title=self.title,
            body=self.body,
            hashtags=list(self.hashtags),
            cta=self.cta,
            seo_title=self.seo_title,
            meta_description=self.meta_description,
            subject=self.subject,
            preheader=self.preheader,
        )

    @property
    def rendered(self) -> str:
        """The text as published on the platform (hashtags placed by the platform's rule)."""
        return render(self.draft, self.spec)

    def fields(self) -> dict[str, str]:
        """The text fields that are published, by name (empty ones left out). A short post's or a video
        script's title is only a label (the platform shows the body), so it is not checked."""
        names = TEXT_FIELDS if self.content_type not in SHORT_TYPES else ("body",)
        values = {name: getattr(self, name) for name in names}
        return {k: v for k, v in values.items() if v}

    def with_(self, **changes: Any) -> QAText:
        if "hashtags" in changes:
            changes["hashtags"] = tuple(changes["hashtags"])
        return replace(self, **changes)

    def with_draft(self, draft: Draft) -> QAText:
        return self.with_(
            title=draft.title,
            body=draft.body,
            hashtags=draft.hashtags,
            cta=draft.cta,
            seo_title=draft.seo_title,
            meta_description=draft.meta_description,
            subject=draft.subject,
            preheader=draft.preheader,
        )

    def payload(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "body": self.body,
            "hashtags": list(self.hashtags),
            "seo_title": self.seo_title,
            "meta_description": self.meta_description,
            "subject": self.subject,
            "preheader": self.preheader,
            "cta": self.cta,
        }

    def digest(self) -> str:
        """Identifies the text (not the slot): equal digests mean the same words would be published."""
        return text_digest(self.payload())

    def to_json(self) -> str:
        return json.dumps(
            {
                **self.payload(),
                "piece_id": self.piece_id,
                "variant_of": self.variant_of,
                "variant_dimension": self.variant_dimension,
            },
            sort_keys=True,
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, blob: str, spec: PieceSpec) -> QAText:
        data = json.loads(blob)
        return cls.from_row(data, spec)

    @classmethod
    def from_row(cls, row: Mapping[str, Any], spec: PieceSpec) -> QAText:
        return cls(
            piece_id=row["piece_id"],
            spec=spec,
            title=row.get("title") or "",
            body=row.get("body") or "",
            hashtags=tuple(row.get("hashtags") or ()),
            seo_title=row.get("seo_title"),
            meta_description=row.get("meta_description"),
            subject=row.get("subject"),
            preheader=row.get("preheader"),
            cta=row.get("cta"),
            variant_of=row.get("variant_of"),
            variant_dimension=row.get("variant_dimension"),
        )


def text_digest(row: Mapping[str, Any]) -> str:
    """The digest of a piece's text from a ``content_pieces`` row (or ``QAText.payload()``). Equal to
    ``qa_status.text_hash`` when the row holds exactly the text QA decided on."""
    payload = {
        "title": row.get("title") or "",
        "body": row.get("body") or "",
        "hashtags": list(row.get("hashtags") or []),
        **{k: row.get(k) for k in ("seo_title", "meta_description", "subject", "preheader", "cta")},
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


WORDLIKE = re.compile(r"[A-Za-z][A-Za-z'’\-]*")


class QAContext:
    """What the checks compare a piece against: the brand profile, the brief (keywords, paid, link, the
    facts it states), the research sources, the campaign's other pieces and other campaigns' content.

    Expensive derived data (token lists, vocabulary, the numbers the support text states) is computed
    once per context and shared by every piece of the campaign.
    """

    def __init__(
        self,
        brand: BrandProfile,
        *,
        keywords: list[str] | None = None,
        support_texts: Mapping[str, str] | None = None,
        sources: Mapping[str, str] | None = None,
        siblings: Mapping[str, str] | None = None,
        sibling_bases: Mapping[str, str] | None = None,
        earlier: Mapping[str, str] | None = None,
        paid: bool = False,
        link: str | None = None,
        tone: str | None = None,
        call_to_action: str | None = None,
        dates: tuple[dt.date, ...] = (),
        facts: Mapping[str, str] | None = None,
        testimonials: Sequence[Mapping[str, Any]] | None = None,
        source_roles: Mapping[str, str] | None = None,
    ):
        self.brand = brand
        self.keywords = [k for k in dict.fromkeys(k.strip().lower() for k in (keywords or [])) if k]
        self.support_texts = dict(support_texts or {})
        self.sources = dict(sources or {})
        self.siblings = dict(siblings or {})
        self.sibling_bases = dict(sibling_bases or {})
        self.earlier = dict(earlier or {})
        self.paid = paid
        self.link = link
        self.tone = tone
        self.call_to_action = call_to_action
        self.dates = tuple(dates)
        self.facts = dict(facts or {})  # fact id (brief:1, brand:2) -> approved statement
        self.testimonials = [dict(t) for t in (testimonials or ()) if t.get("consent", True)]
        self.source_roles = {ref: (source_roles or {}).get(ref, "reference") for ref in self.sources}

    def with_siblings(self, siblings: Mapping[str, str], bases: Mapping[str, str]) -> QAContext:
        """The same context with another set of sibling pieces (keeps the cached derived data)."""
        clone = copy.copy(self)
        clone.siblings = dict(siblings)
        clone.sibling_bases = dict(bases)
        return clone

    @functools.cached_property
    def brand_text(self) -> str:
        b = self.brand
        parts = [b.name, b.voice, b.website or "", b.postal_address or "", *b.required_terms]
        parts += list(b.required_disclosures.values())
        return "\n".join(p for p in parts if p)

    @functools.cached_property
    def evidence(self) -> Evidence:
        """What claims may rest on: facts, the brief's fields, the brand, testimonials, sources by role."""
        statements = statements_from(
            self.facts,
            self.support_texts,
            self.brand_text,
            self.testimonials,
            self.sources,
            self.source_roles,
        )
        return evidence_for(statements, self.dates)

    @functools.cached_property
    def approved_text(self) -> str:
        """The approved statements (facts, brief fields, brand, consented quotes): what copy may say."""
        quotes = [str(t.get("quote", "")) for t in self.testimonials]
        return "\n".join([*self.facts.values(), *self.support_texts.values(), self.brand_text, *quotes])

    @functools.cached_property
    def vocabulary(self) -> frozenset[str]:
        """Words that are never spelling errors here: brand and product names, keywords, hashtags' words,
        and the words of the brief and the research sources."""
        text = " ".join(
            [
                self.brand_text,
                " ".join(self.brand.tone_words + self.brand.avoid_words + self.brand.default_hashtags),
                " ".join(self.keywords),
                *self.support_texts.values(),
                *self.facts.values(),
                *(str(t.get("quote", "")) + " " + str(t.get("author", "")) for t in self.testimonials),
                *self.sources.values(),
            ]
        )
        found = {w.lower().replace("’", "'") for w in WORDLIKE.findall(text)}
        for tag in self.brand.default_hashtags:
            found.update(split_camel(tag.lstrip("#")))
        return frozenset(found)


CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def split_camel(word: str) -> list[str]:
    """``HearthAndBean`` -> ``['hearth', 'and', 'bean']``."""
    return [p.lower() for p in CAMEL.findall(word)]
