"""The one Retry-After parser and backoff policy (publishing, engagement, webhooks and LLM calls)."""

from __future__ import annotations

import email.utils
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from splants_dagster.http.retry import (
    MAX_RETRY_AFTER_S,
    RetryPolicy,
    parse_retry_after,
    retry_after_seconds,
)
from splants_dagster.publishing.webhooks import WebhookSender
from splants_dagster_tests.fixtures_http import Reply
from splants_dagster_tests.publishing.fakes import FakeWebhookReceiver

NOW = 1_765_000_000.0  # 2025-12-06T05:46:40Z


def http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def test_delta_seconds():
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after(" 3 ", NOW) == 3.0
    assert parse_retry_after("0", NOW) == 0.0
    assert parse_retry_after("1.5", NOW) == 1.5


def test_http_date_is_seconds_from_now_and_a_past_date_is_zero():
    assert parse_retry_after(http_date(NOW + 90), NOW) == 90.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", NOW) == 0.0
    assert parse_retry_after(http_date(NOW + 90).replace("GMT", "-0000"), NOW) == 90.0


@pytest.mark.parametrize("garbage", ["soon", "", "   ", "12 seconds", "nan", "inf", "-inf", "Wed, 99 Foo"])
def test_garbage_is_ignored(garbage):
    assert parse_retry_after(garbage, NOW) is None


def test_a_negative_delay_is_ignored_not_an_instant_retry():
    assert parse_retry_after("-5", NOW) is None


def test_a_huge_wait_is_capped():
    assert parse_retry_after("999999999999", NOW) == MAX_RETRY_AFTER_S
    assert parse_retry_after(http_date(NOW + 30 * 86400), NOW) == MAX_RETRY_AFTER_S
    assert parse_retry_after("7200", NOW, cap=60) == 60
    assert parse_retry_after(None, NOW) is None


@given(st.text(max_size=40))
def test_any_value_gives_none_or_a_wait_within_the_cap(value):
    found = parse_retry_after(value, NOW)
    assert found is None or 0.0 <= found <= MAX_RETRY_AFTER_S


def test_headers_each_api_uses():
    assert retry_after_seconds({"Retry-After": "30"}, NOW) == 30
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}, NOW) == 0.25  # OpenAI
    assert retry_after_seconds({"x-rate-limit-reset": str(int(NOW) + 100)}, NOW) == 100  # X: an epoch
    assert retry_after_seconds({"RateLimit-Reset": "42"}, NOW) == 42  # a delta
    assert retry_after_seconds({"x-ratelimit-reset": str(int(NOW) + 7)}, NOW) == 7  # an epoch
    # an unreadable Retry-After falls through to the reset header
    assert retry_after_seconds({"Retry-After": "later", "x-rate-limit-reset": str(int(NOW) + 5)}, NOW) == 5
    assert retry_after_seconds({"x-rate-limit-reset": "9" * 15}, NOW) == MAX_RETRY_AFTER_S
    assert retry_after_seconds({}, NOW) is None
    assert retry_after_seconds(None, NOW) is None


def test_backoff_policy():
    fixed = RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=3.0, max_retry_after_s=10, jitter=False)
    assert [fixed.delay(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 3.0, None]
    assert fixed.delay(1, retry_after=7.0) == 7.0  # the server's wait is a floor
    assert fixed.delay(1, retry_after=11.0) is None  # too long: give up now, a later run retries
    jittered = RetryPolicy(base_delay_s=2.0, max_delay_s=30.0)
    assert jittered.delay(1, rng=lambda: 0.0) == 1.0 and jittered.delay(1, rng=lambda: 0.5) == 1.5


def test_webhooks_leave_a_long_retry_after_to_a_later_run():
    body = json.dumps({"id": "evt_1", "type": "content.published", "data": {}}).encode()
    with FakeWebhookReceiver() as hooks:
        hooks.faults = [Reply(429, {"error": "slow down"}, headers={"Retry-After": "3600"})]
        slept: list[float] = []
        sender = WebhookSender([f"{hooks.url}/in"], hooks.secret, backoff_s=0.01, sleep=slept.append)
        attempts = sender.deliver(f"{hooks.url}/in", "evt_1", "content.published", body)
        sender.close()
    assert [(a.status_code, a.retry_after) for a in attempts] == [(429, 3600.0)]
    assert slept == [] and hooks.events == []
