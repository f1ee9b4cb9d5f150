"""Fixtures for tests against the real services on 127.0.0.1 (skipped without them unless
SPLANTS_REQUIRE_SERVICES=1, as in CI)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from splants_dagster.paths import PROJECT_ROOT
from splants_dagster_tests.fixtures_http import require_service

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database for one test (dropped afterwards)."""
    require_service("PostgreSQL", port=5432)
    import psycopg2

    name = f"splants_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(PG_ADMIN)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture
def prod_home(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAGSTER_HOME with the production dagster.yaml, pointed at the fresh database."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "deploy" / "dagster.production.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", pg_url)
    import dagster as dg

    # create the schema once, as a deployment does on first start (concurrent first starts would race)
    with dg.DagsterInstance.get():
        pass
    return home


def service_env(data_dir: Path, home: Path, pg_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "ANTHROPIC"))}
    env.update(
        DAGSTER_HOME=str(home),
        DAGSTER_POSTGRES_URL=pg_url,
        SPLANTS_DATA_DIR=str(data_dir),
        PYTHONPATH=str(PROJECT_ROOT),
        **extra,
    )
    return env
