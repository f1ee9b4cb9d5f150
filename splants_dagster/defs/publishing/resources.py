"""The ``publishing`` resource: which publisher each platform uses. Platforms and their credentials are
declared once, in ``defs/platforms/resources.py`` (shared with engagement); a platform without
credentials falls back to the outbox, which says so. See docs/publishing.md for every variable.
"""

from collections.abc import Callable
from pathlib import Path

import dagster as dg
from pydantic import Field

from splants_dagster.campaigns.briefs import FieldProblem
from splants_dagster.defs.platforms.resources import (
    HubSpotResource,
    LinkedInResource,
    MailchimpResource,
    WebhooksResource,
    WordPressResource,
    XResource,
    env,
    env_or,
    platform_resources,
)
from splants_dagster.paths import DataPaths, default_data_dir
from splants_dagster.publishing.config import PublisherSet, PublishingSettings, build_publishers
from splants_dagster.publishing.review import ALLOW_ENV, CONFIG_FILE, PublishingConfigError, load_policy
from splants_dagster.publishing.runner import BatchReport, publish_due

WP_STATUSES = ("draft", "publish", "future")


def _whole(name: str, raw: str) -> int:
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ValueError(f"{name} {raw!r}: expected a whole number") from None


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
    platforms = platform_resources()  # the same instances engagement_sources reads with
    return {
        "publishing": PublishingResource(
            data_dir=root,
            blog_publisher=env_or("SPLANTS_BLOG_PUBLISHER", "auto"),
            email_publisher=env_or("SPLANTS_EMAIL_PUBLISHER", "auto"),
            boost_publisher=env_or("SPLANTS_BOOST_PUBLISHER", "outbox"),
            allow_template_content=env(ALLOW_ENV),
            wordpress=platforms.wordpress,
            x=platforms.x,
            linkedin=platforms.linkedin,
            mailchimp=platforms.mailchimp,
            hubspot=platforms.hubspot,
            webhooks=platforms.webhooks,
        )
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
