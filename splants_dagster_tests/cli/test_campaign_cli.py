"""`splants campaign validate|sync` and `splants demo`, run as a user would (installed entry point)."""

import os
import subprocess
from pathlib import Path

import pytest

from splants_dagster_tests.helpers import DEMO_CAMPAIGN

ROOT = Path(__file__).resolve().parents[2]
SPLANTS = str(Path(os.sys.executable).parent / "splants")


def splants(*args, env=None, cwd=None):
    return subprocess.run([SPLANTS, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_validate_good_and_bad(data_dir):
    ok = splants("campaign", "validate", str(data_dir / "campaigns" / f"{DEMO_CAMPAIGN}.yaml"))
    assert ok.returncode == 0 and "valid" in ok.stdout
    bad = data_dir / "bad.yaml"
    bad.write_text("id: x\n")
    out = splants("campaign", "validate", str(bad))
    assert out.returncode == 1
    assert "invalid brief" in out.stdout and "topic" in out.stdout and "is required but missing" in out.stdout


@pytest.mark.slow
def test_sync_and_demo_use_dagster_home(data_dir, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "deploy" / "dagster.yaml").read_text())
    env = {**os.environ, "DAGSTER_HOME": str(home), "SPLANTS_DATA_DIR": str(data_dir)}
    sync = splants("campaign", "sync", env=env)
    assert sync.returncode == 0, sync.stderr
    assert "1 valid brief(s), 1 newly registered" in sync.stdout
    demo = splants("demo", env=env)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert f"{DEMO_CAMPAIGN}: 10 pieces" in demo.stdout
    assert (
        "pieces per platform: blog 1, email 1, facebook 2, instagram 2, linkedin 2, twitter 2" in demo.stdout
    )
    assert "offline/offline" in demo.stdout and "cost $0.0000" in demo.stdout
    assert (data_dir / "analytics.duckdb").exists()
    # the run is recorded in the instance the UI reads
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert runs and runs[0].tags["splants/campaign"] == DEMO_CAMPAIGN


def test_campaign_new_writes_a_valid_brief_and_rejects_bad_input(data_dir):
    env = {**os.environ, "SPLANTS_DATA_DIR": str(data_dir)}
    args = [
        "campaign",
        "new",
        "--id",
        "winter-blend",
        "--topic",
        "Our winter blend is back",
        "--goal",
        "Sell bags",
        "--audience",
        "Filter coffee fans",
        "--keywords",
        "winter blend,filter coffee",
        "--platforms",
        "twitter,email",
        "--content-types",
        "social_post,email",
        "--start-date",
        "2026-12-01",
        "--duration-days",
        "10",
    ]
    out = splants(*args, env=env)
    assert out.returncode == 0, out.stderr
    from splants_dagster.briefs import load_brief

    brief, _ = load_brief(data_dir / "campaigns" / "winter-blend.yaml")
    assert brief.keywords == ["winter blend", "filter coffee"] and brief.platforms == ["twitter", "email"]
    again = splants(*args, env=env)
    assert again.returncode == 1 and "exists" in again.stderr
    bad = splants(*[a if a != "twitter,email" else "twitter,myspace" for a in args], "--force", env=env)
    assert bad.returncode == 1 and "platforms[1]" in bad.stdout and "myspace" in bad.stdout
    missing = splants("campaign", "new", "--id", "x-y-z", env=env)
    assert missing.returncode == 2 and "--topic is required" in missing.stderr


def test_status_and_sql(data_dir, instance, resources):
    from splants_dagster_tests.helpers import materialize_campaign

    materialize_campaign(instance, resources, selection=["campaign_brief", "research_brief", "content_suite"])
    env = {**os.environ, "SPLANTS_DATA_DIR": str(data_dir)}
    status = splants("status", env=env)
    assert (
        status.returncode == 0 and DEMO_CAMPAIGN[:6] in status.stdout and "content_ready"[:8] in status.stdout
    )
    one = splants("sql", "SELECT count(*) AS pieces FROM analytics.content", env=env)
    assert one.returncode == 0 and "10" in one.stdout
    bad = splants("sql", "SELECT nope FROM analytics.content", env=env)
    assert bad.returncode == 1 and "nope" in bad.stderr
    repl = subprocess.run(
        [SPLANTS, "sql"],
        input=".views\nSELECT count(*) AS n\nFROM analytics.llm_calls;\n.quit\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert repl.returncode == 0 and "content" in repl.stdout and "12" in repl.stdout
