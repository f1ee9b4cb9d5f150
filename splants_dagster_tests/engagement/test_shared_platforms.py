"""Publishing and engagement share one resource per platform: the variables set once, the same resource
instance posts a piece and reads its numbers back, through the same client (same token, same API)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import dagster as dg
from typer.testing import CliRunner

from splants_dagster.cli import app
from splants_dagster.definitions import build_all_resources
from splants_dagster.defs.engagement.assets import engagement_events
from splants_dagster.defs.engagement.windows import range_tags
from splants_dagster.defs.publishing.assets import publications
from splants_dagster_tests.publishing.fakes import FakeX
from splants_dagster_tests.publishing.seeding import CAMPAIGN, env, piece, seed
from splants_dagster_tests.publishing.seeding import publications as pubs

from .conftest import raw_query


def test_one_x_resource_publishes_and_measures(instance, store, data_dir, monkeypatch):
    (tweet,) = seed(store, [piece("twitter", 1)])
    with FakeX() as x:
        for key, value in env(data_dir, x=x).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("SPLANTS_ENGAGEMENT_SIMULATOR", "0")
        approved = CliRunner().invoke(
            app, ["review", "approve", "--campaign", CAMPAIGN, "--all", "--by", "ana"]
        )
        assert approved.exit_code == 0, approved.output
        resources = build_all_resources(data_dir)
        # declared once: the registered platform resource is the one both capabilities hold
        assert resources["publishing"].x is resources["x"] is resources["engagement_sources"].x
        published = dg.materialize([publications], resources=resources, instance=instance)
        assert published.success
        today = dt.datetime.now(dt.UTC).date()
        measured = dg.materialize(
            [engagement_events], resources=resources, instance=instance, tags=range_tags(today, today)
        )
        assert measured.success
    remote_id = pubs(store)[tweet]["remote_id"]
    assert remote_id in x.tweets
    (row,) = raw_query(store, "SELECT * FROM events.engagement_events WHERE piece_id = ?", [tweet])
    assert row["source"] == "api:x" and row["impressions"] == 1500 and row["likes"] == 40
    post, read = x.requests  # one POST to publish, one GET to read back: the same API, the same token
    assert (post.method, urlsplit(post.path).path) == ("POST", "/2/tweets")
    assert (read.method, urlsplit(read.path).path) == ("GET", "/2/tweets")
    assert parse_qs(urlsplit(read.path).query)["ids"] == [remote_id]
    assert post.headers["authorization"] == read.headers["authorization"] == f"Bearer {x.token}"
    assert post.headers["user-agent"] == read.headers["user-agent"]
