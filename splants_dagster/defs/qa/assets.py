"""The QA report per campaign: seven checks on every piece, auto-fix, A/B variants and human reviews.

A/B variants are made inside this step rather than in an asset of their own: one materialization then
leaves a consistent ``qa_status`` for originals and variants alike, the blocking checks gate both, and
publishing depends on a single asset. Variants are reused across re-runs while their source is unchanged.
"""

import dagster as dg

from splants_dagster.content.prompts import brief_payload
from splants_dagster.costs.guard import PausedVariants
from splants_dagster.defs.campaigns.brief_state import stored_brief
from splants_dagster.defs.costs.resources import BudgetResource
from splants_dagster.defs.partitions import CAMPAIGN_SCOPE, campaign_partitions
from splants_dagster.defs.qa.checks import QA_CHECK_SPECS, check_results
from splants_dagster.defs.qa.metadata import llm_assist_label, qa_metadata, qa_summary, review_file_failure
from splants_dagster.defs.resources import LLMResource, ProjectResource, WarehouseResource
from splants_dagster.qa.assist import QAAssistant
from splants_dagster.qa.campaign import run_campaign
from splants_dagster.qa.reviews import ReviewFileError, load_reviews, review_file
from splants_dagster.warehouse.queries import content as content_queries
from splants_dagster.warehouse.queries import qa as qa_queries


@dg.asset(
    group_name="qa",
    kinds={"python", "duckdb"},
    partitions_def=campaign_partitions,
    deps=["content_suite"],
    # no duckdb_write pool: the model calls happen outside any write session, and each write is a short
    # Warehouse.write() session serialised by the warehouse's own lock (docs/research.md)
    tags=CAMPAIGN_SCOPE,
    check_specs=QA_CHECK_SPECS,
)
def qa_report(
    context: dg.AssetExecutionContext,
    project: ProjectResource,
    warehouse: WarehouseResource,
    llm: LLMResource,
    budget: BudgetResource,
) -> dg.MaterializeResult:
    """Grammar, uniqueness, brand voice, facts, SEO, legal and readability for every piece of the campaign
    (score, pass/fail and findings each); pieces scoring 0.6-0.8 are auto-fixed and re-checked (at most 2
    rounds), below 0.6 flagged for a human, from 0.8 approved; approved pieces get A/B variants, QA'd the
    same way; decisions in reviews/<campaign>.yaml are applied. Flagged or non-compliant pieces block
    publishing."""
    campaign_id = context.partition_key
    store = warehouse.store()
    brief = stored_brief(store, campaign_id)
    brand = project.brand()
    pieces = content_queries.original_pieces(store, campaign_id)
    if not pieces:
        raise dg.Failure(f"campaign {campaign_id!r} has no content: materialize content_suite first")
    path = review_file(project.paths.reviews_dir, campaign_id)
    try:
        reviews = load_reviews(path)
    except ReviewFileError as err:
        raise review_file_failure(err) from None
    previous_status = qa_queries.rows_by_piece(store, "qa_status", campaign_id)
    inputs = qa_queries.campaign_inputs(
        store, campaign_id, pieces, brief=brief, brand=brand, reviews=reviews, review_file=str(path)
    )
    # cost control: no new A/B variants while the forecast is over budget, no LLM assist at 100% spent
    sb = budget.for_step(warehouse, llm, campaign_id)
    real_llm = not llm.provider_impl().is_offline and not sb.decision.exhausted
    with llm.client(
        warehouse,
        campaign_id,
        "qa_report",
        context.run.run_id,
        strategy=sb.decision.strategy,
        spend_limit_usd=sb.decision.spend_limit_usd,
    ) as client:
        assistant = QAAssistant(client, brand, brief_payload(brief)) if real_llm else None
        variants_llm = PausedVariants(sb.decision.reason) if sb.decision.pause_noncritical else client
        result = client.run(run_campaign(inputs, variants_llm, assistant, llm.concurrency))
        totals = client.totals()
    qa_queries.write_campaign_qa(store, result, previous_status)

    for note in result.notes + result.review_notes:
        context.log.warning(note)
    if assistant is not None:
        for problem in assistant.problems:
            context.log.warning(f"LLM assist: {problem}")
    context.log.info(qa_summary(result))
    metadata = qa_metadata(
        result,
        review_path=path,
        review_entries=len(reviews),
        budget=budget.metadata(sb),
        llm=llm.label(sb.decision.strategy),
        llm_assist=llm_assist_label(real_llm, sb.decision.exhausted),
        totals=totals,
    )
    return dg.MaterializeResult(metadata=metadata, check_results=check_results(result, brief.variants))
