"""The content suite per campaign: the pillar blog post and every derived piece, best candidate kept."""

import dagster as dg

from splants_dagster.campaigns.briefs import BrandProfile, CampaignBrief
from splants_dagster.content.suite import SuiteContext
from splants_dagster.costs.policy import Decision, capped_brief
from splants_dagster.defs.campaigns.brief_state import set_status, stored_brief
from splants_dagster.defs.content.metadata import (
    deferred_events,
    generation_failure,
    suite_check_results,
    suite_metadata,
    suite_summary,
)
from splants_dagster.defs.costs.resources import BudgetResource
from splants_dagster.defs.partitions import CAMPAIGN_SCOPE, campaign_partitions
from splants_dagster.defs.resources import LLMResource, ProjectResource, WarehouseResource
from splants_dagster.paths import DataPaths
from splants_dagster.research.analysis import Research
from splants_dagster.warehouse.queries import content as content_queries
from splants_dagster.warehouse.queries import research as research_queries
from splants_dagster.warehouse.store import Warehouse

CHECKS = [
    dg.AssetCheckSpec(
        "within_platform_limits",
        asset="content_suite",
        blocking=True,
        description="Every piece fits its platform: character limit and hashtag count.",
    ),
    dg.AssetCheckSpec(
        "pillar_seo_fields",
        asset="content_suite",
        description="Pillar SEO title ≤ 60 characters and meta description 120-160 characters.",
    ),
    dg.AssetCheckSpec(
        "keywords_present",
        asset="content_suite",
        description="Every piece mentions at least one campaign keyword; the pillar mentions the primary one.",
    ),
]


def suite_context(
    store: Warehouse,
    campaign_id: str,
    paths: DataPaths,
    brief: CampaignBrief,
    brand: BrandProfile,
    research: Research,
    decision: Decision,
) -> tuple[SuiteContext, str]:
    """What generation of the campaign's suite reads besides the brief and its research: the sources' texts,
    the active performance model (and a note on it) and supported insights from past posts, under the
    budget's decision (word cap, templates only)."""
    # imported here: the predictor and the insights pull in pandas and scikit-learn, which loading the code
    # location (every process, every sensor tick) should not pay for (issue #17)
    from splants_dagster.insights.data import campaign_insights
    from splants_dagster.ml.data import active_suite_predictor

    sources = research_queries.ok_source_texts(store, campaign_id)
    # the active performance model (if one has passed the gate) scores candidates for the .15 weight
    predictor, predictor_note = active_suite_predictor(
        store,
        paths,
        tz=brand.timezone,
        tone=brief.tone,
        paid=brief.paid,
        keywords=brief.keywords,
        demo=brief.demo,
    )
    # supported insights from past posts shape each platform's prompt (a real campaign: none from demo data)
    insights = campaign_insights(store, demo_campaign=brief.demo)
    cap = decision.max_words_cap
    ctx = SuiteContext(
        brief=capped_brief(brief, cap),
        brand=brand,
        research=research,
        source_texts=sources,
        predictor=predictor,
        max_words_cap=cap,
        use_llm=not decision.templates_only,
        insights=insights,
    )
    return ctx, predictor_note


@dg.asset(
    group_name="content",
    kinds={"python", "duckdb"},
    partitions_def=campaign_partitions,
    deps=["research_brief"],
    # no duckdb_write pool: the model calls happen outside any write session, and each write is a short
    # Warehouse.write() session serialised by the warehouse's own lock (docs/research.md)
    tags=CAMPAIGN_SCOPE,
    check_specs=CHECKS,
    # not materialized while the campaign's content waits for a provider batch (docs/costs.md)
    output_required=False,
)
def content_suite(
    context: dg.AssetExecutionContext,
    project: ProjectResource,
    warehouse: WarehouseResource,
    llm: LLMResource,
    budget: BudgetResource,
):
    """A pillar blog post (SEO title, meta description, H2 sections) and a piece for every compatible
    platform × content type of the brief, each chosen from several candidates by weighted score, under
    the budget's strategy (shown with its reason on every piece)."""
    campaign_id = context.partition_key
    store = warehouse.store()
    brief = stored_brief(store, campaign_id)
    sb = budget.for_step(warehouse, llm, campaign_id)
    budget.stop_if_exhausted(sb)
    brand = project.brand()
    found = research_queries.research_json(store, campaign_id)
    if found is None:
        raise dg.Failure(f"campaign {campaign_id!r} has no research: materialize research_brief first")
    research = Research.from_json(found)
    ctx, predictor_note = suite_context(
        store, campaign_id, project.paths, brief, brand, research, sb.decision
    )
    generation = budget.generate_content(context, sb, llm, warehouse, ctx)
    if generation.deferred:
        with store.write() as conn:
            generation.desk.write(conn)
        note = f"no content yet: waiting for provider batch(es) ({generation.route.reason})"
        context.log.info(f"{campaign_id}: {note}")
        checks = [spec.name for spec in CHECKS]
        yield from deferred_events(
            generation, context.asset_key, campaign_id, budget.metadata(sb), note, checks
        )
        return
    result = generation.result
    assert result is not None  # not deferred (returned above): the suite was generated
    if result.failures:
        raise generation_failure(result.failures)
    pieces = result.pieces
    reason = generation.reason(sb.decision)
    rows = [p.row(campaign_id, sb.decision.strategy) | {"generation_reason": reason} for p in pieces]
    candidate_rows = [row for p in pieces for row in p.candidate_rows(campaign_id)]
    with store.write() as conn:
        content_queries.replace_suite(conn, campaign_id, rows, candidate_rows)
        set_status(conn, campaign_id, "content_ready")
        generation.desk.write(conn)

    context.log.info(suite_summary(campaign_id, pieces, generation.totals))
    yield dg.MaterializeResult(
        metadata=suite_metadata(
            generation,
            rows,
            budget=budget.metadata(sb),
            reason=reason,
            predictor_note=predictor_note,
            store=store,
        ),
        check_results=suite_check_results(pieces, ctx.keywords),
    )
