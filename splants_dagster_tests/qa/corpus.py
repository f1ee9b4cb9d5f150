"""The hand-written corpus (corpus.yaml) as QA inputs: the demo brand, brief and sources."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from splants_dagster.campaigns.briefs import load_brand, load_brief
from splants_dagster.paths import PROJECT_ROOT
from splants_dagster.qa import QAContext, QAText, spec_for
from splants_dagster.qa.campaign import CampaignInputs, build_context
from splants_dagster.research.analysis import load_file_source
from splants_dagster.text import truncate_words

HERE = Path(__file__).parent
DATA = PROJECT_ROOT / "data"
CAMPAIGN = "compostable-pods-launch"


@functools.cache
def load_corpus() -> dict[str, Any]:
    return yaml.safe_load((HERE / "corpus.yaml").read_text(encoding="utf-8"))


@functools.cache
def demo_sources() -> dict[str, str]:
    docs = {}
    for path in sorted((DATA / "sources").glob("*.html")):
        ref = f"sources/{path.name}"
        doc = load_file_source(ref, DATA, 5_000_000)
        assert doc.ok, doc.error
        docs[ref] = doc.text
    return docs


@functools.cache
def base_context(paid: bool = False, earlier: tuple[tuple[str, str], ...] = ()) -> QAContext:
    brief, _ = load_brief(DATA / "campaigns" / f"{CAMPAIGN}.yaml")
    brief = brief.model_copy(update={"paid": paid})
    inputs = CampaignInputs(
        campaign_id=CAMPAIGN,
        brief=brief,
        brand=load_brand(DATA / "brand.yaml"),
        research=None,
        sources=demo_sources(),
        pieces=[],
        earlier=dict(earlier),
    )
    return build_context(inputs)


def context_for(item: dict[str, Any], corpus: dict[str, Any] | None = None) -> QAContext:
    corpus = corpus or load_corpus()
    return base_context(bool(item.get("paid")), tuple(sorted(corpus.get("earlier", {}).items())))


def text_for(item: dict[str, Any]) -> QAText:
    spec = spec_for(CAMPAIGN, item["platform"], item["content_type"])
    body = item["body"].strip()
    if "{start_date}" in body:  # the demo brief's window is relative to today
        body = body.replace("{start_date}", f"{base_context().dates[0]:%-d %B}")
    title = item.get("title") or item.get("subject") or truncate_words(body.split("\n")[0], 80)
    return QAText(
        piece_id=f"{CAMPAIGN}:{item['id']}",
        spec=spec,
        title=title,
        body=body,
        hashtags=tuple(item.get("hashtags") or ()),
        seo_title=item.get("seo_title"),
        meta_description=item.get("meta_description"),
        subject=item.get("subject"),
        preheader=item.get("preheader"),
        cta="Pre-order the starter pack",
    )
