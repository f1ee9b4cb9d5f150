"""The QA report per campaign: seven checks on every piece, auto-fix, A/B variants and human reviews.

A/B variants are made inside this step rather than in an asset of their own: one materialization then
leaves a consistent ``qa_status`` for originals and variants alike, the blocking checks gate both, and
publishing depends on a single asset. Variants are reused across re-runs while their source is unchanged.
"""

import datetime as dt

import dagster as dg

from splants_dagster.content.prompts import brief_payload
from splants_dagster.costs.guard import PausedVariants
from splants_dagster.defs.campaigns.brief_state import set_status, stored_brief
from splants_dagster.defs.costs.resources import BudgetResource
from splants_dagster.defs.costs.steps import step_budget
from splants_dagster.defs.partitions import CAMPAIGN_SCOPE, campaign_partitions
from splants_dagster.defs.qa.checks import QA_CHECK_SPECS, check_results
from splants_dagster.defs.resources import LLMResource, ProjectResource, WarehouseResource
from splants_dagster.display import md_table
from splants_dagster.qa.assist import QAAssistant
from splants_dagster.qa.campaign import CampaignInputs, CampaignQA, run_campaign
from splants_dagster.qa.reviews import ReviewFileError, load_reviews, review_file
from splants_dagster.research.analysis import Research
from splants_dagster.warehouse.store import insert_dicts, transaction

TEXT_COLUMNS = (
    "title",
    "body",
    "rendered",
    "seo_title",
    "meta_description",
    "subject",
    "preheader",
    "cta",
    "hashtags",
    "word_count",
    "char_count",
    "flesch_reading_ease",
    "adjustments",
)


def _replace(conn, table: str, where: str, params: list, rows: list[dict]) -> None:
    conn.execute(f"DELETE FROM {table} WHERE {where}", params)
    insert_dicts(conn, table, rows)


def _write(store, result: CampaignQA, previous_status: dict) -> None:
    cid = result.campaign_id
    where = "campaign_id = ?"
    variant_rows = [p.row for p in result.pieces.values() if p.is_variant]
    flagged = any(p.status == "flagged" for p in result.pieces.values())
    with store.write() as conn, transaction(conn):
        for p in result.pieces.values():
            if not p.is_variant and p.changed:
                conn.execute(
                    f"UPDATE content_pieces SET {', '.join(f'{c} = ?' for c in TEXT_COLUMNS)} WHERE piece_id = ?",
                    [*(p.row[c] for c in TEXT_COLUMNS), p.piece_id],
                )
        _replace(conn, "content_pieces", f"{where} AND variant_of IS NOT NULL", [cid], variant_rows)
        _replace(conn, "qa_results", where, [cid], result.results_rows())
        _replace(conn, "qa_findings", where, [cid], result.findings_rows())
        _replace(conn, "qa_claims", where, [cid], result.claims_rows())
        _replace(conn, "qa_status", where, [cid], result.status_rows(previous_status))
        _replace(conn, "variants", where, [cid], result.variant_rows())
        _replace(conn, "qa_originals", where, [cid], result.original_rows())
        _replace(conn, "qa_reviews", where, [cid], result.review_rows)
        set_status(conn, cid, "qa_review" if flagged else "qa_passed")


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
    pieces = store.query(
        "SELECT * FROM content_pieces WHERE campaign_id = ? AND variant_of IS NULL ORDER BY piece_id",
        [campaign_id],
    )
    if not pieces:
        raise dg.Failure(f"campaign {campaign_id!r} has no content: materialize content_suite first")
    found = store.query("SELECT research_json FROM research_briefs WHERE campaign_id = ?", [campaign_id])
    research = Research.from_json(found[0]["research_json"]) if found else None
    source_rows = store.query("SELECT * FROM research_sources WHERE campaign_id = ? AND ok", [campaign_id])
    sources = {r["ref"]: r["text"] for r in source_rows}
    roles = {r["ref"]: r.get("role") or "reference" for r in source_rows}
    path = review_file(project.paths.reviews_dir, campaign_id)
    try:
        reviews = load_reviews(path)
    except ReviewFileError as err:
        raise dg.Failure(
            description=f"bad review file: {err}",
            metadata={
                "problems": dg.MetadataValue.md(
                    md_table(err.as_rows(), ["file", "field", "value", "message"])
                )
            },
        ) from None

    def by_piece(sql: str) -> dict[str, dict]:
        return {r["piece_id"]: r for r in store.query(sql, [campaign_id])}

    previous_status = by_piece("SELECT * FROM qa_status WHERE campaign_id = ?")
    inputs = CampaignInputs(
        campaign_id=campaign_id,
        brief=brief,
        brand=brand,
        research=research,
        sources=sources,
        pieces=pieces,
        stored_originals=by_piece("SELECT * FROM qa_originals WHERE campaign_id = ?"),
        stored_variants=by_piece("SELECT * FROM variants WHERE campaign_id = ?"),
        earlier={
            r["piece_id"]: r["body"]
            for r in store.query(
                "SELECT piece_id, body FROM content_pieces WHERE campaign_id <> ? AND variant_of IS NULL",
                [campaign_id],
            )
        },
        reviews=reviews,
        previous_reviews=by_piece("SELECT * FROM qa_reviews WHERE campaign_id = ?"),
        review_file=str(path),
        source_roles=roles,
        now=dt.datetime.now(dt.UTC),
    )
    # cost control: no new A/B variants while the forecast is over budget, no LLM assist at 100% spent
    sb = step_budget(budget, warehouse, llm, campaign_id)
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
    _write(store, result, previous_status)

    for note in result.notes + result.review_notes:
        context.log.warning(note)
    if assistant is not None:
        for problem in assistant.problems:
            context.log.warning(f"LLM assist: {problem}")
    all_pieces = list(result.pieces.values())
    counts = result.status_counts()
    scores = [p.outcome.score for p in all_pieces]
    pass_rates = {name: round(rate, 4) for name, rate in result.pass_rates().items()}
    variants = [p for p in all_pieces if p.is_variant]
    context.log.info(
        f"QA of {campaign_id}: {len(all_pieces)} pieces ({len(variants)} variants): "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    metadata = {
        "pieces": dg.MetadataValue.int(len(all_pieces)),
        "originals": dg.MetadataValue.int(len(all_pieces) - len(variants)),
        "variants": dg.MetadataValue.int(len(variants)),
        **{s: dg.MetadataValue.int(n) for s, n in counts.items()},
        "status_counts": dg.MetadataValue.json(counts),
        "avg_qa_score": dg.MetadataValue.float(round(sum(scores) / len(scores), 4)),
        "min_qa_score": dg.MetadataValue.float(min(scores)),
        **{f"pass_rate_{name}": dg.MetadataValue.float(rate) for name, rate in pass_rates.items()},
        "fixes_applied": dg.MetadataValue.int(sum(len(p.outcome.fixes) for p in all_pieces)),
        "worst_findings": dg.MetadataValue.md(
            md_table(
                result.worst_findings(), ["piece", "check", "severity", "excerpt", "message", "suggestion"]
            )
        ),
        "pieces_table": dg.MetadataValue.md(
            md_table(result.summary_rows(), ["piece", "status", "qa_score", "rounds", "by", "failing"])
        ),
        "review_file": dg.MetadataValue.path(str(path)),
        "review_entries": dg.MetadataValue.int(len(reviews)),
        **sb.metadata(),
        "llm": llm.label(sb.decision.strategy),
        "llm_assist": "on (judge and rewrite)"
        if real_llm
        else "off (budget exhausted: rule-based checks only)"
        if sb.decision.exhausted
        else "off (offline provider: rule-based checks only)",
        "llm_calls": dg.MetadataValue.int(int(totals["calls"])),
        "cost_usd": dg.MetadataValue.float(float(totals["cost_usd"])),
    }
    if result.notes or result.review_notes:
        metadata["notes"] = dg.MetadataValue.md(
            "\n".join(f"- {n}" for n in result.notes + result.review_notes)
        )
    return dg.MaterializeResult(metadata=metadata, check_results=check_results(result, brief.variants))
