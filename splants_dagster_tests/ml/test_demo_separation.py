"""Demo data kept apart (issue #16): a model trained on simulated engagement is a demo model that never
scores a real campaign; simulated rows leave the training set and the learned schedule as soon as real
rows exist."""

import datetime as dt

import dagster as dg
import pytest

from splants_dagster.defs.ml.assets import performance_predictor, performance_training_set
from splants_dagster.defs.ml.resources import PredictorResource
from splants_dagster.ml import data
from splants_dagster.ml.registry import ModelRegistry
from splants_dagster.publishing.scheduling import ScheduleItem, build_schedule, usable_history
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, materialize_campaign
from splants_dagster_tests.ml.history import history_frames

TRAIN = [performance_training_set, performance_predictor]


@pytest.fixture
def ml_resources(resources):
    return {**resources, "predictor": PredictorResource(candidates="small", min_rows=100)}


def _write_history(store, n: int, demo: bool, seed: int, platforms=None, replace: bool = False) -> None:
    kw = {"platforms": platforms} if platforms else {}
    posts, metrics = history_frames(n, signal=True, seed=seed, **kw)
    posts["is_demo"] = demo
    metrics["is_demo"] = demo
    if demo:
        posts["source"] = "simulator"
    with store.write() as conn:
        if replace:
            conn.execute("DELETE FROM engagement_posts")
            conn.execute("DELETE FROM engagement_metrics")
        for table, frame in (("engagement_posts", posts), ("engagement_metrics", metrics)):
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(frame.columns)}) "
                f"VALUES ({', '.join('?' * len(frame.columns))})",
                frame.itertuples(index=False, name=None),
            )


def _metadata(result, asset: str) -> dict:
    return result.asset_materializations_for_node(asset)[0].metadata


def _set_campaign_demo(store, campaign_id: str, demo: bool) -> None:
    with store.write() as conn:
        conn.execute(
            "UPDATE campaigns SET brief_json = json_merge_patch(brief_json, ?) WHERE campaign_id = ?",
            [f'{{"demo": {str(demo).lower()}}}', campaign_id],
        )


@pytest.mark.slow
def test_a_demo_trained_model_never_scores_a_real_campaign(store, paths, instance, ml_resources):
    _write_history(store, 300, demo=True, seed=5, replace=True)
    trained = dg.materialize(TRAIN, instance=instance, resources=ml_resources)
    assert trained.success
    meta = _metadata(trained, "performance_predictor")
    assert meta["demo_model"].value is True and meta["training_data"].value.startswith("demo")
    active, note = data.load_active(paths)
    assert active is not None and active.demo and "demo model" in note
    registry = ModelRegistry.at(paths, data.MODEL_NAME)
    assert registry.card(registry.active_version())["demo"] is True
    (run,) = store.query("SELECT is_demo, deployed FROM analytics.model_runs")
    assert run == {"is_demo": True, "deployed": True}

    # the content suite's predicted-performance component: demo campaigns only
    kw = {"tz": "UTC", "tone": None, "paid": False, "keywords": ()}
    scorer, why = data.active_suite_predictor(store, paths, demo=False, **kw)
    assert scorer is None and "simulated demo engagement" in why
    scorer, why = data.active_suite_predictor(store, paths, demo=True, **kw)
    assert scorer is not None and why.startswith("used:")

    # the demo brief (demo: true) is scored and its predictions are labelled demo ...
    result = materialize_campaign(instance, ml_resources)
    assert result.success
    assert _metadata(result, "content_suite")["predicted_performance"].value.startswith("used:")
    predictions = store.query(
        "SELECT is_demo FROM analytics.predictions WHERE campaign_id = ?", [DEMO_CAMPAIGN]
    )
    assert predictions and all(p["is_demo"] for p in predictions)

    # ... the same campaign as a real one is not: no prediction, and the metadata says why
    _set_campaign_demo(store, DEMO_CAMPAIGN, False)
    assert not data.campaign_is_demo(store, DEMO_CAMPAIGN)
    again = materialize_campaign(instance, ml_resources, selection=["content_predictions"])
    meta = _metadata(again, "content_predictions")
    assert meta["predictions"].value == 0 and meta["model_version"].value == "none"
    assert "simulated demo engagement" in meta["note"].value and meta["demo_campaign"].value is False
    assert store.query("SELECT count(*) AS n FROM analytics.predictions")[0]["n"] == 0


@pytest.mark.slow
def test_real_rows_push_simulated_rows_out_of_training(store, paths, instance, ml_resources):
    # simulated history on every platform, real history on twitter only
    _write_history(store, 200, demo=True, seed=3, replace=True)
    _write_history(store, 150, demo=False, seed=4, platforms=("twitter",))
    result = dg.materialize(TRAIN, instance=instance, resources=ml_resources)
    assert result.success
    rows = store.query("SELECT platform, is_demo FROM analytics.training_set")
    assert rows and not any(r["is_demo"] for r in rows)
    assert {r["platform"] for r in rows} == {"twitter"}
    assert _metadata(result, "performance_training_set")["training_data"].value == "real"
    active, _ = data.load_active(paths)
    if active is not None:  # a model that passed the gate learned from real rows only
        assert not active.demo
    (run,) = store.query("SELECT is_demo FROM analytics.model_runs")
    assert run["is_demo"] is False


def _history(platform: str, demo: bool, hour: int, rate: float, n: int) -> list[dict]:
    start = dt.datetime(2026, 9, 7, hour, tzinfo=dt.UTC)
    return [
        {
            "platform": platform,
            "published_at": start + dt.timedelta(days=i),
            "engagement_rate": rate * (1 + 0.01 * (i % 5)),
            "is_demo": demo,
        }
        for i in range(n)
    ] + [
        {
            "platform": platform,
            "published_at": start + dt.timedelta(days=i, hours=5),
            "engagement_rate": rate / 3,
            "is_demo": demo,
        }
        for i in range(n)
    ]


def test_simulated_rows_never_reach_the_learned_schedule_once_real_rows_exist():
    # demo history says twitter's best hour is 08 UTC; the real history says 19 UTC
    demo_twitter = _history("twitter", True, 8, 0.09, 30)
    real_twitter = _history("twitter", False, 19, 0.05, 20)
    demo_blog = _history("blog", True, 10, 0.02, 15)
    history = demo_twitter + real_twitter + demo_blog

    for demo_campaign in (False, True):
        kept = usable_history(history, demo_campaign)
        assert not [r for r in kept if r["platform"] == "twitter" and r["is_demo"]]
        result = build_schedule(
            [ScheduleItem("t1", "twitter", "social_post")],
            dt.date(2026, 12, 14),
            7,
            "UTC",
            history,
            seed="x",
            demo_campaign=demo_campaign,
        )
        grid = result.grids["twitter"]
        assert grid.posts == len(real_twitter)
        assert {hour for (_, hour), c in grid.cells.items() if c.posts} == {19, 0}
    # the blog has no real rows: only a demo campaign learns from its simulated history
    assert "blog" not in build_schedule([], dt.date(2026, 12, 14), 7, "UTC", history).grids
    demo = build_schedule([], dt.date(2026, 12, 14), 7, "UTC", history, demo_campaign=True)
    assert demo.grids["blog"].posts == len(demo_blog)
    real = build_schedule([], dt.date(2026, 12, 14), 7, "UTC", history)
    assert any("simulated (demo) history posts not used" in n for n in real.notes)
