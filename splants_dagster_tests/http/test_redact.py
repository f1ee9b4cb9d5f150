"""The one redaction helper, and each place it keeps a secret out: publishing errors, engagement API
errors, LLM errors and httpx's own request log."""

from __future__ import annotations

import logging

import pytest

from splants_dagster.engagement import apis
from splants_dagster.http.accounts import XAccount
from splants_dagster.http.redact import REDACTED, Redactor, redact, redact_in_http_logs
from splants_dagster.llm.remote import RemoteProvider
from splants_dagster.publishing.base import Permanent
from splants_dagster_tests.fixtures_http import FakeServer, Recorded, Reply

TOKEN = "x-token-that-an-api-echoes-0042"


def test_every_secret_is_replaced_longest_first():
    redactor = Redactor(["abcd1234", "abcd1234-and-more", None, "ab"])  # "ab": too short to redact
    assert redactor("key abcd1234-and-more / abcd1234 / ab") == f"key {REDACTED} / {REDACTED} / ab"
    redactor.add("zzzz9")
    assert redactor({"k": "zzzz9"}) == f"{{'k': '{REDACTED}'}}"
    assert redact("Bearer sk-live-77 failed", ["sk-live-77"]) == f"Bearer {REDACTED} failed"
    assert redact("nothing secret", []) == "nothing secret"


def echo_token(req: Recorded) -> Reply:
    """An API that quotes the credential back in its errors (some do)."""
    token = req.headers.get("authorization", "").removeprefix("Bearer ")
    if req.method == "POST":
        return Reply(400, {"title": "Invalid Request", "detail": f"bad token {token}"})
    return Reply(200, {"errors": [{"resource_id": "1", "title": "Forbidden", "detail": f"token {token}"}]})


def test_publishing_errors_are_redacted():
    with (
        FakeServer(echo_token) as server,
        XAccount(TOKEN, server.url).api() as api,
        pytest.raises(Permanent) as err,
    ):
        api.create("/2/tweets", json={"text": "hi"})
    assert TOKEN not in err.value.message and f"bad token {REDACTED}" in err.value.message


def test_engagement_api_errors_are_redacted():
    with FakeServer(echo_token) as server, XAccount(TOKEN, server.url).api() as api:
        pull = apis.fetch_x(api, ["1"])
    assert pull.errors["1"] == f"x: Forbidden: token {REDACTED}"


def test_llm_errors_are_redacted():
    provider = RemoteProvider(model="m", api_key="sk-llm-secret-123456", base_url=None, timeout_s=5)
    error = provider.status_error(401, {}, "Incorrect API key provided: sk-llm-secret-123456")
    assert "sk-llm-secret-123456" not in str(error) and REDACTED in str(error)


def test_http_library_records_are_redacted_without_touching_logger_levels(caplog):
    caplog.set_level(logging.DEBUG)
    levels = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    redact_in_http_logs("hook-path-secret-5150")
    logging.getLogger("httpx").info("HTTP Request: POST %s", "http://127.0.0.1/hook-path-secret-5150")
    logging.getLogger("httpcore.http11").debug("sent to /hook-path-secret-5150")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [f"HTTP Request: POST http://127.0.0.1/{REDACTED}", f"sent to /{REDACTED}"]
    assert {name: logging.getLogger(name).level for name in levels} == levels
