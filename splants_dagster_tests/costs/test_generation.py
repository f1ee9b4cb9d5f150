"""Generation under the budget, through dg.materialize against fake providers on 127.0.0.1: the strategy and
its reason on every piece and in the UI, economy's cheaper tier / length cap / cache reuse / templates, the
hard stop at 100%, non-critical work paused when the forecast is over budget, and the batch route from
submission to materialized pieces."""

import datetime as dt

import dagster as dg
import pytest

from splants_dagster.defs.costs.resources import BudgetResource
from splants_dagster.defs.costs.sensors import llm_batch_sensor
from splants_dagster.llm.base import Usage
from splants_dagster.llm.pricing import load_models
from splants_dagster_tests.costs.conftest import spend
from splants_dagster_tests.costs.fakes import FakeOpenAIBatches
from splants_dagster_tests.fixtures_http import DEMO_CAMPAIGN, materialize_campaign
from splants_dagster_tests.llm.conftest import OPENAI_KEY, llm_resource
from splants_dagster_tests.llm.fakes import FakeAnthropic

# the content step's clock; the demo brief's relative window is resolved from the real day, later than this
NOW = dt.datetime(2026, 11, 10, 12, 0, tzinfo=dt.UTC)
EARLIER = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
CORE = ["campaign_brief", "research_brief", "content_suite"]
PIECES = 10


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch):
    for module in ("step_budget", "batch_desk"):
        monkeypatch.setattr(f"splants_dagster.costs.{module}.utc_now", lambda: NOW)


@pytest.fixture
def fake():
    with FakeOpenAIBatches(OPENAI_KEY) as server:
        yield server


def setup(resources, data_dir, fake, **budget):
    return {
        **resources,
        "llm": llm_resource(fake),
        "budget": BudgetResource(data_dir=str(data_dir), **budget),
    }


def run(instance, resources, selection=CORE, **kw):
    return materialize_campaign(instance, resources, DEMO_CAMPAIGN, selection=selection, **kw)


def content_requests(fake):
    return [
        r for r in fake.requests if r.path == "/v1/chat/completions" and "## Task: write" in r.body.decode()
    ]


def meta(result, node="content_suite"):
    return result.asset_materializations_for_node(node)[0].metadata


def test_economy_from_the_ledger_cheaper_tier_capped_length_reason_on_every_piece(
    instance, resources, store, data_dir, fake
):
    spend(store, [(EARLIER, 8.5)])  # of $10: 15% left
    result = run(instance, setup(resources, data_dir, fake, monthly_budget_usd=10.0, batch=False))
    assert result.success
    ledger = store.query("SELECT * FROM analytics.llm_calls WHERE campaign_id = ?", [DEMO_CAMPAIGN])
    assert {(c["model"], c["strategy"]) for c in ledger} == {("gpt-4o-mini", "economy")}
    pieces = store.query(
        "SELECT * FROM analytics.content WHERE campaign_id = ? ORDER BY piece_id", [DEMO_CAMPAIGN]
    )
    assert len(pieces) == PIECES
    assert {p["generation_strategy"] for p in pieces} == {"economy"}
    assert all("15.0% of the $10.00 monthly budget left (< 20%)" in p["generation_reason"] for p in pieces)
    assert all("long pieces capped at 800 words" in p["generation_reason"] for p in pieces)
    blog = next(
        r.body.decode() for r in content_requests(fake) if "write the blog for blog" in r.body.decode()
    )
    assert "Length: 533-800 words" in blog
    assert max(p["word_count"] for p in pieces if p["content_type"] == "blog") <= 800
    md = meta(result)
    assert md["strategy"].value == "economy" and "monthly budget left" in md["strategy_reason"].value
    assert md["budget_remaining_pct"].value == pytest.approx(15.0)
    assert md["llm"].value.startswith("openai/gpt-4o-mini (strategy economy)")
    assert meta(result, "research_brief")["strategy"].value == "economy"


def test_at_100_percent_the_step_stops_before_writing_anything(instance, resources, store, data_dir, fake):
    open_budget = setup(resources, data_dir, fake)
    assert run(instance, open_budget, ["campaign_brief", "research_brief"]).success
    spend(store, [(EARLIER, 10.0)])
    before = len(fake.requests)
    result = run(
        instance,
        setup(resources, data_dir, fake, monthly_budget_usd=10.0),
        ["content_suite"],
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.error.message
    assert (
        "Generation stopped, nothing was written: monthly LLM budget exhausted: $10.00 of $10.00" in message
    )
    assert len(fake.requests) == before
    assert store.query("SELECT count(*) AS n FROM content_pieces")[0]["n"] == 0


def test_templates_only_from_95_percent(instance, resources, store, data_dir, fake):
    spend(store, [(EARLIER, 9.6)])
    result = run(instance, setup(resources, data_dir, fake, monthly_budget_usd=10.0))
    assert result.success
    assert content_requests(fake) == []
    pieces = store.query("SELECT provider, generation_strategy, generation_reason FROM content_pieces")
    assert {p["provider"] for p in pieces} == {"template"}
    assert all("template writer only from 95% spent" in p["generation_reason"] for p in pieces)


def test_economy_reuses_replies_a_higher_tier_paid_for(instance, resources, store, data_dir, fake):
    (data_dir / "budget.yaml").write_text("economy_max_words: null\n")
    assert run(instance, setup(resources, data_dir, fake, strategy="quality")).success
    paid = len(fake.requests)
    result = run(instance, setup(resources, data_dir, fake, strategy="economy", batch=False))
    assert result.success and len(fake.requests) == paid  # not one provider call
    rerun = store.query(
        "SELECT model, strategy, cached, cost_usd FROM llm_calls WHERE run_id = ? AND asset = 'content_suite'",
        [result.run_id],
    )
    assert len(rerun) == PIECES
    assert {(c["model"], c["strategy"], c["cached"], c["cost_usd"]) for c in rerun} == {
        ("gpt-4.1", "economy", True, 0)
    }
    assert "manual override SPLANTS_STRATEGY=economy" in meta(result)["strategy_reason"].value


def test_forecast_over_budget_pauses_premium_and_variants(instance, resources, store, data_dir, fake):
    # $6 in the last 7 days: $0.92/day over the 6.5 days of the window → forecast ~$24.9 of $20
    spend(store, [(NOW - dt.timedelta(hours=2), 6.0)])
    with FakeAnthropic("sk-ant-test-2b7c9d4e1f0a3b5c7d9e1f3a") as anthropic:
        res = {
            **resources,
            "llm": llm_resource(fake, anthropic),
            "budget": BudgetResource(data_dir=str(data_dir), monthly_budget_usd=20.0, strategy="quality"),
        }
        result = run(instance, res, [*CORE, "qa_report"])
        assert result.success
        assert len(anthropic.requests) == 0
    content = store.query("SELECT DISTINCT provider, purpose FROM llm_calls WHERE asset = 'content_suite'")
    assert content == [{"provider": "openai", "purpose": "content.piece"}]  # no second draft, no merge
    md = meta(result)
    assert "premium" not in md["llm"].value and "paused" in md
    qa = meta(result, "qa_report")
    assert qa["variants"].value == 0 and "A/B variants paused: manual override" in qa["notes"].value
    assert store.query("SELECT count(*) AS n FROM llm_calls WHERE purpose = 'content.variant'")[0]["n"] == 0


def test_batch_route_submit_sensor_collect_materialize(instance, resources, store, data_dir, fake):
    res = setup(resources, data_dir, fake, strategy="economy")
    sensor_resources = {"warehouse": res["warehouse"], "llm": res["llm"]}

    def sensor():
        return llm_batch_sensor(dg.build_sensor_context(instance=instance, resources=sensor_resources))

    first = run(instance, res)
    assert first.success and not first.asset_materializations_for_node("content_suite")
    observed = [e for e in first.all_events if e.event_type_value == "ASSET_OBSERVATION"]
    assert (
        "waiting for provider batch"
        in observed[0].asset_observation_data.asset_observation.metadata["status"].value
    )
    assert store.query("SELECT count(*) AS n FROM content_pieces")[0]["n"] == 0
    assert content_requests(fake) == []  # research answered at once, content went to a batch
    batches = store.query("SELECT batch_id, status, requests FROM llm_batches")
    assert batches == [{"batch_id": "batch_0001", "status": "submitted", "requests": 1}]  # the pillar first

    assert isinstance(sensor(), dg.SensorResult) and not sensor().run_requests
    fake.finish()
    requested = sensor().run_requests
    assert [(r.run_key, r.partition_key) for r in requested] == [("batch:batch_0001", DEMO_CAMPAIGN)]

    second = run(instance, res)  # the run the sensor asked for: collects the pillar, submits the rest
    assert second.success and not second.asset_materializations_for_node("content_suite")
    assert store.query("SELECT batch_id, status, requests FROM llm_batches ORDER BY batch_id") == [
        {"batch_id": "batch_0001", "status": "collected", "requests": 1},
        {"batch_id": "batch_0002", "status": "submitted", "requests": PIECES - 1},
    ]
    fake.finish()
    third = run(instance, res)
    assert third.success and third.asset_materializations_for_node("content_suite")
    pieces = store.query("SELECT generation_strategy, generation_reason, provider FROM content_pieces")
    assert len(pieces) == PIECES and {p["generation_strategy"] for p in pieces} == {"economy"}
    start = store.query("SELECT start_date FROM campaigns WHERE campaign_id = ?", [DEMO_CAMPAIGN])[0][
        "start_date"
    ]
    lead = f"via batch: the campaign starts in {(start - NOW.date()).days} days"
    assert all(lead in p["generation_reason"] for p in pieces)
    assert content_requests(fake) == []  # every piece came from a batch
    # the ledger holds each batch reply once, at half the price of the reported usage
    models = load_models(data_dir / "models.yaml")
    expected = sum(
        models.cost(
            "openai",
            "gpt-4o-mini",
            Usage(
                b["usage"]["prompt_tokens"],
                b["usage"]["completion_tokens"],
                b["usage"]["prompt_tokens_details"]["cached_tokens"],
            ),
        )
        for b in fake.batch_billed
    )
    batch_rows = store.query(
        "SELECT l.cost_usd, l.status FROM llm_calls l JOIN llm_batch_calls b USING (call_id)"
    )
    assert len(batch_rows) == PIECES and {r["status"] for r in batch_rows} == {"ok"}
    assert sum(r["cost_usd"] for r in batch_rows) == pytest.approx(0.5 * expected)
    assert {r["status"] for r in store.query("SELECT status FROM llm_batches")} == {"collected"}
    assert sensor().skip_reason is not None  # nothing left to wait for


def test_budget_running_out_during_the_step_fails_it_whole(instance, resources, store, data_dir, fake):
    assert run(instance, setup(resources, data_dir, fake), ["campaign_brief", "research_brief"]).success
    (data_dir / "budget.yaml").write_text("templates_only_above_pct: null\n")
    spend(store, [(EARLIER, 9.9995)])  # $0.0005 left: the pillar's call passes, the derived pieces' do not
    limited = setup(resources, data_dir, fake, monthly_budget_usd=10.0, batch=False)
    result = run(instance, limited, ["content_suite"], raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.error.message
    assert f"{PIECES - 1} piece(s) could not be generated, nothing was written" in message
    assert "budget exhausted during this step" in message
    assert len(content_requests(fake)) == 1
    assert store.query("SELECT count(*) AS n FROM content_pieces")[0]["n"] == 0
