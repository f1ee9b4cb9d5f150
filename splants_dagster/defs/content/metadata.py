"""What ``content_suite`` shows in the UI: its materialization metadata and the results of its checks.

Built here, beside the asset, so that the asset body reads as load → generate → write → report."""

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

from splants_dagster.content import suite as content
from splants_dagster.content.suite import Piece
from splants_dagster.costs.batch_desk import Generation
from splants_dagster.display import md_table, preview
from splants_dagster.platforms import META_DESCRIPTION_RANGE, SEO_TITLE_MAX
from splants_dagster.warehouse.store import Warehouse

SCORE_COMPONENTS = frozenset({"quality", "seo", "readability", "uniqueness", "predicted_performance"})
PIECE_COLUMNS = [
    "piece_id",
    "candidate_strategy",
    "word_count",
    "char_count",
    "quality_score",
    "seo_score",
    "readability_score",
    "uniqueness_score",
    "total_score",
]


def suite_summary(campaign_id: str, pieces: Sequence[Piece], totals: Mapping[str, Any]) -> str:
    """One log line: pieces per platform, LLM calls and cost."""
    per_platform = Counter(p.spec.platform for p in pieces)
    return (
        f"{len(pieces)} pieces for {campaign_id}: "
        + ", ".join(f"{k}={v}" for k, v in sorted(per_platform.items()))
        + f"; {totals['calls']} LLM calls, ${totals['cost_usd']:.4f}"
    )


def deferred_events(
    generation: Generation,
    asset_key: dg.AssetKey,
    campaign_id: str,
    budget: Mapping[str, Any],
    note: str,
    check_names: Sequence[str],
) -> list[dg.AssetObservation | dg.AssetCheckResult]:
    """What a run whose content waits for provider batches reports instead of a materialization: an
    observation saying so (``budget``: the step budget's metadata), and every check passed with the note."""
    observation = dg.AssetObservation(
        asset_key=asset_key,
        partition=campaign_id,
        metadata={**budget, **generation.desk.metadata(), "status": note, "llm": generation.label},
    )
    checks = [
        dg.AssetCheckResult(check_name=name, passed=True, metadata={"note": note}) for name in check_names
    ]
    return [observation, *checks]


def generation_failure(failures: Mapping[str, str]) -> dg.Failure:
    """The step's failure when pieces could not be generated (nothing is written then)."""
    listing = "; ".join(f"{k}: {v}" for k, v in failures.items())
    return dg.Failure(
        description=f"{len(failures)} piece(s) could not be generated, nothing was written: {listing}",
        metadata={"failed_pieces": dg.MetadataValue.json(dict(failures))},
    )


def suite_metadata(
    generation: Generation,
    rows: Sequence[dict[str, Any]],
    *,
    budget: Mapping[str, Any],
    reason: str,
    predictor_note: str,
    store: Warehouse,
) -> dict[str, Any]:
    """The materialization metadata of a generated suite: ``budget`` (the step budget's metadata) first,
    then the strategy's ``reason``, the batches collected (if any), counts, scores, LLM usage, the pieces
    table and the pillar's preview."""
    if generation.result is None:
        raise ValueError("suite_metadata needs a generated suite (this generation was deferred to a batch)")
    pieces = generation.result.pieces
    totals = generation.totals
    batches = generation.desk.metadata() if generation.desk.collected else {}
    pillar = pieces[0]
    components = sorted({c for p in pieces for c in p.chosen.components})
    totals_scores = [p.chosen.total for p in pieces]
    return {
        **budget,
        "strategy_reason": dg.MetadataValue.md(reason),
        **batches,
        "pieces": dg.MetadataValue.int(len(pieces)),
        "per_platform": dg.MetadataValue.json(dict(Counter(p.spec.platform for p in pieces))),
        "avg_total_score": dg.MetadataValue.float(round(sum(totals_scores) / len(totals_scores), 4)),
        "min_total_score": dg.MetadataValue.float(min(totals_scores)),
        "score_components_used": ", ".join(components),
        "score_components_missing": ", ".join(sorted(SCORE_COMPONENTS - set(components))) or "none",
        "predicted_performance": predictor_note,
        "insights_applied": dg.MetadataValue.json(
            {p.piece_id: [i["sentence"] for i in p.insights_applied] for p in pieces if p.insights_applied}
        ),
        "llm": generation.label,
        "llm_calls": dg.MetadataValue.int(int(totals["calls"])),
        "prompt_tokens": dg.MetadataValue.int(int(totals["prompt_tokens"])),
        "completion_tokens": dg.MetadataValue.int(int(totals["completion_tokens"])),
        "cost_usd": dg.MetadataValue.float(float(totals["cost_usd"])),
        "pieces_table": dg.MetadataValue.md(md_table(list(rows), PIECE_COLUMNS)),
        "pillar_preview": dg.MetadataValue.md(
            f"# {pillar.draft.title}\n\n_{pillar.draft.meta_description}_\n\n{preview(pillar.draft.body)}"
        ),
        "warehouse": dg.MetadataValue.path(str(store.paths.warehouse_db)),
        "analytics_db": dg.MetadataValue.path(str(store.paths.analytics_db)),
    }


def suite_check_results(pieces: Sequence[Piece], keywords: Sequence[str]) -> list[dg.AssetCheckResult]:
    """The suite's three checks: platform limits (blocking), the pillar's SEO fields and keywords (warn)."""
    pillar = pieces[0]
    limit_problems = content.limit_problems(list(pieces))
    keyword_problems = content.keyword_problems(list(pieces), list(keywords))
    seo_title_len = len(pillar.draft.seo_title or pillar.draft.title)
    meta_len = len(pillar.draft.meta_description or "")
    low, high = META_DESCRIPTION_RANGE
    return [
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
    ]
