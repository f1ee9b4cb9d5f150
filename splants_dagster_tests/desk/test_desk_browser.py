"""End to end in Debian's headless Chromium: a marketer writes a brief in the desk's form, the brief sensor
(ticked in-process against a real Dagster instance, as the daemon would) starts the campaign, the page
follows the run through htmx polling, the pieces appear on the calendar, one is approved in the desk and
reaches the outbox exactly once; a rejected one never does. Screenshots go to test-artifacts/desk/."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import uvicorn
from typer.testing import CliRunner

from splants_dagster.cli import app as cli_app
from splants_dagster.cli.desk import instance_runs, outbox_channels, send_preview
from splants_dagster.definitions import defs
from splants_dagster.defs.campaigns.sensors import campaign_brief_sensor
from splants_dagster.defs.resources import ProjectResource
from splants_dagster.desk.app import create_app
from splants_dagster.paths import PROJECT_ROOT, DataPaths
from splants_dagster.warehouse.store import Warehouse
from splants_dagster_tests.e2e.test_ui import Browser, chromium

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "desk"
CAMPAIGN = "spring-pods-desk"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DeskServer:
    """The desk app under uvicorn on 127.0.0.1 in a thread (the same server `splants desk` runs)."""

    def __init__(self, app) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> DeskServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.server.started, "the desk did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def run_sensor_requests(instance, data_dir, resources) -> list[dg.RunRequest]:
    """One tick of the brief sensor, then each campaign run it requests, executed in-process with the
    request's partition and tags (what the daemon would launch)."""
    ctx = dg.build_sensor_context(
        instance=instance, resources={"project": ProjectResource(data_dir=str(data_dir))}
    )
    result = campaign_brief_sensor(ctx)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    assets = [a for a in defs().assets if isinstance(a, dg.AssetsDefinition)]
    campaign_assets = [a for a in assets if getattr(a.partitions_def, "name", None) == "campaigns"]
    launched = [r for r in result.run_requests or [] if r.job_name == "campaign_job"]
    for request in launched:
        outcome = dg.materialize(
            campaign_assets,
            partition_key=request.partition_key,
            instance=instance,
            resources=resources,
            tags=request.tags,
        )
        assert outcome.success
    return launched


def outbox_files(data_dir, piece_id: str) -> list:
    return [p for p in (data_dir / "outbox").rglob("*.json") if piece_id in p.read_text(encoding="utf-8")]


def test_brief_to_calendar_to_approval_to_outbox_in_a_real_browser(data_dir, instance, resources):
    for path in (data_dir / "campaigns").iterdir():  # only the campaign written in the form
        path.unlink()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    start = dt.datetime.now(ZoneInfo("Europe/London")).date() + dt.timedelta(days=1)
    app = create_app(  # wired as `splants desk` wires it
        data_dir,
        runs=instance_runs(instance),
        user="maria",
        outbox=outbox_channels("Europe/London"),
        send_preview=send_preview,
    )
    browser = Browser(chromium())
    try:
        with DeskServer(app) as desk:
            page = browser.page
            page.goto(f"{desk.url}/campaigns/new")
            page.get_by_label("Campaign id").fill("Spring Pods")  # not a slug: the model's message, inline
            page.get_by_label("Topic").fill("Spring refill boxes of our home-compostable coffee pods")
            page.get_by_text("must be a slug").first.wait_for(timeout=30_000)
            page.get_by_label("Campaign id").fill(CAMPAIGN)
            page.get_by_label("Goal").fill("200 refill-box orders in April")
            page.get_by_label("Audience").fill("Home coffee drinkers in the UK with pod machines")
            page.get_by_label("Start date").fill(start.isoformat())
            page.get_by_label("Duration (days)").fill("14")
            for name in ("blog", "twitter", "instagram", "facebook"):
                page.locator(f'input[name="platforms"][value="{name}"]').check()
            for name in ("blog", "social_post"):
                page.locator(f'input[name="content_types"][value="{name}"]').check()
            page.get_by_label("Facts the copy may rely on (one per line)").fill(
                "The refill box holds 30 pods and costs £12.\nThe pods are certified home compostable."
            )
            page.get_by_label("Source 1 (URL or file under the data dir)").fill(
                "sources/competitor-podco.html"
            )
            page.locator("#role-0").select_option("competitor")
            page.get_by_label("Landing link").fill("https://hearthandbean.example/refill")
            page.get_by_text("Suite plan (4 pieces)").wait_for(timeout=30_000)
            assert "must be a slug" not in page.inner_text("#check")
            page.get_by_role("button", name="Save the brief").click()
            page.wait_for_url(f"**/campaigns/{CAMPAIGN}")
            page.get_by_text("No run yet").wait_for(timeout=30_000)
            assert (data_dir / "campaigns" / f"{CAMPAIGN}.yaml").exists()

            # Playwright's sync API keeps an event loop running on this thread, and the research step
            # calls asyncio.run: run the tick and the campaign on a thread of their own, as the daemon would
            launched: list = []
            worker = threading.Thread(
                target=lambda: launched.extend(run_sensor_requests(instance, data_dir, resources))
            )
            worker.start()
            worker.join()
            [request] = launched
            assert request.partition_key == CAMPAIGN and request.tags["splants/campaign"] == CAMPAIGN
            page.get_by_text("SUCCESS").first.wait_for(timeout=60_000)  # htmx polling saw the finished run
            page.get_by_role("link", name="Open the calendar").click()
            page.goto(f"{desk.url}/?campaign={CAMPAIGN}&day={start.isoformat()}&view=week")
            assert page.locator("a.item").count() >= 4

            store = Warehouse(DataPaths.at(data_dir))
            pieces = store.query(
                "SELECT piece_id, platform FROM schedule WHERE campaign_id = ? ORDER BY publish_at",
                [CAMPAIGN],
            )
            chosen = next(p["piece_id"] for p in pieces if p["platform"] == "instagram")
            rejected = next(p["piece_id"] for p in pieces if p["platform"] == "facebook")
            page.locator(f'a.item[href="/pieces/{chosen.replace(":", "%3A")}"]').first.click()
            page.get_by_role("heading", name="Preview (instagram)").wait_for()
            assert "Goes via outbox" in page.inner_text("main")
            page.screenshot(path=str(ARTIFACTS / "piece.png"), full_page=True)
            page.get_by_role("button", name="Approve this text").click()
            page.get_by_role("status").filter(has_text="approved").wait_for()

            page.goto(f"{desk.url}/pieces/{rejected.replace(':', '%3A')}")
            page.get_by_label("Reason (required)").fill("off-brand photo idea")
            page.get_by_role("button", name="Reject").click()
            page.get_by_text("rejected: it goes nowhere").wait_for()

            runner = CliRunner()
            for _ in range(2):  # the publishing step twice: the second adds nothing
                result = runner.invoke(cli_app, ["publish", "--campaign", CAMPAIGN, "--now"])
                assert "Traceback" not in result.output, result.output
            page.goto(f"{desk.url}/?campaign={CAMPAIGN}&day={start.isoformat()}&view=week")
            chosen_link = f'a.item[href="/pieces/{chosen.replace(":", "%3A")}"]'
            rejected_link = f'a.item[href="/pieces/{rejected.replace(":", "%3A")}"]'
            assert "st-published" in (page.locator(chosen_link).first.get_attribute("class") or "")
            assert "st-rejected" in (page.locator(rejected_link).first.get_attribute("class") or "")
            page.screenshot(path=str(ARTIFACTS / "calendar.png"), full_page=True)

        decisions = store.query(
            "SELECT piece_id, decision, decided_by, source FROM review_decisions ORDER BY 2"
        )
        assert [(d["piece_id"], d["decision"], d["source"]) for d in decisions] == [
            (chosen, "approve", "desk"),
            (rejected, "reject", "desk"),
        ]
        assert len(outbox_files(data_dir, chosen)) == 1
        assert outbox_files(data_dir, rejected) == []
        rows = {
            r["piece_id"]: r
            for r in store.query("SELECT * FROM publications WHERE campaign_id = ?", [CAMPAIGN])
        }
        assert rows[chosen]["status"] == "published" and rows[chosen]["publisher"] == "outbox"
        assert rows[rejected]["status"] == "rejected"
        payload = json.loads(outbox_files(data_dir, chosen)[0].read_text(encoding="utf-8"))
        assert chosen in json.dumps(payload)
    finally:
        browser.close()
