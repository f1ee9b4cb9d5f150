"""``splants desk`` decides which channels go to the outbox without loading Dagster (the desk stays a small
process); the decision must be the one the publishing resource makes from the same environment."""

from __future__ import annotations

import dagster as dg
import pytest

from splants_dagster.cli.desk import outbox_channels
from splants_dagster.definitions import build_all_resources
from splants_dagster.platforms import PLATFORMS

CREDENTIALS = {
    "WORDPRESS_URL": "https://blog.example.test",
    "WORDPRESS_USERNAME": "editor",
    "WORDPRESS_APP_PASSWORD": "wp-secret",
    "X_ACCESS_TOKEN": "x-secret",
    "LINKEDIN_ACCESS_TOKEN": "li-secret",
    "LINKEDIN_AUTHOR_URN": "urn:li:person:1",
    "MAILCHIMP_API_KEY": "mc-secret-us21",
    "MAILCHIMP_SERVER_PREFIX": "us21",
    "MAILCHIMP_LIST_ID": "list1",
    "HUBSPOT_ACCESS_TOKEN": "hs-secret",
    "HUBSPOT_BLOG_ID": "42",
}


def resource_outbox(data_dir) -> set[str]:
    publishing = build_all_resources(data_dir, domains=["publishing"])["publishing"]
    with dg.build_resources({"publishing": publishing}) as built:
        pset = built.publishing.publishers("UTC")
        try:
            return {p for p in PLATFORMS if pset.for_platform(p)[1] is not None}
        finally:
            pset.close()


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"X_ACCESS_TOKEN": "x-secret", "LINKEDIN_ACCESS_TOKEN": "li-secret"},  # LinkedIn lacks its author
        CREDENTIALS,
        {**CREDENTIALS, "SPLANTS_BLOG_PUBLISHER": "outbox", "SPLANTS_EMAIL_PUBLISHER": "hubspot"},
        {"HUBSPOT_ACCESS_TOKEN": "hs-secret", "HUBSPOT_BLOG_ID": "  "},  # blank counts as unset
    ],
    ids=["nothing", "partial", "everything", "choices", "hubspot"],
)
def test_desk_outbox_matches_the_publishing_resource(env, data_dir, monkeypatch):
    for name in [*CREDENTIALS, "SPLANTS_BLOG_PUBLISHER", "SPLANTS_EMAIL_PUBLISHER"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert outbox_channels("UTC") == resource_outbox(data_dir)
    if not env:
        assert outbox_channels("UTC") == set(PLATFORMS)
