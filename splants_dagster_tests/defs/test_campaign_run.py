"""The demo campaign materialized end to end with dg.materialize into a temp data dir and instance."""

import subprocess
import sys

import dagster as dg
import pytest

from splants_dagster.platforms import CHAR_LIMITS, HASHTAG_RULES, META_DESCRIPTION_RANGE, SEO_TITLE_MAX
from splants_dagster.text import contains_phrase, hashtags
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, materialize_campaign

CORE = ["campaign_brief", "research_brief", "content_suite"]


def run_core(instance, resources, campaign=DEMO_CAMPAIGN, **kw):
    return materialize_campaign(instance, resources, campaign, selection=CORE, **kw)


def test_demo_campaign_end_to_end(instance, resources, store):
    result = run_core(instance, resources)
    assert result.success
    pieces = store.query(
        "SELECT * FROM analytics.content WHERE campaign_id = ? ORDER BY piece_id", [DEMO_CAMPAIGN]
    )
    per_platform = {}
    for p in pieces:
        per_platform[p["platform"]] = per_platform.get(p["platform"], 0) + 1
    # blog: pillar; twitter/linkedin/instagram/facebook: social_post + ad_copy; email: email
    assert per_platform == {"blog": 1, "twitter": 2, "linkedin": 2, "instagram": 2, "facebook": 2, "email": 1}
    for p in pieces:
        limit = CHAR_LIMITS[p["platform"]]
        assert limit is None or p["char_count"] <= limit, p["piece_id"]
        assert len(p["hashtags"]) <= HASHTAG_RULES[p["platform"]].max_count
        assert p["model"] == {"standard": "offline", "template": "template"}[p["candidate_strategy"]]
        assert 0 <= p["total_score"] <= 1
        assert any(
            contains_phrase(f"{p['title']} {p['body']}", k)
            for k in [
                "compostable coffee pods",
                "home compostable",
                "specialty coffee",
                "pod machine",
                "coffee waste",
            ]
        )
    twitter = [p for p in pieces if p["platform"] == "twitter"]
    for p in twitter:
        rendered = store.query("SELECT rendered FROM content_pieces WHERE piece_id = ?", [p["piece_id"]])[0][
            "rendered"
        ]
        assert len(rendered) <= 280 and len(hashtags(rendered)) <= 2
    pillar = store.query("SELECT * FROM content_pieces WHERE is_pillar AND campaign_id = ?", [DEMO_CAMPAIGN])[
        0
    ]
    assert len(pillar["seo_title"]) <= SEO_TITLE_MAX
    assert META_DESCRIPTION_RANGE[0] <= len(pillar["meta_description"]) <= META_DESCRIPTION_RANGE[1]
    assert pillar["body"].count("\n## ") >= 3
    assert contains_phrase(pillar["body"], "compostable coffee pods")
    assert pillar["score_components"] == "quality,seo,readability,uniqueness"  # no predictor yet

    calls = store.query(
        "SELECT purpose, piece_id, provider, asset FROM analytics.llm_calls WHERE campaign_id = ?",
        [DEMO_CAMPAIGN],
    )
    piece_calls = [c for c in calls if c["purpose"] == "content.piece"]
    assert len(piece_calls) == len(pieces) and {c["piece_id"] for c in piece_calls} == {
        p["piece_id"] for p in pieces
    }
    assert sorted(c["purpose"] for c in calls if c["asset"] == "research_brief") == [
        "research.audience",
        "research.keywords",
    ]
    assert len(calls) == len(pieces) + 2 and {c["provider"] for c in calls} == {"offline"}

    keywords = store.query(
        "SELECT keyword, source FROM analytics.research_keywords WHERE campaign_id = ? ORDER BY rank",
        [DEMO_CAMPAIGN],
    )
    assert keywords[0]["keyword"] == "compostable coffee pods"
    assert {k["source"] for k in keywords} == {"brief", "sources", "llm"}
    status = store.query("SELECT status FROM analytics.campaigns WHERE campaign_id = ?", [DEMO_CAMPAIGN])
    assert status == [{"status": "content_ready"}]
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"within_platform_limits": True, "pillar_seo_fields": True, "keywords_present": True}

    meta = result.asset_materializations_for_node("content_suite")[0].metadata
    assert meta["pieces"].value == len(pieces)
    assert "offline" in meta["llm"].value and "not a language model" in meta["llm"].value
    assert meta["score_components_missing"].value == "predicted_performance"


def test_rematerializing_is_idempotent(instance, resources, store):
    run_core(instance, resources)
    first = store.query("SELECT piece_id, body FROM content_pieces ORDER BY piece_id")
    run_core(instance, resources)
    assert store.query("SELECT piece_id, body FROM content_pieces ORDER BY piece_id") == first
    assert (
        store.query("SELECT count(*) n FROM research_keywords")[0]["n"]
        == store.query("SELECT count(DISTINCT keyword) n FROM research_keywords")[0]["n"]
    )


BAD_BRIEFS = {
    "missing-field.yaml": (
        "id: missing-field\ntopic: A topic long enough\naudience: People\nplatforms: [twitter]\n"
        "content_types: [social_post]\nstart_date: 2026-12-01\nduration_days: 5\n",
        "goal",
    ),
    "unknown-platform.yaml": (
        "id: unknown-platform\ntopic: A topic long enough\ngoal: Sell\naudience: People\n"
        "platforms: [myspace]\ncontent_types: [social_post]\nstart_date: 2026-12-01\n"
        "duration_days: 5\n",
        "platforms[0]",
    ),
    "short-topic.yaml": (
        "id: short-topic\ntopic: Hey\ngoal: Sell\naudience: People\nplatforms: [twitter]\n"
        "content_types: [social_post]\nstart_date: 2026-12-01\nduration_days: 5\n",
        "topic",
    ),
    "malformed.yaml": ("id: malformed\ntopic: [unclosed\n  goal: :\n", "(yaml)"),
}


def test_bad_briefs_are_reported_and_good_campaign_untouched(instance, resources, store, data_dir):
    for name, (text, _) in BAD_BRIEFS.items():
        (data_dir / "campaigns" / name).write_text(text)
    from splants_dagster.defs.campaigns.assets import campaign_catalog

    catalog = dg.materialize([campaign_catalog], instance=instance, resources=resources)
    (check,) = catalog.get_asset_check_evaluations()
    assert check.check_name == "briefs_are_valid" and not check.passed
    problems = check.metadata["problems"].value
    for name, (_, field) in BAD_BRIEFS.items():
        assert name in problems and field in problems
    assert "myspace" in problems and "Hey" in problems
    files = store.query(
        "SELECT file, valid FROM analytics.campaigns c RIGHT JOIN brief_files f USING (campaign_id)"
    )
    assert sum(1 for f in files if not f["valid"]) == 4

    # a bad partition fails alone, naming the problem; the good campaign still runs
    bad = run_core(instance, resources, "unknown-platform", raise_on_error=False)
    assert not bad.success
    failure = next(e for e in bad.all_events if e.event_type_value == "STEP_FAILURE")
    assert (
        "platforms[0]" in failure.step_failure_data.error.message
        and "myspace" in failure.step_failure_data.error.message
    )
    good = run_core(instance, resources)
    assert good.success
    assert store.query("SELECT count(*) n FROM analytics.content")[0]["n"] == 10


def test_analyst_connection_held_open_during_a_run(instance, resources, store, paths):
    with store.write():
        pass  # publish an (empty) snapshot the analyst can open
    analyst = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys\n"
            f"c = duckdb.connect({str(paths.analytics_db)!r}, read_only=True)\n"
            "print(c.execute('select count(*) from analytics.content').fetchone()[0], flush=True)\n"
            "sys.stdin.readline()\n"
            "print(c.execute('select count(*) from analytics.content').fetchone()[0], flush=True)\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert analyst.stdout.readline().strip() == "0"
        assert run_core(instance, resources).success  # the open read-only connection never blocks a writer
        analyst.stdin.write("\n")
        analyst.stdin.flush()
        assert analyst.stdout.readline().strip() == "0"  # consistent: the state as of when it opened
    finally:
        analyst.wait(10)
    assert analyst.returncode == 0
    # a new analyst connection sees the completed run
    assert store.query("SELECT count(*) n FROM analytics.content")[0]["n"] == 10


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_campaign_job_runs_with_either_executor(executor, instance, resources, monkeypatch, data_dir):
    """The job the sensor launches, as configured by SPLANTS_EXECUTOR (multiprocess: one process per step)."""
    from splants_dagster.definitions import defs

    monkeypatch.setenv("SPLANTS_EXECUTOR", executor)
    if executor == "multiprocess":
        pytest.importorskip("dagster")
        # multiprocess needs a persistent instance and a reconstructable job: covered by the e2e UI test
        assert defs().executor.name == "multiprocess"
        return
    instance.add_dynamic_partitions("campaigns", [DEMO_CAMPAIGN])
    job = defs().resolve_job_def("campaign_job")
    result = job.execute_in_process(partition_key=DEMO_CAMPAIGN, instance=instance, resources=None)
    assert result.success
