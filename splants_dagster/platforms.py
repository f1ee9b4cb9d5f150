"""Platforms, content types and the rules each piece must follow.

Numbers come from the original SPLANTS design (../shared/reference): character limits, hashtag rules and
default word targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

PLATFORMS: tuple[str, ...] = (
    "blog",
    "twitter",
    "linkedin",
    "instagram",
    "facebook",
    "youtube",
    "tiktok",
    "pinterest",
    "email",
)
CONTENT_TYPES: tuple[str, ...] = (
    "blog",
    "social_post",
    "email",
    "ad_copy",
    "landing_page",
    "video_script",
    "product_description",
    "press_release",
)
TONES: tuple[str, ...] = (
    "professional",
    "casual",
    "enthusiastic",
    "conversational",
    "authoritative",
    "friendly",
    "humorous",
    "inspirational",
)

Platform = Literal[
    "blog", "twitter", "linkedin", "instagram", "facebook", "youtube", "tiktok", "pinterest", "email"
]
ContentType = Literal[
    "blog",
    "social_post",
    "email",
    "ad_copy",
    "landing_page",
    "video_script",
    "product_description",
    "press_release",
]
Tone = Literal[
    "professional",
    "casual",
    "enthusiastic",
    "conversational",
    "authoritative",
    "friendly",
    "humorous",
    "inspirational",
]

# Which content types a platform can carry. The pillar blog post (blog × blog) is always produced.
COMPATIBLE: dict[str, tuple[str, ...]] = {
    "blog": ("blog", "landing_page", "product_description", "press_release"),
    "twitter": ("social_post", "ad_copy"),
    "linkedin": ("social_post", "ad_copy", "press_release"),
    "instagram": ("social_post", "ad_copy"),
    "facebook": ("social_post", "ad_copy"),
    "youtube": ("video_script",),
    "tiktok": ("video_script",),
    "pinterest": ("social_post", "ad_copy"),
    "email": ("email",),
}

# Characters of the rendered post (body plus hashtags); None = no platform cap.
CHAR_LIMITS: dict[str, int | None] = {
    "blog": None,
    "twitter": 280,
    "linkedin": 3000,
    "instagram": 2200,
    "facebook": 5000,
    "youtube": 5000,
    "tiktok": 2200,
    "pinterest": 500,
    "email": None,
}

HashtagPlacement = Literal["none", "inline", "end"]


@dataclass(frozen=True)
class HashtagRule:
    max_count: int
    placement: HashtagPlacement


HASHTAG_RULES: dict[str, HashtagRule] = {
    "blog": HashtagRule(0, "none"),
    "twitter": HashtagRule(2, "inline"),
    "linkedin": HashtagRule(5, "end"),
    "instagram": HashtagRule(10, "end"),
    "facebook": HashtagRule(3, "end"),
    "youtube": HashtagRule(3, "end"),
    "tiktok": HashtagRule(5, "end"),
    "pinterest": HashtagRule(5, "end"),
    "email": HashtagRule(0, "none"),
}

# Default word targets when the brief gives none.
WORD_TARGETS: dict[str, tuple[int, int]] = {
    "blog": (800, 1200),
    "social_post": (50, 100),
    "email": (200, 400),
    "ad_copy": (50, 150),
    "landing_page": (500, 800),
    "video_script": (150, 300),
    "product_description": (150, 250),
    "press_release": (400, 600),
}

# Flesch reading ease ranges a piece should land in, per platform (higher = easier).
READABILITY_TARGETS: dict[str, tuple[float, float]] = {
    "blog": (50.0, 70.0),
    "twitter": (60.0, 90.0),
    "linkedin": (45.0, 70.0),
    "instagram": (60.0, 90.0),
    "facebook": (60.0, 85.0),
    "youtube": (60.0, 85.0),
    "tiktok": (65.0, 95.0),
    "pinterest": (60.0, 90.0),
    "email": (55.0, 75.0),
}

SEO_TITLE_MAX = 60
META_DESCRIPTION_RANGE = (120, 160)
EMAIL_SUBJECT_MAX = 60
EMAIL_PREHEADER_RANGE = (40, 130)

PILLAR = ("blog", "blog")


def is_compatible(platform: str, content_type: str) -> bool:
    return content_type in COMPATIBLE.get(platform, ())


@dataclass(frozen=True)
class PieceSpec:
    """What one piece of a suite must be: its slot, its length target and its platform's rules."""

    campaign_id: str
    platform: str
    content_type: str
    min_words: int
    max_words: int
    is_pillar: bool = False

    @property
    def piece_id(self) -> str:
        return f"{self.campaign_id}:{self.platform}:{self.content_type}"

    @property
    def char_limit(self) -> int | None:
        return CHAR_LIMITS[self.platform]

    @property
    def hashtags(self) -> HashtagRule:
        return HASHTAG_RULES[self.platform]

    @property
    def readability_target(self) -> tuple[float, float]:
        return READABILITY_TARGETS[self.platform]

    @property
    def is_long_form(self) -> bool:
        return self.content_type in ("blog", "landing_page", "press_release", "product_description")


def plan_suite(
    campaign_id: str,
    platforms: Sequence[str],
    content_types: Sequence[str],
    length_overrides: dict[str, tuple[int, int]] | None = None,
) -> list[PieceSpec]:
    """Every piece the suite will hold: the pillar first, then each compatible (platform × type).

    Word targets are capped where a platform's character limit cannot hold them (about 6.5 characters
    per word including the space), so an X post is never asked for 100 words.
    """
    overrides = length_overrides or {}
    specs = [_spec(campaign_id, *PILLAR, overrides, is_pillar=True)]
    for platform in platforms:
        for content_type in content_types:
            if (platform, content_type) == PILLAR or not is_compatible(platform, content_type):
                continue
            specs.append(_spec(campaign_id, platform, content_type, overrides))
    return specs


def _spec(
    campaign_id: str,
    platform: str,
    content_type: str,
    overrides: dict[str, tuple[int, int]],
    is_pillar: bool = False,
) -> PieceSpec:
    low, high = overrides.get(content_type, WORD_TARGETS[content_type])
    limit = CHAR_LIMITS[platform]
    if limit is not None:
        # leave room for hashtags and a link; ~6.5 chars per word
        fit = max(8, int((limit - 40) / 6.5))
        high = min(high, fit)
        low = min(low, max(5, int(high * 0.6)))
    return PieceSpec(campaign_id, platform, content_type, low, high, is_pillar)
