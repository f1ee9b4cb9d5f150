"""The review queue against a real WordPress on loopback (skipped unless one is configured).

Start one with ``splants_dagster_tests/publishing/real_wordpress/start.sh`` (Debian packages ``wordpress``,
``php-cli``, ``php-mysql``, ``mariadb-server``; its own MariaDB and ``php -S`` on 127.0.0.1 only), then::

    SPLANTS_TEST_WORDPRESS_URL=http://127.0.0.1:8089 SPLANTS_TEST_WORDPRESS_USERNAME=splants \\
    SPLANTS_TEST_WORDPRESS_APP_PASSWORD="$(cat /tmp/splants_wp/app_password.txt)" \\
    .venv/bin/python -m pytest splants_dagster_tests/publishing/test_real_wordpress.py -q
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from splants_dagster.cli import app
from splants_dagster.publishing.config import build_publishers
from splants_dagster.publishing.review import ReviewPolicy
from splants_dagster.publishing.runner import publish_due
from splants_dagster_tests.publishing.seeding import piece, publications, seed, settings

URL = os.environ.get("SPLANTS_TEST_WORDPRESS_URL", "")
USER = os.environ.get("SPLANTS_TEST_WORDPRESS_USERNAME", "")
PASSWORD = os.environ.get("SPLANTS_TEST_WORDPRESS_APP_PASSWORD", "")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (URL and USER and PASSWORD) or urlsplit(URL).hostname != "127.0.0.1",
        reason="no real WordPress on 127.0.0.1 configured (SPLANTS_TEST_WORDPRESS_URL/_USERNAME/_APP_PASSWORD)",
    ),
]


class Creds:
    url, username, app_password = URL, USER, PASSWORD


def posts_with(marker: str) -> list[dict]:
    """Every post (any status) whose title carries this test's marker."""
    reply = httpx.get(
        f"{URL}/wp-json/wp/v2/posts",
        params={
            "search": marker,
            "status": "publish,future,draft,pending,private",
            "context": "edit",
            "per_page": 100,
        },
        auth=(USER, PASSWORD),
        timeout=30,
    )
    reply.raise_for_status()
    return [p for p in reply.json() if marker in p["title"]["raw"]]


def run(store, s):
    pset = build_publishers(s)
    try:
        return publish_due(store, pset, force_now=True)
    finally:
        pset.close()


def test_real_wordpress_gets_nothing_before_approval_then_one_draft_per_blog_piece(store, data_dir):
    marker = f"splants-{uuid.uuid4().hex[:8]}"
    campaign = f"real-wp-{marker}"
    blog1 = piece("blog", 1, is_pillar=True, title=f"Compostable pods guide {marker}")
    blog2 = piece("blog", 2, title=f"Home compost basics {marker}")
    variant = piece("blog", 1, variant_of=None, qa=None, title=f"Compostable pods, the short guide {marker}")
    for p in (blog1, blog2, variant):
        p["piece_id"] = p["piece_id"].replace("pods-test", campaign)
    variant["piece_id"] += "~v1"
    variant["variant_of"] = blog1["piece_id"]
    ids = seed(store, [blog1, blog2, variant], campaign_id=campaign)
    s = settings(data_dir, wp=Creds, review=ReviewPolicy())  # every channel waits for a person

    report = run(store, s)
    assert report.counts == {"held": 3}
    assert posts_with(marker) == []  # configured, no approvals: nothing sent

    approved = CliRunner().invoke(
        app, ["review", "approve", "--campaign", campaign, "--all", "--by", "maria"]
    )
    assert approved.exit_code == 0 and "3 approved" in approved.output, approved.output
    report = run(store, s)
    assert report.counts == {"published": 2, "held": 1}
    posts = posts_with(marker)
    assert sorted(p["title"]["raw"] for p in posts) == sorted([blog1["title"], blog2["title"]])
    assert {p["status"] for p in posts} == {"draft"}  # drafts by default

    again = run(store, s)  # a rerun adds nothing
    assert again.counts == {"held": 1}
    assert sorted(p["id"] for p in posts_with(marker)) == sorted(p["id"] for p in posts)
    rows = publications(store)
    assert rows[ids[2]]["status"] == "held" and "variant" in rows[ids[2]]["held_reason"]
    assert {rows[i]["remote_id"] for i in ids[:2]} == {str(p["id"]) for p in posts}
