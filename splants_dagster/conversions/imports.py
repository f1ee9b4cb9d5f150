"""Conversion files into the warehouse: each file read in chunks straight into its own transaction (its
rows and quarantined rows replace the file's previous ones, then its load record), so one file's failure
never touches another's rows; a rejected file keeps the rows of its previous version and records why.

A file is recorded by its path relative to the inbox (``source_file``) and read again when its
modification time differs from the recorded load. Also: the campaigns' measurable goals (``campaign_goals``)
rebuilt from the registered briefs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from splants_dagster.conversions.files import (
    Chunk,
    LoadContext,
    ParsedFile,
    parse_file,
    preset_for,
)
from splants_dagster.conversions.goals import Goal, goal_of
from splants_dagster.engagement.files import FileRejected

# the conversion inbox works as the engagement inbox does: the same file identity, change detection and counts
from splants_dagster.engagement.imports import ImportCounts, relative
from splants_dagster.engagement.imports import files_to_import as files_to_import
from splants_dagster.warehouse.store import dict_rows, insert_frame, transaction

if TYPE_CHECKING:
    import pandas as pd

DEMO_PREFIX = "demo/"
SUMMARY_COLUMNS = ["file", "preset", "rows", "loaded", "skipped", "quarantined", "dates", "reasons"]


def conversions_inbox(data_root: Path) -> Path:
    """Where conversion files are dropped: ``<data dir>/inbox/conversions/`` (a sub-folder per preset)."""
    return data_root / "inbox" / "conversions"


def loaded_files(conn: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    return {r["source_file"]: r for r in dict_rows(conn.execute("SELECT * FROM conversion_file_loads"))}


@dataclass
class ImportResult(ImportCounts):
    inbox: Path
    parsed: list[tuple[Path, ParsedFile]] = field(default_factory=list)
    rejected: list[tuple[Path, FileRejected]] = field(default_factory=list)

    def summary(self) -> list[dict[str, Any]]:
        rows = [
            {
                "file": relative(self.inbox, path),
                "preset": p.preset,
                "rows": p.total,
                "loaded": p.loaded,
                "skipped": p.skipped,
                "quarantined": p.bad,
                "dates": f"{p.first_date}..{p.last_date}",
                "reasons": ", ".join(f"{k} ×{v}" for k, v in p.reasons.most_common(5))
                + (f" ({p.date_order.note})" if p.date_order and p.date_order.note else ""),
            }
            for path, p in self.parsed
        ]
        return rows + [
            {
                "file": relative(self.inbox, path),
                "preset": e.preset,
                "rows": e.total,
                "loaded": 0,
                "skipped": 0,
                "quarantined": e.bad_rows,
                "dates": "",
                "reasons": f"REJECTED: line {e.line}: {e.reason}",
            }
            for path, e in self.rejected
        ]


def import_files(
    conn: duckdb.DuckDBPyConnection,
    inbox: Path,
    targets: Sequence[Path],
    preset: str | None,
    now: dt.datetime,
) -> ImportResult:
    """Each target parsed (preset: ``preset``, else its folder's, else detected) and written in its own
    transaction; a file under ``inbox/conversions/demo/`` is demo data (``is_demo``)."""
    result = ImportResult(inbox)
    loaded = loaded_files(conn)
    for path in targets:
        rel = relative(inbox, path)
        ctx = LoadContext(
            source_file=rel,
            loaded_at=now,
            last_date=now.date() + dt.timedelta(days=1),
            is_demo=rel.startswith(DEMO_PREFIX),
            default_date=dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date(),
        )
        try:
            with transaction(conn):
                conn.execute("DELETE FROM conversion_rows WHERE source_file = ?", [rel])
                conn.execute("DELETE FROM conversion_quarantine WHERE source_file = ?", [rel])
                parsed = parse_file(path, ctx, preset or preset_for(inbox, path), lambda c: _insert(conn, c))
                _record(conn, path, rel, parsed.preset, parsed, ctx.is_demo, now, None)
            result.parsed.append((path, parsed))
            continue
        except FileRejected as err:
            rejected = err
        except OSError as err:
            rejected = FileRejected(str(path), 0, f"cannot read the file: {err}")
        except Exception as err:  # one file's surprise must not cost the other files their import
            rejected = FileRejected(str(path), 0, f"unexpected error: {type(err).__name__}: {str(err)[:200]}")
        result.rejected.append((path, rejected))
        with transaction(conn):
            conn.execute("DELETE FROM conversion_quarantine WHERE source_file = ?", [rel])
            insert_frame(conn, "conversion_quarantine", _frame(rejected.quarantined))
            if (loaded.get(rel) or {}).get("rows_loaded"):
                # a bad new version of a file loaded before: its previous rows stay, the error is recorded
                conn.execute(
                    "UPDATE conversion_file_loads SET error = ?, mtime_ns = ? WHERE source_file = ?",
                    [str(rejected), path.stat().st_mtime_ns, rel],
                )
            else:
                _record(conn, path, rel, rejected.preset, None, ctx.is_demo, now, str(rejected), rejected)
    return result


def _frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows as a DataFrame for ``insert_frame``; pandas (~0.7 s to import) is loaded by an import of
    conversion files, not with the code location."""
    import pandas as pd

    return pd.DataFrame(rows)


def _insert(conn: duckdb.DuckDBPyConnection, chunk: Chunk) -> None:
    insert_frame(conn, "conversion_rows", _frame(chunk.rows))
    insert_frame(conn, "conversion_quarantine", _frame(chunk.quarantined))


def _record(
    conn, path: Path, rel: str, preset, parsed: ParsedFile | None, demo, now, error, err=None
) -> None:
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    total = parsed.total if parsed else (err.total if err else 0)
    conn.execute(
        """
        INSERT OR REPLACE INTO conversion_file_loads
            (source_file, preset, mtime_ns, sha256, rows_total, rows_loaded, rows_skipped, rows_quarantined,
             min_date, max_date, is_demo, loaded_at, error)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            rel,
            preset,
            path.stat().st_mtime_ns,
            digest,
            total,
            parsed.loaded if parsed else 0,
            parsed.skipped if parsed else 0,
            parsed.bad if parsed else (err.bad_rows if err else 0),
            parsed.first_date if parsed else None,
            parsed.last_date if parsed else None,
            demo,
            now,
            error,
        ],
    )


# ------------------------------------------------------------------------------------------------ goals


def refresh_goals(conn: duckdb.DuckDBPyConnection, now: dt.datetime) -> list[Goal]:
    """``campaign_goals`` rebuilt from every registered brief (one transaction); the goals returned."""
    rows = dict_rows(conn.execute("SELECT campaign_id, brief_json FROM campaigns ORDER BY campaign_id"))
    goals, records = [], []
    for row in rows:
        try:
            brief = json.loads(row["brief_json"]) if row["brief_json"] else None
        except ValueError:
            brief = None
        if not isinstance(brief, dict) or "start_date" not in brief:
            continue
        brief.setdefault("id", row["campaign_id"])
        goal = goal_of(brief)
        goals.append(goal)
        records.append(
            {
                "campaign_id": goal.campaign_id,
                "goal_text": goal.goal_text,
                "metric": goal.metric,
                "target": goal.target,
                "window_start": goal.window_start,
                "window_end": goal.window_end,
                "goal_source": goal.source,
                "note": goal.note,
                "is_demo": bool(brief.get("demo")),
                "updated_at": now,
                "conversion_source": goal.conversion_source,
            }
        )
    with transaction(conn):
        conn.execute("DELETE FROM campaign_goals")
        insert_frame(conn, "campaign_goals", _frame(records))
    return goals
