"""Kill the publishing process mid-batch (a real ``splants publish --now`` subprocess, SIGKILL while a create
request is in flight at a fake platform), re-run it, and check what ended up on the platforms. The review
queue is in the path: nothing is sent before ``splants review approve --campaign ID --all``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from splants_dagster.cli import app
from splants_dagster_tests.publishing.fakes import (
    FakeLinkedIn,
    FakeMailchimp,
    FakeWebhookReceiver,
    FakeWordPress,
    FakeX,
)
from splants_dagster_tests.publishing.seeding import (
    ALL_ENV,
    LONG_X,
    env,
    files_containing,
    piece,
    publications,
    seed,
)

pytestmark = pytest.mark.slow


def splants(
    data_dir: Path, extra_env: dict[str, str], *args: str, command: str = "publish"
) -> subprocess.Popen:
    script = Path(sys.executable).parent / "splants"
    cmd = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from splants_dagster.cli import main; main()"]
    )
    base = {k: v for k, v in os.environ.items() if k not in ALL_ENV}
    base.update(
        extra_env, DAGSTER_HOME=str(data_dir.parent / "dagster_home"), PYTHONUNBUFFERED="1", COLUMNS="200"
    )
    (data_dir.parent / "dagster_home").mkdir(exist_ok=True)
    return subprocess.Popen(
        [*cmd, command, *args], env=base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def kill_when(proc: subprocess.Popen, event, timeout_s: float = 90.0) -> None:
    try:
        arrived = event.wait(timeout_s)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    assert arrived, "the slow create never arrived"
    assert proc.returncode == -signal.SIGKILL


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    out, err = proc.communicate(timeout=180)
    return proc.returncode, out + err


def approve_all(data_dir: Path, config: dict[str, str], fakes) -> None:
    """Nothing reaches a configured platform before a person approves; then approve every piece."""
    code, output = finish(splants(data_dir, config, "--now"))
    assert code == 0, output
    assert not [f for f in fakes if f.requests], "a platform was called before approval"
    code, output = finish(
        splants(data_dir, config, "approve", "--campaign", "pods-test", "--all", command="review")
    )
    assert code == 0, output


def test_sigkill_mid_batch_then_rerun_publishes_every_item_exactly_once(store, data_dir):
    pieces = [
        piece("blog", 1, is_pillar=True),
        piece("twitter", 1),
        piece("blog", 2),
        piece("linkedin", 1),
        piece("blog", 3),  # the run is killed while WordPress is creating this one
        piece("twitter", 2, rendered=LONG_X),
        piece("email", 1),
        piece("blog", 4),
        piece("instagram", 1),
    ]
    ids = seed(store, pieces)
    with (
        FakeWordPress() as wp,
        FakeX() as x,
        FakeLinkedIn() as li,
        FakeMailchimp() as mc,
        FakeWebhookReceiver() as hooks,
    ):
        wp.slow_create = {3: 20.0}
        config = env(data_dir, wp=wp, x=x, li=li, mc=mc, hooks=hooks)
        approve_all(data_dir, config, [wp, x, li, mc])
        kill_when(splants(data_dir, config, "--now"), wp.create_received[3])
        assert len(wp.posts) == 3  # the third post exists: WordPress stored it before the kill
        with store.write() as conn:
            states = dict(conn.execute("SELECT piece_id, status FROM publications").fetchall())
        assert states[ids[4]] == "in_flight" and states[ids[0]] == "published"

        code, output = finish(splants(data_dir, config, "--now"))
        assert code == 0, output
        assert "reconciled" in output

        assert Counter(p["slug"] for p in wp.posts.values()) == Counter({s: 1 for s in wp.creates})
        assert len(wp.posts) == 4 and set(wp.creates.values()) == {1}
        assert len(x.tweets) == 3 and set(x.creates.values()) == {1}  # 1 post + a 2-part thread
        assert len(li.posts) == 1 and len(mc.campaigns) == 1 and set(mc.sends.values()) == {1}
        assert len(list((data_dir / "outbox" / "instagram").glob("*.json"))) == 1
        rows = publications(store)
        assert {r["status"] for r in rows.values()} == {"published"} and len(rows) == 9
        assert rows[ids[4]]["attempts"] == 1  # reconciled, never sent twice
        # every publication announced once (receivers dedupe on the event id; no duplicates here)
        assert sorted(e["data"]["piece_id"] for e in hooks.events) == sorted(ids)
        assert len({e["id"] for e in hooks.events}) == 9
        secrets = [wp.app_password, x.token, li.token, mc.api_key, hooks.secret, "path-secret-991"]
        assert files_containing(data_dir, secrets) == []
        assert not [s for s in secrets if s in output]


def test_sigkill_during_an_x_post_is_never_resent_and_waits_for_a_person(store, data_dir, monkeypatch):
    ids = seed(store, [piece("twitter", 1), piece("twitter", 2), piece("blog", 1)])
    with FakeX() as x, FakeWordPress() as wp:
        x.slow_create = {2: 20.0}
        config = env(data_dir, wp=wp, x=x)
        approve_all(data_dir, config, [wp, x])
        kill_when(splants(data_dir, config, "--now"), x.create_received[2])
        code, output = finish(splants(data_dir, config, "--now"))
        assert code == 1, output  # an item needs review
        assert len(x.tweets) == 2 and set(x.creates.values()) == {1}
        rows = publications(store)
        assert rows[ids[0]]["status"] == "published" and rows[ids[2]]["status"] == "published"
        assert rows[ids[1]]["status"] == "in_flight" and rows[ids[1]]["needs_review"]
        assert "X has no lookup" in rows[ids[1]]["last_error"] or "no lookup" in rows[ids[1]]["last_error"]

        runner = CliRunner()
        listed = runner.invoke(app, ["publish", "review"], env={"COLUMNS": "250"})
        assert listed.exit_code == 0 and rows[ids[1]]["idempotency_key"] in listed.output
        posted = next(t for t in x.tweets.values() if t["text"] == piece("twitter", 2)["rendered"])
        resolved = runner.invoke(
            app,
            [
                "publish",
                "resolve",
                rows[ids[1]]["idempotency_key"],
                "--published",
                "--url",
                f"https://x.com/i/web/status/{posted['id']}",
            ],
        )
        assert resolved.exit_code == 0, resolved.output
        row = publications(store)[ids[1]]
        assert row["status"] == "published" and not row["needs_review"] and row["url"].endswith(posted["id"])
        assert len(x.tweets) == 2
