"""What the monitoring sensors' runs produce: a re-promotion plan for an under-performing piece, and a
new campaign brief derived from a winning piece ("create similar content")."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from splants_dagster.campaigns.briefs import CampaignBrief
from splants_dagster.engagement.events import short_hash
from splants_dagster.platforms import CHAR_LIMITS, HASHTAG_RULES
from splants_dagster.text import plain_text, sentences, strip_hashtags, truncate_words

# ----------------------------------------------------------------------------------------- boosts

REACH_RULES = {"low_views"}
RESONANCE_RULES = {"low_engagement", "low_engagement_rate", "robust_z"}
LANDING_RULES = {"high_bounce"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def best_slot(
    slot_rows: Iterable[Mapping[str, Any]], now: dt.datetime, min_posts: int = 3
) -> tuple[dt.datetime, str]:
    """The next occurrence (at least an hour from ``now``) of the platform's best publish weekday and
    hour by engagement rate, among slots with at least ``min_posts`` posts; else tomorrow, same hour."""
    candidates = [
        r for r in slot_rows if (r.get("posts") or 0) >= min_posts and r.get("engagement_rate") is not None
    ]
    now = now.astimezone(dt.UTC)
    earliest = (now + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    if not candidates:
        return earliest + dt.timedelta(days=1), "no slot data yet: tomorrow at this hour"
    best = max(candidates, key=lambda r: (r["engagement_rate"], r["posts"]))
    weekday, hour = int(best["weekday"]), int(best["hour"])
    when = earliest.replace(hour=hour)
    when += dt.timedelta(days=(weekday - when.weekday()) % 7)
    if when < earliest:
        when += dt.timedelta(days=7)
    reason = (
        f"best slot by data: {WEEKDAYS[weekday]} {hour:02d}:00 UTC, engagement rate "
        f"{best['engagement_rate']:.2%} over {best['posts']} posts"
    )
    return when, reason


def boost_copy(piece: Mapping[str, Any], rules: Sequence[str]) -> str:
    """The re-promotion text: the piece reworked for what went wrong, within the platform's limits.

    Low reach gets an "in case you missed it" re-share; low resonance gets a question-led hook and the
    call to action up front; a high bounce rate gets the key point first, so the click lands on what
    was promised.
    """
    platform = piece.get("platform") or "twitter"
    title = (piece.get("title") or "").strip()
    body = strip_hashtags(plain_text(piece.get("rendered") or piece.get("body") or "")).strip()
    first = next(iter(sentences(body)), body)[:280]
    cta = (piece.get("cta") or "").strip()
    tags = [t for t in (piece.get("hashtags") or []) if t][: HASHTAG_RULES[platform].max_count]
    broken = set(rules)
    if broken & RESONANCE_RULES:
        topic = title or first
        opener = f"Quick question: what would make {topic.rstrip('.!?')} worth your time?"
        parts = [opener, first if first != topic else "", cta]
    elif broken & LANDING_RULES:
        parts = [f"The short version: {first}", title and f"More in “{title}”.", cta]
    else:
        parts = [f"In case you missed it: {title or first}", first if title else "", cta]
    text = " ".join(p for p in parts if p).strip()
    tail = (" " + " ".join(tags)) if tags and HASHTAG_RULES[platform].placement != "none" else ""
    limit = CHAR_LIMITS.get(platform)
    if limit:
        text = truncate_words(text, limit - len(tail))
    return text + tail


def anomalies_by_piece(anomalies: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """The anomalies of our pieces, by piece (an external post cannot be boosted)."""
    by_piece: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for a in anomalies:
        if not a.get("external"):
            by_piece[a["piece_id"]].append(a)
    return by_piece


def plan_boosts(
    by_piece: Mapping[str, Sequence[Mapping[str, Any]]],
    pieces: Mapping[str, Mapping[str, Any]],
    slots: Mapping[str, Iterable[Mapping[str, Any]]],
    now: dt.datetime,
    run_id: str,
) -> tuple[list[dict[str, Any]], list[str]]:
    """One ``engagement_boosts`` row (status ``planned``) per piece with anomalies: its reworked copy and
    the platform's next best slot (``slots``: :func:`best_slot` rows per platform). Also returns the
    piece ids that are not among ``pieces`` (nothing to boost)."""
    boosts, unknown = [], []
    for piece_id, items in sorted(by_piece.items()):
        piece = pieces.get(piece_id)
        if piece is None:
            unknown.append(piece_id)
            continue
        rule_names = sorted({a["rule"] for a in items})
        when, reason = best_slot(slots.get(piece["platform"], []), now)
        boosts.append(
            {
                "boost_id": f"boost-{hashlib.sha1(piece_id.encode()).hexdigest()[:12]}",
                "piece_id": piece_id,
                "campaign_id": piece["campaign_id"],
                "platform": piece["platform"],
                "action": "re_promote",
                "anomaly_ids": sorted(a["anomaly_id"] for a in items),
                "rules": rule_names,
                "planned_at": when,
                "slot_reason": reason,
                "boost_copy": boost_copy(piece, rule_names),
                "status": "planned",
                "run_id": run_id,
                "created_at": now,
            }
        )
    return boosts, unknown


# -------------------------------------------------------------------------------- similar content


def child_campaign_id(parent_id: str, piece_id: str) -> str:
    """A stable slug for the campaign derived from ``piece_id``: ``<parent>-more-<hash>`` (≤ 64)."""
    suffix = f"more-{short_hash('similar', piece_id, length=6)}"
    base = re.sub(r"-+$", "", parent_id[: 64 - len(suffix) - 1])
    return f"{base}-{suffix}"


def similar_brief(
    parent: CampaignBrief, piece: Mapping[str, Any], today: dt.date, lead_days: int = 7
) -> CampaignBrief:
    """A new brief like ``parent``, led by the winning piece's platform and angle, linked to the piece."""
    data = parent.model_dump(mode="json")
    platform = piece.get("platform")
    angle = (piece.get("title") or "").strip()
    topic = parent.topic
    if angle:
        topic = f"{parent.topic}. Follow-up on what resonated: {angle}"
    data.update(
        {
            "id": child_campaign_id(parent.id, piece["piece_id"]),
            "topic": truncate_words(topic, 500),
            "start_date": (today + dt.timedelta(days=lead_days)).isoformat(),
            "parent_piece_id": piece["piece_id"],
        }
    )
    if platform in data["platforms"]:
        data["platforms"] = [platform, *[p for p in data["platforms"] if p != platform]]
    return CampaignBrief.model_validate(data)


def brief_yaml(brief: CampaignBrief, note: str) -> str:
    """The brief as a YAML file a marketer can read and edit, with ``note`` as a header comment."""
    data = brief.model_dump(mode="json", exclude_none=True)
    header = "".join(f"# {line}\n" for line in note.splitlines())
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def derivation_note(parent: CampaignBrief, piece: Mapping[str, Any], today: dt.date) -> str:
    """The header of a derived brief's file: where it comes from, and how to change or cancel it."""
    rate = piece.get("rate")
    return (
        f"Derived by splants from winning piece {piece['piece_id']} of campaign {parent.id}"
        + (
            f" (engagement rate {rate:.2%}, top-percentile threshold {piece['threshold']:.2%})"
            if rate
            else ""
        )
        + f" on {today}.\nEdit freely; delete the file to cancel the campaign."
    )


def write_new_brief(path: Path, brief: CampaignBrief, note: str) -> bool:
    """Write the brief's file atomically unless it exists (a marketer may have edited it); True if written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(brief_yaml(brief, note))
    tmp.replace(path)
    return True


def lineage_row(
    child: CampaignBrief,
    parent: CampaignBrief,
    piece: Mapping[str, Any],
    brief_file: Path,
    run_id: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """The ``campaign_lineage`` row linking a derived campaign to its winning piece."""
    return {
        "child_campaign_id": child.id,
        "parent_campaign_id": parent.id,
        "parent_piece_id": piece["piece_id"],
        "platform": piece["platform"],
        "engagement_rate": piece.get("rate"),
        "threshold": piece.get("threshold"),
        "highlight_id": piece.get("highlight_id"),
        "brief_file": str(brief_file),
        "reason": "high engagement (top percentile)",
        "run_id": run_id,
        "created_at": now,
    }
