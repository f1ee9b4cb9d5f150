"""Engagement files dropped in ``inbox/engagement/`` into the warehouse (what ``engagement_file_imports``
does): which files to read, their rows streamed through a scratch spill file and staged per file in the bulk database (one file's failure
never touches another's), each load recorded with its
quarantined rows and posts (a rejected file too), and the summary the step reports.

A file is recorded by its path relative to the inbox (``source_file``); a file is read again when its
modification time differs from the recorded load.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from splants_dagster.engagement.events import EVENT_COLUMNS, FILE_ROWS_TABLE, POST_COLUMNS, rows_frame
from splants_dagster.engagement.files import (
    DateOrder,
    FileRejected,
    LoadContext,
    ParsedChunk,
    ParsedFile,
    inbox_files,
    parse_file,
    preset_for,
)
from splants_dagster.warehouse.store import insert_frame, transaction
from splants_dagster.warehouse.tables.engagement import FILE_SPILL_DDL

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


SPILL_MEMORY = "64MB"


class FileSpill:
    """A file's validated rows, posts and quarantined rows as :func:`parse_file` streams them, in a scratch
    DuckDB file (:data:`FILE_SPILL_DDL`): memory holds one chunk, never the file, and the warehouse copies
    the rows in SQL. Callable: the ``sink`` of :func:`parse_file`."""

    def __init__(self, path: Path):
        self.path = path
        self.posts = 0
        self._conn: duckdb.DuckDBPyConnection | None = duckdb.connect(str(path))
        # the spill is written once and read once: a small buffer pool (DuckDB writes the rest to disk)
        self._conn.execute(f"SET memory_limit = '{SPILL_MEMORY}'")
        self._conn.execute("SET threads = 1")
        self._conn.execute("SET preserve_insertion_order = false")
        for statement in FILE_SPILL_DDL:
            self._conn.execute(statement)

    def __call__(self, chunk: ParsedChunk) -> None:
        import pandas as pd

        assert self._conn is not None
        db = self.path.stem
        insert_frame(self._conn, f"{db}.file_rows", rows_frame(chunk.rows, EVENT_COLUMNS))
        posts = rows_frame(chunk.posts, POST_COLUMNS)
        posts["seq"] = range(self.posts, self.posts + len(posts))
        self.posts += len(posts)
        insert_frame(self._conn, f"{db}.file_posts", posts)
        insert_frame(self._conn, f"{db}.file_quarantine", pd.DataFrame(chunk.quarantined))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


SPILL = "file_spill"
QUARANTINE_COLUMNS = "event_date, source, source_file, line, reason, raw, quarantined_at, preset, reason_code"


class ImportCounts:
    """What an import of inbox files found, from its ``inbox``, ``parsed`` ((path, parsed file) pairs)
    and ``rejected`` ((path, FileRejected) pairs): shared by the engagement and conversion imports."""

    inbox: Path
    parsed: list
    rejected: list

    @property
    def rows_loaded(self) -> int:
        return sum(pf.loaded for _, pf in self.parsed)

    @property
    def rows_quarantined(self) -> int:
        return sum(pf.bad for _, pf in self.parsed) + sum(e.bad_rows for _, e in self.rejected)

    @property
    def reasons(self) -> Counter:
        reasons: Counter = Counter()
        for _, pf in self.parsed:
            reasons.update(pf.reasons)
        return reasons

    @property
    def date_orders(self) -> dict[str, DateOrder]:
        """Files with numeric dates (01/02/2024): file -> the day/month order they were read in (its
        ``note`` says which and why)."""
        return {
            relative(self.inbox, path): pf.date_order
            for path, pf in self.parsed
            if pf.date_order is not None and pf.date_order.note
        }


@dataclass
class FileBatch(ImportCounts):
    """The files of one import: parsed ones (counts; their rows in a spill file each) and rejected ones
    (a file with no usable row, or one the warehouse could not store). Each file is written in its own
    transactions, so one file's failure never touches another's rows."""

    inbox: Path
    loaded_at: dt.datetime
    parsed: list[tuple[Path, ParsedFile]] = field(default_factory=list)
    rejected: list[tuple[Path, FileRejected]] = field(default_factory=list)
    spills: dict[Path, Path] = field(default_factory=dict)
    scratch: tempfile.TemporaryDirectory | None = None

    @property
    def files(self) -> int:
        return len(self.parsed) + len(self.rejected)

    @property
    def encodings(self) -> dict[str, str]:
        """Files not read as UTF-8: file -> what they were read as."""
        return {
            relative(self.inbox, path): pf.encoding.note
            for path, pf in self.parsed
            if pf.encoding is not None and pf.encoding.note
        }

    def close(self) -> None:
        if self.scratch is not None:
            self.scratch.cleanup()
            self.scratch = None

    def write(self, conn: duckdb.DuckDBPyConnection, loaded: Mapping[str, Mapping[str, Any]]) -> None:
        """Per file, one transaction per database (DuckDB's rule): its staged rows first, then its
        quarantined rows, posts and load record, so a failure in between leaves the file recorded in its
        old version and it is imported again. A file the warehouse refuses is recorded as rejected (the
        others are written all the same)."""
        for path, pf in list(self.parsed):
            try:
                with self._attached(conn, path):
                    with transaction(conn):
                        self._stage(conn, path)
                    with transaction(conn):
                        self._record_parsed(conn, path, pf, loaded)
            except duckdb.Error as exc:
                err = FileRejected(
                    str(path), 0, f"could not be stored: {str(exc).splitlines()[0][:300]}", preset=pf.preset
                )
                self.parsed.remove((path, pf))
                self.rejected.append((path, err))
                self.spills.pop(path, None)
        for path, err in self.rejected:
            try:
                with self._attached(conn, path), transaction(conn):
                    self._record_rejected(conn, path, err, loaded)
            except duckdb.Error:
                # nothing more to record for this file: its error still fails the step and is reported
                continue

    @contextmanager
    def _attached(self, conn: duckdb.DuckDBPyConnection, path: Path) -> Iterator[bool]:
        spill = self.spills.get(path)
        if spill is None:
            yield False
            return
        literal = "'" + str(spill).replace("'", "''") + "'"
        conn.execute(f"ATTACH {literal} AS {SPILL} (READ_ONLY)")
        try:
            yield True
        finally:
            conn.execute(f"DETACH {SPILL}")

    def _stage(self, conn: duckdb.DuckDBPyConnection, path: Path) -> None:
        """The file's rows replace its staged rows (bulk database)."""
        conn.execute(f"DELETE FROM {FILE_ROWS_TABLE} WHERE source_file = ?", [relative(self.inbox, path)])
        columns = ", ".join(EVENT_COLUMNS)
        conn.execute(f"INSERT INTO {FILE_ROWS_TABLE} ({columns}) SELECT {columns} FROM {SPILL}.file_rows")

    def _replace_quarantine(self, conn: duckdb.DuckDBPyConnection, path: Path, rel: str) -> None:
        conn.execute("DELETE FROM engagement_quarantine WHERE source_file = ?", [rel])
        if path in self.spills:
            conn.execute(
                f"INSERT INTO engagement_quarantine ({QUARANTINE_COLUMNS}) "
                f"SELECT {QUARANTINE_COLUMNS} FROM {SPILL}.file_quarantine"
            )

    def _record_parsed(self, conn, path: Path, pf: ParsedFile, loaded: Mapping[str, Mapping[str, Any]]):
        rel = relative(self.inbox, path)
        self._replace_quarantine(conn, path, rel)
        conn.execute("DELETE FROM engagement_posts WHERE source_file = ?", [rel])
        columns = ", ".join(POST_COLUMNS)
        # one post per id: the first seen in the file (chunks deduplicate only within themselves)
        conn.execute(
            f"INSERT INTO engagement_posts ({columns}) SELECT {columns} FROM {SPILL}.file_posts "
            "QUALIFY row_number() OVER (PARTITION BY piece_id, platform ORDER BY seq) = 1"
        )
        low, high = pf.dates
        old = loaded.get(rel) or {}
        if old.get("min_date"):
            low, high = min(low, old["min_date"]), max(high, old["max_date"])
        self._record_load(conn, path, pf.preset, pf.total, pf.loaded, pf.bad, low, high)

    def _record_rejected(self, conn, path: Path, err: FileRejected, loaded: Mapping[str, Mapping[str, Any]]):
        import pandas as pd

        rel = relative(self.inbox, path)
        self._replace_quarantine(conn, path, rel)
        if path not in self.spills:
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
        with path.open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
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
                digest,
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
                "loaded": pf.loaded,
                "quarantined": pf.bad,
                "dates": f"{pf.dates[0]}..{pf.dates[1]}",
                "reasons": ", ".join(f"{k} ×{v}" for k, v in pf.reasons.most_common(5))
                + (f" (read as {pf.encoding.note})" if pf.encoding and pf.encoding.note else "")
                + (f" ({pf.date_order.note})" if pf.date_order and pf.date_order.note else ""),
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
    """Parse and validate every target with ``preset`` (default: its folder's, else detected), streaming
    each file's rows into a scratch spill file (call :meth:`FileBatch.close` when done); a file with no
    usable row is rejected, not raised."""
    scratch = tempfile.TemporaryDirectory(prefix="splants-import-")
    batch = FileBatch(inbox, now, scratch=scratch)
    for path in targets:
        ctx = LoadContext(
            source_file=relative(inbox, path),
            export_time=dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC),
            loaded_at=now,
            known_pieces=pieces,
            remote_ids=remote_ids,
            last_date=now.date() + dt.timedelta(days=1),
        )
        spill = FileSpill(Path(scratch.name) / f"spill_{len(batch.spills)}.duckdb")
        batch.spills[path] = spill.path
        try:
            batch.parsed.append((path, parse_file(path, ctx, preset or preset_for(inbox, path), spill)))
        except FileRejected as err:
            batch.rejected.append((path, err))
        except OSError as err:
            batch.rejected.append((path, FileRejected(str(path), 0, f"cannot read the file: {err}")))
            batch.spills.pop(path)
        except Exception as err:  # a bug met by one file must not cost the other files their import
            reason = f"unexpected error reading the file: {type(err).__name__}: {str(err)[:200]}"
            batch.rejected.append((path, FileRejected(str(path), 0, reason)))
            batch.spills.pop(path)
        finally:
            spill.close()
    return batch
