"""Named warehouse reads and writes, one module per domain, beside the tables of ``warehouse/tables/``.

The Dagster layer (``splants_dagster/defs/``) only wires: an asset, check or sensor calls
``queries.<domain>.<what it needs>(store_or_conn, ...)`` instead of holding SQL text, so a table's shape and
every statement that depends on it are found in one place. Reads that sensors make take a
:class:`~splants_dagster.warehouse.store.Warehouse` and go through :func:`snapshot_query` (the analysts'
snapshot, or None when there is none yet); writes take the connection of a ``Warehouse.write()`` session.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from splants_dagster.warehouse.store import Warehouse


def snapshot_query(
    store: Warehouse, sql: str, params: Sequence[Any] | None = None
) -> list[dict[str, Any]] | None:
    """Rows from the analysts' snapshot, or None when there is none yet (fresh install: nothing to read,
    and a sensor must not wait for the write lock to build one)."""
    if not store.paths.analytics_db.exists():
        return None
    return store.query(sql, list(params or []))
