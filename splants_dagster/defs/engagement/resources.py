"""Engagement resources: settings (simulator, rules, A/B), the platform API readers, and alerts.

Credentials are ``dg.EnvVar`` (read when a run or sensor starts, never stored in config); a variable that
is not set leaves that reader unconfigured, and its pulls are skipped with a note in the metadata. The
variable names are the publishing ones (the same tokens read what they posted), see docs/engagement.md.
"""

import os
from pathlib import Path

import dagster as dg
import httpx
from pydantic import Field

from splants_dagster.alerts.channels import Alert, Delivery, send_alert
from splants_dagster.engagement import apis
from splants_dagster.engagement import simulator as sim
from splants_dagster.engagement.abtest import ABConfig
from splants_dagster.engagement.rules import RuleConfig
from splants_dagster.engagement.simulator import DEFAULT_SEED, Simulator
from splants_dagster.warehouse.store import Warehouse


def _env(name: str) -> dg.EnvVar | None:
    """``dg.EnvVar(name)`` when the variable is set (its value is read at run time), else None."""
    return dg.EnvVar(name) if os.environ.get(name, "").strip() else None


def _value(value: str | None) -> str | None:
    # outside a run (CLI, tests) an EnvVar field is still the variable's name: read it
    if isinstance(value, dg.EnvVar):
        value = value.get_value()
    return value.strip() if isinstance(value, str) and value.strip() else None


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw not in ("0", "false", "no", "off")


class EngagementResource(dg.ConfigurableResource):
    """How engagement data is simulated, judged and acted upon."""

    simulator: bool = Field(
        default=True,
        description="simulate demo history (is_demo = true); SPLANTS_ENGAGEMENT_SIMULATOR=0 turns it off",
    )
    simulator_mode: str = Field(
        default="auto",
        description="auto: simulate only on a fresh install (no real engagement, demo history never "
        "cleared); on: always; off: never (SPLANTS_SIMULATE_ENGAGEMENT)",
    )
    seed: int = Field(default=DEFAULT_SEED, description="simulator seed (SPLANTS_ENGAGEMENT_SEED)")
    simulator_start: str = Field(
        default="2025-01-01",
        description="no simulated events before this date (SPLANTS_ENGAGEMENT_SIM_START)",
    )
    simulator_scale: float = Field(default=1.0, description="× the simulated posts per day")
    history_days: int = Field(
        default=90,
        description="days of history the bootstrap sensor backfills (SPLANTS_ENGAGEMENT_HISTORY_DAYS)",
    )
    memory_limit: str = Field(default="1GB", description="DuckDB memory cap for the engagement SQL steps")
    api_max_age_days: int = Field(
        default=30, description="platform APIs are read for items published this recently"
    )
    alert_window_days: int = Field(
        default=2,
        description="sensors act on detections dated at most this many days ago (older: logged only)",
    )
    views_ratio: float = 0.5
    engagement_ratio: float = 0.3
    bounce_ratio: float = 1.5
    min_engagement_rate: float = 0.02
    robust_z: float = -3.5
    min_impressions: int = Field(
        default=100, description="a piece-day needs this many impressions to be judged"
    )
    fresh_days: int = Field(default=7, description="pieces are monitored for this many days after publishing")
    top_percentile: float = Field(default=0.99, description="high engagement: at/above this quantile")
    ab_alpha: float = 0.05
    ab_min_impressions: int = Field(
        default=500, description="A/B planned sample: impressions per arm at which the test is decided once"
    )
    ab_max_days: int = Field(
        default=14, description="A/B test window: decided at the latest this many days after it started"
    )

    def rules(self) -> RuleConfig:
        return RuleConfig(
            views_ratio=self.views_ratio,
            engagement_ratio=self.engagement_ratio,
            bounce_ratio=self.bounce_ratio,
            min_engagement_rate=self.min_engagement_rate,
            robust_z=self.robust_z,
            min_impressions=self.min_impressions,
            fresh_days=self.fresh_days,
            top_percentile=self.top_percentile,
        )

    def ab(self) -> ABConfig:
        return ABConfig(
            alpha=self.ab_alpha, min_impressions=self.ab_min_impressions, max_days=self.ab_max_days
        )

    def simulator_impl(self) -> Simulator:
        return Simulator(seed=self.seed, scale=self.simulator_scale)

    def simulation(self, store: Warehouse, asked: bool = False) -> tuple[bool, str]:
        """Whether this run adds simulated engagement, and why. ``asked``: the run was requested by
        ``splants engagement simulate`` (tag ``splants/simulate``), which simulates unless it is off."""
        mode = self.simulator_mode if self.simulator else "off"
        if asked and mode != "off":
            return True, "on (asked by `splants engagement simulate`; demo data, is_demo = true)"
        real = False
        if mode == "auto" and store.paths.analytics_db.exists():
            real = bool(store.query(sim.REAL_ENGAGEMENT_SQL)[0]["real"])
        cleared = sim.read_marker(store.paths.warehouse_dir) is not None
        return sim.should_simulate(mode, real, cleared)


class XMetricsResource(dg.ConfigurableResource):
    access_token: str | None = Field(default=None, description="X_ACCESS_TOKEN")
    api_base_url: str | None = Field(default=None, description="X_API_BASE_URL (default https://api.x.com)")


class LinkedInMetricsResource(dg.ConfigurableResource):
    access_token: str | None = Field(default=None, description="LINKEDIN_ACCESS_TOKEN")
    version: str | None = Field(default=None, description="LinkedIn-Version header YYYYMM (LINKEDIN_VERSION)")
    organization_urn: str | None = Field(
        default=None,
        description="urn:li:organization:... for impressions/clicks (LINKEDIN_ORGANIZATION_URN, else "
        "LINKEDIN_AUTHOR_URN when it is an organization)",
    )
    api_base_url: str | None = Field(default=None, description="LINKEDIN_API_BASE_URL")


class WordPressStatsResource(dg.ConfigurableResource):
    url: str | None = Field(default=None, description="site URL for comment counts (WORDPRESS_URL)")
    username: str | None = Field(default=None, description="WORDPRESS_USERNAME")
    app_password: str | None = Field(default=None, description="WORDPRESS_APP_PASSWORD")
    stats_site: str | None = Field(
        default=None, description="WordPress.com/Jetpack site id or domain (WORDPRESS_STATS_SITE)"
    )
    stats_token: str | None = Field(
        default=None, description="WordPress.com OAuth token (WORDPRESS_STATS_TOKEN)"
    )
    stats_api_base_url: str | None = Field(default=None, description="WORDPRESS_STATS_API_BASE_URL")


class MailchimpReportsResource(dg.ConfigurableResource):
    api_key: str | None = Field(default=None, description="MAILCHIMP_API_KEY")
    server_prefix: str | None = Field(
        default=None, description="data centre, e.g. us21 (MAILCHIMP_SERVER_PREFIX)"
    )
    api_base_url: str | None = Field(default=None, description="MAILCHIMP_API_BASE_URL")


class HubSpotEmailStatsResource(dg.ConfigurableResource):
    access_token: str | None = Field(default=None, description="HUBSPOT_ACCESS_TOKEN")
    api_base_url: str | None = Field(default=None, description="HUBSPOT_API_BASE_URL")


class EngagementSourcesResource(dg.ConfigurableResource):
    """Reads engagement of items this system published, from each platform's API."""

    timeout_s: float = 20.0
    x: XMetricsResource
    linkedin: LinkedInMetricsResource
    wordpress: WordPressStatsResource
    mailchimp: MailchimpReportsResource
    hubspot: HubSpotEmailStatsResource

    def configured(self) -> dict[str, bool]:
        wp = self.wordpress
        return {
            "x": bool(_value(self.x.access_token)),
            "linkedin": bool(_value(self.linkedin.access_token)),
            "wordpress": bool(_value(wp.url) or (_value(wp.stats_site) and _value(wp.stats_token))),
            "mailchimp": bool(_value(self.mailchimp.api_key)),
            "hubspot": bool(_value(self.hubspot.access_token)),
        }

    def pull(self, reader: str, remote_ids: list[str]) -> apis.Pull:
        """Running totals for ``remote_ids`` from one reader (x, linkedin, wordpress, mailchimp, hubspot)."""
        with httpx.Client(timeout=self.timeout_s, follow_redirects=True) as client:
            if reader == "x":
                return apis.fetch_x(
                    client,
                    _value(self.x.api_base_url) or "https://api.x.com",
                    _value(self.x.access_token) or "",
                    remote_ids,
                )
            if reader == "linkedin":
                li = self.linkedin
                org = _value(li.organization_urn)
                return apis.fetch_linkedin(
                    client,
                    _value(li.api_base_url) or "https://api.linkedin.com",
                    _value(li.access_token) or "",
                    _value(li.version) or "202506",
                    remote_ids,
                    org if org and org.startswith("urn:li:organization:") else None,
                )
            if reader == "wordpress":
                wp = self.wordpress
                return apis.fetch_wordpress(
                    client,
                    remote_ids,
                    stats_base_url=_value(wp.stats_api_base_url) or "https://public-api.wordpress.com",
                    site=_value(wp.stats_site),
                    stats_token=_value(wp.stats_token),
                    rest_base_url=_value(wp.url),
                    user=_value(wp.username),
                    app_password=_value(wp.app_password),
                )
            if reader == "mailchimp":
                key = _value(self.mailchimp.api_key) or ""
                prefix = _value(self.mailchimp.server_prefix)
                base = _value(self.mailchimp.api_base_url) or (
                    f"https://{prefix}.api.mailchimp.com" if prefix else apis.mailchimp_base_url(key)
                )
                return apis.fetch_mailchimp(client, base, key, remote_ids)
            if reader == "hubspot":
                return apis.fetch_hubspot(
                    client,
                    _value(self.hubspot.api_base_url) or "https://api.hubapi.com",
                    _value(self.hubspot.access_token) or "",
                    remote_ids,
                )
        raise ValueError(f"unknown engagement reader {reader!r}")


class AlertsResource(dg.ConfigurableResource):
    """Where alerts go besides the log: a JSON webhook and/or a Slack incoming webhook."""

    webhook_url: str | None = Field(default=None, description="SPLANTS_ALERT_WEBHOOK_URL")
    slack_webhook_url: str | None = Field(default=None, description="SLACK_WEBHOOK_URL")
    timeout_s: float = Field(default=3.0, description="per delivery; a sensor never waits longer")

    def channels(self) -> list[str]:
        return ["log"] + [
            n for n, v in (("webhook", self.webhook_url), ("slack", self.slack_webhook_url)) if _value(v)
        ]

    def send(self, alert: Alert, log=None) -> list[Delivery]:
        """The alert to the log and every configured webhook; a failed delivery is logged as a warning."""
        deliveries = send_alert(
            alert,
            webhook_url=_value(self.webhook_url),
            slack_webhook_url=_value(self.slack_webhook_url),
            log=log,
            timeout_s=self.timeout_s,
        )
        failed = [d for d in deliveries if not d.ok]
        if failed and log is not None:
            log.warning("alert not delivered to: " + ", ".join(f"{d.channel} ({d.detail})" for d in failed))
        return deliveries


def build_resources(data_dir: str | Path | None = None) -> dict[str, dg.ConfigurableResource]:
    """``data_dir`` is unused: engagement reads the data dir through the core ``warehouse`` resource."""
    settings: dict = {"simulator": _flag("SPLANTS_ENGAGEMENT_SIMULATOR", True)}
    mode = os.environ.get("SPLANTS_SIMULATE_ENGAGEMENT", "").strip().lower()
    if mode in sim.MODES:
        settings["simulator_mode"] = mode
    for field, env, cast in (
        ("seed", "SPLANTS_ENGAGEMENT_SEED", int),
        ("simulator_start", "SPLANTS_ENGAGEMENT_SIM_START", str),
        ("history_days", "SPLANTS_ENGAGEMENT_HISTORY_DAYS", int),
    ):
        if os.environ.get(env, "").strip():
            settings[field] = cast(os.environ[env].strip())
    author = os.environ.get("LINKEDIN_AUTHOR_URN", "").strip()
    return {
        "engagement": EngagementResource(**settings),
        "engagement_sources": EngagementSourcesResource(
            x=XMetricsResource(access_token=_env("X_ACCESS_TOKEN"), api_base_url=_env("X_API_BASE_URL")),
            linkedin=LinkedInMetricsResource(
                access_token=_env("LINKEDIN_ACCESS_TOKEN"),
                version=_env("LINKEDIN_VERSION"),
                organization_urn=_env("LINKEDIN_ORGANIZATION_URN")
                or (_env("LINKEDIN_AUTHOR_URN") if author.startswith("urn:li:organization:") else None),
                api_base_url=_env("LINKEDIN_API_BASE_URL"),
            ),
            wordpress=WordPressStatsResource(
                url=_env("WORDPRESS_URL"),
                username=_env("WORDPRESS_USERNAME"),
                app_password=_env("WORDPRESS_APP_PASSWORD"),
                stats_site=_env("WORDPRESS_STATS_SITE"),
                stats_token=_env("WORDPRESS_STATS_TOKEN"),
                stats_api_base_url=_env("WORDPRESS_STATS_API_BASE_URL"),
            ),
            mailchimp=MailchimpReportsResource(
                api_key=_env("MAILCHIMP_API_KEY"),
                server_prefix=_env("MAILCHIMP_SERVER_PREFIX"),
                api_base_url=_env("MAILCHIMP_API_BASE_URL"),
            ),
            hubspot=HubSpotEmailStatsResource(
                access_token=_env("HUBSPOT_ACCESS_TOKEN"), api_base_url=_env("HUBSPOT_API_BASE_URL")
            ),
        ),
        "alerts": AlertsResource(
            webhook_url=_env("SPLANTS_ALERT_WEBHOOK_URL"), slack_webhook_url=_env("SLACK_WEBHOOK_URL")
        ),
    }
