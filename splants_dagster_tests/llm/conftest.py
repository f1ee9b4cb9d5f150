"""Fixtures for the LLM tests: fake provider servers and an LLMResource pointed at them."""

from __future__ import annotations

import pytest

from splants_dagster.defs.resources import LLMResource
from splants_dagster_tests.llm.fakes import FakeAnthropic, FakeOpenAI

OPENAI_KEY = "sk-test-openai-6f1d2c9a8b7e4d3c2b1a0f9e"
ANTHROPIC_KEY = "sk-ant-test-2b7c9d4e1f0a3b5c7d9e1f3a"

# tiny backoffs and timeouts so fault tests stay fast; real defaults are in LLMResource
FAST = {"backoff_base_s": 0.01, "backoff_max_s": 0.05, "timeout_s": 2.0, "max_attempts": 4}


@pytest.fixture
def fake_openai():
    with FakeOpenAI(OPENAI_KEY) as server:
        yield server


@pytest.fixture
def fake_anthropic():
    with FakeAnthropic(ANTHROPIC_KEY) as server:
        yield server


def llm_resource(openai: FakeOpenAI | None = None, anthropic: FakeAnthropic | None = None, **overrides):
    settings: dict = dict(FAST)
    if openai is not None:
        settings |= {"openai_api_key": openai.api_key, "openai_base_url": openai.base_url}
    if anthropic is not None:
        settings |= {"anthropic_api_key": anthropic.api_key, "anthropic_base_url": anthropic.base_url}
    settings |= overrides
    return LLMResource(**settings)
