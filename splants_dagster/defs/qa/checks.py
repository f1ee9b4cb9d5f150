"""The checks ``qa_report`` evaluates in its step: two blocking gates for publishing, three warnings."""

import dagster as dg

from splants_dagster.display import md_table
from splants_dagster.qa.campaign import CampaignQA
from splants_dagster.qa.engine import PUBLISHABLE

SOFT_CHECKS = ("grammar", "brand_voice", "seo", "readability")

QA_CHECK_SPECS = [
    dg.AssetCheckSpec(
        "no_flagged_pieces",
        asset="qa_report",
        blocking=True,
        description="No piece (original or variant) is waiting for a human: flagged pieces stop publishing "
        "until they are approved or rejected in reviews/<campaign>.yaml.",
    ),
    dg.AssetCheckSpec(
        "legal_compliance",
        asset="qa_report",
        blocking=True,
        description="No piece that is not rejected fails the legal check (prohibited or health claims, "
        "missing #ad disclosure, e-mail without unsubscribe line or postal address, over the platform limit).",
    ),
    dg.AssetCheckSpec(
        "soft_checks_pass",
        asset="qa_report",
        description="Every publishable piece passes grammar, brand voice, SEO and readability (warning only).",
    ),
    dg.AssetCheckSpec(
        "variants_complete",
        asset="qa_report",
        description="Every publishable original has its A/B variants (brief.variants) and they are publishable.",
    ),
    dg.AssetCheckSpec(
        "reviews_applied",
        asset="qa_report",
        description="Every entry of the review file took effect (none stale, refused or for an unknown piece).",
    ),
]


def check_results(result: CampaignQA, variants_wanted: int) -> list[dg.AssetCheckResult]:
    pieces = list(result.pieces.values())
    flagged = [
        {"piece": p.piece_id, "score": p.outcome.score, "why": p.note}
        for p in pieces
        if p.status == "flagged"
    ]
    legal = [
        {
            "piece": p.piece_id,
            "status": p.status,
            "problems": "; ".join(f.message for f in p.outcome.evaluation.checks["legal"].errors),
        }
        for p in pieces
        if p.status != "rejected" and not p.outcome.evaluation.checks["legal"].passed
    ]
    soft = [
        {
            "piece": p.piece_id,
            "check": name,
            "score": p.outcome.evaluation.checks[name].score,
            "findings": "; ".join(
                f.message for f in p.outcome.evaluation.checks[name].findings if f.severity != "info"
            )[:200],
        }
        for p in pieces
        if p.status in PUBLISHABLE
        for name in SOFT_CHECKS
        if not p.outcome.evaluation.checks[name].passed
    ]
    originals = [p for p in pieces if not p.is_variant and p.status in PUBLISHABLE]
    missing = []
    for p in originals:
        have = [v for v in pieces if v.base.variant_of == p.piece_id]
        usable = [v for v in have if v.status in PUBLISHABLE]
        if len(usable) < variants_wanted:
            missing.append({"piece": p.piece_id, "variants": len(have), "publishable": len(usable)})
    review_problems = [{"problem": n} for n in result.review_notes]
    pass_rates = result.pass_rates()
    return [
        dg.AssetCheckResult(
            check_name="no_flagged_pieces",
            passed=not flagged,
            metadata={
                "flagged": dg.MetadataValue.int(len(flagged)),
                "pieces": dg.MetadataValue.md(md_table(flagged, ["piece", "score", "why"])),
            },
        ),
        dg.AssetCheckResult(
            check_name="legal_compliance",
            passed=not legal,
            metadata={
                "failing": dg.MetadataValue.int(len(legal)),
                "pieces": dg.MetadataValue.md(md_table(legal, ["piece", "status", "problems"])),
                "legal_pass_rate": dg.MetadataValue.float(round(pass_rates["legal"], 4)),
            },
        ),
        dg.AssetCheckResult(
            check_name="soft_checks_pass",
            passed=not soft,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "failures": dg.MetadataValue.int(len(soft)),
                "details": dg.MetadataValue.md(md_table(soft, ["piece", "check", "score", "findings"])),
                **{f"pass_rate_{n}": dg.MetadataValue.float(round(pass_rates[n], 4)) for n in SOFT_CHECKS},
            },
        ),
        dg.AssetCheckResult(
            check_name="variants_complete",
            passed=not missing,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "variants_per_piece": dg.MetadataValue.int(variants_wanted),
                "short": dg.MetadataValue.md(md_table(missing, ["piece", "variants", "publishable"])),
            },
        ),
        dg.AssetCheckResult(
            check_name="reviews_applied",
            passed=not review_problems,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"problems": dg.MetadataValue.md(md_table(review_problems, ["problem"]))},
        ),
    ]
