"""Engagement history written straight into the warehouse tables the predictor reads: external posts
(``engagement_posts``) with one lifetime row each in ``engagement_metrics``. With ``signal`` the
engagement rate is 1.8x higher for posts that ask a question; without it the rate is pure noise."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from splants_dagster.warehouse.store import Warehouse

PLATFORMS = ("twitter", "linkedin", "instagram", "facebook", "blog", "email")
BASE_RATE = {
    "twitter": 0.03,
    "linkedin": 0.05,
    "instagram": 0.06,
    "facebook": 0.04,
    "blog": 0.05,
    "email": 0.3,
}
ASKING = "Have you tried our compostable pods yet? Which blend would you brew first?"
TELLING = "Our compostable pods are available in three new blends from today."
FIXED_END = dt.datetime(2025, 6, 2, 18, 0, tzinfo=dt.UTC)


def history_frames(
    n: int,
    signal: bool = True,
    seed: int = 11,
    end: dt.datetime | None = None,
    days: int = 120,
    platforms: tuple[str, ...] = PLATFORMS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(engagement_posts rows, engagement_metrics rows) for ``n`` posts published over ``days`` days
    ending ``end`` (default: a fixed past date, so every outcome is final and every run sees the same
    weekdays and hours)."""
    rng = np.random.default_rng(seed)
    end = end or FIXED_END
    offsets = np.sort(rng.uniform(0, days * 86400, size=n))
    published = [end - dt.timedelta(seconds=float(days * 86400 - s)) for s in offsets]
    chosen = rng.choice(platforms, size=n)
    asks = rng.random(n) < 0.4
    posts, metrics = [], []
    for i in range(n):
        platform = str(chosen[i])
        effect = (1.8 if asks[i] else 1.0) if signal else 1.0
        rate = min(0.9, BASE_RATE[platform] * effect * rng.lognormal(0, 0.15 if signal else 0.35))
        impressions = 2000
        engagements = round(rate * impressions)
        pid = f"{platform}:hist-{seed}-{i:04d}"
        posts.append(
            {
                "piece_id": pid,
                "platform": platform,
                "content_type": "social_post",
                "published_at": published[i],
                "external": True,
                "is_demo": False,
                "source": "file:generic",
                "text": ASKING if asks[i] else TELLING,
                "paid": False,
            }
        )
        metrics.append(
            {
                "date": published[i].date(),
                "piece_id": pid,
                "platform": platform,
                "content_type": "social_post",
                "published_at": published[i],
                "external": True,
                "is_demo": False,
                "impressions": impressions,
                "engagements": engagements,
                "engagement_rate": engagements / impressions,
            }
        )
    return pd.DataFrame(posts), pd.DataFrame(metrics)


def seed_history(
    store: Warehouse, n: int, signal: bool = True, seed: int = 11, replace: bool = True, **kw
) -> None:
    """Replace (or with ``replace=False`` extend) the engagement history with ``n`` synthetic posts."""
    posts, metrics = history_frames(n, signal, seed, **kw)
    with store.write() as conn:
        if replace:
            conn.execute("DELETE FROM engagement_posts")
            conn.execute("DELETE FROM engagement_metrics")
        for table, frame in (("engagement_posts", posts), ("engagement_metrics", metrics)):
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(frame.columns)}) VALUES ({', '.join('?' * len(frame.columns))})",
                frame.itertuples(index=False, name=None),
            )
