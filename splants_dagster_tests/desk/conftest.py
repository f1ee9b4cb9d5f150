"""Desk tests never see real platform credentials from the environment."""

from __future__ import annotations

import pytest

from splants_dagster_tests.publishing.seeding import ALL_ENV


@pytest.fixture(autouse=True)
def _no_platform_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ALL_ENV:
        monkeypatch.delenv(name, raising=False)
