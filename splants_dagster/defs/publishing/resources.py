"""The ``publishing`` resource: which publisher each platform uses, with credentials from env vars.

Every credential is a ``dg.EnvVar``, resolved by Dagster when a run (or ``splants publish``) starts, so
values never appear in definitions, the UI, logs or the warehouse. A variable that is not set at all is left
unconfigured (an ``EnvVar`` of an unset variable would make every run fail), and that platform falls back
to the outbox, which says so. See docs/publishing.md for every variable.
"""

import os
from collections.abc import Callable
from pathlib import Path

import dagster as dg
from pydantic import Field

from splants_dagster.campaigns.briefs import FieldProblem
from splants_dagster.paths import DataPaths, default_data_dir
from splants_dagster.publishing.config import PublisherSet, PublishingSettings, build_publishers
from splants_dagster.publishing.review import ALLOW_ENV, CONFIG_FILE, PublishingConfigError, load_policy
from splants_dagster.publishing.runner import BatchReport, publish_due

WP_STATUSES = ("draft", "publish", "future")


def _env(name: str) -> dg.EnvVar | None:
    """``dg.EnvVar(name)`` when the variable is set (its value is read at run time), else None."""
    return dg.EnvVar(name) if os.environ.get(name, "").strip() else None


def _env_or(name: str, default: str) -> str:
    return dg.EnvVar(name) if os.environ.get(name, "").strip() else default


def _whole(name: str, raw: str) -> int:
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ValueError(f"{name} {raw!r}: expected a whole number") from None


class WordPressResource(dg.ConfigurableResource):
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


class XResource(dg.ConfigurableResource):
    access_token: str | None = Field(
        default=None, description="OAuth 2.0 user-context token (X_ACCESS_TOKEN)"
    )
    api_base_url: str | None = Field(default=None, description="X_API_BASE_URL (default https://api.x.com)")


class LinkedInResource(dg.ConfigurableResource):
    access_token: str | None = Field(default=None, description="LINKEDIN_ACCESS_TOKEN")
    author_urn: str | None = Field(default=None, description="urn:li:person:... or urn:li:organization:...")
    version: str | None = Field(
        default=None, description="LinkedIn-Version header, YYYYMM (LINKEDIN_VERSION)"
    )
    api_base_url: str | None = Field(
        default=None, description="LINKEDIN_API_BASE_URL (default https://api.linkedin.com)"
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


class WebhooksResource(dg.ConfigurableResource):
    urls: str | None = Field(default=None, description="comma-separated endpoints (SPLANTS_WEBHOOK_URLS)")
    secret: str | None = Field(default=None, description="HMAC-SHA256 key (SPLANTS_WEBHOOK_SECRET)")


class PublishingResource(dg.ConfigurableResource):
    """Publishers per platform; a platform without credentials uses the outbox under the data dir."""

    data_dir: str
    blog_publisher: str = Field(default="auto", description="auto | wordpress | hubspot | outbox")
    email_publisher: str = Field(default="auto", description="auto | mailchimp | hubspot | outbox")
    boost_publisher: str = Field(
        default="outbox",
        description="outbox | platform: where re-promotions of under-performing pieces (engagement boosts) go",
    )
    timeout_s: float = 30.0
    max_attempts: int = Field(default=8, description="attempts before an item is marked for review")
    retry_base_s: float = Field(default=60.0, description="first retry delay; doubles per attempt")
    retry_max_s: float = 3600.0
    webhook_backoff_s: float = 0.5
    allow_template_content: str | None = Field(
        default=None,
        description=f"{ALLOW_ENV}: 1 lets offline/template text go to real platforms (default: held)",
    )
    wordpress: WordPressResource
    x: XResource
    linkedin: LinkedInResource
    mailchimp: MailchimpResource
    hubspot: HubSpotResource
    webhooks: WebhooksResource

    def settings(self, timezone: str = "UTC") -> PublishingSettings:
        if self.wordpress.status not in WP_STATUSES:
            raise PublishingConfigError(
                "environment",
                [
                    FieldProblem(
                        "WORDPRESS_POST_STATUS", self.wordpress.status, "must be draft, publish or future"
                    )
                ],
            )
        wp, xr, li, mc, hs, wh = (
            self.wordpress,
            self.x,
            self.linkedin,
            self.mailchimp,
            self.hubspot,
            self.webhooks,
        )
        return PublishingSettings(
            outbox_dir=DataPaths.at(self.data_dir).outbox_dir,
            timezone=timezone,
            blog_publisher=self.blog_publisher,
            email_publisher=self.email_publisher,
            timeout_s=self.timeout_s,
            max_attempts=self.max_attempts,
            retry_base_s=self.retry_base_s,
            retry_max_s=self.retry_max_s,
            wordpress_url=wp.url,
            wordpress_username=wp.username,
            wordpress_app_password=wp.app_password,
            wordpress_status=wp.status,
            wordpress_category=wp.category,
            x_access_token=xr.access_token,
            x_api_base_url=xr.api_base_url,
            linkedin_access_token=li.access_token,
            linkedin_author_urn=li.author_urn,
            linkedin_version=li.version,
            linkedin_api_base_url=li.api_base_url,
            mailchimp_api_key=mc.api_key,
            mailchimp_server_prefix=mc.server_prefix,
            mailchimp_list_id=mc.list_id,
            mailchimp_api_base_url=mc.api_base_url,
            mailchimp_action=mc.action,
            mailchimp_from_name=mc.from_name,
            mailchimp_reply_to=mc.reply_to,
            mailchimp_segment_id=mc.segment_id,
            mailchimp_tag=mc.tag,
            mailchimp_whole_list=str(mc.whole_list or "").strip().lower() in ("1", "true", "yes", "on"),
            mailchimp_ab_test_size=_whole("MAILCHIMP_AB_TEST_SIZE", mc.ab_test_size),
            mailchimp_ab_wait_minutes=_whole("MAILCHIMP_AB_WAIT_MINUTES", mc.ab_wait_minutes),
            mailchimp_ab_winner=mc.ab_winner,
            hubspot_access_token=hs.access_token,
            hubspot_api_base_url=hs.api_base_url,
            hubspot_blog_id=hs.blog_id,
            hubspot_blog_action=hs.blog_action,
            hubspot_email_action=hs.email_action,
            webhook_urls=wh.urls,
            webhook_secret=wh.secret,
            webhook_backoff_s=self.webhook_backoff_s,
            # review | auto per channel; a bad file is an error naming file, field and value
            review=load_policy(DataPaths.at(self.data_dir).root / CONFIG_FILE, self.allow_template_content),
        )

    def publishers(self, timezone: str = "UTC") -> PublisherSet:
        return build_publishers(self.settings(timezone))

    def run(
        self,
        store,
        timezone: str,
        *,
        campaign: str | None = None,
        force_now: bool = False,
        dry_run: bool = False,
        run_id: str | None = None,
        log: Callable[[str, str], None] | None = None,
    ) -> BatchReport:
        """The publishing step, shared by the ``publications`` asset and ``splants publish``."""
        pset = self.publishers(timezone)
        try:
            return publish_due(
                store,
                pset,
                campaign=campaign,
                force_now=force_now,
                dry_run=dry_run,
                run_id=run_id,
                log=log,
                boosts=self.boost_publisher,
            )
        finally:
            pset.close()


def build_resources(data_dir: str | Path | None = None) -> dict[str, dg.ConfigurableResource]:
    root = str(Path(data_dir).resolve()) if data_dir else str(default_data_dir())
    return {
        "publishing": PublishingResource(
            data_dir=root,
            blog_publisher=_env_or("SPLANTS_BLOG_PUBLISHER", "auto"),
            email_publisher=_env_or("SPLANTS_EMAIL_PUBLISHER", "auto"),
            boost_publisher=_env_or("SPLANTS_BOOST_PUBLISHER", "outbox"),
            allow_template_content=_env(ALLOW_ENV),
            wordpress=WordPressResource(
                url=_env("WORDPRESS_URL"),
                username=_env("WORDPRESS_USERNAME"),
                app_password=_env("WORDPRESS_APP_PASSWORD"),
                # drafts unless told otherwise; the older name WORDPRESS_STATUS still works
                status=_env_or("WORDPRESS_POST_STATUS", "") or _env_or("WORDPRESS_STATUS", "draft"),
                category=_env("WORDPRESS_CATEGORY"),
            ),
            x=XResource(access_token=_env("X_ACCESS_TOKEN"), api_base_url=_env("X_API_BASE_URL")),
            linkedin=LinkedInResource(
                access_token=_env("LINKEDIN_ACCESS_TOKEN"),
                author_urn=_env("LINKEDIN_AUTHOR_URN"),
                version=_env("LINKEDIN_VERSION"),
                api_base_url=_env("LINKEDIN_API_BASE_URL"),
            ),
            mailchimp=MailchimpResource(
                api_key=_env("MAILCHIMP_API_KEY"),
                server_prefix=_env("MAILCHIMP_SERVER_PREFIX"),
                list_id=_env("MAILCHIMP_LIST_ID"),
                api_base_url=_env("MAILCHIMP_API_BASE_URL"),
                action=_env_or("MAILCHIMP_ACTION", "send"),
                from_name=_env("MAILCHIMP_FROM_NAME"),
                reply_to=_env("MAILCHIMP_REPLY_TO"),
                segment_id=_env("MAILCHIMP_SEGMENT_ID"),
                tag=_env("MAILCHIMP_TAG"),
                whole_list=_env("MAILCHIMP_SEND_TO_WHOLE_LIST"),
                ab_test_size=_env_or("MAILCHIMP_AB_TEST_SIZE", "20"),
                ab_wait_minutes=_env_or("MAILCHIMP_AB_WAIT_MINUTES", "240"),
                ab_winner=_env_or("MAILCHIMP_AB_WINNER", "opens"),
            ),
            hubspot=HubSpotResource(
                access_token=_env("HUBSPOT_ACCESS_TOKEN"),
                api_base_url=_env("HUBSPOT_API_BASE_URL"),
                blog_id=_env("HUBSPOT_BLOG_ID"),
                blog_action=_env_or("HUBSPOT_BLOG_ACTION", "draft"),
                email_action=_env_or("HUBSPOT_EMAIL_ACTION", "draft"),
            ),
            webhooks=WebhooksResource(
                urls=_env("SPLANTS_WEBHOOK_URLS"), secret=_env("SPLANTS_WEBHOOK_SECRET")
            ),
        )
    }
