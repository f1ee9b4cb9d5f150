"""Operational alerts (issue #16): pieces flagged by QA, publications held for review or with an unknown
outcome, and failed runs, each alerted once through a real webhook on loopback, with a link to the UI."""

from __future__ import annotations

import dagster as dg
import pytest

from splants_dagster.defs.alerts.resources import AlertsResource
from splants_dagster.defs.alerts.sensors import review_alert_sensor, run_failure_alert_sensor
from splants_dagster_tests.fixtures_http import FakeServer, Reply

UI = "http://127.0.0.1:3999"


@pytest.fixture
def hook():
    with FakeServer(lambda _req: Reply(200, {})) as server:
        yield server


@pytest.fixture(autouse=True)
def _ui(monkeypatch):
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", UI)


def _flag(store, piece_id: str, text_hash: str, status: str = "flagged") -> None:
    with store.write() as conn:
        conn.execute("DELETE FROM qa_status WHERE piece_id = ?", [piece_id])
        conn.execute(
            "INSERT INTO qa_status (piece_id, campaign_id, qa_score, status, text_hash, decided_at) "
            "VALUES (?, 'camp-a', 0.61, ?, ?, now())",
            [piece_id, status, text_hash],
        )


def _publication(store, key: str, status: str, needs_review: bool = False) -> None:
    with store.write() as conn:
        conn.execute("DELETE FROM publications WHERE idempotency_key = ?", [key])
        conn.execute(
            "INSERT INTO publications (piece_id, platform, campaign_id, idempotency_key, status, needs_review) "
            "VALUES (?, 'linkedin', 'camp-a', ?, ?, ?)",
            [f"piece-{key}", key, status, needs_review],
        )


def _tick(resources, hook, cursor):
    ctx = dg.build_sensor_context(
        cursor=cursor,
        resources={
            "warehouse": resources["warehouse"],
            "alerts": AlertsResource(webhook_url=f"{hook.url}/hook"),
        },
    )
    return review_alert_sensor(ctx)


def _alerted(hook) -> list[tuple[str, str]]:
    """(alert title's kind word, piece) for every item every webhook call carried."""
    out = []
    for request in hook.requests:
        body = request.json()
        out += [(body["title"], item["piece"]) for item in body["items"]]
    return out


def test_each_event_is_alerted_exactly_once_across_ticks(store, resources, hook):
    _flag(store, "camp-a:blog", "h1")
    _flag(store, "camp-a:twitter", "h2", status="approved")
    _publication(store, "k1", "pending_review")
    _publication(store, "k2", "in_flight", needs_review=True)
    _publication(store, "k3", "published")

    first = _tick(resources, hook, None)
    alerted = _alerted(hook)
    assert sorted(p for _, p in alerted) == ["camp-a:blog", "piece-k1", "piece-k2"]
    bodies = [r.json() for r in hook.requests]
    by_title = {b["title"]: b for b in bodies}
    assert set(by_title) == {
        "1 piece(s) flagged by QA: a person must decide",
        "1 publication(s) held for review before they go out",
        "1 publication(s) with an unknown outcome (did it post?): check the platform, then decide",
    }
    flagged = by_title["1 piece(s) flagged by QA: a person must decide"]["items"][0]
    assert flagged["link"] == f"{UI}/assets/qa_report?partition=camp-a"
    unknown = by_title[
        "1 publication(s) with an unknown outcome (did it post?): check the platform, then decide"
    ]
    assert (
        unknown["severity"] == "critical"
        and unknown["items"][0]["link"] == f"{UI}/assets/publications?partition=camp-a"
    )

    # the second tick sees the same open events: nothing is sent again
    second = _tick(resources, hook, first.cursor)
    assert len(hook.requests) == len(bodies)
    assert "all already alerted" in second.skip_reason.skip_message

    # a new flag and a new hold are alerted once; the same piece flagged with the same text is not new
    _flag(store, "camp-a:twitter", "h2")
    _flag(store, "camp-a:blog", "h1")
    _publication(store, "k1", "published")  # the held one was approved and went out: closed
    _publication(store, "k4", "pending_review")
    third = _tick(resources, hook, second.cursor)
    assert sorted(p for _, p in _alerted(hook)[len(alerted) :]) == ["camp-a:twitter", "piece-k4"]
    sent = len(hook.requests)
    _tick(resources, hook, third.cursor)
    assert len(hook.requests) == sent

    # counted over every tick: each event exactly once
    pieces = [p for _, p in _alerted(hook)]
    assert sorted(pieces) == sorted(set(pieces))


def test_no_snapshot_yet_is_a_skip(resources, hook):
    result = _tick(resources, hook, None)
    assert result.skip_message == "no warehouse snapshot yet" and not hook.requests


def test_a_failed_run_is_alerted_with_a_link_to_it(hook):
    @dg.op
    def explode():
        raise RuntimeError("the warehouse is on fire")

    @dg.job
    def doomed():
        explode()

    with dg.instance_for_test() as instance:
        result = doomed.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        ctx = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert_sensor",
            dagster_event=result.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            resources={"alerts": AlertsResource(webhook_url=f"{hook.url}/hook")},
        ).for_run_failure()
        run_failure_alert_sensor(ctx)
    (request,) = hook.requests
    body = request.json()
    assert body["title"] == "run failed: doomed" and body["severity"] == "critical"
    assert body["items"] == [{"run": result.run_id, "job": "doomed", "link": f"{UI}/runs/{result.run_id}"}]
    assert "explode" in body["text"]
