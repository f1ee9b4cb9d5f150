"""``ab_test_results`` on a real warehouse: a fixed-horizon decision is recorded once with its evidence and
later runs never re-decide it, whatever the data does afterwards (the peeking guard of issue #16)."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from splants_dagster.defs.engagement.assets import ab_test_results

from .conftest import TWEET, VARIANT_A, VARIANT_B, seed_campaign

DAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)  # inside the 14-day test window


def _metrics(store, rows: list[tuple[str, dt.date, int, int]]) -> None:
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO engagement_metrics (date, piece_id, platform, external, is_demo, impressions, "
            "engagements) VALUES (?, ?, 'twitter', false, false, ?, ?)",
            [[day, piece_id, n, x] for piece_id, day, n, x in rows],
        )


def _results(store) -> dict[str, dict]:
    return {r["variant_piece_id"]: r for r in store.query("SELECT * FROM analytics.ab_results")}


def test_a_decision_is_recorded_once_with_its_evidence(store, data_dir, instance, resources):
    seed_campaign(store, data_dir)
    # A has reached its planned sample (500 per arm) and clearly wins; B has not
    _metrics(store, [(TWEET, DAY, 4000, 160), (VARIANT_A, DAY, 4000, 280), (VARIANT_B, DAY, 300, 15)])
    assert dg.materialize([ab_test_results], instance=instance, resources=resources).success
    first = _results(store)
    a, b = first[VARIANT_A], first[VARIANT_B]
    assert (a["decision"], a["winner_piece_id"], a["design"]) == ("variant_wins", VARIANT_A, "fixed_horizon")
    assert (a["n_control"], a["x_control"], a["n_variant"], a["x_variant"]) == (4000, 160, 4000, 280)
    assert a["horizon_reached_by"] == "sample_size" and a["planned_impressions"] == 500
    assert a["p_value"] < a["alpha"] == 0.025 and a["decided_at"] is not None
    assert b["decision"] == "running" and b["p_value"] is None and b["decided_at"] is None

    # later data would reverse A's result: the recorded decision and its evidence stay as they were
    _metrics(
        store,
        [
            (TWEET, DAY + dt.timedelta(days=1), 20000, 2000),
            (VARIANT_A, DAY + dt.timedelta(days=1), 20000, 700),
        ],
    )
    assert dg.materialize([ab_test_results], instance=instance, resources=resources).success
    again = _results(store)
    assert again[VARIANT_A] == a
    assert again[VARIANT_B]["decision"] == "running"
