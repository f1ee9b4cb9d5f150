"""The platforms this system publishes to and measures, each declared once: one ``<Platform>Resource``
with its credentials, shared by the ``publishing`` resource (which posts) and the ``engagement_sources``
resource (which reads the numbers back), and registered under its own key (``wordpress``, ``x``,
``linkedin``, ``mailchimp``, ``hubspot``, ``webhooks``) so the UI shows what is configured.

Every credential is a ``dg.EnvVar``, resolved by Dagster when a run (or ``splants publish``) starts, so
values never appear in definitions, the UI, logs or the warehouse. A variable that is not set at all is
left unconfigured (an ``EnvVar`` of an unset variable would make every run fail): that platform's posts go
to the outbox and its engagement pulls are skipped, each saying so. Each resource's ``account()`` gives
the platform's account (``splants_dagster/http/accounts.py``), whose ``api()`` is the one HTTP client used
for both. Variable names: docs/publishing.md and docs/engagement.md.
"""

import os
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import dagster as dg
from pydantic import Field

from splants_dagster.http.accounts import (
    HUBSPOT_BASE_URL,
    LINKEDIN_BASE_URL,
    LINKEDIN_VERSION,
    WORDPRESS_STATS_BASE_URL,
    X_BASE_URL,
    HubSpotAccount,
    LinkedInAccount,
    MailchimpAccount,
    WordPressSite,
    WordPressStats,
    XAccount,
)


def env(name: str) -> dg.EnvVar | None:
    """``dg.EnvVar(name)`` when the variable is set (its value is read at run time), else None."""
    return dg.EnvVar(name) if os.environ.get(name, "").strip() else None


def env_or(name: str, default: str) -> str:
    return dg.EnvVar(name) if os.environ.get(name, "").strip() else default


def value(raw: str | None) -> str | None:
    """A field's value, stripped; None when blank. Outside a run (CLI, tests) an ``EnvVar`` field is
    still the variable's name: it is read here."""
    if isinstance(raw, dg.EnvVar):
        raw = raw.get_value()
    return raw.strip() if isinstance(raw, str) and raw.strip() else None


class WordPressResource(dg.ConfigurableResource):
    """A WordPress site (posts, comment counts) and, optionally, its WordPress.com/Jetpack stats."""

    url: str | None = Field(
        default=None, description="site URL (WORDPRESS_URL); the REST API is at /wp-json/wp/v2"
    )
    username: str | None = Field(default=None, description="WORDPRESS_USERNAME")
    app_password: str | None = Field(
        default=None, description="application password (WORDPRESS_APP_PASSWORD)"
    )
    status: str = Field(
        default="draft",
        description="draft | publish | future: future schedules the post at its slot (WORDPRESS_POST_STATUS)",
    )
    category: str | None = Field(default=None, description="category name; default: the primary keyword")
    stats_site: str | None = Field(
        default=None, description="WordPress.com/Jetpack site id or domain (WORDPRESS_STATS_SITE)"
    )
    stats_token: str | None = Field(
        default=None, description="WordPress.com OAuth token (WORDPRESS_STATS_TOKEN)"
    )
    stats_api_base_url: str | None = Field(default=None, description="WORDPRESS_STATS_API_BASE_URL")

    def account(self) -> WordPressSite | None:
        url = value(self.url)
        if not url:
            return None
        return WordPressSite(url, value(self.username), value(self.app_password))

    def stats_account(self) -> WordPressStats | None:
        site, token = value(self.stats_site), value(self.stats_token)
        if not (site and token):
            return None
        return WordPressStats(site, token, value(self.stats_api_base_url) or WORDPRESS_STATS_BASE_URL)


class XResource(dg.ConfigurableResource):
    access_token: str | None = Field(
        default=None, description="OAuth 2.0 user-context token (X_ACCESS_TOKEN)"
    )
    api_base_url: str | None = Field(default=None, description="X_API_BASE_URL (default https://api.x.com)")

    def account(self) -> XAccount | None:
        token = value(self.access_token)
        return XAccount(token, value(self.api_base_url) or X_BASE_URL) if token else None


class LinkedInResource(dg.ConfigurableResource):
    access_token: str | None = Field(default=None, description="LINKEDIN_ACCESS_TOKEN")
    author_urn: str | None = Field(
        default=None, description="urn:li:person:... or urn:li:organization:... (LINKEDIN_AUTHOR_URN)"
    )
    organization_urn: str | None = Field(
        default=None,
        description="urn:li:organization:... for impressions/clicks (LINKEDIN_ORGANIZATION_URN, else "
        "LINKEDIN_AUTHOR_URN when it is an organization)",
    )
    version: str | None = Field(
        default=None, description="LinkedIn-Version header, YYYYMM (LINKEDIN_VERSION)"
    )
    api_base_url: str | None = Field(
        default=None, description="LINKEDIN_API_BASE_URL (default https://api.linkedin.com)"
    )

    def account(self) -> LinkedInAccount | None:
        token = value(self.access_token)
        if not token:
            return None
        return LinkedInAccount(
            token,
            value(self.version) or LINKEDIN_VERSION,
            value(self.api_base_url) or LINKEDIN_BASE_URL,
            author_urn=value(self.author_urn),
            organization_urn=value(self.organization_urn),
        )


class MailchimpResource(dg.ConfigurableResource):
    api_key: str | None = Field(default=None, description="MAILCHIMP_API_KEY")
    server_prefix: str | None = Field(
        default=None, description="data centre, e.g. us21 (MAILCHIMP_SERVER_PREFIX)"
    )
    list_id: str | None = Field(default=None, description="audience id (MAILCHIMP_LIST_ID)")
    api_base_url: str | None = Field(
        default=None, description="MAILCHIMP_API_BASE_URL (default https://<dc>.api.mailchimp.com)"
    )
    action: str = Field(default="send", description="send | schedule (MAILCHIMP_ACTION)")
    from_name: str | None = Field(default=None, description="MAILCHIMP_FROM_NAME (default: the audience's)")
    reply_to: str | None = Field(default=None, description="MAILCHIMP_REPLY_TO (default: the audience's)")
    segment_id: str | None = Field(
        default=None, description="saved segment id sends go to (MAILCHIMP_SEGMENT_ID)"
    )
    tag: str | None = Field(default=None, description="tag whose members sends go to (MAILCHIMP_TAG)")
    whole_list: str | None = Field(
        default=None, description="1 allows a send to the whole audience (MAILCHIMP_SEND_TO_WHOLE_LIST)"
    )
    ab_test_size: str = Field(
        default="20", description="% of the audience in an A/B test (MAILCHIMP_AB_TEST_SIZE)"
    )
    ab_wait_minutes: str = Field(
        default="240", description="minutes before the A/B winner is sent (MAILCHIMP_AB_WAIT_MINUTES)"
    )
    ab_winner: str = Field(
        default="opens", description="opens | clicks | manual | total_revenue (MAILCHIMP_AB_WINNER)"
    )

    def account(self) -> MailchimpAccount | None:
        key = value(self.api_key)
        if not key:
            return None
        return MailchimpAccount(key, value(self.server_prefix), value(self.api_base_url))


class HubSpotResource(dg.ConfigurableResource):
    access_token: str | None = Field(default=None, description="private app token (HUBSPOT_ACCESS_TOKEN)")
    api_base_url: str | None = Field(
        default=None, description="HUBSPOT_API_BASE_URL (default https://api.hubapi.com)"
    )
    blog_id: str | None = Field(
        default=None, description="blog (contentGroupId) for blog posts (HUBSPOT_BLOG_ID)"
    )
    blog_action: str = Field(default="draft", description="draft | publish (HUBSPOT_BLOG_ACTION)")
    email_action: str = Field(default="draft", description="draft | publish (HUBSPOT_EMAIL_ACTION)")

    def account(self) -> HubSpotAccount | None:
        token = value(self.access_token)
        return HubSpotAccount(token, value(self.api_base_url) or HUBSPOT_BASE_URL) if token else None


class WebhooksResource(dg.ConfigurableResource):
    """Outgoing signed webhooks told about publications (publishing only)."""

    urls: str | None = Field(default=None, description="comma-separated endpoints (SPLANTS_WEBHOOK_URLS)")
    secret: str | None = Field(default=None, description="HMAC-SHA256 key (SPLANTS_WEBHOOK_SECRET)")


# every variable whose presence changes what build_resources() returns (values are read at run time)
PLATFORM_ENV = (
    "WORDPRESS_URL",
    "WORDPRESS_USERNAME",
    "WORDPRESS_APP_PASSWORD",
    "WORDPRESS_POST_STATUS",
    "WORDPRESS_STATUS",
    "WORDPRESS_CATEGORY",
    "WORDPRESS_STATS_SITE",
    "WORDPRESS_STATS_TOKEN",
    "WORDPRESS_STATS_API_BASE_URL",
    "X_ACCESS_TOKEN",
    "X_API_BASE_URL",
    "LINKEDIN_ACCESS_TOKEN",
    "LINKEDIN_AUTHOR_URN",
    "LINKEDIN_ORGANIZATION_URN",
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
)


class Platforms(NamedTuple):
    """One resource per platform, under the keys they are registered with."""

    wordpress: WordPressResource
    x: XResource
    linkedin: LinkedInResource
    mailchimp: MailchimpResource
    hubspot: HubSpotResource
    webhooks: WebhooksResource


def platform_resources() -> Platforms:
    """The platform resources, built once per set of configured variables: ``publishing`` and
    ``engagement_sources`` hold these very instances, so each platform is declared and configured once."""
    return _build(frozenset(name for name in PLATFORM_ENV if os.environ.get(name, "").strip()))


@lru_cache(maxsize=8)
def _build(present: frozenset[str]) -> Platforms:
    del present  # the cache key: which variables are set (their values are EnvVars, read at run time)
    return Platforms(
        wordpress=WordPressResource(
            url=env("WORDPRESS_URL"),
            username=env("WORDPRESS_USERNAME"),
            app_password=env("WORDPRESS_APP_PASSWORD"),
            # drafts unless told otherwise; the older name WORDPRESS_STATUS still works
            status=env_or("WORDPRESS_POST_STATUS", "") or env_or("WORDPRESS_STATUS", "draft"),
            category=env("WORDPRESS_CATEGORY"),
            stats_site=env("WORDPRESS_STATS_SITE"),
            stats_token=env("WORDPRESS_STATS_TOKEN"),
            stats_api_base_url=env("WORDPRESS_STATS_API_BASE_URL"),
        ),
        x=XResource(access_token=env("X_ACCESS_TOKEN"), api_base_url=env("X_API_BASE_URL")),
        linkedin=LinkedInResource(
            access_token=env("LINKEDIN_ACCESS_TOKEN"),
            author_urn=env("LINKEDIN_AUTHOR_URN"),
            organization_urn=env("LINKEDIN_ORGANIZATION_URN"),
            version=env("LINKEDIN_VERSION"),
            api_base_url=env("LINKEDIN_API_BASE_URL"),
        ),
        mailchimp=MailchimpResource(
            api_key=env("MAILCHIMP_API_KEY"),
            server_prefix=env("MAILCHIMP_SERVER_PREFIX"),
            list_id=env("MAILCHIMP_LIST_ID"),
            api_base_url=env("MAILCHIMP_API_BASE_URL"),
            action=env_or("MAILCHIMP_ACTION", "send"),
            from_name=env("MAILCHIMP_FROM_NAME"),
            reply_to=env("MAILCHIMP_REPLY_TO"),
            segment_id=env("MAILCHIMP_SEGMENT_ID"),
            tag=env("MAILCHIMP_TAG"),
            whole_list=env("MAILCHIMP_SEND_TO_WHOLE_LIST"),
            ab_test_size=env_or("MAILCHIMP_AB_TEST_SIZE", "20"),
            ab_wait_minutes=env_or("MAILCHIMP_AB_WAIT_MINUTES", "240"),
            ab_winner=env_or("MAILCHIMP_AB_WINNER", "opens"),
        ),
        hubspot=HubSpotResource(
            access_token=env("HUBSPOT_ACCESS_TOKEN"),
            api_base_url=env("HUBSPOT_API_BASE_URL"),
            blog_id=env("HUBSPOT_BLOG_ID"),
            blog_action=env_or("HUBSPOT_BLOG_ACTION", "draft"),
            email_action=env_or("HUBSPOT_EMAIL_ACTION", "draft"),
        ),
        webhooks=WebhooksResource(urls=env("SPLANTS_WEBHOOK_URLS"), secret=env("SPLANTS_WEBHOOK_SECRET")),
    )


def build_resources(data_dir: str | Path | None = None) -> dict[str, dg.ConfigurableResource]:
    """``data_dir`` is unused: platforms are configured by the environment alone."""
    return dict(platform_resources()._asdict())


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
