"""Provider routing as pure code: offline by default, the configured providers in order with the premium
pair first, clear ``LLMConfigError`` messages (which the ``llm`` resource shows as step failures), and no
key in the router's repr."""

import dagster as dg
import pytest

from splants_dagster.defs.resources import LLMResource
from splants_dagster.llm.routing import LLMConfigError, LLMRouter


def test_no_provider_configured_is_offline(data_dir):
    primary, fallbacks, partner = LLMRouter().plan(data_dir=data_dir)
    assert primary.is_offline and fallbacks == [] and partner is None
    assert LLMRouter().label().startswith("offline (no LLM API key configured")


def test_quality_with_openai_and_anthropic_pairs_them_and_falls_back(data_dir):
    router = LLMRouter(
        openai_api_key="sk-one",
        anthropic_api_key="sk-two",
        base_url="http://127.0.0.1:9/v1",
        model="llama3.1",
    )
    assert router.configured() == ["openai_compatible", "openai", "anthropic"]
    primary, fallbacks, partner = router.plan("quality", data_dir)
    assert [p.name for p in [primary, *fallbacks]] == ["openai", "anthropic", "openai_compatible"]
    assert partner is fallbacks[0] and partner.name == "anthropic"
    primary, fallbacks, partner = LLMRouter(
        openai_api_key="sk-one", anthropic_api_key="sk-two", fallback=False, premium=False
    ).plan("quality", data_dir)
    assert primary.name == "openai" and fallbacks == [] and partner is None
    assert "sk-one" not in repr(router) and "sk-two" not in repr(router)


def test_configuration_errors_name_the_setting(data_dir):
    with pytest.raises(LLMConfigError, match=r"llm\.provider = 'anthropic' but ANTHROPIC_API_KEY is not set"):
        LLMRouter(provider="anthropic").plan(data_dir=data_dir)
    with pytest.raises(LLMConfigError, match=r"llm\.provider = 'gemini': must be one of auto, offline"):
        LLMRouter(provider="gemini").plan(data_dir=data_dir)
    with pytest.raises(
        LLMConfigError, match=r"no batch API for LLM provider 'anthropic' \(configured: \[\]\)"
    ):
        LLMRouter().batch_api("anthropic")
    # the resource shows the same message as a step failure
    with pytest.raises(dg.Failure, match="no batch API for LLM provider 'anthropic'"):
        LLMResource().batch_api("anthropic")
