"""Which insights a campaign may use, the guidance lines its prompts carry, and the offline writer's
choices they translate to.

Only supported insights are used. A real campaign (brief without ``demo: true``) never sees an insight
learned from simulated engagement (``demo``); a demo campaign may use both. The insights travel as plain
dicts (``id``, ``platform``, ``metric``, ``feature``, ``level``, ``direction``, ``sentence``, ``demo``) so
the prompt payload, the piece's metadata and the warehouse all hold the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PROMPT_KEYS = ("id", "platform", "metric", "feature", "level", "direction", "sentence", "demo")
MAX_PER_PLATFORM = 5  # the strongest few; a prompt is not a report

# hashtag band -> how many the writer uses when that band went with higher engagement
HASHTAG_COUNTS = {"0": 0, "1-2": 2, "3-5": 3, "6+": 6}


def usable(insights: Iterable[Mapping[str, Any]], *, demo_campaign: bool) -> list[dict[str, Any]]:
    """The supported insights a campaign may use (a real campaign: learned from real posts only), as
    prompt dicts, strongest effect first per platform."""
    chosen = []
    for row in insights:
        if not row.get("supported"):
            continue
        if bool(row.get("demo")) and not demo_campaign:
            continue
        chosen.append(row)
    chosen.sort(key=lambda r: (str(r["platform"]), -abs(float(r.get("effect") or 0.0)), str(r["insight_id"])))
    return [
        {
            "id": r["insight_id"],
            "platform": r["platform"],
            "metric": r["metric"],
            "feature": r["feature"],
            "level": r["level"],
            "direction": r["direction"],
            "sentence": r["sentence"],
            "demo": bool(r.get("demo")),
        }
        for r in chosen
    ]


def for_platform(insights: Iterable[Mapping[str, Any]], platform: str) -> list[dict[str, Any]]:
    return [dict(i) for i in insights if i.get("platform") == platform][:MAX_PER_PLATFORM]


def guidance_lines(insights: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per insight for the piece's instruction: what past posts here showed, and which way."""
    lines = []
    for i in insights:
        lean = "lean towards it" if i["direction"] == "higher" else "avoid it"
        demo = " (demo data)" if i.get("demo") else ""
        lines.append(f"{i['sentence']}{demo}: {lean} where it fits the brief.")
    return lines


def writer_choices(insights: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """What the offline writer changes: ``end_with_question`` (bool), ``cta_position`` (start|end) and
    ``hashtags`` (a count), each from the strongest engagement insight pointing that way (insights come
    strongest first). Only levels that went with *higher* engagement are acted on."""
    choices: dict[str, Any] = {}
    for i in insights:
        if i.get("metric", "engagement") != "engagement" or i.get("direction") != "higher":
            continue
        feature, level = i.get("feature"), str(i.get("level"))
        if feature == "question" and level == "ends_with_question":
            choices.setdefault("end_with_question", True)
        elif feature == "cta_position" and level in ("start", "end"):
            choices.setdefault("cta_position", level)
        elif feature == "hashtags" and level in HASHTAG_COUNTS:
            choices.setdefault("hashtags", HASHTAG_COUNTS[level])
    return choices


def applied_record(insights: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What a piece's metadata keeps: each insight's id, sentence and demo flag."""
    return [{"id": i["id"], "sentence": i["sentence"], "demo": bool(i.get("demo"))} for i in insights]
