"""Synthetic histories whose true signal is known, for tests of the predictor."""

from __future__ import annotations

import numpy as np
import pandas as pd

TYPE_EFFECT = {"photo": 1.0, "video": 2.5, "status": 1.8, "link": 0.5}
HOOKS = ["Big news today", "A quick tip for you", "Behind the scenes", "Meet the team"]


def history(n: int = 500, seed: int = 7, with_text: bool = False, newest_first: bool = False) -> pd.DataFrame:
    """Posts whose count outcome = audience (growing 3x over the period) x type x evening x paid
    (x giveaway text) x lognormal noise. Every input is known before publishing."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    audience = 1000 * np.exp(np.log(3) * t / n)
    types = rng.choice(list(TYPE_EFFECT), size=n, p=[0.55, 0.15, 0.15, 0.15])
    hours = rng.integers(6, 23, size=n)
    paid = rng.random(n) < 0.25
    giveaway = rng.random(n) < 0.3
    effect = np.array([TYPE_EFFECT[x] for x in types]) * np.where((hours >= 18) & (hours <= 21), 1.5, 1.0)
    effect *= np.where(paid, 1.6, 1.0)
    if with_text:
        effect *= np.where(giveaway, 2.0, 1.0)
    y = np.round(0.1 * audience * effect * rng.lognormal(0, 0.3, size=n)).astype(int)
    df = pd.DataFrame(
        {
            "published": pd.date_range("2024-01-01 09:00", periods=n, freq="D").strftime("%Y-%m-%d %H:%M"),
            "followers": np.round(audience).astype(int),
            "type": types,
            "hour": hours,
            "paid": paid.astype(int),
            "consumers": y,
            "likes": np.round(y * 0.3).astype(int),  # post-publication: must never be an input
        }
    )
    if with_text:
        df["text"] = [
            f"{HOOKS[i % len(HOOKS)]}: "
            + ("Enter our giveaway and win a gift box!" if g else "New colours are in.")
            for i, g in enumerate(giveaway)
        ]
    return df.iloc[::-1].reset_index(drop=True) if newest_first else df


def pieces_and_metrics(n: int = 240, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Content rows and daily engagement_metrics rows for ``n`` published pieces on two platforms; the
    engagement rate doubles for posts asking a question and drifts upward with the audience."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-01-01 08:00", tz="UTC")
    published = [start + pd.Timedelta(hours=int(h)) for h in np.sort(rng.integers(0, 24 * 200, size=n))]
    platforms = rng.choice(["facebook", "linkedin"], size=n)
    question = rng.random(n) < 0.4
    pieces, metrics = [], []
    for i in range(n):
        base = (0.02 if platforms[i] == "facebook" else 0.04) * (1 + i / n)
        rate = base * (2.0 if question[i] else 1.0) * rng.lognormal(0, 0.2)
        body = (
            "Have you tried our compostable pods yet? Tell us what you think."
            if question[i]
            else "Our compostable pods are available in three new blends."
        )
        pid = f"camp-{i // 20}:{platforms[i]}:social_post:{i}"
        pieces.append(
            {
                "piece_id": pid,
                "campaign_id": f"camp-{i // 20}",
                "platform": platforms[i],
                "content_type": "social_post",
                "tone": "friendly",
                "paid": False,
                "variant_dimension": None,
                "rendered": body,
                "keywords": ["compostable pods"],
                "published_at": published[i],
                "impressions": 999,  # a post-publication column that must be ignored
            }
        )
        for day in range(2):
            impressions = 1000
            metrics.append(
                {
                    "date": (published[i] + pd.Timedelta(days=day)).date(),
                    "piece_id": pid,
                    "platform": platforms[i],
                    "published_at": published[i],
                    "external": False,
                    "impressions": impressions,
                    "engagements": round(rate * impressions),
                    "engagement_rate": round(rate * impressions) / impressions,
                }
            )
    return pd.DataFrame(pieces), pd.DataFrame(metrics)


def sparse_text_history(n: int = 400, seed: int = 11) -> pd.DataFrame:
    """Posts whose text is mostly filler words, with a few words that raise (``w0``–``w11``) or lower
    (``w12``–``w23``) the outcome by a factor of e^0.35 each: the signal sits in a handful of the
    thousands of TF-IDF columns. Audience drifts slowly; type matters too."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(400)]
    good, bad = vocab[:12], vocab[12:24]
    types = rng.choice(["photo", "link", "video", "status"], n, p=[0.6, 0.2, 0.1, 0.1])
    type_effect = np.array([{"photo": 0.0, "link": -0.3, "video": 0.4, "status": 0.6}[t] for t in types])
    level = 6 + np.cumsum(rng.normal(0, 0.05, n))
    texts, text_effect = [], []
    for _ in range(n):
        words = list(rng.choice(vocab[24:], rng.integers(12, 40)))
        effect = 0.0
        for _ in range(rng.integers(0, 3)):
            if rng.random() < 0.5:
                words.append(str(rng.choice(good)))
                effect += 0.35
            else:
                words.append(str(rng.choice(bad)))
                effect -= 0.35
        rng.shuffle(words)
        texts.append(" ".join(words))
        text_effect.append(effect)
    log_y = level + type_effect + np.array(text_effect) + rng.normal(0, 0.6, n)
    return pd.DataFrame(
        {
            "type": types,
            "text": texts,
            "hour": rng.integers(0, 24, n),
            "likes": np.round(np.exp(log_y)).astype(int),
        }
    )
