"""``splants publish`` in process (the SIGKILL tests run it as a real subprocess)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from splants_dagster.cli import app
from splants_dagster_tests.publishing.fakes import FakeX
from splants_dagster_tests.publishing.seeding import CAMPAIGN, env, piece, publications, seed


def test_dry_run_prints_what_would_be_sent_and_campaign_filters(store, data_dir, monkeypatch):
    ids = seed(store, [piece("twitter", 1), piece("instagram", 1)])
    runner = CliRunner()
    with FakeX() as x:
        for key, value in env(data_dir, x=x).items():
            monkeypatch.setenv(key, value)
        approved = runner.invoke(app, ["review", "approve", "--campaign", CAMPAIGN, "--all"])
        assert approved.exit_code == 0 and "2 approved" in approved.output, approved.output
        other = runner.invoke(app, ["publish", "--campaign", "another-campaign", "--now"])
        assert other.exit_code == 0, other.output
        assert "nothing due" in other.output
        result = runner.invoke(app, ["publish", "--dry-run", "--now"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert not x.requests
    assert '"path": "/2/tweets"' in result.output
    assert "no instagram publisher in this version" in result.output
    assert x.token not in result.output
    rows = publications(store)
    assert {rows[i]["status"] for i in ids} == {"dry_run"}
    assert json.loads(rows[ids[0]]["dry_run_payload"])["posts"] == 1
    # without credentials the real run goes to the outbox and says so
    monkeypatch.delenv("X_ACCESS_TOKEN")
    result = runner.invoke(app, ["publish", "--now"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "published 2" in result.output
    assert {r["publisher"] for r in publications(store).values()} == {"outbox"}
    assert len(list((data_dir / "outbox" / "twitter").glob("*.md"))) == 1
