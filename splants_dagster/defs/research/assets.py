"""Research outputs per campaign: ranked keywords, competitor analysis, audience insights, content gaps.

The step fetches sources and calls the model before it writes anything, so it takes no ``duckdb_write``
pool slot (a pool holds for the whole step): its single write is a short ``Warehouse.write()`` session,
serialised with every other writer by the warehouse's own lock. A slow source or provider then delays only
this campaign, never another run's writes (docs/research.md).
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import dagster as dg

from splants_dagster.defs.campaigns.brief_state import set_status, stored_brief
from splants_dagster.defs.costs.resources import BudgetResource
from splants_dagster.defs.partitions import CAMPAIGN_SCOPE, campaign_partitions
from splants_dagster.defs.research.resources import ResearchWebResource
from splants_dagster.defs.resources import LLMResource, ProjectResource, WarehouseResource
from splants_dagster.display import md_table
from splants_dagster.research.analysis import (
    Research,
    SourceDoc,
    load_sources,
    research_campaign,
    research_rows,
)
from splants_dagster.warehouse.queries import research as research_queries


def research_metadata(
    research: Research,
    docs: Sequence[SourceDoc],
    *,
    budget: Mapping[str, Any],
    llm: str,
    totals: Mapping[str, Any],
) -> dict[str, Any]:
    """The metadata of the campaign's research: top keywords, each source's analysis, the content gaps,
    the assumed audience, ``budget`` (the step budget's metadata) and LLM usage."""
    ok = [d for d in docs if d.ok]
    return {
        "keywords": dg.MetadataValue.int(len(research.keywords)),
        "top_keywords": dg.MetadataValue.md(
            md_table([asdict(k) for k in research.keywords[:15]], ["keyword", "score", "source"])
        ),
        "sources_total": dg.MetadataValue.int(len(docs)),
        "sources_ok": dg.MetadataValue.int(len(ok)),
        "sources_refused": dg.MetadataValue.int(sum(d.refused for d in docs)),
        "competitors": dg.MetadataValue.md(
            md_table(
                [d.analysis() for d in docs],
                ["ref", "role", "ok", "title", "word_count", "top_terms", "error"],
            )
            if docs
            else "_No sources in the brief: no competitor analysis._"
        ),
        "content_gaps": dg.MetadataValue.int(len(research.gaps)),
        "gaps": dg.MetadataValue.md(
            md_table([asdict(g) for g in research.gaps], ["direction", "kind", "item"])
        ),
        "audience": dg.MetadataValue.json(research.audience),
        "audience_basis": "assumed (model or offline view of the brief's audience, not research)",
        **budget,
        "llm": llm,
        "llm_calls": dg.MetadataValue.int(int(totals["calls"])),
        "cost_usd": dg.MetadataValue.float(float(totals["cost_usd"])),
        "notes": "\n".join(research.notes) or "none",
    }


@dg.asset(
    group_name="research",
    kinds={"python", "duckdb"},
    partitions_def=campaign_partitions,
    deps=["campaign_brief"],
    tags=CAMPAIGN_SCOPE,
)
def research_brief(
    context: dg.AssetExecutionContext,
    project: ProjectResource,
    warehouse: WarehouseResource,
    research_web: ResearchWebResource,
    llm: LLMResource,
    budget: BudgetResource,
) -> dg.MaterializeResult:
    """Keywords ranked from the brief, the sources and the model; each source's title, headings, length and
    top terms; audience insights; and content gaps in both directions. Without sources it says so."""
    campaign_id = context.partition_key
    store = warehouse.store()
    brief = stored_brief(store, campaign_id)
    brand = project.brand()
    sb = budget.for_step(warehouse, llm, campaign_id)
    budget.stop_if_exhausted(sb)
    try:
        fetcher = research_web.client()
    except ValueError as exc:  # a bad SPLANTS_SOURCE_* setting
        raise dg.Failure(f"bad source setting: {exc}") from None
    with fetcher:
        docs = load_sources([s.ref for s in brief.source_entries()], project.paths.root, fetcher)
    for doc, entry in zip(docs, brief.source_entries(), strict=True):
        doc.role = entry.role  # own | competitor | reference: what the source may support (docs/content.md)
    for doc in docs:
        if doc.ok:
            context.log.info(f"source {doc.ref}: {doc.title!r}, {doc.word_count} words")
        else:
            context.log.warning(f"source {doc.ref} skipped: {doc.error}")
    strategy = sb.decision.strategy
    with llm.client(
        warehouse,
        campaign_id,
        "research_brief",
        context.run.run_id,
        strategy=strategy,
        spend_limit_usd=sb.decision.spend_limit_usd,
    ) as client:
        research = client.run(research_campaign(brief, brand, docs, client))
        totals = client.totals()
    now = dt.datetime.now(dt.UTC)
    with store.write() as conn:
        research_queries.replace_research(conn, campaign_id, research_rows(campaign_id, research, docs, now))
        set_status(conn, campaign_id, "researched")
    metadata = research_metadata(
        research, docs, budget=budget.metadata(sb), llm=llm.label(strategy), totals=totals
    )
    return dg.MaterializeResult(metadata=metadata)
