"""Research: competitor sources (fetched or read), keyword ranking, audience insights and content gaps.

HTML becomes text with trafilatura (boilerplate removal); titles and headings come from the parsed DOM.
With no sources the research says so instead of inventing competitors. What a source may be (public http(s)
URLs, files inside the data directory) and how much of it is read is decided in
:mod:`splants_dagster.research.fetch`; a refused or failed source is reported with its reason and the
others are still used.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import re
import ssl
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from splants_dagster.campaigns.briefs import BrandProfile, CampaignBrief
from splants_dagster.content.prompts import audience_request, keywords_request
from splants_dagster.llm.base import LLMError
from splants_dagster.research.fetch import (
    FetchPolicy,
    Resolver,
    SourceFailed,
    SourceRefused,
    fetch_page,
    gather_limited,
    is_url,
    open_source_file,
    system_resolver,
)
from splants_dagster.text import STOP_WORDS, contains_phrase, sentences, word_count

# Text from fetched pages (and model replies about them) is data. Anything that looks like a link, a domain
# or an instruction to the model is dropped before it can reach a prompt, a keyword list or a piece.
UNTRUSTED = re.compile(
    r"https?://|www\.|\b[\w-]+\.(com|net|org|io|co|app|xyz|info|biz|ru|example)\b|"
    r"\b(ignore|disregard|forget|override)\b[^.?!]{0,60}\b(instructions?|prompts?|rules|guidelines|above)\b|"
    r"\bsystem prompt\b|\b(post|publish|share) this (link|url)\b|\bclick here\b",
    re.I,
)


def is_untrusted(text: str) -> bool:
    return bool(UNTRUSTED.search(text))


SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")
URL_OR_DOMAIN = re.compile(r"https?://\S+|www\.\S+")


QUESTION_START = re.compile(r"^(how|what|why|when|where|which|who|can|should|is|are|do|does)\b", re.I)


@dataclass
class SourceDoc:
    ref: str
    kind: str  # url | file
    ok: bool
    title: str = ""
    headings: list[str] = field(default_factory=list)
    text: str = ""
    error: str | None = None
    top_terms: list[str] = field(default_factory=list)
    removed_passages: int = 0
    refused: bool = False  # broke the source policy: never contacted or opened
    role: str = "reference"  # own | competitor | reference, from the brief (briefs.SourceRef)

    @classmethod
    def problem(cls, ref: str, kind: str, exc: SourceRefused | SourceFailed) -> SourceDoc:
        if isinstance(exc, SourceRefused):
            return cls(ref, kind, False, error=f"refused: {exc}", refused=True)
        return cls(ref, kind, False, error=str(exc))

    @property
    def word_count(self) -> int:
        return word_count(self.text)

    def analysis(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "kind": self.kind,
            "ok": self.ok,
            "title": self.title,
            "headings": self.headings,
            "word_count": self.word_count,
            "top_terms": self.top_terms,
            "error": self.error,
            "refused": self.refused,
            "removed_passages": self.removed_passages,
            "role": self.role,
        }


def extract_html(html: str | bytes) -> tuple[str, list[str], str]:
    """(title, headings h1-h3, main text) of an HTML page."""
    # imported here, not with the module: lxml, trafilatura and scikit-learn take ~1.3 s, and every process
    # that loads the code location imports this module (issue #17)
    import lxml.etree
    import lxml.html
    import trafilatura

    raw = html.decode("utf-8", errors="replace") if isinstance(html, bytes) else html
    title, headings = "", []
    try:
        tree = lxml.html.fromstring(raw)
        title = (tree.findtext(".//title") or "").strip()
        found = tree.xpath("//h1|//h2|//h3")
        for el in found if isinstance(found, list) else []:
            if not isinstance(el, lxml.html.HtmlElement):  # always is: the HTML parser's elements
                continue
            text = " ".join(el.text_content().split())
            if text:
                headings.append(text)
        if not title and headings:
            title = headings[0]
    except (lxml.etree.ParserError, ValueError):
        pass
    text = trafilatura.extract(raw, include_comments=False, include_tables=False, favor_recall=True) or ""
    return title, headings, text


def _from_markdown(raw: str) -> tuple[str, list[str], str]:
    headings = [line.lstrip("#").strip() for line in raw.splitlines() if line.startswith("#")]
    title = headings[0] if headings else raw.strip().splitlines()[0][:120] if raw.strip() else ""
    return title, headings, raw


def _cleaned(doc: SourceDoc) -> SourceDoc:
    """The source as data only: sentences and headings that carry links or read as instructions to a model
    are removed (and counted), bare URLs are dropped, so neither reaches term extraction or a prompt."""
    kept, removed = [], 0
    for paragraph in doc.text.split("\n"):
        parts = []
        for sentence in SENTENCE_SPLIT.split(paragraph):
            if is_untrusted(sentence):
                removed += 1
            else:
                parts.append(sentence)
        kept.append(" ".join(parts))
    headings = [h for h in doc.headings if not is_untrusted(h)]
    removed += len(doc.headings) - len(headings)
    doc.text = URL_OR_DOMAIN.sub("", "\n".join(kept)).strip()
    doc.headings = headings
    if is_untrusted(doc.title):
        doc.title, removed = "", removed + 1
    doc.removed_passages = removed
    return doc


def _parsed(ref: str, kind: str, body: bytes, html: bool, encoding: str | None) -> SourceDoc:
    if html:
        title, headings, text = extract_html(body)
    else:
        try:
            raw = body.decode(encoding or "utf-8", errors="replace")
        except LookupError:  # a charset Python does not know
            raw = body.decode("utf-8", errors="replace")
        title, headings, text = _from_markdown(raw)
    if not text.strip():
        where = "in the file" if kind == "file" else "on the page"
        return SourceDoc(ref, kind, False, title, headings, error=f"no readable text {where}")
    return _cleaned(SourceDoc(ref, kind, True, title, headings, text))


def load_file_source(ref: str, data_dir: Path, max_bytes: int) -> SourceDoc:
    try:
        raw = open_source_file(ref, data_dir, max_bytes)
    except (SourceRefused, SourceFailed) as exc:
        return SourceDoc.problem(ref, "file", exc)
    return _parsed(ref, "file", raw, Path(ref).suffix.lower() in (".html", ".htm"), None)


async def fetch_url_source(ref: str, fetcher: SourceFetcher) -> SourceDoc:
    try:
        page = await fetch_page(ref, fetcher.policy, fetcher.resolve, fetcher.verify)
    except (SourceRefused, SourceFailed) as exc:
        return SourceDoc.problem(ref, "url", exc)
    html = "html" in page.content_type or page.body.lstrip()[:1] == b"<"
    return _parsed(ref, "url", page.body, html, page.encoding)


@dataclass
class SourceFetcher:
    """How a brief's sources are read: the policy (allow-list, byte cap, deadline), TLS verification, and
    (for tests) the resolver. A context manager, so callers scope it like the client it replaces."""

    policy: FetchPolicy = field(default_factory=FetchPolicy.from_env)
    resolve: Resolver = system_resolver
    verify: ssl.SSLContext | bool = True
    concurrency: int = 4

    def __enter__(self) -> SourceFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def load_sources(refs: list[str], data_dir: Path, fetcher: SourceFetcher) -> list[SourceDoc]:
    """Each source of a brief, in order: URLs fetched (a few at a time), anything else read as a file
    inside ``data_dir``. A source that is refused or fails becomes a ``SourceDoc`` with ``ok=False`` and
    the reason; it never stops the others."""

    async def one(ref: str) -> SourceDoc:
        if is_url(ref):
            return await fetch_url_source(ref, fetcher)
        return await asyncio.to_thread(load_file_source, ref, data_dir, fetcher.policy.max_bytes)

    return asyncio.run(gather_limited([one(ref) for ref in refs], fetcher.concurrency))


def http_client(timeout_s: float | None = None, policy: FetchPolicy | None = None) -> SourceFetcher:
    """The source fetcher: ``policy`` or the settings from the environment, ``timeout_s`` per connect/read."""
    return SourceFetcher(policy or FetchPolicy.from_env(timeout_s))


@functools.cache
def stop_words() -> frozenset[str]:
    """The project's stop words plus scikit-learn's English list (loaded on first use)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(STOP_WORDS | ENGLISH_STOP_WORDS)


CLAUSE = re.compile(r"[.,;:!?()\[\]\"“”]|\s[-–—]\s")
TOKEN = re.compile(r"[a-z][a-z\-]{2,}")


def phrase_terms(text: str) -> list[str]:
    """Words and two-word phrases that are adjacent in the text itself (never across a stop word or a
    punctuation mark), so "box of ten" does not become the phrase "box ten"."""
    stop = stop_words()
    terms: list[str] = []
    for clause in CLAUSE.split(text.lower()):
        tokens = clause.split()
        for i, tok in enumerate(tokens):
            word = tok.strip("'’")
            if not TOKEN.fullmatch(word) or word in stop:
                continue
            terms.append(word)
            if i + 1 < len(tokens):
                nxt = tokens[i + 1].strip("'’")
                if TOKEN.fullmatch(nxt) and nxt not in stop:
                    terms.append(f"{word} {nxt}")
    return terms


def add_top_terms(docs: list[SourceDoc], brief_text: str, n: int = 12) -> None:
    """TF-IDF top terms per source, weighed against the other sources and the brief.

    Two-word phrases are preferred (weight × 1.5): "compostable capsules" says more than "capsules". A single
    word must appear at least twice in the source and have 5+ letters to count at all.
    """
    good = [d for d in docs if d.ok]
    if not good:
        return
    from sklearn.feature_extraction.text import TfidfVectorizer

    corpus = [d.text for d in good] + [brief_text]
    vectorizer = TfidfVectorizer(analyzer=phrase_terms, min_df=1, sublinear_tf=True)
    matrix = vectorizer.fit_transform(corpus)
    vocab = vectorizer.get_feature_names_out()
    for i, doc in enumerate(good):
        row = matrix.getrow(i).toarray().ravel()
        lowered = doc.text.lower()
        weighted = []
        for j in row.nonzero()[0]:
            term = vocab[j]
            if " " in term:
                weighted.append((row[j] * 1.5, term))
            elif len(term) >= 5 and len(re.findall(rf"\b{re.escape(term)}\b", lowered)) >= 2:
                weighted.append((row[j], term))
        weighted.sort(key=lambda x: (-x[0], x[1]))
        terms: list[str] = []
        for _, term in weighted:
            if len(terms) >= n:
                break
            if any(term in t or t in term for t in terms):
                continue
            terms.append(term)
        doc.top_terms = terms


def source_questions(docs: list[SourceDoc], limit: int = 10) -> list[str]:
    found: list[str] = []
    for doc in docs:
        if not doc.ok:
            continue
        for candidate in doc.headings + sentences(doc.text):
            c = candidate.strip()
            if (
                c.endswith("?")
                and QUESTION_START.match(c)
                and 3 <= len(c.split()) <= 20
                and not is_untrusted(c)
            ):
                found.append(c)
    return list(dict.fromkeys(found))[:limit]


@dataclass
class RankedKeyword:
    keyword: str
    score: float
    source: str  # brief | sources | llm


def rank_keywords(
    brief: CampaignBrief, docs: list[SourceDoc], llm_suggestions: list[dict[str, Any]]
) -> list[RankedKeyword]:
    """Merge the brief's keywords, the sources' top terms and the model's suggestions into one ranking.

    Brief keywords start at 1.0 (decreasing slightly with position: the marketer lists the most important
    first), source terms at up to 0.8 scaled by how many sources use them, model suggestions at 0.7 ×
    relevance. A keyword found in more than one origin gets a 0.1 boost per extra origin (capped at 1).
    """
    scores: dict[str, dict[str, Any]] = {}

    def add(keyword: str, score: float, origin: str) -> None:
        key = " ".join(keyword.lower().split())
        if not key or key in stop_words() or len(key) < 3 or is_untrusted(key):
            return
        entry = scores.setdefault(key, {"keyword": key, "score": 0.0, "origins": []})
        entry["score"] = max(entry["score"], score)
        if origin not in entry["origins"]:
            entry["origins"].append(origin)

    for i, kw in enumerate(brief.keywords):
        add(kw, 1.0 - 0.02 * i, "brief")
    good = [d for d in docs if d.ok]
    if good:
        counts: dict[str, int] = {}
        for doc in good:
            for term in doc.top_terms:
                counts[term] = counts.get(term, 0) + 1
        for term, count in counts.items():
            add(term, 0.5 + 0.3 * count / len(good), "sources")
    for suggestion in llm_suggestions:
        try:
            relevance = float(suggestion.get("relevance", 0.5))
        except (TypeError, ValueError):
            relevance = 0.5
        add(str(suggestion.get("keyword", "")), 0.7 * max(0.0, min(1.0, relevance)), "llm")
    ranked = []
    for entry in scores.values():
        boost = 0.1 * (len(entry["origins"]) - 1)
        ranked.append(
            RankedKeyword(entry["keyword"], round(min(1.0, entry["score"] + boost), 4), entry["origins"][0])
        )
    ranked.sort(key=lambda k: (-k.score, k.keyword))
    return ranked


@dataclass
class Gap:
    direction: str  # sources_not_brief | brief_not_sources
    kind: str  # term | question
    item: str
    detail: str


def content_gaps(brief: CampaignBrief, docs: list[SourceDoc], questions: list[str]) -> list[Gap]:
    """What the competitors cover that the brief does not, and what the brief covers that they miss."""
    good = [d for d in docs if d.ok]
    if not good:
        return []
    brief_text = " ".join([brief.topic, brief.goal, brief.audience, *brief.keywords])
    gaps: list[Gap] = []
    seen_terms: set[str] = set()
    for doc in good:
        for term in doc.top_terms:
            if term in seen_terms or contains_phrase(brief_text, term):
                continue
            seen_terms.add(term)
            users = [d.title or d.ref for d in good if term in d.top_terms]
            gaps.append(Gap("sources_not_brief", "term", term, f"covered by: {', '.join(users)[:200]}"))
    for q in questions:
        gaps.append(Gap("sources_not_brief", "question", q, "question competitors answer"))
    all_text = " ".join(d.text for d in good)
    for kw in brief.keywords:
        if not contains_phrase(all_text, kw):
            gaps.append(Gap("brief_not_sources", "term", kw, "no source covers this keyword: an opening"))
    return gaps


@dataclass
class Research:
    campaign_id: str
    keywords: list[RankedKeyword]
    sources: list[SourceDoc]
    audience: dict[str, Any]
    gaps: list[Gap]
    questions: list[str]
    llm_used: str
    notes: list[str] = field(default_factory=list)

    def summary_for_prompts(self, top_n: int = 8) -> dict[str, Any]:
        """The compact research block content prompts share (no raw source text)."""
        return {
            "keywords": [k.keyword for k in self.keywords[:top_n]],
            "questions": (self.audience.get("questions") or [])[:5],
            "pain_points": (self.audience.get("pain_points") or [])[:3],
            "motivations": (self.audience.get("motivations") or [])[:3],
            "gaps": [g.item for g in self.gaps if g.direction == "sources_not_brief"][:6],
            "competitor_titles": [d.title for d in self.sources if d.ok and not is_untrusted(d.title)][:5],
        }

    def to_json(self) -> str:
        return json.dumps(
            {
                "campaign_id": self.campaign_id,
                "keywords": [asdict(k) for k in self.keywords],
                "sources": [d.analysis() for d in self.sources],
                "audience": self.audience,
                "gaps": [asdict(g) for g in self.gaps],
                "questions": self.questions,
                "llm_used": self.llm_used,
                "notes": self.notes,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, blob: str) -> Research:
        data = json.loads(blob)
        docs = []
        for s in data["sources"]:
            doc = SourceDoc(
                s["ref"], s["kind"], s["ok"], s["title"], s["headings"], "", s["error"], s["top_terms"]
            )
            doc.refused = bool(s.get("refused", False))
            doc.role = s.get("role", "reference")
            docs.append(doc)
        return cls(
            campaign_id=data["campaign_id"],
            keywords=[RankedKeyword(**k) for k in data["keywords"]],
            sources=docs,
            audience=data["audience"],
            gaps=[Gap(**g) for g in data["gaps"]],
            questions=data["questions"],
            llm_used=data["llm_used"],
            notes=data.get("notes", []),
        )


def research_rows(
    campaign_id: str, research: Research, docs: list[SourceDoc], now: dt.datetime
) -> dict[str, list[dict[str, Any]]]:
    """The warehouse rows of a campaign's research, by table: ranked keywords, the sources read (with
    their text), content gaps, and the research brief itself."""
    return {
        "research_keywords": [
            {
                "campaign_id": campaign_id,
                "keyword": k.keyword,
                "score": k.score,
                "source": k.source,
                "rank": i + 1,
            }
            for i, k in enumerate(research.keywords)
        ],
        "research_sources": [
            {
                "campaign_id": campaign_id,
                "ref": d.ref,
                "kind": d.kind,
                "ok": d.ok,
                "title": d.title,
                "headings": d.headings,
                "word_count": d.word_count,
                "top_terms": d.top_terms,
                "error": d.error,
                "text": d.text,
                "role": d.role,
            }
            for d in docs
        ],
        "research_gaps": [{"campaign_id": campaign_id, **asdict(g)} for g in research.gaps],
        "research_briefs": [
            {
                "campaign_id": campaign_id,
                "research_json": research.to_json(),
                "llm_used": research.llm_used,
                "sources_total": len(docs),
                "sources_ok": sum(d.ok for d in docs),
                "notes": research.notes,
                "created_at": now,
            }
        ],
    }


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a model reply (tolerating a fenced code block around it)."""
    stripped = text.strip()
    fenced = re.match(r"^```(?:json)?\s*(.*?)\s*```$", stripped, re.S)
    if fenced:
        stripped = fenced.group(1)
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise LLMError(
            f"model reply is not valid JSON ({exc.msg} at char {exc.pos})", retryable=True
        ) from None
    if not isinstance(data, dict):
        raise LLMError("model reply is JSON but not an object", retryable=True)
    return data


async def research_campaign(
    brief: CampaignBrief, brand: BrandProfile, docs: list[SourceDoc], llm
) -> Research:
    """Analyse the loaded sources and ask the model for keyword ideas and audience insights (concurrently)."""
    brief_text = " ".join([brief.topic, brief.goal, brief.audience, *brief.keywords])
    add_top_terms(docs, brief_text)
    questions = source_questions(docs)
    source_terms = list(dict.fromkeys(t for d in docs if d.ok for t in d.top_terms))
    kw_reply, audience_reply = await asyncio.gather(
        llm.complete(keywords_request(brief, brand, source_terms)),
        llm.complete(audience_request(brief, brand, questions)),
    )
    suggestions = parse_json_object(kw_reply.text).get("keywords", [])
    if not isinstance(suggestions, list):
        suggestions = []
    audience = {
        key: [v for v in value if isinstance(v, str) and not is_untrusted(v)]
        if isinstance(value, list)
        else value
        for key, value in parse_json_object(audience_reply.text).items()
        if not (isinstance(value, str) and is_untrusted(value))
    }
    # a model's (or the offline provider's) view of the audience is an assumption, never research
    audience["basis"] = "assumed"
    notes = []
    if not brief.sources:
        notes.append("No sources in the brief: no competitor analysis and no content gaps were computed.")
    flagged = [d for d in docs if d.removed_passages]
    if flagged:
        notes.append(
            "Removed passages that carried links or read as instructions to the model (treated as data, never "
            "followed): " + "; ".join(f"{d.ref}: {d.removed_passages}" for d in flagged)
        )
    failed = [d for d in docs if not d.ok]
    if failed:
        notes.append(
            f"{len(failed)} of {len(docs)} sources could not be used (the other {len(docs) - len(failed)} "
            "were): " + "; ".join(f"{d.ref}: {d.error}" for d in failed)
        )
    return Research(
        campaign_id=brief.id,
        keywords=rank_keywords(brief, docs, [s for s in suggestions if isinstance(s, dict)]),
        sources=docs,
        audience=audience,
        gaps=content_gaps(brief, docs, questions),
        questions=questions,
        llm_used=f"{kw_reply.provider}/{kw_reply.model}",
        notes=notes,
    )
