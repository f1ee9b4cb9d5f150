"""The ``alerts`` resource: where alerts go besides the log (a JSON webhook and/or a Slack incoming
webhook), used by the sensors of every domain (operational events, engagement anomalies, the budget).

Webhook URLs are credentials: ``dg.EnvVar`` read when a sensor or run starts, never stored in config,
and redacted from httpx's request log (see ``splants_dagster/alerts/channels.py``). See docs/alerts.md.
"""

from pathlib import Path

import dagster as dg
from pydantic import Field

from splants_dagster.alerts.channels import Alert, Delivery, send_alert
from splants_dagster.defs.platforms.resources import env, value


class AlertsResource(dg.ConfigurableResource):
    """Where alerts go besides the log: a JSON webhook and/or a Slack incoming webhook."""

    webhook_url: str | None = Field(default=None, description="SPLANTS_ALERT_WEBHOOK_URL")
    slack_webhook_url: str | None = Field(default=None, description="SLACK_WEBHOOK_URL")
    timeout_s: float = Field(default=3.0, description="per delivery; a sensor never waits longer")

    def channels(self) -> list[str]:
        return ["log"] + [
            n for n, v in (("webhook", self.webhook_url), ("slack", self.slack_webhook_url)) if value(v)
        ]

    def send(self, alert: Alert, log=None) -> list[Delivery]:
        """The alert to the log and every configured webhook; a failed delivery is logged as a warning."""
        deliveries = send_alert(
            alert,
            webhook_url=value(self.webhook_url),
            slack_webhook_url=value(self.slack_webhook_url),
            log=log,
            timeout_s=self.timeout_s,
        )
        failed = [d for d in deliveries if not d.ok]
        if failed and log is not None:
            log.warning("alert not delivered to: " + ", ".join(f"{d.channel} ({d.detail})" for d in failed))
        return deliveries


def build_resources(data_dir: str | Path | None = None) -> dict[str, dg.ConfigurableResource]:
    """``data_dir`` is unused: alerts are configured by the environment alone."""
    return {
        "alerts": AlertsResource(
            webhook_url=env("SPLANTS_ALERT_WEBHOOK_URL"), slack_webhook_url=env("SLACK_WEBHOOK_URL")
        )
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
