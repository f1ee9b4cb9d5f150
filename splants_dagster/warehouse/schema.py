"""All warehouse DDL and analyst views, gathered from the per-domain modules in ``tables/``.

A domain adds its tables by adding a module to ``tables/`` with ``DDL`` and ``VIEWS``; nothing else to edit.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import pkgutil
from types import ModuleType

from splants_dagster.warehouse import tables

# Tables are created in this order first (later domains may reference earlier ones in views).
FIRST = ("campaigns", "research", "content", "llm")


def domains() -> list[ModuleType]:
    names = [m.name for m in pkgutil.iter_modules(tables.__path__) if not m.name.startswith("_")]
    ordered = [n for n in FIRST if n in names] + sorted(n for n in names if n not in FIRST)
    return [importlib.import_module(f"{tables.__name__}.{n}") for n in ordered]


def ddl() -> list[str]:
    return [stmt for module in domains() for stmt in module.DDL]


def views() -> dict[str, str]:
    merged: dict[str, str] = {}
    for module in domains():
        for name, sql in module.VIEWS.items():
            if name in merged:
                raise ValueError(f"analytics view {name!r} is defined twice")
            merged[name] = sql
    return merged


@functools.cache
def fingerprint() -> str:
    """Identifies the schema the code expects (tables and views); stored in the snapshot."""
    return hashlib.sha256(json.dumps([ddl(), sorted(views().items())]).encode()).hexdigest()[:16]
