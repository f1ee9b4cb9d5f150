"""Engagement resources: settings (simulator, rules, A/B) and the platform API readers.

The readers use the platform resources of ``defs/platforms/resources.py``, the very instances publishing
posts with (the same tokens read what they posted, through the same client per platform); a platform
without credentials is unconfigured, and its pulls are skipped with a note in the metadata. See
docs/engagement.md. Alerts live in ``defs/alerts/resources.py``.
"""

import os
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from splants_dagster.defs.platforms.resources import (
    HubSpotResource,
    LinkedInResource,
    MailchimpResource,
    WordPressResource,
    XResource,
    platform_resources,
)
from splants_dagster.engagement import apis
from splants_dagster.engagement import simulation_mode as sim
from splants_dagster.engagement.abtest import ABConfig
from splants_dagster.engagement.rules import RuleConfig
from splants_dagster.engagement.simulation_mode import DEFAULT_SEED
from splants_dagster.warehouse.store import Warehouse

if TYPE_CHECKING:
    from splants_dagster.engagement.simulator import Simulator


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

    def simulator_impl(self) -> "Simulator":
        from splants_dagster.engagement.simulator import Simulator  # numpy: only when simulating

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


class EngagementSourcesResource(dg.ConfigurableResource):
    """Reads engagement of items this system published, from each platform's API."""

    timeout_s: float = 20.0
    x: XResource
    linkedin: LinkedInResource
    wordpress: WordPressResource
    mailchimp: MailchimpResource
    hubspot: HubSpotResource

    def configured(self) -> dict[str, bool]:
        wp = self.wordpress
        return {
            "x": self.x.account() is not None,
            "linkedin": self.linkedin.account() is not None,
            "wordpress": wp.account() is not None or wp.stats_account() is not None,
            "mailchimp": self.mailchimp.account() is not None,
            "hubspot": self.hubspot.account() is not None,
        }

    def pull(self, reader: str, remote_ids: list[str]) -> apis.Pull:
        """Running totals for ``remote_ids`` from one reader (x, linkedin, wordpress, mailchimp, hubspot),
        through the platform's one client (the one publishing uses)."""
        timeout = self.timeout_s
        if reader == "wordpress":
            site, stats = self.wordpress.account(), self.wordpress.stats_account()
            site_api = site.api(timeout) if site else None
            stats_api = stats.api(timeout) if stats else None
            try:
                return apis.fetch_wordpress(
                    remote_ids, site=site_api, stats=stats_api, stats_site=stats.site if stats else None
                )
            finally:
                for api in (site_api, stats_api):
                    if api is not None:
                        api.close()
        if reader == "x":
            x = self.x.account()
            if x is not None:
                with x.api(timeout) as api:
                    return apis.fetch_x(api, remote_ids)
        elif reader == "linkedin":
            li = self.linkedin.account()
            if li is not None:
                with li.api(timeout) as api:
                    return apis.fetch_linkedin(api, remote_ids, li.statistics_organization)
        elif reader == "mailchimp":
            mc = self.mailchimp.account()
            if mc is not None:
                with mc.api(timeout) as api:
                    return apis.fetch_mailchimp(api, remote_ids)
        elif reader == "hubspot":
            hs = self.hubspot.account()
            if hs is not None:
                with hs.api(timeout) as api:
                    return apis.fetch_hubspot(api, remote_ids)
        else:
            raise ValueError(f"unknown engagement reader {reader!r}")
        pull = apis.Pull()
        pull.fail_all(remote_ids, f"{reader}: not configured")
        return pull


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
    platforms = platform_resources()  # the same instances publishing posts with
    return {
        "engagement": EngagementResource(**settings),
        "engagement_sources": EngagementSourcesResource(
            x=platforms.x,
            linkedin=platforms.linkedin,
            wordpress=platforms.wordpress,
            mailchimp=platforms.mailchimp,
            hubspot=platforms.hubspot,
        ),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
