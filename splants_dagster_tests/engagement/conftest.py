"""Engagement test fixtures: a clean environment (no real credentials or webhooks), and a warehouse seeded
with the demo campaign, a few pieces of ours (one with A/B variants) and their publications."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from splants_dagster.campaigns.briefs import campaign_row, load_brief
from splants_dagster.paths import PROJECT_ROOT
from splants_dagster.warehouse.store import Warehouse, replace_rows

FACEBOOK_EXPORT = PROJECT_ROOT / "data" / "facebook_metrics" / "dataset_Facebook.csv"
CAMPAIGN = "compostable-pods-launch"
TWEET = f"{CAMPAIGN}:twitter:social_post"
LINKEDIN = f"{CAMPAIGN}:linkedin:social_post"
BLOG = f"{CAMPAIGN}:blog:blog"
EMAIL = f"{CAMPAIGN}:email:email"
VARIANT_A = f"{TWEET}:v1"
VARIANT_B = f"{TWEET}:v2"

ENV_PREFIXES = ("X_", "LINKEDIN_", "WORDPRESS_", "MAILCHIMP_", "HUBSPOT_", "SPLANTS_ENGAGEMENT_")
ENV_NAMES = ("SPLANTS_ALERT_WEBHOOK_URL", "SLACK_WEBHOOK_URL")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES) or name in ENV_NAMES:
            monkeypatch.delenv(name, raising=False)


def raw_query(store: Warehouse, sql: str, params: list | None = None) -> list[dict]:
    """Rows from the live warehouse with the bulk databases attached (raw events are not in the snapshot)."""
    with store.read_bulk() as conn:
        cur = conn.execute(sql, params or [])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def facebook_export() -> Path:
    if not FACEBOOK_EXPORT.exists():
        pytest.skip(f"the real Facebook export is not at {FACEBOOK_EXPORT}")
    return FACEBOOK_EXPORT


def piece(
    piece_id: str,
    platform: str,
    content_type: str,
    text: str,
    variant_of: str | None = None,
    dimension: str | None = None,
) -> dict:
    return {
        "piece_id": piece_id,
        "campaign_id": CAMPAIGN,
        "platform": platform,
        "content_type": content_type,
        "is_pillar": platform == "blog",
        "title": "Compostable pods that really compost at home",
        "body": text,
        "rendered": text,
        "cta": "Pre-order the starter pack",
        "hashtags": ["#HearthAndBean", "#SpecialtyCoffee"],
        "word_count": len(text.split()),
        "char_count": len(text),
        "variant_of": variant_of,
        "variant_dimension": dimension,
        "created_at": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    }


def seed_campaign(store: Warehouse, data_dir: Path, publications: list[dict] | None = None) -> None:
    """The demo brief registered, four pieces plus two variants of the tweet, and ``publications``."""
    path = data_dir / "campaigns" / f"{CAMPAIGN}.yaml"
    brief, sha = load_brief(path)
    now = dt.datetime.now(dt.UTC)
    tweet = "Our pods compost in your garden bin. What would you brew first? Pre-order the starter pack."
    pieces = [
        piece(TWEET, "twitter", "social_post", tweet),
        piece(
            LINKEDIN,
            "linkedin",
            "social_post",
            "We spent a year testing compostable coffee pods at home. " * 4,
        ),
        piece(BLOG, "blog", "blog", "Home compostable pods explained. " * 120),
        piece(EMAIL, "email", "email", "Dear coffee lover, the starter pack is here. " * 20),
        piece(VARIANT_A, "twitter", "social_post", "Question first: " + tweet, TWEET, "hook"),
        piece(VARIANT_B, "twitter", "social_post", tweet + " #compost", TWEET, "hashtags"),
    ]
    with store.write() as conn:
        row = campaign_row(brief, path, sha, now, status="content_ready")
        replace_rows(conn, "campaigns", "campaign_id = ?", [CAMPAIGN], [row])
        replace_rows(conn, "content_pieces", "campaign_id = ?", [CAMPAIGN], pieces)
        if publications:
            replace_rows(conn, "publications", "campaign_id = ?", [CAMPAIGN], publications)


def publication(
    piece_id: str,
    platform: str,
    publisher: str,
    remote_id: str | None,
    published_at: dt.datetime,
    status: str = "published",
) -> dict:
    return {
        "piece_id": piece_id,
        "platform": platform,
        "campaign_id": CAMPAIGN,
        "idempotency_key": f"{piece_id}|{platform}",
        "status": status,
        "publisher": publisher,
        "remote_id": remote_id,
        "url": None,
        "attempts": 1,
        "published_at": published_at,
        "updated_at": published_at,
    }
