"""Research: extraction, keyword ranking, gaps — with sources from files and from a loopback HTTP server."""

import asyncio

import pytest

from splants_dagster.campaigns.briefs import CampaignBrief, load_brand
from splants_dagster.llm.offline import OfflineProvider
from splants_dagster.paths import PROJECT_ROOT
from splants_dagster.research.analysis import (
    content_gaps,
    extract_html,
    http_client,
    load_sources,
    rank_keywords,
    research_campaign,
)
from splants_dagster.research.fetch import ALLOW_ENV
from splants_dagster_tests.fixtures_http import FakeServer, Reply

PAGE = b"""<html><head><title>Oat Milk Guide</title></head><body><nav>Home | Shop</nav>
<article><h1>Oat Milk Guide</h1><p>Oat milk froths well for a latte. Barista oat milk is creamier than
regular oat milk, and barista oat milk holds microfoam. Baristas prefer barista blends.</p>
<h2>Is oat milk healthy?</h2><p>Oat milk contains fibre. Unsweetened oat milk has less sugar.</p></article>
<footer>Cookie banner text</footer></body></html>"""


def brief(**overrides) -> CampaignBrief:
    data = dict(
        id="oat-test",
        topic="Our new oat latte for commuters",
        goal="Sell lattes",
        audience="Commuters in Leeds",
        keywords=["oat latte", "dairy free coffee"],
        platforms=["twitter"],
        content_types=["social_post"],
        start_date="2026-03-02",
        duration_days=7,
    )
    data.update(overrides)
    return CampaignBrief.model_validate(data)


class Counting:
    """Wraps the offline provider and counts calls (to compare with the ledger)."""

    def __init__(self):
        self.inner, self.calls = OfflineProvider(), 0
        self.name, self.model, self.is_offline = "offline", "offline", True

    async def complete(self, request):
        self.calls += 1
        return await self.inner.complete(request)


def test_extract_html_drops_boilerplate():
    title, headings, text = extract_html(PAGE)
    assert title == "Oat Milk Guide"
    assert headings == ["Oat Milk Guide", "Is oat milk healthy?"]
    assert "froths well" in text and "Cookie banner" not in text


def test_sources_from_url_and_file_and_failures(monkeypatch):
    monkeypatch.setenv(
        ALLOW_ENV, "127.0.0.1"
    )  # loopback is refused unless allowed (robustness/test_sources.py)

    def handler(req):
        if req.path == "/guide":
            return Reply(raw=PAGE, headers={"content-type": "text/html; charset=utf-8"})
        return Reply(status=404, body={"error": "nope"})

    with FakeServer(handler) as server, http_client(5) as client:
        docs = load_sources(
            [f"{server.url}/guide", f"{server.url}/missing", "sources/competitor-podco.html", "nope.html"],
            PROJECT_ROOT / "data",
            client,
        )
    by_ref = {d.ref.rsplit("/", 1)[-1]: d for d in docs}
    assert by_ref["guide"].ok and by_ref["guide"].title == "Oat Milk Guide"
    assert not by_ref["missing"].ok and by_ref["missing"].error == "HTTP 404"
    assert by_ref["competitor-podco.html"].ok and by_ref["competitor-podco.html"].word_count > 100
    assert not by_ref["nope.html"].ok and "file not found" in by_ref["nope.html"].error
    assert server.requests[0].headers["user-agent"].startswith("splants-dagster")


def test_keyword_ranking_merges_origins():
    b = brief()
    ranked = rank_keywords(
        b, [], [{"keyword": "Oat Latte", "relevance": 0.9}, {"keyword": "barista milk", "relevance": 0.5}]
    )
    by_kw = {k.keyword: k for k in ranked}
    assert ranked[0].keyword == "oat latte" and by_kw["oat latte"].score == 1.0  # brief + llm boost, capped
    assert by_kw["oat latte"].source == "brief"
    assert by_kw["barista milk"].source == "llm" and by_kw["barista milk"].score == pytest.approx(0.35)


def test_research_with_sources_finds_gaps_both_ways():
    b = brief(sources=["sources/competitor-podco.html", "sources/competitor-greencup.html"])
    brand = load_brand(PROJECT_ROOT / "data" / "brand.yaml")
    with http_client() as client:
        docs = load_sources(b.sources, PROJECT_ROOT / "data", client)
    provider = Counting()
    research = asyncio.run(research_campaign(b, brand, docs, provider))
    assert provider.calls == 2
    assert all(d.top_terms for d in docs)
    directions = {g.direction for g in research.gaps}
    assert directions == {"sources_not_brief", "brief_not_sources"}
    assert any(g.kind == "question" for g in research.gaps)
    # the brief's 'oat latte' is not in any coffee-pod competitor page: an opening
    assert any(g.item == "oat latte" and g.direction == "brief_not_sources" for g in research.gaps)
    assert {k.source for k in research.keywords} == {"brief", "sources", "llm"}
    assert research.notes == []


def test_research_without_sources_says_so():
    b = brief()
    brand = load_brand(PROJECT_ROOT / "data" / "brand.yaml")
    research = asyncio.run(research_campaign(b, brand, [], Counting()))
    assert research.gaps == [] and research.sources == []
    assert "No sources in the brief" in research.notes[0]
    assert {k.source for k in research.keywords} == {"brief", "llm"}


def test_gaps_empty_without_usable_sources():
    assert content_gaps(brief(), [], []) == []
