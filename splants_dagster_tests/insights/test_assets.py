"""``content_insights`` through ``dg.materialize`` on a temporary warehouse and instance: rows in
``analytics.content_insights`` from a known signal, demo labelling, and the content suite of the next
(demo) campaign shaped by them and recording it."""

import json

import dagster as dg

from splants_dagster.defs.insights.assets import content_insights
from splants_dagster.insights.data import campaign_insights
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, materialize_campaign
from splants_dagster_tests.ml.history import seed_history


def _materialize(instance, resources):
    result = dg.materialize([content_insights], instance=instance, resources=resources)
    assert result.success
    return result.asset_materializations_for_node("content_insights")[0].metadata


def test_the_asset_writes_the_view_rows_from_real_history(store, instance, resources):
    seed_history(store, 360)  # real posts; those asking a question get 1.8x the engagement
    meta = _materialize(instance, resources)
    rows = store.query("SELECT * FROM analytics.content_insights ORDER BY platform, feature, level")
    assert meta["tested"].value == len(rows) > 0 and meta["demo_rows"].value == 0
    assert meta["supported"].value + meta["unsupported"].value == len(rows)
    assert "simulated" not in meta
    asks = [r for r in rows if (r["feature"], r["level"]) == ("question", "ends_with_question")]
    assert {r["platform"] for r in asks} == {"twitter", "linkedin", "instagram", "facebook", "blog", "email"}
    assert all(r["supported"] and r["direction"] == "higher" and r["ci_low"] > 0 for r in asks)
    assert all(not r["demo"] and r["brand"] and r["computed_at"] for r in rows)
    assert not any(r["supported"] for r in rows if r["feature"] == "time_slot")  # random hours
    assert "ending with a question" in meta["supported_insights"].value
    # a real campaign may use them
    real = campaign_insights(store, demo_campaign=False)
    assert {i["id"] for i in real} >= {
        f"{p}:engagement:question=ends_with_question" for p in ("linkedin", "twitter")
    }

    # re-materializing replaces the rows (no duplicates)
    _materialize(instance, resources)
    assert len(store.query("SELECT * FROM analytics.content_insights")) == len(rows)


def test_demo_history_gives_demo_insights_that_shape_only_demo_campaigns(store, instance, resources):
    seed_history(store, 360)
    with store.write() as conn:
        conn.execute("UPDATE engagement_posts SET is_demo = true")
        conn.execute("UPDATE engagement_metrics SET is_demo = true")
    meta = _materialize(instance, resources)
    rows = store.query("SELECT * FROM analytics.content_insights")
    assert rows and all(r["demo"] and r["insight_id"].startswith("demo:") for r in rows)
    assert meta["demo_rows"].value == len(rows) and "Demo insights" in meta["simulated"].value
    assert campaign_insights(store, demo_campaign=False) == []

    # the demo campaign's content suite reads them, shapes the posts and records why
    result = materialize_campaign(
        instance, resources, selection=["campaign_brief", "research_brief", "content_suite"]
    )
    assert result.success
    (content_meta,) = result.asset_materializations_for_node("content_suite")
    applied = content_meta.metadata["insights_applied"].value
    linkedin = f"{DEMO_CAMPAIGN}:linkedin:social_post"
    assert any("ending with a question" in s for s in applied[linkedin])
    (piece,) = store.query(
        "SELECT body, insights_applied FROM analytics.content WHERE piece_id = ?", [linkedin]
    )
    recorded = json.loads(piece["insights_applied"])
    assert {r["id"] for r in recorded} >= {"demo:linkedin:engagement:question=ends_with_question"}
    assert all(r["demo"] for r in recorded)
