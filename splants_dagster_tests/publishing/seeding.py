"""Seeding the warehouse with approved, scheduled pieces, and pointing publishers at the fakes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from splants_dagster.publishing.config import PublishingSettings
from splants_dagster.publishing.review import ReviewPolicy
from splants_dagster.warehouse.store import Warehouse

CAMPAIGN = "pods-test"
KEYWORDS = ["compostable coffee pods", "home compostable", "specialty coffee"]
PAST = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)

LONG_X = (
    "Compostable coffee pods are finally good enough for specialty coffee. We tested twelve of them at home over "
    "three weeks, brewing every morning before work. The best ones broke down in a garden heap within months. "
    "The worst ones still looked new after a season. Here is what we learned about labels, certifications and "
    "taste, and why the pod machine you already own is probably fine. #HearthAndBean #SpecialtyCoffee"
)


def piece(platform: str, n: int, **extra: Any) -> dict[str, Any]:
    content_type = {"blog": "blog", "email": "email"}.get(platform, "social_post")
    title = extra.pop("title", f"{platform.title()} piece {n} about compostable coffee pods")
    body = extra.pop(
        "body", f"{title}. Hearth & Bean explains home compostable pods, number {n}. #HearthAndBean"
    )
    if platform == "blog":
        body = f"Intro paragraph {n} on compostable coffee pods.\n\n## Why it matters\n\nHome compostable pods, part {n}."
    return {
        "piece_id": f"{CAMPAIGN}:{platform}:{content_type}:{n}",
        "platform": platform,
        "content_type": content_type,
        "title": title,
        "body": body,
        "rendered": extra.pop("rendered", body),
        "is_pillar": extra.pop("is_pillar", False),
        "seo_title": extra.pop("seo_title", title[:60] if platform == "blog" else None),
        "meta_description": extra.pop(
            "meta_description", f"What to know about compostable pods ({n})." if platform == "blog" else None
        ),
        "subject": extra.pop("subject", f"Your pod guide {n}" if platform == "email" else None),
        "preheader": extra.pop(
            "preheader", "Practical tips on compostable coffee pods" if platform == "email" else None
        ),
        "hashtags": extra.pop("hashtags", []),
        "variant_of": extra.pop("variant_of", None),
        "qa": extra.pop("qa", "approved"),
        "publish_at": extra.pop("publish_at", None),
        **extra,
    }


def seed(
    store: Warehouse, pieces: list[dict[str, Any]], campaign_id: str = CAMPAIGN, start: dt.datetime = PAST
) -> list[str]:
    """Write campaign, content, QA decisions and schedule rows: ``pieces`` are due in list order."""
    now = dt.datetime.now(dt.UTC)
    with store.write() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO campaigns (campaign_id, topic, keywords, start_date, duration_days, brief_json, status)"
            " VALUES (?, 'Compostable pods', ?, ?, 21, ?, 'scheduled')",
            [campaign_id, KEYWORDS, start.date(), json.dumps({"link": "https://hearthandbean.example/pods"})],
        )
        for i, p in enumerate(pieces):
            publish_at = p["publish_at"] or start + dt.timedelta(minutes=10 * i)
            conn.execute(
                "INSERT OR REPLACE INTO content_pieces (piece_id, campaign_id, platform, content_type, is_pillar, title, body,"
                " rendered, seo_title, meta_description, subject, preheader, hashtags, variant_of, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    p["piece_id"],
                    campaign_id,
                    p["platform"],
                    p["content_type"],
                    p["is_pillar"],
                    p["title"],
                    p["body"],
                    p["rendered"],
                    p["seo_title"],
                    p["meta_description"],
                    p["subject"],
                    p["preheader"],
                    p["hashtags"],
                    p["variant_of"],
                    now,
                ],
            )
            if p["qa"]:
                conn.execute(
                    "INSERT OR REPLACE INTO qa_status (piece_id, campaign_id, qa_score, status) VALUES (?, ?, 0.9, ?)",
                    [p["piece_id"], campaign_id, p["qa"]],
                )
            conn.execute("DELETE FROM schedule WHERE piece_id = ?", [p["piece_id"]])
            conn.execute(
                "INSERT INTO schedule (piece_id, campaign_id, platform, content_type, publish_at, slot_source, slot_score,"
                " created_at) VALUES (?, ?, ?, ?, ?, 'prior', 0.5, ?)",
                [p["piece_id"], campaign_id, p["platform"], p["content_type"], publish_at, now],
            )
    return [p["piece_id"] for p in pieces]


def publications(store: Warehouse) -> dict[str, dict[str, Any]]:
    return {r["piece_id"]: r for r in store.query("SELECT * FROM publications ORDER BY piece_id")}


def settings(
    data_dir: Path, *, wp=None, x=None, li=None, mc=None, hs=None, hooks=None, **overrides: Any
) -> PublishingSettings:
    values: dict[str, Any] = {
        "outbox_dir": data_dir / "outbox",
        "timezone": "Europe/London",
        "timeout_s": 5.0,
        "retry_base_s": 60.0,
        "webhook_backoff_s": 0.01,
        # the publishing mechanics tests: every channel auto (the review queue has its own tests,
        # test_review.py, and the kill test runs with the queue in the path)
        "review": ReviewPolicy.all_auto(),
    }
    if wp is not None:
        values.update(
            wordpress_url=wp.url, wordpress_username=wp.username, wordpress_app_password=wp.app_password
        )
    if x is not None:
        values.update(x_access_token=x.token, x_api_base_url=x.url)
    if li is not None:
        values.update(
            linkedin_access_token=li.token,
            linkedin_author_urn="urn:li:organization:5515715",
            linkedin_version="202510",
            linkedin_api_base_url=li.url,
        )
    if mc is not None:
        values.update(
            mailchimp_api_key=mc.api_key,
            mailchimp_server_prefix="us21",
            mailchimp_list_id=mc.list_id,
            mailchimp_api_base_url=mc.url,
            mailchimp_segment_id="4242",  # a saved segment: a whole-list send needs an explicit setting
        )
    if hs is not None:
        values.update(hubspot_access_token=hs.token, hubspot_api_base_url=hs.url, hubspot_blog_id="123456789")
    if hooks is not None:
        values.update(
            webhook_urls=f"{hooks.url}/hooks/splants?token=path-secret-991", webhook_secret=hooks.secret
        )
    values.update(overrides)
    return PublishingSettings(**values)


def env(data_dir: Path, *, wp=None, x=None, li=None, mc=None, hooks=None) -> dict[str, str]:
    """The env vars a real deployment would set, pointing at the fakes."""
    out = {"SPLANTS_DATA_DIR": str(data_dir)}
    if wp is not None:
        out.update(
            WORDPRESS_URL=wp.url, WORDPRESS_USERNAME=wp.username, WORDPRESS_APP_PASSWORD=wp.app_password
        )
    if x is not None:
        out.update(X_ACCESS_TOKEN=x.token, X_API_BASE_URL=x.url)
    if li is not None:
        out.update(
            LINKEDIN_ACCESS_TOKEN=li.token,
            LINKEDIN_AUTHOR_URN="urn:li:person:AbC123xyz",
            LINKEDIN_VERSION="202510",
            LINKEDIN_API_BASE_URL=li.url,
        )
    if mc is not None:
        out.update(
            MAILCHIMP_API_KEY=mc.api_key,
            MAILCHIMP_SERVER_PREFIX="us21",
            MAILCHIMP_LIST_ID=mc.list_id,
            MAILCHIMP_API_BASE_URL=mc.url,
            MAILCHIMP_SEGMENT_ID="4242",
        )
    if hooks is not None:
        out.update(
            SPLANTS_WEBHOOK_URLS=f"{hooks.url}/hooks/splants?token=path-secret-991",
            SPLANTS_WEBHOOK_SECRET=hooks.secret,
        )
    return out


ALL_ENV = (
    "WORDPRESS_URL",
    "WORDPRESS_USERNAME",
    "WORDPRESS_APP_PASSWORD",
    "WORDPRESS_STATUS",
    "WORDPRESS_POST_STATUS",
    "SPLANTS_ALLOW_TEMPLATE_CONTENT",
    "WORDPRESS_CATEGORY",
    "X_ACCESS_TOKEN",
    "X_API_BASE_URL",
    "LINKEDIN_ACCESS_TOKEN",
    "LINKEDIN_AUTHOR_URN",
    "LINKEDIN_VERSION",
    "LINKEDIN_API_BASE_URL",
    "MAILCHIMP_API_KEY",
    "MAILCHIMP_SERVER_PREFIX",
    "MAILCHIMP_LIST_ID",
    "MAILCHIMP_API_BASE_URL",
    "MAILCHIMP_ACTION",
    "MAILCHIMP_FROM_NAME",
    "MAILCHIMP_REPLY_TO",
    "MAILCHIMP_SEGMENT_ID",
    "MAILCHIMP_TAG",
    "MAILCHIMP_SEND_TO_WHOLE_LIST",
    "MAILCHIMP_AB_TEST_SIZE",
    "MAILCHIMP_AB_WAIT_MINUTES",
    "MAILCHIMP_AB_WINNER",
    "HUBSPOT_ACCESS_TOKEN",
    "HUBSPOT_API_BASE_URL",
    "HUBSPOT_BLOG_ID",
    "HUBSPOT_BLOG_ACTION",
    "HUBSPOT_EMAIL_ACTION",
    "SPLANTS_WEBHOOK_URLS",
    "SPLANTS_WEBHOOK_SECRET",
    "SPLANTS_BLOG_PUBLISHER",
    "SPLANTS_EMAIL_PUBLISHER",
)


def files_containing(root: Path, needles: list[str]) -> list[str]:
    """Every file under ``root`` whose bytes contain one of ``needles``."""
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{path}: {n}" for n in needles if n.encode() in data]
    return hits
