"""What the best and the worst pieces of a period had in common, stated with counts.

Each ranked piece is described by the features ``analytics.engagement_posts`` keeps (computed by
``engagement/features.py`` when the post was stored): platform, content type, length, question, call to
action, hashtags, media, paid, and the brand-local time slot and weekday it went out. A trait is "shared"
when more than half of a group has it; each shared trait is reported with how many of the other group had
it too, so a trait common to both groups is visibly not what set the best apart.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class SharedTrait:
    trait: str  # e.g. "asks a question"
    in_group: int
    group_size: int
    in_other: int
    other_size: int

    @property
    def distinguishes(self) -> bool:
        """More common in this group than in the other (by share)."""
        return self.in_group * self.other_size > self.in_other * self.group_size


def _length(words: Any) -> str | None:
    if words is None:
        return None
    n = int(words)
    return (
        "short (under 30 words)"
        if n < 30
        else "medium (30–150 words)"
        if n <= 150
        else "long (over 150 words)"
    )


def _hashtags(count: Any) -> str | None:
    if count is None:
        return None
    n = int(count)
    return "no hashtags" if n == 0 else "1–2 hashtags" if n <= 2 else "3 or more hashtags"


def _slot(hour: int) -> str:
    if 6 <= hour < 12:
        return "published in the morning (06–12)"
    if 12 <= hour < 17:
        return "published in the afternoon (12–17)"
    if 17 <= hour < 22:
        return "published in the evening (17–22)"
    return "published at night (22–06)"


def traits_of(piece: Mapping[str, Any], tz: str) -> set[str]:
    """The piece's traits as readable phrases; a feature that is unknown (no text, no time) gives none."""
    found = {f"on {piece['platform']}"}
    if piece.get("content_type"):
        found.add(f"a {piece['content_type'].replace('_', ' ')}")
    for trait in (_length(piece.get("word_count")), _hashtags(piece.get("hashtag_count"))):
        if trait:
            found.add(trait)
    for key, yes, no in (
        ("has_question", "asks a question", "asks no question"),
        ("has_cta", "has a call to action", "has no call to action"),
        ("paid", "paid", "organic"),
    ):
        if piece.get(key) is not None:
            found.add(yes if piece[key] else no)
    if piece.get("media_type"):
        found.add(f"media: {piece['media_type']}")
    published = piece.get("published_at")
    if isinstance(published, dt.datetime):
        local = published.astimezone(ZoneInfo(tz)) if published.tzinfo else published
        found.add(_slot(local.hour))
        found.add(f"published on a {WEEKDAYS[local.weekday()]}")
    return found


def shared_traits(
    group: Sequence[Mapping[str, Any]], other: Sequence[Mapping[str, Any]], tz: str
) -> list[SharedTrait]:
    """Traits held by more than half of ``group`` (those more common than in ``other`` first, then by
    count), each with its count in ``other``."""
    if not group:
        return []
    mine = Counter(t for p in group for t in traits_of(p, tz))
    theirs = Counter(t for p in other for t in traits_of(p, tz))
    shared = [
        SharedTrait(t, n, len(group), theirs.get(t, 0), len(other))
        for t, n in mine.items()
        if n * 2 > len(group)
    ]
    # what sets the group apart first, then what it merely shares with the other group
    return sorted(shared, key=lambda s: (-int(s.distinguishes), -s.in_group, s.trait))
