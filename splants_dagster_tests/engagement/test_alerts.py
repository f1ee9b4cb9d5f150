"""The alert sender shared by sensors: log always, webhook and Slack when configured, never raising."""

from __future__ import annotations

import logging

from splants_dagster.alerts.channels import Alert, send_alert, slack_payload
from splants_dagster_tests.fixtures_http import FakeServer, Reply

ALERT = Alert(
    source="test",
    title="2 anomalies",
    severity="critical",
    text="look",
    items=[{"piece": "a", "rule": "low_views"}, {"piece": "b", "rule": "high_bounce"}],
)


def test_log_only_when_nothing_is_configured():
    lines: list[str] = []
    deliveries = send_alert(ALERT, log=lines.append)
    assert [(d.channel, d.ok) for d in deliveries] == [("log", True)]
    assert lines[0].startswith("[critical] 2 anomalies: look") and "piece=a, rule=low_views" in lines[0]


def test_webhook_and_slack_receive_their_formats():
    received = {}
    with (
        FakeServer(lambda r: received.setdefault("webhook", r.json()) and Reply(204, raw=b"")) as hook,
        FakeServer(lambda r: received.setdefault("slack", r.json()) and Reply(200, raw=b"ok")) as slack,
    ):
        deliveries = send_alert(ALERT, webhook_url=hook.url, slack_webhook_url=slack.url, log=lambda _: None)
    assert [(d.channel, d.ok, d.detail) for d in deliveries] == [
        ("log", True, ""),
        ("webhook", True, "HTTP 204"),
        ("slack", True, "HTTP 200"),
    ]
    assert received["webhook"]["items"][1] == {"piece": "b", "rule": "high_bounce"}
    assert received["slack"] == slack_payload(ALERT)
    assert received["slack"]["blocks"][0]["type"] == "header"


def test_failures_are_reported_not_raised_and_urls_never_logged(caplog):
    secret = "http://127.0.0.1:9/services/T000/B000/very-secret"
    with FakeServer(lambda r: Reply(500, {"error": "down"})) as broken, caplog.at_level(logging.INFO):
        deliveries = send_alert(ALERT, webhook_url=broken.url, slack_webhook_url=secret, timeout_s=1)
    outcome = {d.channel: d for d in deliveries}
    assert not outcome["webhook"].ok and outcome["webhook"].detail == "HTTP 500"
    assert not outcome["slack"].ok and outcome["slack"].detail == "ConnectError"
    assert "very-secret" not in caplog.text and broken.url not in caplog.text
    assert "alert delivery to slack failed: ConnectError" in caplog.text
