"""`splants campaign validate|sync` and `splants demo`, run as a user would (installed entry point)."""

import datetime as dt
import os
import re
import subprocess
from pathlib import Path

import pytest

from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN
from splants_dagster_tests.robustness.bad_briefs import BAD_BRIEFS

ROOT = Path(__file__).resolve().parents[2]
SPLANTS = str(Path(os.sys.executable).parent / "splants")


def splants(*args, env=None, cwd=None):
    return subprocess.run([SPLANTS, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def dagster_env(data_dir: Path, tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text((ROOT / "deploy" / "dagster.yaml").read_text())
    return {**os.environ, "DAGSTER_HOME": str(home), "SPLANTS_DATA_DIR": str(data_dir)}


def no_traceback(out: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in out.stderr + out.stdout and "MarkupError" not in out.stderr + out.stdout


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
    env = dagster_env(data_dir, tmp_path)
    home = Path(env["DAGSTER_HOME"])
    briefs = len(list((data_dir / "campaigns").glob("*.yaml")))
    sync = splants("campaign", "sync", env=env)
    assert sync.returncode == 0, sync.stderr
    assert f"{briefs} valid brief(s), {briefs} newly registered, 0 invalid" in sync.stdout
    demo = splants("demo", "--campaign", DEMO_CAMPAIGN, env=env)
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
        assert any(r.tags.get("splants/campaign") == DEMO_CAMPAIGN for r in runs)


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
        (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)).isoformat(),
        "--duration-days",
        "10",
    ]
    out = splants(*args, env=env)
    assert out.returncode == 0, out.stderr
    from splants_dagster.campaigns.briefs import load_brief

    brief, _ = load_brief(data_dir / "campaigns" / "winter-blend.yaml")
    assert brief.keywords == ["winter blend", "filter coffee"] and brief.platforms == ["twitter", "email"]
    again = splants(*args, env=env)
    assert again.returncode == 1 and "exists" in again.stderr
    bad = splants(*[a if a != "twitter,email" else "twitter,myspace" for a in args], "--force", env=env)
    assert bad.returncode == 1 and "platforms[1]" in bad.stdout and "myspace" in bad.stdout
    missing = splants("campaign", "new", "--id", "x-y-z", env=env)
    assert missing.returncode == 2 and "--topic is required" in missing.stderr
    past = splants(
        *[a if a != "winter-blend" else "old-blend" for a in args[:-4]],
        "--start-date",
        "2020-01-06",
        "--duration-days",
        "10",
        env=env,
    )
    assert past.returncode == 1 and "ended before today" in past.stdout
    assert not (data_dir / "campaigns" / "old-blend.yaml").exists()


def test_status_and_sql(data_dir, instance, resources):
    from splants_dagster_tests.fixtures_http import materialize_campaign

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


def test_validate_names_file_field_and_value_of_every_bad_kind(data_dir):
    paths = []
    for name, (text, _field) in BAD_BRIEFS.items():
        paths.append(data_dir / f"{name}.yaml")
        paths[-1].write_text(text)
    good = data_dir / "campaigns" / f"{DEMO_CAMPAIGN}.yaml"
    out = splants("campaign", "validate", str(good), *map(str, paths))
    no_traceback(out)
    assert out.returncode == 1
    assert f"valid {good}" in out.stdout
    errors = out.stderr.splitlines()
    assert len(errors) == len(BAD_BRIEFS)
    for path, (_text, field) in zip(paths, BAD_BRIEFS.values(), strict=True):
        (line,) = [line for line in errors if f"{path}:" in line]
        assert f"field '{field}'" in line and len(line) < 600, line
    assert "field 'tone' = '[/oops]'" in out.stderr and "[/oops]" in out.stdout
    assert "field 'start_date' = '2026-13-02': is not a calendar date (month must be in 1..12)" in out.stderr


def test_validate_shows_the_resolved_demo_window(data_dir):
    out = splants("campaign", "validate", str(data_dir / "campaigns" / f"{DEMO_CAMPAIGN}.yaml"))
    assert out.returncode == 0, out.stderr
    start, last = (
        dt.date.fromisoformat(d) for d in re.search(r"runs (\S+) to (\S+) \(21 days\)", out.stdout).groups()
    )
    assert (
        dt.datetime.now(dt.UTC).date() < start <= dt.datetime.now(dt.UTC).date() + dt.timedelta(days=7)
        and start.weekday() == 0
    )
    assert (last - start).days == 20 and "demo dates from 'next monday'" in out.stdout


def test_sync_registers_good_briefs_and_reports_bad_ones_without_failing(data_dir, tmp_path):
    env = dagster_env(data_dir, tmp_path)
    good = len(list((data_dir / "campaigns").glob("*.yaml")))
    for name, (text, _field) in BAD_BRIEFS.items():
        (data_dir / "campaigns" / f"{name}.yaml").write_text(text)
    sync = splants("campaign", "sync", env=env)
    no_traceback(sync)
    assert sync.returncode == 0, sync.stderr  # `make run` goes on with the good campaigns
    assert f"{good} valid brief(s), {good} newly registered, {len(BAD_BRIEFS)} invalid" in sync.stdout
    for name, (_text, field) in BAD_BRIEFS.items():
        line = next(line for line in sync.stderr.splitlines() if f"/{name}.yaml:" in line)
        assert f"field '{field}'" in line, line
    assert "'[/oops]'" in sync.stderr
    # a dropped-in copy of a registered campaign cannot take it over, whatever its name; --strict fails
    demo = (data_dir / "campaigns" / f"{DEMO_CAMPAIGN}.yaml").read_text()
    (data_dir / "campaigns" / "0-copy.yaml").write_text(demo.replace("Pre-order", "Ignore"))
    strict = splants("campaign", "sync", "--strict", env=env)
    assert strict.returncode == 1 and f"{good} valid brief(s), 0 newly registered" in strict.stdout
    assert (
        f"0-copy.yaml: field 'id' = '{DEMO_CAMPAIGN}': is already used by {DEMO_CAMPAIGN}.yaml"
        in strict.stderr
    )
    # only bad briefs: nothing to run, so sync fails (with the reasons)
    for path in (data_dir / "campaigns").glob("*.yaml"):
        if path.stem not in BAD_BRIEFS:
            path.unlink()
    none = splants("campaign", "sync", env=env)
    no_traceback(none)
    assert none.returncode == 1 and "0 valid brief(s)" in none.stdout and "bad-month.yaml" in none.stderr


def test_demo_with_an_unknown_campaign_lists_the_valid_ones(data_dir, tmp_path):
    env = dagster_env(data_dir, tmp_path)
    (data_dir / "campaigns" / "markup-tone.yaml").write_text(BAD_BRIEFS["markup-tone"][0])
    valid = sorted(p.stem for p in (data_dir / "campaigns").glob("*.yaml") if p.stem != "markup-tone")
    out = splants("demo", "--campaign", "markup-tone", env=env)
    no_traceback(out)
    assert out.returncode == 1
    assert f"no campaign 'markup-tone'; valid campaigns: {', '.join(valid)}" in out.stderr
    assert "markup-tone.yaml: field 'tone' = '[/oops]'" in out.stderr  # why it is not valid


def test_sql_prints_bracketed_data_as_written(data_dir):
    env = {**os.environ, "SPLANTS_DATA_DIR": str(data_dir)}
    out = splants("sql", "SELECT '[/oops]' AS tone, '[bold]x[/bold]' AS topic", env=env)
    no_traceback(out)
    assert out.returncode == 0 and "[/oops]" in out.stdout and "[bold]x[/bold]" in out.stdout
