"""The seeded demo simulator: engagement history for a fresh install, clearly labelled as simulated.

Everything it produces has ``is_demo = true`` and source ``simulator``. Two kinds of post:

- **History posts** (external, ids ``<platform>:demo-<date>-<n>``): a fictional brand's past posts on
  the demo's platforms, a few per day, each with a synthetic text whose features (length, question, CTA,
  hashtags, media) drive its performance. They give the scheduler and the predictor real signal.
- **Our pieces published as dry runs** (publications with status ``dry_run``: nothing really went out,
  so nothing real can be measured): simulated with the same model, from the piece's own text features.

The model, per platform (see :data:`PROFILES`): lifetime impressions and rates vary with the publish
hour (the platform's audience activity curve) and weekday; content type, media, paid promotion, length
against the platform's sweet spot, a question, a call to action and the hashtag count multiply the
rates; a piece-level log-normal noise makes posts differ, and hourly counts are Poisson/binomial draws.
Impressions arrive hour by hour over 7 days, decaying with the platform's half-life and modulated by
the audience's activity in each hour. About 1.2 % of posts carry an injected anomaly (``low_views``,
``low_engagement`` or, for blog and email, ``high_bounce``), recorded in ``engagement_posts``.

When it runs (``SPLANTS_SIMULATE_ENGAGEMENT``, :func:`should_simulate`): ``auto`` (default) only on a
fresh install, until any real engagement exists or the demo history is cleared (``splants engagement
simulate --clear``, :func:`clear_demo`, which leaves a marker file); ``on`` always; ``off`` never.

Determinism: a publish date's posts and all their hourly draws come from one generator seeded with
(seed, date), and a piece's from (seed, piece id), so any partition, any range split and any re-run
give identical rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from splants_dagster.engagement.events import COUNTERS, EVENT_COLUMNS, POST_COLUMNS
from splants_dagster.engagement.features import text_features
from splants_dagster.engagement.simulation_mode import (  # noqa: F401  (re-exported)
    DEFAULT_SEED,
    MARKER_NAME,
    MODES,
    REAL_ENGAGEMENT_SQL,
    marker_path,
    read_marker,
    should_simulate,
    write_marker,
)

if TYPE_CHECKING:  # pandas is imported where a frame is built: not on every code location load (issue #17)
    import pandas as pd

LIFETIME_HOURS = 7 * 24
ANOMALY_RATE = 0.012
SOURCE = "simulator"


def _curve(peaks: Sequence[tuple[int, float]], floor: float = 0.15) -> tuple[float, ...]:
    """A 24-hour activity curve (UTC) from (hour, height) bumps."""
    hours = np.arange(24)
    values = np.full(24, floor)
    for hour, height in peaks:
        distance = np.minimum(np.abs(hours - hour), 24 - np.abs(hours - hour))
        values += height * np.exp(-0.5 * (distance / 2.0) ** 2)
    return tuple(float(v) for v in values / values.mean())


@dataclass(frozen=True)
class Profile:
    """How one platform's posts perform in the simulation."""

    posts_per_day: float
    impressions: float  # median lifetime impressions (emails: recipients)
    interaction_rate: float  # likes + comments + shares (emails: unique opens) per impression
    click_rate: float
    half_life_h: float
    best_words: int
    best_hashtags: int
    activity: tuple[float, ...]  # audience activity by UTC hour, mean 1
    weekday: tuple[float, ...]  # Monday..Sunday multipliers
    split: tuple[float, float, float] = (0.78, 0.08, 0.14)  # likes, comments, shares
    bounce_rate: float | None = None
    content_types: tuple[tuple[str, float], ...] = (("social_post", 0.8), ("ad_copy", 0.2))
    media: tuple[tuple[str, float], ...] = (("photo", 0.55), ("video", 0.15), ("link", 0.2), ("status", 0.1))
    reach_ratio: float = 0.72


PROFILES: dict[str, Profile] = {
    "twitter": Profile(
        posts_per_day=3.0,
        impressions=1100,
        interaction_rate=0.028,
        click_rate=0.012,
        half_life_h=3,
        best_words=28,
        best_hashtags=1,
        activity=_curve([(8, 1.0), (12, 1.2), (17, 1.0), (21, 0.6)]),
        weekday=(1.05, 1.1, 1.1, 1.05, 0.95, 0.85, 0.8),
    ),
    "linkedin": Profile(
        posts_per_day=1.2,
        impressions=1600,
        interaction_rate=0.036,
        click_rate=0.014,
        half_life_h=16,
        best_words=150,
        best_hashtags=3,
        activity=_curve([(8, 1.4), (12, 1.0), (17, 0.6)]),
        weekday=(1.1, 1.2, 1.2, 1.1, 0.9, 0.5, 0.45),
        content_types=(("social_post", 0.75), ("ad_copy", 0.15), ("press_release", 0.1)),
    ),
    "instagram": Profile(
        posts_per_day=1.2,
        impressions=2300,
        interaction_rate=0.052,
        click_rate=0.004,
        half_life_h=9,
        best_words=60,
        best_hashtags=7,
        activity=_curve([(7, 0.6), (12, 0.8), (19, 1.4), (21, 1.0)]),
        weekday=(0.95, 0.95, 1.0, 1.0, 1.05, 1.15, 1.1),
        split=(0.9, 0.07, 0.03),
        media=(("photo", 0.6), ("video", 0.3), ("status", 0.1)),
    ),
    "facebook": Profile(
        posts_per_day=1.0,
        impressions=1900,
        interaction_rate=0.03,
        click_rate=0.012,
        half_life_h=7,
        best_words=50,
        best_hashtags=1,
        activity=_curve([(9, 0.9), (13, 1.1), (20, 1.2)]),
        weekday=(1.0, 1.0, 1.05, 1.05, 1.0, 0.95, 1.0),
    ),
    "blog": Profile(
        posts_per_day=0.3,
        impressions=650,
        interaction_rate=0.012,
        click_rate=0.032,
        half_life_h=40,
        best_words=1200,
        best_hashtags=0,
        activity=_curve([(10, 1.0), (14, 1.0), (20, 0.7)], floor=0.3),
        weekday=(1.1, 1.1, 1.05, 1.05, 0.95, 0.75, 0.8),
        split=(0.0, 0.55, 0.45),
        bounce_rate=0.42,
        content_types=(("blog", 0.75), ("landing_page", 0.1), ("product_description", 0.15)),
        media=(("article", 1.0),),
        reach_ratio=0.8,
    ),
    "email": Profile(
        posts_per_day=0.25,
        impressions=4800,
        interaction_rate=0.31,
        click_rate=0.032,
        half_life_h=5,
        best_words=250,
        best_hashtags=0,
        activity=_curve([(7, 1.2), (12, 1.0), (18, 0.8)], floor=0.2),
        weekday=(1.0, 1.1, 1.05, 1.1, 0.95, 0.8, 0.8),
        split=(0.0, 0.0, 0.0),
        bounce_rate=0.011,
        content_types=(("email", 1.0),),
        media=(("email", 1.0),),
        reach_ratio=0.99,
    ),
}

PHRASES = [
    "Fresh beans, roasted this week in small batches.",
    "Here is what we learned testing compostable pods at home.",
    "Three tips for a better cup before work.",
    "Our roaster explains why grind size matters.",
    "A quick look behind the scenes at the roastery.",
    "Why we switched to plant-based packaging.",
    "The story of this season's single origin from Huila.",
    "Brewing ratios that make weekday coffee taste like the weekend.",
    "Customers told us what they wanted from a pod, and we listened.",
    "How to tell if your coffee is really compostable at home.",
]
QUESTIONS = [
    "What is your go-to morning brew?",
    "Have you tried composting your pods yet?",
    "Which roast should we bring back next?",
]
CTAS = [
    "Shop the starter pack today.",
    "Read more on the blog.",
    "Pre-order now.",
    "Sign up for early access.",
]
TAGS = [
    "#coffee",
    "#SpecialtyCoffee",
    "#compost",
    "#HearthAndBean",
    "#zerowastejourney",
    "#morningbrew",
    "#coffeetime",
    "#sustainable",
    "#homebarista",
    "#roastery",
]


@dataclass(frozen=True)
class SimPost:
    post_id: str
    platform: str
    content_type: str
    published_at: dt.datetime
    text: str
    word_count: int
    hashtag_count: int
    has_question: bool
    has_cta: bool
    media_type: str
    paid: bool
    anomaly: str | None
    external: bool = True


@dataclass
class Simulator:
    """History for ``platforms`` (default: the six demo platforms), ``scale`` × the profile's volume."""

    seed: int = DEFAULT_SEED
    platforms: tuple[str, ...] = ("twitter", "linkedin", "instagram", "facebook", "blog", "email")
    scale: float = 1.0
    anomaly_rate: float = ANOMALY_RATE
    profiles: dict[str, Profile] = field(default_factory=lambda: dict(PROFILES))

    # --------------------------------------------------------------------------------------- posts

    def _rng(self, *parts: object) -> np.random.Generator:
        digest = hashlib.sha256("|".join(str(p) for p in (self.seed, *parts)).encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

    def history_posts(self, day: dt.date) -> tuple[list[SimPost], np.random.Generator]:
        """The history posts published on ``day`` and the generator their hourly draws continue from."""
        rng = self._rng("history", day.isoformat())
        posts: list[SimPost] = []
        for platform in self.platforms:
            profile = self.profiles[platform]
            # brands post less on their platform's weak days, and mostly in working hours
            count = int(rng.poisson(profile.posts_per_day * self.scale * profile.weekday[day.weekday()]))
            for _ in range(count):
                hour = int(rng.integers(7, 22)) if rng.random() < 0.8 else int(rng.integers(5, 24))
                minute = int(rng.integers(0, 60))
                when = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)
                types, weights = zip(*profile.content_types, strict=True)
                content_type = str(rng.choice(types, p=np.array(weights) / sum(weights)))
                media, mweights = zip(*profile.media, strict=True)
                media_type = str(rng.choice(media, p=np.array(mweights) / sum(mweights)))
                words = max(5, int(profile.best_words * float(np.exp(rng.normal(0, 0.55)))))
                question = bool(rng.random() < 0.35)
                cta = bool(rng.random() < (0.9 if content_type in ("ad_copy", "email") else 0.4))
                tags = int(min(rng.poisson(profile.best_hashtags * 1.1), 10)) if profile.best_hashtags else 0
                anomaly = None
                if rng.random() < self.anomaly_rate:
                    kinds = ["low_views", "low_engagement"] + (["high_bounce"] if profile.bounce_rate else [])
                    anomaly = str(rng.choice(kinds))
                posts.append(
                    sim_post(
                        f"{platform}:demo-{day.isoformat()}-{len(posts):03d}",
                        platform,
                        content_type,
                        when,
                        _text(rng, words, question, cta, tags),
                        media_type,
                        anomaly=anomaly,
                    )
                )
        return posts, rng

    # --------------------------------------------------------------------------------------- model

    def expected(self, post: SimPost, rng: np.random.Generator) -> dict[str, float]:
        """Lifetime expectations of one post (impressions, rates), with its piece-level noise."""
        p = self.profiles[post.platform]
        hour, weekday = post.published_at.hour, post.published_at.weekday()
        activity = p.activity[hour]
        impressions = p.impressions * p.weekday[weekday] ** 0.7 * activity**0.45
        interaction = p.interaction_rate * activity**0.35 * p.weekday[weekday] ** 0.5
        click = p.click_rate
        # content effects
        ratio = np.log(max(post.word_count, 1) / p.best_words)
        interaction *= float(np.exp(-0.5 * (ratio / 0.8) ** 2)) * 0.45 + 0.55
        if post.has_question:
            interaction *= 1.18 if post.platform != "email" else 1.03
        if post.has_cta:
            click *= 1.7
            interaction *= 1.03
        if p.best_hashtags:
            over = max(0, post.hashtag_count - 2 * p.best_hashtags)
            interaction *= (0.9 if post.hashtag_count == 0 else 1.06) * 0.93**over
        interaction *= {"video": 1.3, "link": 0.8, "status": 0.85}.get(post.media_type, 1.0)
        click *= {"link": 1.6, "video": 0.7}.get(post.media_type, 1.0)
        if post.content_type in ("ad_copy",):
            impressions *= 2.4
            interaction *= 0.7
        if post.content_type == "press_release":
            interaction *= 0.8
        bounce = p.bounce_rate
        # piece-level noise (the unexplained part)
        impressions *= float(np.exp(rng.normal(0, 0.25)))
        interaction *= float(np.exp(rng.normal(0, 0.18)))
        click *= float(np.exp(rng.normal(0, 0.2)))
        if bounce is not None:
            bounce *= float(np.exp(rng.normal(0, 0.12)))
        if post.anomaly == "low_views":
            impressions *= 0.12
        elif post.anomaly == "low_engagement":
            interaction *= 0.12
            click *= 0.2
        elif post.anomaly == "high_bounce" and bounce is not None:
            bounce *= 2.8
        return {
            "impressions": impressions,
            "interaction": min(interaction, 0.9),
            "click": min(click, 0.5),
            "bounce": None if bounce is None else min(bounce, 0.95),
        }

    def _weights(self, post: SimPost) -> np.ndarray:
        p = self.profiles[post.platform]
        k = np.arange(LIFETIME_HOURS)
        hours = (post.published_at.hour + k) % 24
        weights = np.exp(-k * np.log(2) / p.half_life_h) * np.array(p.activity)[hours]
        return weights / weights.sum()

    def series(self, post: SimPost, rng: np.random.Generator) -> dict[str, np.ndarray | None]:
        """Hourly increments for the post's 7-day life (arrays of length 168; None for a counter the
        platform does not have: opens outside email, bounces where there is no bounce rate)."""
        e = self.expected(post, rng)
        p = self.profiles[post.platform]
        w = self._weights(post)
        n = LIFETIME_HOURS
        if post.platform == "email":
            sent = int(rng.poisson(e["impressions"]))
            bounced = int(rng.binomial(sent, e["bounce"] or 0.0))
            delivered = sent - bounced
            opens = rng.multinomial(int(rng.binomial(delivered, e["interaction"])), w)
            clicks = rng.multinomial(int(rng.binomial(delivered, e["click"])), w)
            impressions = np.zeros(n, dtype=np.int64)
            impressions[0] = sent
            reach = np.zeros(n, dtype=np.int64)
            reach[0] = delivered
            bounce_arr = np.zeros(n, dtype=np.int64)
            bounce_arr[0] = bounced
            zeros = np.zeros(n, dtype=np.int64)
            return {
                "impressions": impressions,
                "reach": reach,
                "engagements": opens,
                "likes": zeros,
                "comments": zeros,
                "shares": zeros,
                "clicks": clicks,
                "opens": opens,
                "bounces": bounce_arr,
            }
        impressions = rng.poisson(e["impressions"] * w)
        interactions = rng.binomial(impressions, e["interaction"])
        # a click is another impression's engagement: engagements never exceed impressions
        clicks = rng.binomial(impressions - interactions, min(1.0, e["click"] / (1 - e["interaction"])))
        likes_p, comments_p, _ = p.split
        likes = rng.binomial(interactions, likes_p) if likes_p else np.zeros(n, dtype=np.int64)
        rest = interactions - likes
        comments_share = comments_p / max(1e-9, 1 - likes_p)
        comments = rng.binomial(rest, min(comments_share, 1.0))
        shares = rest - comments
        reach = rng.binomial(impressions, p.reach_ratio)
        bounces = rng.binomial(impressions, e["bounce"]) if e["bounce"] is not None else None
        return {
            "impressions": impressions,
            "reach": reach,
            "engagements": interactions + clicks,
            "likes": likes,
            "comments": comments,
            "shares": shares,
            "clicks": clicks,
            "opens": None,
            "bounces": bounces,
        }

    # ------------------------------------------------------------------------------------- output

    @staticmethod
    def _keep(
        post: SimPost, series: dict[str, np.ndarray | None], start: dt.date, end: dt.date, until: dt.datetime
    ) -> tuple[np.ndarray, np.ndarray]:
        """The hour starts (datetime64[h], UTC) of the post's life and which of them to emit."""
        first = post.published_at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0, tzinfo=None)
        hours = np.datetime64(first, "h") + np.arange(LIFETIME_HOURS)
        days = hours.astype("datetime64[D]")
        limit = np.datetime64(until.astimezone(dt.UTC).replace(tzinfo=None), "h")
        keep = (days >= np.datetime64(start)) & (days <= np.datetime64(end)) & (hours <= limit)
        impressions, engagements = series["impressions"], series["engagements"]
        assert impressions is not None and engagements is not None  # every platform has both
        keep &= (impressions + engagements) > 0
        return hours, keep

    def frame(
        self,
        chunks: list[tuple[SimPost, dict[str, np.ndarray | None]]],
        start: dt.date,
        end: dt.date,
        until: dt.datetime,
        loaded_at: dt.datetime,
    ) -> pd.DataFrame | None:
        """One DataFrame (engagement_events columns) for many posts' hourly series."""
        import pandas as pd

        parts: dict[str, list] = {name: [] for name in ("hours", "post", *COUNTERS)}
        masks: dict[str, list] = {"opens": [], "bounces": []}
        for index, (post, series) in enumerate(chunks):
            hours, keep = self._keep(post, series, start, end, until)
            count = int(keep.sum())
            if not count:
                continue
            parts["hours"].append(hours[keep])
            parts["post"].append(np.full(count, index, dtype=np.int64))
            for name in COUNTERS:
                values = series[name]
                if values is None:
                    parts[name].append(np.zeros(count, dtype=np.int64))
                    masks[name].append(np.ones(count, dtype=bool))
                else:
                    parts[name].append(np.asarray(values, dtype=np.int64)[keep])
                    if name in masks:
                        masks[name].append(np.zeros(count, dtype=bool))
        if not parts["hours"]:
            return None
        hours = np.concatenate(parts["hours"])
        which = np.concatenate(parts["post"])
        posts = [p for p, _ in chunks]
        ids = np.array([p.post_id for p in posts], dtype=object)[which]
        external = np.array([p.external for p in posts], dtype=bool)[which]
        data: dict[str, Any] = {
            "event_date": hours.astype("datetime64[D]").astype("datetime64[s]"),
            "piece_id": np.where(external, None, ids),
            "external_id": np.where(external, ids, None),
            "platform": np.array([p.platform for p in posts], dtype=object)[which],
            "observed_at": pd.DatetimeIndex(hours.astype("datetime64[s]")).tz_localize("UTC"),
        }
        for name in COUNTERS:
            values = np.concatenate(parts[name])
            if name in masks:
                data[name] = pd.arrays.IntegerArray(values, np.concatenate(masks[name]))
            else:
                data[name] = values
        count = len(hours)
        data.update(
            {
                "source": np.full(count, SOURCE, dtype=object),
                "source_file": np.full(count, None, dtype=object),
                "is_demo": np.ones(count, dtype=bool),
                "content_type": np.array([p.content_type for p in posts], dtype=object)[which],
                "published_at": pd.DatetimeIndex([p.published_at for p in posts])[which],
                "loaded_at": pd.DatetimeIndex(np.full(count, pd.Timestamp(loaded_at))),
                "cumulative": np.zeros(count, dtype=bool),
                "line": pd.arrays.IntegerArray(np.zeros(count, dtype=np.int64), np.ones(count, dtype=bool)),
            }
        )
        return pd.DataFrame(data, columns=list(EVENT_COLUMNS))

    def iter_history(
        self, start: dt.date, end: dt.date, until: dt.datetime, loaded_at: dt.datetime
    ) -> Iterator[tuple[dt.date, list[SimPost], pd.DataFrame | None]]:
        """Per publish date from ``start`` − 7 days to ``end``: its posts and their events in range."""
        day = start - dt.timedelta(days=7)
        while day <= end:
            posts, rng = self.history_posts(day)
            chunks = [(post, self.series(post, rng)) for post in posts]
            yield day, posts, self.frame(chunks, start, end, until, loaded_at)
            day += dt.timedelta(days=1)

    def simulate(
        self,
        start: dt.date,
        end: dt.date,
        until: dt.datetime,
        loaded_at: dt.datetime,
        pieces: Sequence[dict[str, Any]] = (),
    ) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
        """Events dated ``start``..``end`` observed up to ``until``, and the posts published in range.

        ``pieces``: our dry-run pieces, dicts with piece_id, platform, content_type, published_at and
        text (features are computed from the text).
        """
        import pandas as pd

        frames: list[pd.DataFrame] = []
        posts: list[SimPost] = []
        for day, day_posts, frame in self.iter_history(start, end, until, loaded_at):
            if frame is not None:
                frames.append(frame)
            if start <= day <= end:
                posts.extend(p for p in day_posts if p.published_at <= until)
        chunks = []
        for piece in pieces:
            if piece["platform"] not in self.profiles or piece.get("published_at") is None:
                continue
            post = piece_post(piece)
            if post.published_at > until:
                continue
            chunks.append((post, self.series(post, self._rng("piece", post.post_id))))
            if start <= post.published_at.date() <= end:
                posts.append(post)
        frame = self.frame(chunks, start, end, until, loaded_at)
        if frame is not None:
            frames.append(frame)
        frames = [f for f in frames if len(f)]
        events = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(EVENT_COLUMNS))
        return events, [post_row(p, loaded_at) for p in posts]


def sim_post(
    post_id: str,
    platform: str,
    content_type: str,
    published_at: dt.datetime,
    text: str,
    media_type: str,
    anomaly: str | None = None,
    external: bool = True,
) -> SimPost:
    """A simulated post whose features (length, hashtags, question, CTA) come from its text."""
    feats = text_features(text)
    return SimPost(
        post_id=post_id,
        platform=platform,
        content_type=content_type,
        published_at=published_at,
        text=text,
        word_count=int(feats["word_count"] or 0),
        hashtag_count=int(feats["hashtag_count"] or 0),
        has_question=bool(feats["has_question"]),
        has_cta=bool(feats["has_cta"]),
        media_type=media_type,
        paid=content_type == "ad_copy",
        anomaly=anomaly,
        external=external,
    )


def piece_post(piece: dict[str, Any]) -> SimPost:
    """A dry-run piece of ours as a simulated post (its features from its own text)."""
    published = piece["published_at"]
    if published.tzinfo is None:
        published = published.replace(tzinfo=dt.UTC)
    return sim_post(
        piece["piece_id"],
        piece["platform"],
        piece.get("content_type") or "social_post",
        published.astimezone(dt.UTC),
        piece.get("text") or "",
        {"blog": "article", "email": "email"}.get(piece["platform"], "photo"),
        external=False,
    )


def post_row(post: SimPost, updated_at: dt.datetime) -> dict[str, Any]:
    row = {
        "piece_id": post.post_id,
        "platform": post.platform,
        "content_type": post.content_type,
        "published_at": post.published_at,
        "external": post.external,
        "is_demo": True,
        "source": SOURCE,
        "source_file": None,
        "text": post.text,
        "word_count": post.word_count,
        "hashtag_count": post.hashtag_count,
        "has_question": post.has_question,
        "has_cta": post.has_cta,
        "media_type": post.media_type,
        "paid": post.paid,
        "injected_anomaly": post.anomaly,
        "attributes": json.dumps({"simulated": True}),
        "updated_at": updated_at,
    }
    return {c: row[c] for c in POST_COLUMNS}


def _text(rng: np.random.Generator, words: int, question: bool, cta: bool, tags: int) -> str:
    parts: list[str] = []
    if question:
        parts.append(str(rng.choice(QUESTIONS)))
    body_words = 0
    target = max(3, words - (8 if question else 0) - (4 if cta else 0))
    while body_words < target:
        phrase = str(rng.choice(PHRASES))
        parts.append(phrase)
        body_words += len(phrase.split())
    text = " ".join(parts)
    tokens = text.split()
    if len(tokens) > target + (8 if question else 0):
        text = " ".join(tokens[: target + (8 if question else 0)]).rstrip(",.") + "."
    if cta:
        text += " " + str(rng.choice(CTAS))
    if tags:
        chosen = rng.choice(TAGS, size=min(tags, len(TAGS)), replace=False)
        text += "\n\n" + " ".join(str(t) for t in chosen)
    return text


# ------------------------------------------------------------------------------- when it runs, clearing

# (moved to simulation_mode.py; imported here for the simulator's callers)


# what `splants engagement simulate --clear` deletes: (database-qualified table, condition)
DEMO_TABLES: tuple[tuple[str, str], ...] = (
    ("events.engagement_events", "coalesce(is_demo, false) OR source = 'simulator'"),
    ("engagement_posts", "coalesce(is_demo, false) OR source = 'simulator'"),
    ("engagement_metrics", "coalesce(is_demo, false)"),
    ("anomalies", "coalesce(is_demo, false)"),
    ("engagement_highlights", "coalesce(is_demo, false)"),
    ("ml_training_set", "coalesce(is_demo, false)"),
    ("ml_predictions", "coalesce(is_demo, false)"),
)


def clear_demo(conn: Any) -> dict[str, int]:
    """Delete every simulated row and what was derived from it (one transaction per database: the raw
    events live in the bulk database). ``conn``: a warehouse write session. Returns rows deleted per table."""
    deleted: dict[str, int] = {}
    for table, where in DEMO_TABLES:
        (n,) = conn.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()
        if n:
            conn.execute("BEGIN TRANSACTION")
            try:
                conn.execute(f"DELETE FROM {table} WHERE {where}")
                conn.execute("COMMIT")
            except Exception:
                conn.execute("ROLLBACK")
                raise
        deleted[table.rpartition(".")[2]] = int(n)
    return deleted
