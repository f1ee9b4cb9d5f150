"""Alert webhooks are credentials: a real delivery over loopback, logged at DEBUG by every library,
shows no webhook URL anywhere, and no logger is reconfigured (sensors send from threads)."""

from __future__ import annotations

import logging
import threading

from splants_dagster.alerts.channels import Alert, send_alert
from splants_dagster_tests.fixtures_http import FakeServer, Reply

ALERT = Alert(source="test", title="budget at 80 %", severity="warning", items=[{"campaign": "pods"}])


def test_a_delivery_logged_at_debug_shows_no_webhook_url(caplog):
    caplog.set_level(logging.DEBUG)
    levels = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "httpcore.http11")}
    with (
        FakeServer(lambda req: Reply(200, {"ok": True})) as hook,
        FakeServer(lambda req: Reply(200, "ok")) as slack,
    ):
        webhook_url = f"{hook.url}/hooks/T000-secret-path-8841"
        slack_url = f"{slack.url}/services/T0/B0/slack-secret-7719"
        deliveries = send_alert(ALERT, webhook_url=webhook_url, slack_webhook_url=slack_url)
        assert hook.requests and slack.requests
    assert [(d.channel, d.ok) for d in deliveries] == [("log", True), ("webhook", True), ("slack", True)]
    logged = "\n".join(f"{r.name}: {r.getMessage()}" for r in caplog.records)
    assert "httpx: HTTP Request: POST" in logged  # httpx did log the requests...
    assert "secret-path-8841" not in logged and "slack-secret-7719" not in logged  # ...without the URLs
    assert "[redacted]" in logged
    assert {name: logging.getLogger(name).level for name in levels} == levels


def test_concurrent_senders_neither_leak_nor_silence_each_other(caplog):
    caplog.set_level(logging.DEBUG)
    with FakeServer(lambda req: Reply(200, {"ok": True})) as hook:
        urls = [f"{hook.url}/hooks/thread-secret-{n:04d}" for n in range(4)]
        threads = [threading.Thread(target=send_alert, args=(ALERT, url)) for url in urls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(hook.requests) == 4
    requests = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert len(requests) == 4  # every request still logged: no sender turned httpx's logging off
    assert not [m for m in requests if "thread-secret-" in m]
