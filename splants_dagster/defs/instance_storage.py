"""The event-log storage of the production instance: dagster-postgres's, with the first claim on a pool
serialised across processes.

Why (issue #14, item 13): the first step of a pool (``duckdb_write``) in a run creates the pool's limit
row and its slots (``initialize_concurrency_limit_to_default``). When two runs start together on a fresh
database, both do it at once; on PostgreSQL the loser's INSERT hits the unique key, which aborts its
transaction, so its fallback UPDATE fails with ``InFailedSqlTransaction`` inside the run's executor. The
run then ends ``FAILURE`` with no step error (the exception is the orchestrator's, not a step's). The same
code path also fails for a single run after ``default_limit`` is changed in dagster.yaml.

Here the initialisation runs under a PostgreSQL advisory lock per pool, and is skipped when the pool is
already set to the default limit, so concurrent runs see one initialisation and then a ready pool.
``deploy/dagster.production.yaml`` names this class as its ``event_log_storage``; every process that
loads the instance (webserver, daemon, run workers, Celery workers, scripts) gets it.

The class is defined on first access (a module ``__getattr__``, which is how Dagster's ``module:``/``class:``
pointer reaches it): ``load_from_defs_folder`` imports every module under ``defs/``, and dagster-postgres
with SQLAlchemy and Alembic costs ~0.8 s and ~25 MB, which a local instance (SQLite) never needs.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from functools import cache
from typing import Any

# the first key of pg_advisory_lock(int, int): this project's namespace for pool locks
_LOCK_NAMESPACE = 0x5911
_CLASS_NAME = "PoolSafePostgresEventLogStorage"


def __getattr__(name: str) -> Any:
    if name == _CLASS_NAME:
        return _storage_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def _storage_class() -> type:
    import sqlalchemy as db
    from dagster_postgres import PostgresEventLogStorage
    from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

    class PoolSafePostgresEventLogStorage(PostgresEventLogStorage):
        """``PostgresEventLogStorage`` whose pool initialisation is safe under concurrent first claims."""

        @classmethod
        def from_config_value(
            cls, inst_data, config_value: Mapping[str, Any]
        ) -> PoolSafePostgresEventLogStorage:
            return cls(
                inst_data=inst_data,
                postgres_url=pg_url_from_config(config_value),
                should_autocreate_tables=config_value.get("should_autocreate_tables", True),
                token_provider=get_token_provider_from_config(config_value),
            )

        def initialize_concurrency_limit_to_default(self, concurrency_key: str) -> bool:
            key = zlib.crc32(concurrency_key.encode()) & 0x7FFFFFFF
            lock_args = {"ns": _LOCK_NAMESPACE, "key": key}
            # a session-level lock on a connection of its own: the parent class opens its own transactions
            with self._engine.connect() as lock_conn:
                lock_conn.execute(db.text("SELECT pg_advisory_lock(:ns, :key)"), lock_args)
                try:
                    default = (
                        self._instance.global_op_concurrency_default_limit if self.has_instance else None
                    )
                    current = next((p for p in self.get_pool_limits() if p.name == concurrency_key), None)
                    if current is not None:
                        if not current.from_default or current.limit == default:
                            # set by hand (`dagster instance concurrency set`), or initialised by another
                            # run while this one waited for the lock
                            return True
                        # the configured default changed: the parent's INSERT would hit the existing row
                        # (and abort its transaction on PostgreSQL), so start again from no limit row
                        self.delete_concurrency_limit(concurrency_key)
                    return super().initialize_concurrency_limit_to_default(concurrency_key)
                finally:
                    lock_conn.execute(db.text("SELECT pg_advisory_unlock(:ns, :key)"), lock_args)
                    lock_conn.commit()

    PoolSafePostgresEventLogStorage.__qualname__ = _CLASS_NAME
    return PoolSafePostgresEventLogStorage
