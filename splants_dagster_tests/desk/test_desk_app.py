"""The desk's views and forms over real HTTP handling (FastAPI's TestClient) on a real warehouse in a tmp
data dir: calendar, piece previews, decisions through the review queue, rescheduling under the scheduler's
rules, the brief form with the model's own messages, reports, budget, CSRF and the login."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import yaml
from fastapi.testclient import TestClient

from splants_dagster.campaigns.briefs import load_brief
from splants_dagster.desk.app import create_app
from splants_dagster.desk.security import bind_problem
from splants_dagster.paths import PROJECT_ROOT
from splants_dagster_tests.publishing.seeding import CAMPAIGN, piece, seed

START = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)  # a Monday; 09:00 UTC is 09:00 in London in January


def token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


@pytest.fixture
def seeded(store):
    pieces = [
        piece("blog", 1, is_pillar=True),
        piece("twitter", 1, publish_at=START + dt.timedelta(hours=2)),
        piece("twitter", 2, publish_at=START + dt.timedelta(days=1, hours=4)),
        piece("email", 1, publish_at=START + dt.timedelta(days=2, hours=1)),
        piece("instagram", 1, publish_at=START + dt.timedelta(days=3, hours=2)),
    ]
    return seed(store, pieces, start=START)


@pytest.fixture
def client(data_dir):
    with TestClient(create_app(data_dir, user="maria")) as c:
        yield c


def csrf(client: TestClient, url: str = "/inbox") -> str:
    page = client.get(url)
    assert page.status_code == 200
    return token(page.text)


def test_week_calendar_shows_each_piece_coloured_by_status_and_filters(client, seeded, store):
    with store.write() as conn:
        conn.execute(
            "INSERT INTO publications (idempotency_key, piece_id, platform, campaign_id, status, publisher)"
            " VALUES ('k1', ?, 'instagram', ?, 'published', 'outbox')",
            [seeded[4], CAMPAIGN],
        )
    page = client.get("/", params={"view": "week", "day": "2026-01-07"})
    assert page.status_code == 200
    html = page.text
    for pid in seeded:
        assert f"/pieces/{pid.replace(':', '%3A')}" in html
    assert 'class="item st-published"' in html  # the instagram post went out
    assert html.count('class="item st-pending_review"') == 4  # channels in review mode, not approved yet
    assert "Europe/London" in html and "Mon 05 Jan" in html and "Sun 11 Jan" in html

    only_x = client.get("/", params={"day": "2026-01-07", "channel": "twitter"}).text
    assert seeded[1].replace(":", "%3A") in only_x and seeded[3].replace(":", "%3A") not in only_x
    month = client.get("/", params={"view": "month", "day": "2026-01-20"}).text
    assert "Thu 01 Jan" in month and "Sat 31 Jan" in month and month.count('class="item ') == 5
    other = client.get("/", params={"day": "2026-01-07", "campaign": "nope"}).text
    assert 'class="item ' not in other
    # channels whose publisher is the outbox are always auto: scheduled, no approval needed
    with TestClient(create_app(store.paths.root, outbox={"twitter", "email", "blog"})) as c:
        assert c.get("/", params={"day": "2026-01-07"}).text.count('class="item st-scheduled"') == 4


def test_the_piece_page_shows_what_its_publisher_would_send(data_dir, seeded):
    def preview(row, tz):
        assert row["piece_id"] == seeded[1] and row["publish_at"] is not None and tz == "Europe/London"
        return "outbox", "no X credentials (X_ACCESS_TOKEN not set)", {"text": row["rendered"]}

    with TestClient(create_app(data_dir, send_preview=preview)) as c:
        page = c.get(f"/pieces/{seeded[1]}").text
    assert "Goes via <strong>outbox</strong> (no X credentials (X_ACCESS_TOKEN not set))" in page
    assert "{\n  &#34;text&#34;: &#34;Twitter piece 1" in page  # the payload, escaped


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(client, seeded, store):
    assert client.post(f"/pieces/{seeded[1]}/approve", data={}).status_code == 403
    bad = client.post(f"/pieces/{seeded[1]}/approve", data={"csrf_token": "forged"})
    assert bad.status_code == 403
    assert (
        client.post("/inbox/approve", data={"piece_id": seeded[1]}, headers={"X-CSRF-Token": "x"}).status_code
        == 403
    )
    assert store.query("SELECT * FROM review_decisions") == []
    ok = client.post(f"/pieces/{seeded[1]}/approve", data={}, headers={"X-CSRF-Token": csrf(client)})
    assert ok.status_code == 200
    other = TestClient(create_app(store.paths.root))  # another browser: its own session and token
    stolen = other.post(f"/pieces/{seeded[2]}/approve", data={"csrf_token": csrf(client)})
    assert stolen.status_code == 403


def test_piece_pages_preview_each_platform(client, seeded):
    x = client.get(f"/pieces/{seeded[1]}").text
    text = piece("twitter", 1)["body"]
    assert f"{len(text)} / 280 characters" in x and "#HearthAndBean" in x
    email = client.get(f"/pieces/{seeded[3]}").text
    assert (
        "Subject:</strong> Your pod guide 1" in email and "Practical tips on compostable coffee pods" in email
    )
    blog = client.get(f"/pieces/{seeded[0]}").text
    assert 'class="serp-title"' in blog and "What to know about compostable pods (1)." in blog
    assert "## Why it matters" in blog
    insta = client.get(f"/pieces/{seeded[4]}").text
    assert "pv-instagram" in insta
    assert client.get("/pieces/nope").status_code == 404


def test_findings_are_highlighted_in_the_text_and_claims_listed(client, seeded, store):
    body = piece("twitter", 1)["body"]
    start = body.index("Hearth & Bean")
    with store.write() as conn:
        conn.execute(
            'INSERT INTO qa_findings (piece_id, campaign_id, "check", excerpt, message, severity, field,'
            " span_start, span_end, is_final) VALUES (?, ?, 'brand_voice', 'Hearth & Bean', 'say it warmer',"
            " 'warning', 'rendered', ?, ?, true)",
            [seeded[1], CAMPAIGN, start, start + len("Hearth & Bean")],
        )
        conn.execute(
            "INSERT INTO qa_claims (piece_id, campaign_id, claim_text, kind, supported, support_ref, is_final)"
            " VALUES (?, ?, 'pods are home compostable', 'fact', true, 'brief fact 2', true)",
            [seeded[1], CAMPAIGN],
        )
    page = client.get(f"/pieces/{seeded[1]}").text
    assert '<mark class="finding warning" title="brand_voice: say it warmer">Hearth &amp; Bean</mark>' in page
    assert "supported: pods are home compostable" in page and "brief fact 2" in page


def test_approve_goes_through_the_review_queue_and_the_gate_refuses(client, seeded, store):
    with store.write() as conn:
        conn.execute(
            'INSERT INTO qa_results (piece_id, campaign_id, "check", score, passed, round, is_final)'
            " VALUES (?, ?, 'legal', 0.2, false, 0, true)",
            [seeded[2], CAMPAIGN],
        )
    t = csrf(client)
    ok = client.post(f"/pieces/{seeded[1]}/approve", data={"csrf_token": t, "reason": "looks right"})
    assert ok.status_code == 200 and "approved" in ok.text
    refused = client.post(f"/pieces/{seeded[2]}/approve", data={"csrf_token": t})
    assert refused.status_code == 409 and "fails the legal check" in refused.text
    [d] = store.query("SELECT * FROM review_decisions")
    assert (d["piece_id"], d["decision"], d["decided_by"], d["reason"], d["source"]) == (
        seeded[1],
        "approve",
        "maria",
        "looks right",
        "desk",
    )
    again = client.post(f"/pieces/{seeded[1]}/approve", data={"csrf_token": t})
    assert "already approved" in again.text and len(store.query("SELECT * FROM review_decisions")) == 1
    week = client.get("/", params={"day": "2026-01-05"}).text
    assert 'class="item st-scheduled"' in week  # approved: it waits for its slot


def test_reject_needs_a_reason_and_is_kept_with_who_and_why(client, seeded, store):
    t = csrf(client)
    assert (
        client.post(f"/pieces/{seeded[4]}/reject", data={"csrf_token": t, "reason": " "}).status_code == 422
    )
    done = client.post(f"/pieces/{seeded[4]}/reject", data={"csrf_token": t, "reason": "wrong photo"})
    assert done.status_code == 200
    [d] = store.query("SELECT decision, reason, decided_by FROM review_decisions")
    assert d == {"decision": "reject", "reason": "wrong photo", "decided_by": "maria"}
    assert "rejected by maria: wrong photo" in client.get(f"/pieces/{seeded[4]}").text


def test_inbox_lists_waiting_pieces_oldest_first_and_bulk_approves(client, seeded, store):
    page = client.get("/inbox")
    assert page.status_code == 200
    listed = re.findall(r'name="piece_id" value="([^"]+)"', page.text)
    assert set(listed) == set(seeded)
    done = client.post("/inbox/approve", data={"csrf_token": token(page.text), "piece_id": listed[:3]})
    assert done.status_code == 200 and "3 approved, 0 skipped, 0 refused" in done.text
    assert {d["piece_id"] for d in store.query("SELECT piece_id FROM review_decisions")} == set(listed[:3])
    assert set(re.findall(r'name="piece_id" value="([^"]+)"', done.text)) == set(listed[3:])


def test_reschedule_moves_within_the_rules_and_names_the_rule_it_breaks(client, seeded, store):
    t = csrf(client)
    # the other X post is at 13:00 on Tue 06 Jan (London = UTC in January); X needs 3 h between posts
    spacing = client.post(
        f"/pieces/{seeded[1]}/reschedule", data={"csrf_token": t, "local": "2026-01-06T14:00"}
    )
    assert spacing.status_code == 409 and "spacing: twitter needs 3h between posts" in spacing.text
    window = client.post(
        f"/pieces/{seeded[1]}/reschedule", data={"csrf_token": t, "local": "2026-03-01T10:00"}
    )
    assert (
        window.status_code == 409 and "window:" in window.text and "2026-01-05 to 2026-01-25" in window.text
    )
    night = client.post(
        f"/pieces/{seeded[1]}/reschedule", data={"csrf_token": t, "local": "2026-01-08T03:00"}
    )
    assert night.status_code == 409 and "allowed hours" in night.text
    moved = client.post(
        f"/pieces/{seeded[1]}/reschedule", data={"csrf_token": t, "local": "2026-01-08T16:00"}
    )
    assert moved.status_code == 200 and "moved to Thu 08 Jan 16:00" in moved.text
    [row] = store.query("SELECT publish_at, slot_source FROM schedule WHERE piece_id = ?", [seeded[1]])
    assert row["publish_at"] == dt.datetime(2026, 1, 8, 16, tzinfo=dt.UTC) and row["slot_source"] == "manual"
    bad = client.post(f"/pieces/{seeded[1]}/reschedule", data={"csrf_token": t, "local": "soon"})
    assert bad.status_code == 422


FORM = {
    "id": "winter-blend",
    "topic": "Our winter blend of single-origin coffees",
    "goal": "Sell 300 bags in December",
    "audience": "Home brewers in the UK",
    "start_date": "2099-12-01",
    "duration_days": "14",
    "tone": "friendly",
    "platforms": ["blog", "twitter", "email"],
    "content_types": ["blog", "social_post", "email"],
    "keywords": "winter blend\nsingle-origin coffee",
    "facts": "The winter blend costs £9 for 250 g.",
    "source_ref": ["sources/hearth-origin-club.md", ""],
    "source_role": ["own", "reference"],
    "link": "https://hearthandbean.example/winter",
    "variants": "2",
}


def test_the_brief_form_uses_the_models_messages_and_previews_the_suite(client, data_dir):
    t = csrf(client, "/campaigns/new")
    bad = client.post(
        "/campaigns",
        data={
            **FORM,
            "csrf_token": t,
            "id": "Winter Blend!",
            "link": "ftp://x",
            "platforms": [],
            "topic": "x",
        },
    )
    assert bad.status_code == 422
    assert "must be a slug: 3-64 lowercase letters, digits or dashes" in bad.text
    assert "must be an http(s) URL" in bad.text and "platforms" in bad.text and "topic" in bad.text
    assert 'value="Winter Blend!"' in bad.text  # what was typed stays in the form
    assert '<small id="err-link" class="err">must be an http(s) URL</small>' in bad.text  # beside its field
    inline = client.post("/campaigns/validate", data={**FORM, "csrf_token": t, "id": "Winter Blend!"})
    assert '<small id="err-id" class="err" hx-swap-oob="true">must be a slug' in inline.text
    assert '<small id="err-topic" class="err" hx-swap-oob="true"></small>' in inline.text  # cleared
    assert not (data_dir / "campaigns" / "winter-blend.yaml").exists()

    preview = client.post("/campaigns/validate", data={**FORM, "csrf_token": t})
    assert preview.status_code == 200 and "The brief is valid." in preview.text
    assert "Suite plan (3 pieces)" in preview.text and "blog (pillar)" in preview.text

    saved = client.post("/campaigns", data={**FORM, "csrf_token": t}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/campaigns/winter-blend"
    path = data_dir / "campaigns" / "winter-blend.yaml"
    brief, _ = load_brief(path)
    assert brief.id == "winter-blend" and brief.platforms == ["blog", "twitter", "email"]
    assert [(s.ref, s.role) for s in brief.source_entries()] == [("sources/hearth-origin-club.md", "own")]
    assert brief.facts == ["The winter blend costs £9 for 250 g."] and brief.start_date == dt.date(
        2099, 12, 1
    )
    assert yaml.safe_load(path.read_text())["keywords"] == ["winter blend", "single-origin coffee"]

    again = client.post("/campaigns", data={**FORM, "csrf_token": t})
    assert again.status_code == 422 and "is already used by winter-blend.yaml" in again.text
    page = client.get("/campaigns/winter-blend")
    assert (
        'hx-get="/campaigns/winter-blend/progress"' in page.text
        and 'hx-trigger="load, every 3s"' in page.text
    )


def test_campaign_progress_lists_the_runs_tagged_with_the_campaign(data_dir):
    runs = {
        "winter-blend": [
            {"run_id": "abcdef1234", "job": "campaign_job", "status": "STARTED", "started": None}
        ]
    }
    with TestClient(create_app(data_dir, runs=lambda cid: runs.get(cid, []))) as c:
        page = c.get("/campaigns/winter-blend/progress").text
        assert "abcdef12" in page and "STARTED" in page and "campaign_job" in page
        assert "No run yet" in c.get("/campaigns/other/progress").text


def test_reports_are_listed_from_their_files_and_served_safely(client, data_dir):
    folder = data_dir / "reports" / "hearth-and-bean"
    folder.mkdir(parents=True)
    (folder / "weekly-2026-W02.html").write_text("<h1>Week 2</h1>")
    (folder / "weekly-2026-W02.json").write_text(
        json.dumps(
            {
                "kind": "weekly",
                "period_start": "2026-01-05",
                "period_end": "2026-01-11",
                "brand": "Hearth & Bean",
                "demo": True,
                "generated_at": "2026-01-12T06:00:00Z",
            }
        )
    )
    (folder / "monthly-2025-12.html").write_text("<h1>December</h1>")  # no sidecar: still listed
    page = client.get("/reports").text
    assert "2026-01-05 – 2026-01-11" in page and "Hearth &amp; Bean" in page and "demo" in page
    assert page.index("2026-01-05") < page.index("2025-12")
    assert client.get("/reports/hearth-and-bean/weekly-2026-W02.html").text == "<h1>Week 2</h1>"
    assert client.get("/reports/hearth-and-bean/..%2F..%2Fbrand.yaml").status_code == 404
    assert client.get("/reports/hearth-and-bean/weekly-2026-W02.json").status_code == 404


def test_budget_panel_shows_month_to_date_forecast_strategy_and_why(client, store, monkeypatch):
    monkeypatch.setenv("SPLANTS_MONTHLY_BUDGET_USD", "10")
    now = dt.datetime.now(dt.UTC)
    with store.write() as conn:
        conn.execute(
            "INSERT INTO llm_calls (call_id, campaign_id, piece_id, cost_usd, called_at, status)"
            " VALUES ('c1', ?, 'p', 2.5, ?, 'ok')",
            [CAMPAIGN, now],
        )
    page = client.get("/budget").text
    assert "$10.00" in page and "$2.50" in page and "Forecast at month end" in page
    assert "<dt>Strategy</dt>" in page and "<dt>Why</dt>" in page and CAMPAIGN in page


def test_off_loopback_needs_a_password_and_then_a_login(data_dir, seeded):
    assert bind_problem("127.0.0.1", None) is None and bind_problem("::1", None) is None
    assert "SPLANTS_DESK_PASSWORD" in (bind_problem("0.0.0.0", None) or "")
    assert bind_problem("0.0.0.0", "s3cret") is None
    with TestClient(create_app(data_dir, password="s3cret")) as c:
        first = c.get("/", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/login"
        assert c.post(f"/pieces/{seeded[1]}/approve", data={}).status_code == 403
        form = c.get("/login").text
        wrong = c.post("/login", data={"csrf_token": token(form), "password": "guess"})
        assert wrong.status_code == 401 and "wrong password" in wrong.text
        assert c.post("/login", data={"password": "s3cret"}).status_code == 403  # the login form has CSRF too
        ok = c.post("/login", data={"csrf_token": token(form), "password": "s3cret"}, follow_redirects=False)
        assert ok.status_code == 303
        assert c.get("/", follow_redirects=False).status_code == 200  # the session now says who logged in
        assert c.get("/static/htmx.min.js").status_code == 200
        assert token(c.get("/inbox").text) != token(form)  # a new CSRF token after login


def test_the_command_refuses_a_public_address_without_a_password(data_dir):
    from typer.testing import CliRunner

    from splants_dagster.cli import app

    result = CliRunner().invoke(
        app, ["desk"], env={"SPLANTS_DESK_HOST": "0.0.0.0", "SPLANTS_DESK_PASSWORD": ""}
    )
    assert result.exit_code == 2 and "set SPLANTS_DESK_PASSWORD" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_an_edit_is_rechecked_by_qa_before_it_can_be_approved(client, seeded, store):
    brief, _ = load_brief(PROJECT_ROOT / "data" / "campaigns" / "compostable-pods-launch.yaml")
    with store.write() as conn:
        conn.execute(
            "UPDATE campaigns SET brief_json = ? WHERE campaign_id = ?", [brief.model_dump_json(), CAMPAIGN]
        )
    t = csrf(client)
    bad = "Our compostable pods cure cancer and are guaranteed to make you lose weight. #HearthAndBean"
    blocked = client.post(f"/pieces/{seeded[1]}/edit", data={"csrf_token": t, "text": bad})
    assert blocked.status_code == 422 and "fails the legal check" in blocked.text
    refused = client.post(f"/pieces/{seeded[1]}/approve", data={"csrf_token": t})
    assert refused.status_code == 409 and "the edit fails the legal/factual gate" in refused.text
    good = (
        "Compostable coffee pods from Hearth & Bean: brew your morning cup and put the pod in your home "
        "compost. #HearthAndBean"
    )
    kept = client.post(f"/pieces/{seeded[1]}/edit", data={"csrf_token": t, "text": good})
    assert kept.status_code == 200 and "edit kept" in kept.text
    assert client.post(f"/pieces/{seeded[1]}/approve", data={"csrf_token": t}).status_code == 200
    rows = store.query("SELECT decision, qa_passed, edited_text FROM review_decisions ORDER BY decided_at")
    assert [(r["decision"], r["qa_passed"]) for r in rows] == [
        ("edit", False),
        ("edit", True),
        ("approve", None),
    ]
    assert rows[1]["edited_text"] == good
