"""What ``publishing_schedule`` shows in the UI: its materialization metadata and the results of its checks.

Built here, beside the asset, so that the asset body reads as load → schedule → write → report."""

from collections import Counter
from collections.abc import Sequence
from typing import Any

import dagster as dg

from splants_dagster.campaigns.briefs import CampaignBrief
from splants_dagster.display import md_table
from splants_dagster.publishing import planning
from splants_dagster.publishing.planning import ScheduleInputs
from splants_dagster.publishing.scheduling import ScheduleResult, Slot, calendar_markdown


def schedule_summary(
    campaign_id: str,
    slots: Sequence[Slot],
    rows: Sequence[dict[str, Any]],
    unscheduled: int,
    history_note: str,
) -> str:
    """One log line: slots learned and prior, pieces left unscheduled, the history the slots learned from."""
    sources = Counter(s.slot_source for s in slots)
    return (
        f"{len(rows)} slots for {campaign_id} ({sources.get('learned', 0)} learned, {sources.get('prior', 0)} prior,"
        f" {sources.get('manual', 0)} manual);"
        f" {unscheduled} unscheduled; {history_note}"
    )


def schedule_metadata(
    result: ScheduleResult,
    slots: Sequence[Slot],
    rows: Sequence[dict[str, Any]],
    inputs: ScheduleInputs,
    *,
    unscheduled: int,
    added: int,
    history_note: str,
    brief: CampaignBrief,
    timezone: str,
    manual: tuple[int, list[dict[str, Any]]] = (0, []),
) -> dict[str, Any]:
    """The materialization metadata of the campaign's schedule: slot counts by source, the history and what
    was learned from it, A/B designs and alternates, the slots a person chose that were kept and those that
    were not (``manual``: :func:`planning.manual_outcomes`), the window and a calendar of the campaign's
    slots."""
    kept, not_kept = manual
    sources = Counter(s.slot_source for s in slots)
    return {
        "scheduled": dg.MetadataValue.int(len(rows)),
        "unscheduled": dg.MetadataValue.int(unscheduled),
        "learned_slots": dg.MetadataValue.int(sources.get("learned", 0)),
        "prior_slots": dg.MetadataValue.int(sources.get("prior", 0)),
        "exploration_slots": dg.MetadataValue.int(sum(1 for s in slots if s.exploration)),
        "predicted_tie_breaks": dg.MetadataValue.int(sum(1 for s in slots if s.tie_break)),
        "history_posts": dg.MetadataValue.int(len(inputs.history)),
        "history": history_note,
        "slot_notes": dg.MetadataValue.md("\n".join(f"- {n}" for n in result.notes)),
        "slot_learning": dg.MetadataValue.md(
            md_table(planning.learning_rows(result.grids), ["platform", "history_posts", "mode", "note"])
        ),
        "per_platform": dg.MetadataValue.json(dict(Counter(s.platform for s in slots))),
        "new_pending_publications": dg.MetadataValue.int(added),
        "ab_platform_split": dg.MetadataValue.int(sum(1 for r in rows if r["ab_design"] == "platform_split")),
        "ab_sequential": dg.MetadataValue.int(sum(1 for r in rows if r["ab_design"] == "sequential")),
        "alternates": dg.MetadataValue.int(len(inputs.alternates)),
        "alternates_list": dg.MetadataValue.md(
            md_table(inputs.alternates, ["piece_id", "platform", "variant_of", "kept_as"])
        ),
        "manual_slots_kept": dg.MetadataValue.int(kept),
        "manual_slots_not_kept": dg.MetadataValue.int(len(not_kept)),
        "manual_slots_not_kept_list": dg.MetadataValue.md(
            md_table(not_kept, ["piece", "manual_slot", "rule", "now"])
        ),
        "timezone": timezone,
        "window": f"{brief.start_date} to {brief.end_date} (exclusive), {timezone}",
        "first_slot": slots[0].local.isoformat() if slots else "",
        "last_slot": slots[-1].local.isoformat() if slots else "",
        "calendar": dg.MetadataValue.md(calendar_markdown(slots)),
    }


def schedule_check_results(
    unscheduled: list[dict[str, Any]], violations: list[dict[str, Any]]
) -> list[dg.AssetCheckResult]:
    """Every piece got a slot (warn); spacing, daily caps and pillar-first hold (blocking)."""
    return [
        dg.AssetCheckResult(
            check_name="pieces_scheduled",
            passed=not unscheduled,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"unscheduled": dg.MetadataValue.md(md_table(unscheduled, ["piece", "problem"]))},
        ),
        dg.AssetCheckResult(
            check_name="spacing_caps_pillar_first",
            passed=not violations,
            metadata={"problems": dg.MetadataValue.md(md_table(violations, ["piece", "problem"]))},
        ),
    ]
