"""The content suite per campaign: the pillar blog post and every derived piece, best candidate kept."""

from collections import Counter

import dagster as dg

from splants_dagster.content import suite as content
from splants_dagster.content.suite import SuiteContext
from splants_dagster.costs.policy import capped_brief
from splants_dagster.defs.campaigns.brief_state import set_status, stored_brief
from splants_dagster.defs.costs.resources import BudgetResource
from splants_dagster.defs.costs.steps import generate_content, step_budget
from splants_dagster.defs.partitions import CAMPAIGN_SCOPE, campaign_partitions
from splants_dagster.defs.resources import LLMResource, ProjectResource, WarehouseResource
from splants_dagster.display import md_table, preview
from splants_dagster.ml.data import active_suite_predictor
from splants_dagster.platforms import META_DESCRIPTION_RANGE, SEO_TITLE_MAX
from splants_dagster.research.analysis import Research
from splants_dagster.warehouse.store import replace_rows

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
    sb = step_budget(budget, warehouse, llm, campaign_id)
    sb.stop_if_exhausted()
    brand = project.brand()
    found = store.query("SELECT research_json FROM research_briefs WHERE campaign_id = ?", [campaign_id])
    if not found:
        raise dg.Failure(f"campaign {campaign_id!r} has no research: materialize research_brief first")
    research = Research.from_json(found[0]["research_json"])
    sources = {
        r["ref"]: r["text"]
        for r in store.query(
            "SELECT ref, text FROM research_sources WHERE campaign_id = ? AND ok", [campaign_id]
        )
    }
    # the active performance model (if one has passed the gate) scores candidates for the .15 weight
    predictor, predictor_note = active_suite_predictor(
        store,
        project.paths,
        tz=brand.timezone,
        tone=brief.tone,
        paid=brief.paid,
        keywords=brief.keywords,
        demo=brief.demo,
    )
    cap = sb.decision.max_words_cap
    ctx = SuiteContext(
        brief=capped_brief(brief, cap),
        brand=brand,
        research=research,
        source_texts=sources,
        predictor=predictor,
        max_words_cap=cap,
        use_llm=not sb.decision.templates_only,
    )
    generation = generate_content(context, sb, llm, warehouse, ctx)
    if generation.deferred:
        with store.write() as conn:
            generation.desk.write(conn)
        note = f"no content yet: waiting for provider batch(es) ({generation.route.reason})"
        context.log.info(f"{campaign_id}: {note}")
        yield dg.AssetObservation(
            asset_key=context.asset_key,
            partition=campaign_id,
            metadata={**sb.metadata(), **generation.desk.metadata(), "status": note, "llm": generation.label},
        )
        for spec in CHECKS:
            yield dg.AssetCheckResult(check_name=spec.name, passed=True, metadata={"note": note})
        return
    result, totals = generation.result, generation.totals
    if result.failures:
        listing = "; ".join(f"{k}: {v}" for k, v in result.failures.items())
        raise dg.Failure(
            description=f"{len(result.failures)} piece(s) could not be generated, nothing was written: {listing}",
            metadata={"failed_pieces": dg.MetadataValue.json(result.failures)},
        )
    pieces = result.pieces
    reason = generation.reason(sb.decision)
    rows = [p.row(campaign_id, sb.decision.strategy) | {"generation_reason": reason} for p in pieces]
    candidate_rows = [row for p in pieces for row in p.candidate_rows(campaign_id)]
    with store.write() as conn:
        replace_rows(conn, "content_pieces", "campaign_id = ? AND variant_of IS NULL", [campaign_id], rows)
        replace_rows(conn, "content_candidates", "campaign_id = ?", [campaign_id], candidate_rows)
        set_status(conn, campaign_id, "content_ready")
        generation.desk.write(conn)

    pillar = pieces[0]
    keywords = ctx.keywords
    limit_problems = content.limit_problems(pieces)
    keyword_problems = content.keyword_problems(pieces, keywords)
    seo_title_len = len(pillar.draft.seo_title or pillar.draft.title)
    meta_len = len(pillar.draft.meta_description or "")
    low, high = META_DESCRIPTION_RANGE
    per_platform = Counter(p.spec.platform for p in pieces)
    components = sorted({c for p in pieces for c in p.chosen.components})
    context.log.info(
        f"{len(pieces)} pieces for {campaign_id}: "
        + ", ".join(f"{k}={v}" for k, v in sorted(per_platform.items()))
        + f"; {totals['calls']} LLM calls, ${totals['cost_usd']:.4f}"
    )
    totals_scores = [p.chosen.total for p in pieces]
    yield dg.MaterializeResult(
        metadata={
            **sb.metadata(),
            "strategy_reason": dg.MetadataValue.md(reason),
            **(generation.desk.metadata() if generation.desk.collected else {}),
            "pieces": dg.MetadataValue.int(len(pieces)),
            "per_platform": dg.MetadataValue.json(dict(per_platform)),
            "avg_total_score": dg.MetadataValue.float(round(sum(totals_scores) / len(totals_scores), 4)),
            "min_total_score": dg.MetadataValue.float(min(totals_scores)),
            "score_components_used": ", ".join(components),
            "score_components_missing": ", ".join(
                sorted(
                    {"quality", "seo", "readability", "uniqueness", "predicted_performance"} - set(components)
                )
            )
            or "none",
            "predicted_performance": predictor_note,
            "llm": generation.label,
            "llm_calls": dg.MetadataValue.int(int(totals["calls"])),
            "prompt_tokens": dg.MetadataValue.int(int(totals["prompt_tokens"])),
            "completion_tokens": dg.MetadataValue.int(int(totals["completion_tokens"])),
            "cost_usd": dg.MetadataValue.float(float(totals["cost_usd"])),
            "pieces_table": dg.MetadataValue.md(
                md_table(
                    rows,
                    [
                        "piece_id",
                        "candidate_strategy",
                        "word_count",
                        "char_count",
                        "quality_score",
                        "seo_score",
                        "readability_score",
                        "uniqueness_score",
                        "total_score",
                    ],
                )
            ),
            "pillar_preview": dg.MetadataValue.md(
                f"# {pillar.draft.title}\n\n_{pillar.draft.meta_description}_\n\n{preview(pillar.draft.body)}"
            ),
            "warehouse": dg.MetadataValue.path(str(store.paths.warehouse_db)),
            "analytics_db": dg.MetadataValue.path(str(store.paths.analytics_db)),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="within_platform_limits",
                passed=not limit_problems,
                metadata={"problems": dg.MetadataValue.md(md_table(limit_problems, ["piece", "problem"]))},
            ),
            dg.AssetCheckResult(
                check_name="pillar_seo_fields",
                passed=seo_title_len <= SEO_TITLE_MAX and low <= meta_len <= high,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "seo_title_chars": dg.MetadataValue.int(seo_title_len),
                    "meta_description_chars": dg.MetadataValue.int(meta_len),
                },
            ),
            dg.AssetCheckResult(
                check_name="keywords_present",
                passed=not keyword_problems,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"problems": dg.MetadataValue.md(md_table(keyword_problems, ["piece", "problem"]))},
            ),
        ],
    )
