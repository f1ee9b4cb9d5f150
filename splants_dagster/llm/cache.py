"""The response cache: accepted replies by (provider, model, prompt, parameters), kept in the warehouse.

Generation never holds a warehouse write session (writes take an exclusive lock that would serialise every
campaign behind the slowest model). So:

- lookups read the analysts' snapshot (``analytics.duckdb``, read-only; it never blocks a writer) through a
  ``lookup`` function the resource supplies, plus the entries this process accepted since;
- new entries are appended (fsynced) to a cache journal (``cache-*.jsonl`` beside the call journals) the
  moment a reply is accepted, and the next warehouse write session ingests them into ``llm_cache`` (see
  :func:`ingest_cache_journals`), also when the step that made them failed or was killed, so a retried
  step only pays for the pieces that are still missing.

Only replies that passed validation are cached: an empty, truncated, refused or malformed reply never is.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from splants_dagster.llm.base import LLMResponse, Usage
from splants_dagster.llm.journal import CallJournal, idle_journals

CACHE_JOURNALS = "cache-*.jsonl"


@dataclass(frozen=True)
class CacheEntry:
    cache_key: str
    provider: str
    model: str
    purpose: str
    piece_id: str | None
    campaign_id: str | None
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost_usd: float
    source_call_id: str | None
    created_at: dt.datetime

    def response(self) -> LLMResponse:
        """The reply as the provider gave it (its original usage kept for reference; a hit costs nothing)."""
        return LLMResponse(
            text=self.text,
            provider=self.provider,
            model=self.model,
            usage=Usage(self.prompt_tokens, self.completion_tokens, self.cached_tokens),
            finish_reason=self.finish_reason,
        )

    def to_json(self) -> str:
        row = asdict(self)
        row["created_at"] = self.created_at.isoformat()
        return json.dumps(row, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CacheEntry:
        data: dict[str, Any] = {f.name: row.get(f.name) for f in fields(cls)}
        created = data["created_at"]
        if isinstance(created, str):
            data["created_at"] = dt.datetime.fromisoformat(created)
        return cls(**data)


COLUMNS = tuple(f.name for f in fields(CacheEntry))


class CacheJournal(CallJournal):
    """A journal of accepted replies; same durability and locking as the call journal."""

    prefix = "cache"

    def put(self, entry: CacheEntry) -> None:
        self._write_line(entry.to_json())


Lookup = Callable[[str], Mapping[str, Any] | None]


class ResponseCache:
    """Reads through ``lookup`` (the warehouse snapshot), writes to a cache journal.

    ``read=False`` (force refresh) skips lookups but still records new replies, replacing older entries.
    """

    def __init__(self, journal_dir: Path, lookup: Lookup | None, *, read: bool = True):
        self._journal_dir = journal_dir
        self._lookup = lookup
        self.read = read
        self._journal: CacheJournal | None = None
        self._fresh: dict[str, CacheEntry] = {}

    def get(self, key: str) -> CacheEntry | None:
        if not self.read:
            return None
        if key in self._fresh:
            return self._fresh[key]
        if self._lookup is None:
            return None
        row = self._lookup(key)
        return CacheEntry.from_row(row) if row else None

    def put(self, entry: CacheEntry) -> None:
        if self._journal is None:
            self._journal = CacheJournal(self._journal_dir)
        self._journal.put(entry)
        self._fresh[entry.cache_key] = entry

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
        closer = getattr(self._lookup, "close", None)
        if closer is not None:
            closer()


def _read_entries(path: Path) -> list[CacheEntry]:
    """The complete lines of a cache journal; a line cut short by a crash is ignored."""
    entries = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                entries.append(CacheEntry.from_row(json.loads(line)))
            except (ValueError, TypeError, KeyError):
                continue
    return entries


def ingest_cache_journals(conn, journal_dir: Path) -> int:
    """Move finished cache journals into ``llm_cache``; a newer entry for a key replaces an older one.

    Runs inside a warehouse write session (``conn`` has ``USE core``); returns the entries read.
    """
    placeholders = ", ".join("?" for _ in COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "cache_key")
    sql = (
        f"INSERT INTO llm_cache ({', '.join(COLUMNS)}) VALUES ({placeholders}) "
        f"ON CONFLICT (cache_key) DO UPDATE SET {updates} WHERE excluded.created_at > llm_cache.created_at"
    )
    seen = 0
    for path in idle_journals(journal_dir, CACHE_JOURNALS):
        entries = _read_entries(path)
        if entries:
            latest: dict[str, CacheEntry] = {}
            for entry in entries:
                if entry.cache_key not in latest or entry.created_at > latest[entry.cache_key].created_at:
                    latest[entry.cache_key] = entry
            conn.executemany(sql, [tuple(getattr(e, c) for c in COLUMNS) for e in latest.values()])
            seen += len(entries)
        path.unlink(missing_ok=True)
    return seen


class SnapshotLookup:
    """Cache lookups on one read-only connection to the warehouse snapshot, opened on first use.

    ``store`` is a :class:`~splants_dagster.warehouse.store.Warehouse`; reading its snapshot never blocks
    a writer, and a writer republishing it does not disturb this connection (it keeps the old file).
    """

    def __init__(self, store: Any):
        self._store = store
        self._session: Any = None
        self._conn: Any = None

    def __call__(self, key: str) -> Mapping[str, Any] | None:
        if self._conn is None:
            self._session = self._store.read()
            self._conn = self._session.__enter__()
        cur = self._conn.execute(f"SELECT {', '.join(COLUMNS)} FROM llm_cache WHERE cache_key = ?", [key])
        row = cur.fetchone()
        return dict(zip(COLUMNS, row, strict=True)) if row else None

    def close(self) -> None:
        if self._session is not None:
            self._session.__exit__(None, None, None)
        self._session = self._conn = None
