"""Alerts for people: always to the log, and to a generic webhook and/or a Slack incoming webhook when
configured (``SPLANTS_ALERT_WEBHOOK_URL``, ``SLACK_WEBHOOK_URL``). No Dagster imports: sensors of any
domain (engagement anomalies, the budget sensor) build an :class:`Alert` and call :func:`send_alert`.

Delivery never raises: a failed POST is reported in the returned :class:`Delivery` list (and logged),
so an unreachable webhook cannot break the sensor that raised the alert. Webhook URLs are secrets (a
Slack URL is its own credential) and never appear in logs or results; only the channel name does: they
are redacted from delivery details and from httpx's own request log through the one redaction helper
(``splants_dagster/http/redact.py``). No logger is reconfigured: sensors run in threads.

Operational events (a failed run, pieces flagged by QA, publications held for review or with an unknown
outcome) are alerted by ``defs/alerts/sensors.py``: each event once, with a link into the Dagster UI
(``DAGSTER_WEBSERVER_URL``, default ``http://127.0.0.1:3000``); see docs/alerts.md.

Generic webhook body (JSON): ``{"source", "title", "severity", "text", "items": [...], "sent_at"}``.
Slack body: ``{"text": <fallback>, "blocks": [header, section, context]}`` (incoming-webhook format).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from splants_dagster.http.api import USER_AGENT
from splants_dagster.http.redact import redact_in_http_logs

SEVERITIES = ("info", "warning", "critical")
MAX_SLACK_ITEMS = 15


@dataclass(frozen=True)
class Alert:
    source: str  # e.g. "engagement_anomaly_sensor", "budget_sensor"
    title: str
    severity: str = "warning"
    text: str = ""
    items: Sequence[dict[str, Any]] = field(default_factory=tuple)  # one dict per event (shown as lines)

    def lines(self) -> list[str]:
        return [", ".join(f"{k}={v}" for k, v in item.items()) for item in self.items]


@dataclass(frozen=True)
class Delivery:
    channel: str  # "log" | "webhook" | "slack"
    ok: bool
    detail: str = ""


def webhook_payload(alert: Alert, now: dt.datetime) -> dict[str, Any]:
    return {
        "source": alert.source,
        "title": alert.title,
        "severity": alert.severity,
        "text": alert.text,
        "items": list(alert.items),
        "sent_at": now.isoformat(),
    }


def slack_payload(alert: Alert) -> dict[str, Any]:
    icon = {"critical": ":rotating_light:", "warning": ":warning:"}.get(
        alert.severity, ":information_source:"
    )
    lines = alert.lines()
    shown = "\n".join(f"• {line}" for line in lines[:MAX_SLACK_ITEMS])
    if len(lines) > MAX_SLACK_ITEMS:
        shown += f"\n… and {len(lines) - MAX_SLACK_ITEMS} more"
    body = "\n".join(p for p in (alert.text, shown) if p) or alert.title
    return {
        "text": f"{alert.title} ({alert.severity})",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"{alert.title}"[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} {body}"[:2900]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"source: {alert.source}"}]},
        ],
    }


def send_alert(
    alert: Alert,
    webhook_url: str | None = None,
    slack_webhook_url: str | None = None,
    log: logging.Logger | Callable[[str], Any] | None = None,
    timeout_s: float = 3.0,
    client: httpx.Client | None = None,
    now: dt.datetime | None = None,
) -> list[Delivery]:
    """Log the alert and POST it to each configured webhook; returns one :class:`Delivery` per channel."""
    now = now or dt.datetime.now(dt.UTC)
    write = _writer(log, alert.severity)
    summary = f"[{alert.severity}] {alert.title}"
    if alert.text:
        summary += f": {alert.text}"
    for line in alert.lines()[:50]:
        summary += f"\n  - {line}"
    write(summary)
    deliveries = [Delivery("log", True)]
    targets = [
        ("webhook", webhook_url, webhook_payload(alert, now)),
        ("slack", slack_webhook_url, slack_payload(alert)),
    ]
    if not any(url for _, url, _ in targets):
        return deliveries
    redact_in_http_logs(webhook_url, slack_webhook_url)  # httpx logs each request's URL at INFO
    own = client is None
    http = client or httpx.Client(timeout=timeout_s, headers={"User-Agent": USER_AGENT})
    try:
        for channel, url, payload in targets:
            if not url:
                continue
            try:
                response = http.post(url, json=payload, timeout=timeout_s)
                ok = 200 <= response.status_code < 300
                detail = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                ok, detail = False, type(exc).__name__  # never the message: it may hold the URL
            deliveries.append(Delivery(channel, ok, detail))
            if not ok:
                _writer(log, "warning")(f"alert delivery to {channel} failed: {detail}")
    finally:
        if own:
            http.close()
    return deliveries


def _writer(log: logging.Logger | Callable[[str], Any] | None, severity: str) -> Callable[[str], Any]:
    if log is None:
        log = logging.getLogger("splants.alerts")
    if hasattr(log, "warning"):  # Python's logger or Dagster's
        return getattr(log, "warning" if severity in ("warning", "critical") else "info")
    return log  # a plain callable


# ------------------------------------------------------------------------------ operational events

UI_URL_ENV = "DAGSTER_WEBSERVER_URL"
DEFAULT_UI_URL = "http://127.0.0.1:3000"


def ui_base_url(environ: Mapping[str, str] | None = None) -> str:
    """The Dagster UI the links in alerts point to: ``DAGSTER_WEBSERVER_URL``, else the local one."""
    env = os.environ if environ is None else environ
    return (env.get(UI_URL_ENV, "").strip() or DEFAULT_UI_URL).rstrip("/")


def run_link(run_id: str, base: str | None = None) -> str:
    return f"{base or ui_base_url()}/runs/{quote(run_id, safe='')}"


def asset_link(asset: str, partition: str | None = None, base: str | None = None) -> str:
    link = f"{base or ui_base_url()}/assets/{quote(asset, safe='')}"
    return f"{link}?partition={quote(partition, safe='')}" if partition else link


@dataclass(frozen=True)
class Event:
    """Something a person should be told about once: ``key`` identifies it (the sensor's cursor keeps
    the keys already alerted), ``item`` is its line in the alert (with a ``link`` to the UI)."""

    kind: str
    key: str
    item: dict[str, Any]


def unseen(events: Sequence[Event], seen: Iterable[str], limit: int) -> tuple[list[Event], list[str]]:
    """The events not alerted yet (at most ``limit``; the rest wait for the next tick) and the keys to
    remember: every key still open that was alerted (a closed event is forgotten, so if it opens again it
    is a new event)."""
    seen = set(seen)
    fresh = [e for e in events if e.key not in seen][:limit]
    open_keys = {e.key for e in events}
    remember = sorted((seen & open_keys) | {e.key for e in fresh})
    return fresh, remember


EVENT_TITLES = {
    "flagged": ("piece(s) flagged by QA: a person must decide", "warning"),
    "pending_review": ("publication(s) held for review before they go out", "info"),
    "review_required": (
        "publication(s) with an unknown outcome (did it post?): check the platform, then decide",
        "critical",
    ),
}


def event_alert(source: str, kind: str, events: Sequence[Event]) -> Alert:
    """One alert for the new events of one kind (each event one item, with its link)."""
    title, severity = EVENT_TITLES[kind]
    return Alert(
        source=source,
        title=f"{len(events)} {title}",
        severity=severity,
        text="Open each link in the Dagster UI; `splants review` lists what waits for a decision.",
        items=[e.item for e in events],
    )


def run_failure_alert(
    source: str, run_id: str, job_name: str, message: str, tags: Mapping[str, str] | None = None
) -> Alert:
    tags = tags or {}
    item: dict[str, Any] = {"run": run_id, "job": job_name, "link": run_link(run_id)}
    for tag in ("dagster/partition", "splants/trigger"):
        if tags.get(tag):
            item[tag.rpartition("/")[2]] = tags[tag]
    return Alert(
        source=source,
        title=f"run failed: {job_name}",
        severity="critical",
        text=(message or "the run failed")[:500],
        items=[item],
    )
