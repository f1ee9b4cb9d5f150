"""Engagement files dropped in ``inbox/engagement/`` into the warehouse (what ``engagement_file_imports``
does): which files to read, their rows staged per file in the bulk database, each load recorded with its
quarantined rows and posts (a rejected file too), and the summary the step reports.

A file is recorded by its path relative to the inbox (``source_file``); a file is read again when its
modification time differs from the recorded load.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from splants_dagster.engagement.events import EVENT_COLUMNS, FILE_ROWS_TABLE, POST_COLUMNS, rows_frame
from splants_dagster.engagement.files import (
    FileRejected,
    LoadContext,
    ParsedFile,
    inbox_files,
    parse_file,
    preset_for,
)
from splants_dagster.warehouse.store import insert_frame, transaction

LOADS_SQL = "SELECT * FROM engagement_file_loads"
PIECES_SQL = "SELECT piece_id, platform FROM content_pieces"
REMOTE_IDS_SQL = "SELECT platform, remote_id, piece_id FROM publications WHERE remote_id IS NOT NULL AND status = 'published'"
SUMMARY_COLUMNS = ["file", "preset", "rows", "loaded", "quarantined", "dates", "reasons"]


def relative(inbox: Path, path: Path) -> str:
    """The ``source_file`` of ``path``: relative to the inbox, or absolute for a file outside it."""
    try:
        return str(path.resolve().relative_to(inbox.resolve()))
    except ValueError:
        return str(path.resolve())


def known_ids(
    pieces: Iterable[Mapping[str, Any]], published: Iterable[Mapping[str, Any]]
) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """Our pieces (piece_id -> platform) and published remote ids ((platform, remote_id) -> piece_id),
    from rows of :data:`PIECES_SQL` and :data:`REMOTE_IDS_SQL`."""
    return (
        {p["piece_id"]: p["platform"] for p in pieces},
        {(r["platform"], str(r["remote_id"])): r["piece_id"] for r in published},
    )


def files_to_import(inbox: Path, names: Sequence[str], loaded: Mapping[str, Mapping[str, Any]]) -> list[Path]:
    """``names`` (relative to the inbox, or absolute; :class:`FileNotFoundError` for one that is not a
    file), or else every inbox file that is new or changed since its recorded load."""
    if names:
        targets = []
        for name in names:
            path = Path(name) if Path(name).is_absolute() else inbox / name
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no such file")
            targets.append(path)
        return targets
    return [
        p
        for p in inbox_files(inbox)
        if (loaded.get(relative(inbox, p)) or {}).get("mtime_ns") != p.stat().st_mtime_ns
    ]


@dataclass
class FileBatch:
    """The files of one import: parsed ones (good rows, quarantined rows, posts) and rejected ones."""

    inbox: Path
    loaded_at: dt.datetime
    parsed: list[tuple[Path, ParsedFile]] = field(default_factory=list)
    rejected: list[tuple[Path, FileRejected]] = field(default_factory=list)

    @property
    def files(self) -> int:
        return len(self.parsed) + len(self.rejected)

    @property
    def rows_loaded(self) -> int:
        return sum(len(pf.rows) for _, pf in self.parsed)

    @property
    def rows_quarantined(self) -> int:
        return sum(len(pf.quarantined) for _, pf in self.parsed) + sum(e.bad_rows for _, e in self.rejected)

    @property
    def reasons(self) -> Counter:
        reasons: Counter = Counter()
        for _, pf in self.parsed:
            reasons.update(pf.reasons)
        return reasons

    def write(self, conn: duckdb.DuckDBPyConnection, loaded: Mapping[str, Mapping[str, Any]]) -> None:
        """One transaction per database (DuckDB's rule): the staged rows first, then the load records, so
        a failure in between leaves the file recorded in its old version and it is imported again."""
        with transaction(conn):
            self.stage(conn)
        with transaction(conn):
            self.record(conn, loaded)

    def stage(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Each parsed file's rows replace its staged rows (bulk database)."""
        for path, pf in self.parsed:
            conn.execute(f"DELETE FROM {FILE_ROWS_TABLE} WHERE source_file = ?", [relative(self.inbox, path)])
            insert_frame(conn, FILE_ROWS_TABLE, rows_frame(pf.rows, EVENT_COLUMNS))

    def record(self, conn: duckdb.DuckDBPyConnection, loaded: Mapping[str, Mapping[str, Any]]) -> None:
        """Each file's quarantined rows, posts and load record (``core``); ``loaded``: the loads recorded
        before, by file. A rejected new version of a file loaded before keeps its previous rows."""
        for path, pf in self.parsed:
            rel = relative(self.inbox, path)
            conn.execute("DELETE FROM engagement_quarantine WHERE source_file = ?", [rel])
            conn.execute("DELETE FROM engagement_posts WHERE source_file = ?", [rel])
            insert_frame(conn, "engagement_quarantine", pd.DataFrame(pf.quarantined))
            insert_frame(conn, "engagement_posts", rows_frame(pf.posts, POST_COLUMNS))
            low, high = pf.dates
            old = loaded.get(rel) or {}
            if old.get("min_date"):
                low, high = min(low, old["min_date"]), max(high, old["max_date"])
            self._record_load(conn, path, pf.preset, pf.total, len(pf.rows), len(pf.quarantined), low, high)
        for path, err in self.rejected:
            rel = relative(self.inbox, path)
            conn.execute("DELETE FROM engagement_quarantine WHERE source_file = ?", [rel])
            insert_frame(conn, "engagement_quarantine", pd.DataFrame(err.quarantined))
            if (loaded.get(rel) or {}).get("rows_loaded"):
                # a bad new version of a file loaded before: its previous rows stay, the error is recorded
                conn.execute(
                    "UPDATE engagement_file_loads SET error = ?, mtime_ns = ? WHERE source_file = ?",
                    [str(err), path.stat().st_mtime_ns, rel],
                )
            else:
                self._record_load(conn, path, err.preset, err.total, 0, err.bad_rows, None, None, str(err))

    def _record_load(self, conn, path, preset, total, ok, bad, low, high, error=None) -> None:
        stat = path.stat()
        conn.execute(
            """
            INSERT OR REPLACE INTO engagement_file_loads
                (source_file, preset, mtime_ns, sha256, rows_total, rows_loaded, rows_quarantined, min_date,
                 max_date, loaded_at, events_built_at, error)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)
            """,
            [
                relative(self.inbox, path),
                preset,
                stat.st_mtime_ns,
                hashlib.sha256(path.read_bytes()).hexdigest(),
                total,
                ok,
                bad,
                low,
                high,
                self.loaded_at,
                error,
            ],
        )

    def summary(self) -> list[dict[str, Any]]:
        """One row per file (:data:`SUMMARY_COLUMNS`)."""
        return [
            {
                "file": relative(self.inbox, path),
                "preset": pf.preset,
                "rows": pf.total,
                "loaded": len(pf.rows),
                "quarantined": len(pf.quarantined),
                "dates": f"{pf.dates[0]}..{pf.dates[1]}",
                "reasons": ", ".join(f"{k} ×{v}" for k, v in pf.reasons.most_common(5)),
            }
            for path, pf in self.parsed
        ] + [
            {
                "file": relative(self.inbox, path),
                "preset": err.preset,
                "rows": err.total,
                "loaded": 0,
                "quarantined": err.bad_rows,
                "dates": "",
                "reasons": f"REJECTED: line {err.line}: {err.reason}",
            }
            for path, err in self.rejected
        ]


def parse_files(
    inbox: Path,
    targets: Sequence[Path],
    preset: str | None,
    pieces: dict[str, str],
    remote_ids: dict[tuple[str, str], str],
    now: dt.datetime,
) -> FileBatch:
    """Parse and validate every target with ``preset`` (default: its folder's, else detected); a file
    with no usable row is rejected, not raised."""
    batch = FileBatch(inbox, now)
    for path in targets:
        ctx = LoadContext(
            source_file=relative(inbox, path),
            export_time=dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC),
            loaded_at=now,
            known_pieces=pieces,
            remote_ids=remote_ids,
            last_date=now.date() + dt.timedelta(days=1),
        )
        try:
            batch.parsed.append((path, parse_file(path, ctx, preset or preset_for(inbox, path))))
        except FileRejected as err:
            batch.rejected.append((path, err))
    return batch
