"""The pre-publication features insights are about, as discrete levels a marketer (and the writer) can
act on: does the post end with a question, where is its call to action, how many hashtags, emoji or not,
its length band on its platform, the time slot on the brand's clock, the campaign's tone, the content type.

The counts come from the engagement features (``engagement.features.text_features``: words, hashtags, and
its call-to-action words) and the predictor's emoji pattern, so "a hashtag" or "a call to action" means
the same thing everywhere. (Not ``ml.features.text_features``: its reading-ease score costs far more than
everything else here and no insight uses it.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from splants_dagster.engagement.features import CTA, text_features
from splants_dagster.ml.features import _EMOJI as EMOJI  # the predictor's emoji ranges
from splants_dagster.ml.features import MISSING
from splants_dagster.text import URL, sentences, strip_hashtags

# feature -> a readable phrase per level (used in the insight's sentence and the prompt guidance)
LEVEL_PHRASES: dict[str, dict[str, str]] = {
    "question": {
        "ends_with_question": "posts ending with a question",
        "question_inside": "posts asking a question before the end",
        "no_question": "posts without a question",
    },
    "cta_position": {
        "start": "posts with the call to action at the start",
        "middle": "posts with the call to action in the middle",
        "end": "posts with the call to action at the end",
        "none": "posts without a call to action",
    },
    "hashtags": {
        "0": "posts without hashtags",
        "1-2": "posts with 1-2 hashtags",
        "3-5": "posts with 3-5 hashtags",
        "6+": "posts with 6 or more hashtags",
    },
    "emoji": {"with_emoji": "posts with emoji", "no_emoji": "posts without emoji"},
    "length": {"short": "short posts", "medium": "medium-length posts", "long": "long posts"},
    "time_slot": {
        "morning": "posts published in the morning (06-11h)",
        "midday": "posts published at midday (11-14h)",
        "afternoon": "posts published in the afternoon (14-18h)",
        "evening": "posts published in the evening (18-22h)",
        "night": "posts published at night (22-06h)",
    },
}
CONTENT_TYPE_PHRASES = {
    "social_post": "social posts",
    "ad_copy": "ads",
    "blog": "blog posts",
    "email": "emails",
    "video_script": "videos",
    "landing_page": "landing pages",
    "press_release": "press releases",
    "product_description": "product descriptions",
}
FEATURES = ("question", "cta_position", "hashtags", "emoji", "length", "time_slot", "tone", "content_type")


def level_phrase(feature: str, level: str) -> str:
    known = LEVEL_PHRASES.get(feature, {}).get(level)
    if known:
        return known
    if feature == "content_type":
        return CONTENT_TYPE_PHRASES.get(level, f"{level.replace('_', ' ')} pieces")
    return f"posts in a {level} tone"


def _body(text: str) -> str:
    """The text as read: without hashtags and links (a trailing link does not stop a post ending with a
    question, and ``#`` words are counted apart)."""
    return " ".join(URL.sub(" ", strip_hashtags(text)).split())


def question_level(text: str) -> str:
    body = _body(text)
    if "?" not in body:
        return "no_question"
    last = (sentences(body) or [body])[-1].rstrip(" :")
    return "ends_with_question" if last.endswith("?") else "question_inside"


def cta_position(text: str) -> str:
    """Where the (last) call to action sits in the body: first third ``start``, last third ``end``."""
    body = _body(text)
    found = list(CTA.finditer(body))
    if not found:
        return "none"
    m = found[-1]
    at = (m.start() + m.end()) / 2 / max(1, len(body))
    return "start" if at < 1 / 3 else "end" if at > 2 / 3 else "middle"


def hashtag_band(count: float) -> str:
    n = int(count)
    return "0" if n == 0 else "1-2" if n <= 2 else "3-5" if n <= 5 else "6+"


def time_slot(hour: Any) -> str:
    if hour is None or (isinstance(hour, float) and math.isnan(hour)):
        return MISSING
    h = int(hour)
    if 6 <= h < 11:
        return "morning"
    if 11 <= h < 14:
        return "midday"
    if 14 <= h < 18:
        return "afternoon"
    if 18 <= h < 22:
        return "evening"
    return "night"


def length_cuts(words: pd.Series) -> tuple[float, float]:
    """The platform's tercile cut points of word counts (short ≤ first, long > second)."""
    values = words.dropna().astype(float)
    if values.empty:
        return (math.inf, math.inf)
    low, high = np.quantile(values, [1 / 3, 2 / 3])
    return float(low), float(high)


def length_band(words: float, cuts: tuple[float, float]) -> str:
    return "short" if words <= cuts[0] else "medium" if words <= cuts[1] else "long"


def feature_levels(posts: pd.DataFrame) -> pd.DataFrame:
    """One row per post with the level of every feature in :data:`FEATURES`.

    ``posts`` has ``platform``, ``text``, ``hour`` (brand clock), ``tone`` and ``content_type`` (the
    predictor's training rows have them all). Length bands are the platform's terciles, so "short" on
    LinkedIn and "short" on Instagram are each judged against their own platform."""
    texts = [t if isinstance(t, str) else "" for t in posts["text"].tolist()]
    stats = [text_features(t) for t in texts]
    words = pd.Series([float(s["word_count"] or 0) for s in stats], index=posts.index)
    out = pd.DataFrame(index=posts.index)
    out["question"] = [question_level(t) for t in texts]
    out["cta_position"] = [cta_position(t) for t in texts]
    out["hashtags"] = [hashtag_band(s["hashtag_count"] or 0) for s in stats]
    out["emoji"] = ["with_emoji" if EMOJI.search(t) else "no_emoji" for t in texts]
    out["length"] = ""
    for _, idx in posts.groupby("platform").groups.items():
        cuts = length_cuts(words.loc[idx])
        out.loc[idx, "length"] = [length_band(w, cuts) for w in words.loc[idx]]
    out["time_slot"] = [time_slot(h) for h in posts["hour"].tolist()]
    for name in ("tone", "content_type"):
        col = posts[name] if name in posts.columns else pd.Series([None] * len(posts), index=posts.index)
        out[name] = [MISSING if v is None or v != v or str(v) == "" else str(v) for v in col.tolist()]
    out["words"] = words
    return out
