"""models.yaml (tiers and prices), the cost formula, and the retry timing."""

import datetime as dt
import email.utils

import pytest

from splants_dagster.llm.base import Usage
from splants_dagster.llm.pricing import ModelPrice, ModelsConfigError, load_models, models_file
from splants_dagster.llm.retry import RetryPolicy, parse_retry_after
from splants_dagster.paths import PROJECT_ROOT


def test_shipped_models_file_maps_every_strategy_to_a_priced_model():
    models = load_models(PROJECT_ROOT / "data" / "models.yaml")
    for provider in ("openai", "anthropic"):
        for strategy in ("economy", "balanced", "quality"):
            model = models.model_for(provider, strategy)
            assert models.price_of(model) is not None, (provider, strategy, model)
    assert models.model_for("openai_compatible", "balanced", default="llama3.1") == "llama3.1"
    with pytest.raises(ModelsConfigError, match="unknown strategy"):
        models.model_for("openai", "luxury")


def test_models_file_prefers_the_data_dir(tmp_path):
    assert models_file(tmp_path) == PROJECT_ROOT / "data" / "models.yaml"
    (tmp_path / "models.yaml").write_text("providers: {}\nmodels: {}\n")
    assert models_file(tmp_path) == tmp_path / "models.yaml"


def test_invalid_models_file_names_the_problem(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text("providers:\n  openai:\n    strategies: {premium_plus: gpt-x}\nmodels: {}\n")
    with pytest.raises(ModelsConfigError, match="unknown strategies"):
        load_models(path)
    path.write_text("models:\n  gpt-x: {input: -1, output: 2}\n")
    with pytest.raises(ModelsConfigError, match=r"models\.gpt-x\.input"):
        load_models(path)


def test_cost_prices_cached_and_cache_write_tokens_at_their_rates():
    price = ModelPrice(input=2.0, output=8.0, cached_input=0.5, cache_write=2.5)
    # 1000 prompt tokens of which 600 read from the prompt cache and 100 written to it; 200 output
    usage = Usage(prompt_tokens=1000, completion_tokens=200, cached_tokens=600, cache_write_tokens=100)
    expected = (300 * 2.0 + 600 * 0.5 + 100 * 2.5 + 200 * 8.0) / 1_000_000
    assert price.cost(usage) == pytest.approx(expected)
    # without a cached rate, cached tokens cost the input rate
    assert ModelPrice(input=1.0, output=1.0).cost(Usage(100, 0, 100)) == pytest.approx(100 / 1_000_000)


def test_dated_snapshot_is_priced_as_its_family():
    models = load_models(PROJECT_ROOT / "data" / "models.yaml")
    assert models.price_of("gpt-4.1-mini-2025-04-14") == models.price_of("gpt-4.1-mini")
    assert models.price_of("unknown-model") is None
    assert models.cost("openai", "unknown-model", Usage(10, 10)) == 0.0


def test_backoff_is_exponential_jittered_and_bounded():
    policy = RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=3.0)
    assert policy.delay(1, rng=lambda: 0.0) == 0.5
    assert policy.delay(1, rng=lambda: 0.999) == pytest.approx(0.9995)
    assert policy.delay(2, rng=lambda: 0.0) == 1.0
    assert policy.delay(3, rng=lambda: 0.999) == pytest.approx(3.0 * 0.9995)  # capped at max_delay_s
    assert policy.delay(4) is None  # attempts used up


def test_retry_after_is_a_floor_and_too_long_a_wait_gives_up():
    policy = RetryPolicy(max_attempts=5, base_delay_s=0.01, max_retry_after_s=10)
    assert policy.delay(1, retry_after=2.5) == 2.5
    assert policy.delay(1, retry_after=11) is None


def test_parse_retry_after_forms():
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    later = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after({"retry-after": later}) <= 30
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
