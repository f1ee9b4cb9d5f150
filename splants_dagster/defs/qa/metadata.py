"""What ``qa_report`` shows in the UI and the log: its materialization metadata, a one-line summary, and the
failure a bad review file raises. Built here, beside the asset, so its body reads as
load → QA → write → report."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

from splants_dagster.display import md_table
from splants_dagster.qa.reviews import ReviewFileError

if TYPE_CHECKING:
    from splants_dagster.qa.campaign import CampaignQA


def review_file_failure(err: ReviewFileError) -> dg.Failure:
    """The step's failure for a review file that does not parse, with every problem as a table."""
    return dg.Failure(
        description=f"bad review file: {err}",
        metadata={
            "problems": dg.MetadataValue.md(md_table(err.as_rows(), ["file", "field", "value", "message"]))
        },
    )


def llm_assist_label(real_llm: bool, exhausted: bool) -> str:
    """Whether the LLM judged and rewrote, or why not."""
    if real_llm:
        return "on (judge and rewrite)"
    if exhausted:
        return "off (budget exhausted: rule-based checks only)"
    return "off (offline provider: rule-based checks only)"


def qa_summary(result: CampaignQA) -> str:
    """One log line: pieces, variants and how many of each status."""
    all_pieces = list(result.pieces.values())
    variants = sum(1 for p in all_pieces if p.is_variant)
    return f"QA of {result.campaign_id}: {len(all_pieces)} pieces ({variants} variants): " + ", ".join(
        f"{k} {v}" for k, v in result.status_counts().items()
    )


def qa_metadata(
    result: CampaignQA,
    *,
    review_path: Path,
    review_entries: int,
    budget: Mapping[str, Any],
    llm: str,
    llm_assist: str,
    totals: Mapping[str, Any],
) -> dict[str, Any]:
    """The materialization metadata of a campaign's QA: counts per status, scores, pass rate per check,
    fixes, the worst findings and every piece, the review file, ``budget`` (the step budget's metadata),
    LLM usage, and the notes (when there are any)."""
    all_pieces = list(result.pieces.values())
    counts = result.status_counts()
    scores = [p.outcome.score for p in all_pieces]
    pass_rates = {name: round(rate, 4) for name, rate in result.pass_rates().items()}
    variants = [p for p in all_pieces if p.is_variant]
    metadata: dict[str, Any] = {
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
        "review_file": dg.MetadataValue.path(str(review_path)),
        "review_entries": dg.MetadataValue.int(review_entries),
        **budget,
        "llm": llm,
        "llm_assist": llm_assist,
        "llm_calls": dg.MetadataValue.int(int(totals["calls"])),
        "cost_usd": dg.MetadataValue.float(float(totals["cost_usd"])),
    }
    if result.notes or result.review_notes:
        metadata["notes"] = dg.MetadataValue.md(
            "\n".join(f"- {n}" for n in result.notes + result.review_notes)
        )
    return metadata
