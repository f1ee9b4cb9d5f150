"""Which publisher handles each platform, decided from plain settings (filled from env vars by the
Dagster resource). A platform whose publisher is not fully configured falls back to the outbox, and the
reason names the missing variables."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from splants_dagster.http.redact import Redactor, redact_in_http_logs
from splants_dagster.platforms import PLATFORMS
from splants_dagster.publishing.base import Publisher
from splants_dagster.publishing.hubspot import HubSpotBlogPublisher, HubSpotEmailPublisher
from splants_dagster.publishing.linkedin import DEFAULT_VERSION, LinkedInPublisher
from splants_dagster.publishing.mailchimp import MailchimpPublisher
from splants_dagster.publishing.outbox import OutboxPublisher
from splants_dagster.publishing.review import ReviewPolicy
from splants_dagster.publishing.webhooks import WebhookSender, parse_urls
from splants_dagster.publishing.wordpress import WordPressPublisher
from splants_dagster.publishing.x import DEFAULT_BASE_URL as X_BASE
from splants_dagster.publishing.x import XPublisher

NO_API = ("instagram", "facebook", "youtube", "tiktok", "pinterest")


@dataclass(frozen=True)
class PublishingSettings:
    """Every publishing setting as plain values (``None`` = not configured)."""

    outbox_dir: Path
    timezone: str = "UTC"
    blog_publisher: str = "auto"  # auto | wordpress | hubspot | outbox
    email_publisher: str = "auto"  # auto | mailchimp | hubspot | outbox
    timeout_s: float = 30.0
    max_attempts: int = 8
    retry_base_s: float = 60.0
    retry_max_s: float = 3600.0
    wordpress_url: str | None = None
    wordpress_username: str | None = None
    wordpress_app_password: str | None = field(default=None, repr=False)
    wordpress_status: str = "draft"  # draft | publish | future (at the scheduled time)
    wordpress_category: str | None = None
    x_access_token: str | None = field(default=None, repr=False)
    x_api_base_url: str | None = None
    linkedin_access_token: str | None = field(default=None, repr=False)
    linkedin_author_urn: str | None = None
    linkedin_version: str | None = None
    linkedin_api_base_url: str | None = None
    mailchimp_api_key: str | None = field(default=None, repr=False)
    mailchimp_server_prefix: str | None = None
    mailchimp_list_id: str | None = None
    mailchimp_api_base_url: str | None = None
    mailchimp_action: str = "send"
    mailchimp_from_name: str | None = None
    mailchimp_reply_to: str | None = None
    mailchimp_segment_id: str | None = (
        None  # MAILCHIMP_SEGMENT_ID (else publishing.yaml mailchimp.segment_id)
    )
    mailchimp_tag: str | None = None  # MAILCHIMP_TAG (else publishing.yaml mailchimp.tag)
    mailchimp_whole_list: bool = (
        False  # MAILCHIMP_SEND_TO_WHOLE_LIST (or publishing.yaml mailchimp.whole_list)
    )
    mailchimp_ab_test_size: int = 20  # % of the audience the A/B combinations go to
    mailchimp_ab_wait_minutes: int = 240  # before the winner goes to the rest
    mailchimp_ab_winner: str = "opens"  # opens | clicks | manual | total_revenue
    hubspot_access_token: str | None = field(default=None, repr=False)
    hubspot_api_base_url: str | None = None
    hubspot_blog_id: str | None = None
    hubspot_blog_action: str = "draft"
    hubspot_email_action: str = "draft"
    webhook_urls: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_attempts: int = 3
    webhook_backoff_s: float = 0.5
    webhook_max_rounds: int = 6
    review: ReviewPolicy = field(default_factory=ReviewPolicy)  # publishing.yaml: review | auto per channel

    def secrets(self) -> list[str]:
        values = [
            self.wordpress_app_password,
            self.x_access_token,
            self.linkedin_access_token,
            self.mailchimp_api_key,
            self.hubspot_access_token,
            self.webhook_secret,
            *parse_urls(self.webhook_urls),
        ]
        return [v for v in values if v]


def _missing(**values: str | None) -> list[str]:
    return [name for name, value in values.items() if not value]


@dataclass
class PublisherSet:
    """The publisher of every platform, the outbox, optional webhooks and the redactor for secrets."""

    settings: PublishingSettings
    by_platform: dict[str, Publisher] = field(default_factory=dict)
    fallback: dict[str, str] = field(default_factory=dict)
    outbox: OutboxPublisher | None = None
    webhooks: WebhookSender | None = None
    webhook_note: str = ""
    redact: Redactor = field(default_factory=Redactor)

    def for_platform(self, platform: str) -> tuple[Publisher, str | None]:
        publisher = self.by_platform.get(platform)
        if publisher is not None:
            return publisher, None
        assert self.outbox is not None
        return self.outbox, self.fallback.get(platform, "no publisher configured for this platform")

    def summary(self) -> list[dict[str, str]]:
        rows = []
        for platform in PLATFORMS:
            publisher, reason = self.for_platform(platform)
            rows.append(
                {"platform": platform, "publisher": publisher.name, "note": reason or publisher.guarantee}
            )
        return rows

    def close(self) -> None:
        seen: set[int] = set()
        for publisher in [*self.by_platform.values(), self.outbox]:
            if publisher is not None and id(publisher) not in seen:
                seen.add(id(publisher))
                publisher.close()
        if self.webhooks:
            self.webhooks.close()


def build_publishers(s: PublishingSettings) -> PublisherSet:
    redact = Redactor(s.secrets())
    redact_in_http_logs(*s.secrets())
    pset = PublisherSet(settings=s, redact=redact)

    # blog
    wp_missing = _missing(
        WORDPRESS_URL=s.wordpress_url,
        WORDPRESS_USERNAME=s.wordpress_username,
        WORDPRESS_APP_PASSWORD=s.wordpress_app_password,
    )
    hs_blog_missing = _missing(HUBSPOT_ACCESS_TOKEN=s.hubspot_access_token, HUBSPOT_BLOG_ID=s.hubspot_blog_id)
    choice = (s.blog_publisher or "auto").lower()
    # the credentials spelled out (not ``not wp_missing``) so the type checker sees them narrowed to str
    if (
        choice in ("auto", "wordpress")
        and s.wordpress_url
        and s.wordpress_username
        and s.wordpress_app_password
    ):
        pset.by_platform["blog"] = WordPressPublisher(
            s.wordpress_url,
            s.wordpress_username,
            s.wordpress_app_password,
            status=s.wordpress_status,
            category=s.wordpress_category,
            timeout_s=s.timeout_s,
            redact=redact,
        )
    elif choice in ("auto", "hubspot") and s.hubspot_access_token and s.hubspot_blog_id:
        pset.by_platform["blog"] = HubSpotBlogPublisher(
            s.hubspot_access_token,
            s.hubspot_blog_id,
            action=s.hubspot_blog_action,
            base_url=s.hubspot_api_base_url or "https://api.hubapi.com",
            timeout_s=s.timeout_s,
            redact=redact,
        )
    elif choice == "outbox":
        pset.fallback["blog"] = "SPLANTS_BLOG_PUBLISHER=outbox"
    elif choice == "hubspot":
        pset.fallback["blog"] = f"blog publisher hubspot is missing {', '.join(hs_blog_missing)}"
    else:
        pset.fallback["blog"] = f"no blog credentials ({', '.join(wp_missing)} not set)"

    # X
    if s.x_access_token:
        pset.by_platform["twitter"] = XPublisher(
            s.x_access_token, base_url=s.x_api_base_url or X_BASE, timeout_s=s.timeout_s, redact=redact
        )
    else:
        pset.fallback["twitter"] = "no X credentials (X_ACCESS_TOKEN not set)"

    # LinkedIn
    li_missing = _missing(
        LINKEDIN_ACCESS_TOKEN=s.linkedin_access_token, LINKEDIN_AUTHOR_URN=s.linkedin_author_urn
    )
    if s.linkedin_access_token and s.linkedin_author_urn:
        pset.by_platform["linkedin"] = LinkedInPublisher(
            s.linkedin_access_token,
            s.linkedin_author_urn,
            version=s.linkedin_version or DEFAULT_VERSION,
            base_url=s.linkedin_api_base_url or "https://api.linkedin.com",
            timeout_s=s.timeout_s,
            redact=redact,
        )
    else:
        pset.fallback["linkedin"] = f"no LinkedIn credentials ({', '.join(li_missing)} not set)"

    # email
    mc_missing = _missing(
        MAILCHIMP_API_KEY=s.mailchimp_api_key,
        MAILCHIMP_SERVER_PREFIX=s.mailchimp_server_prefix,
        MAILCHIMP_LIST_ID=s.mailchimp_list_id,
    )
    choice = (s.email_publisher or "auto").lower()
    if (
        choice in ("auto", "mailchimp")
        and s.mailchimp_api_key
        and s.mailchimp_server_prefix
        and s.mailchimp_list_id
    ):
        pset.by_platform["email"] = MailchimpPublisher(
            s.mailchimp_api_key,
            s.mailchimp_server_prefix,
            s.mailchimp_list_id,
            action=s.mailchimp_action,
            from_name=s.mailchimp_from_name,
            reply_to=s.mailchimp_reply_to,
            base_url=s.mailchimp_api_base_url,
            segment_id=s.mailchimp_segment_id or s.review.mailchimp.get("segment_id"),
            tag=s.mailchimp_tag or s.review.mailchimp.get("tag"),
            whole_list=s.mailchimp_whole_list or bool(s.review.mailchimp.get("whole_list")),
            ab_test_size=s.mailchimp_ab_test_size,
            ab_wait_minutes=s.mailchimp_ab_wait_minutes,
            ab_winner=s.mailchimp_ab_winner,
            timeout_s=s.timeout_s,
            redact=redact,
        )
    elif choice in ("auto", "hubspot") and s.hubspot_access_token:
        pset.by_platform["email"] = HubSpotEmailPublisher(
            s.hubspot_access_token,
            action=s.hubspot_email_action,
            base_url=s.hubspot_api_base_url or "https://api.hubapi.com",
            timeout_s=s.timeout_s,
            redact=redact,
        )
    elif choice == "outbox":
        pset.fallback["email"] = "SPLANTS_EMAIL_PUBLISHER=outbox"
    elif choice == "hubspot":
        pset.fallback["email"] = "email publisher hubspot is missing HUBSPOT_ACCESS_TOKEN"
    else:
        pset.fallback["email"] = f"no email credentials ({', '.join(mc_missing)} not set)"

    for platform in NO_API:
        pset.fallback[platform] = f"no {platform} publisher in this version: post by hand"
    pset.outbox = OutboxPublisher(s.outbox_dir, pset.fallback, timezone=s.timezone)

    urls = parse_urls(s.webhook_urls)
    if urls and s.webhook_secret:
        pset.webhooks = WebhookSender(
            urls,
            s.webhook_secret,
            timeout_s=min(s.timeout_s, 15.0),
            attempts=s.webhook_attempts,
            backoff_s=s.webhook_backoff_s,
            redact=redact,
        )
        pset.webhook_note = f"{len(urls)} endpoint(s), signed"
    elif urls:
        pset.webhook_note = "SPLANTS_WEBHOOK_URLS is set but SPLANTS_WEBHOOK_SECRET is not: webhooks are off (never sent unsigned)"
    else:
        pset.webhook_note = "no webhooks configured"
    return pset
