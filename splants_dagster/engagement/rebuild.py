"""Rebuilding a range of days of raw engagement events (what ``engagement_events`` writes) from its three
sources: the rows of dropped files staged for those days, the seeded demo simulator, and today's API
snapshots. Re-running a day replaces exactly what these sources produce for it.

DuckDB lets one transaction write only one database, so :meth:`EventsBuild.write` commits the raw events
(bulk database) first, then what refers to them in ``core`` (posts, quarantine, "file built"): a failure
in between leaves the days to be rebuilt again, never a record of work not done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb

from splants_dagster.engagement.events import (
    EVENT_COLUMNS,
    EVENTS_TABLE,
    FILE_ROWS_TABLE,
    POST_COLUMNS,
    rows_frame,
)
from splants_dagster.engagement.measure import Measured, post_rows
from splants_dagster.warehouse.store import insert_frame, scalar, transaction

if TYPE_CHECKING:
    from splants_dagster.engagement.simulator import Simulator  # numpy: loaded by the caller that simulates

if TYPE_CHECKING:  # pandas is imported where a frame is built: not on every code location load (issue #17)
    import pandas as pd

# nothing real went out for these: outbox files, dry runs (their time: when it happened or was planned)
SIMULATED_PIECES_SQL = """
SELECT p.piece_id, p.platform, c.content_type, coalesce(p.published_at, s.publish_at) AS published_at,
       coalesce(c.rendered, c.body) AS text
FROM publications p
JOIN content_pieces c ON c.piece_id = p.piece_id
LEFT JOIN schedule s ON s.piece_id = p.piece_id AND s.platform = p.platform
WHERE (p.status = 'published' AND p.publisher = 'outbox') OR p.status = 'dry_run'
"""


@dataclass
class EventsBuild:
    """The events of the days ``start``..``end`` as of ``now``: ``measured`` (today's API pulls of the
    ``published`` items) and, after :meth:`simulate`, the simulator's events and posts."""

    start: dt.date
    end: dt.date
    now: dt.datetime
    measured: Measured = field(default_factory=Measured)
    published: Sequence[Mapping[str, Any]] = ()
    sim_from: dt.date | None = None  # first simulated day; None: nothing simulated
    sim_frame: pd.DataFrame | None = None
    sim_posts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pulls_today(self) -> bool:
        """An API reports totals now, not in the past: only a range holding today is measured."""
        return self.start <= self.now.date() <= self.end

    def simulate(self, simulator: Simulator, first_day: dt.date, pieces: Sequence[dict[str, Any]]) -> None:
        """Demo events and posts for the range (from ``first_day`` on), our dry-run ``pieces`` included."""
        sim_from = max(self.start, first_day)
        if sim_from <= self.end:
            self.sim_from = sim_from
            self.sim_frame, self.sim_posts = simulator.simulate(
                sim_from, self.end, self.now, self.now, pieces=pieces
            )

    def write(self, conn: duckdb.DuckDBPyConnection) -> tuple[dict[str, int], int]:
        """Both commits (raw events, then what refers to them); returns the range's events per source and
        its quarantined rows."""
        with transaction(conn):
            by_source = self._write_events(conn)
        with transaction(conn):
            self._write_references(conn)
        quarantined = scalar(
            conn,
            "SELECT count(*) FROM engagement_quarantine WHERE event_date BETWEEN ? AND ?",
            [self.start, self.end],
        )
        return by_source, quarantined

    def _write_events(self, conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
        # API snapshots stay, but today's of a reader that answered this time (they are replaced)
        params = {
            "start": self.start,
            "end": self.end,
            "today": self.now.date(),
            "answered": sorted(self.measured.answered),
        }
        conn.execute(
            f"""
            DELETE FROM {EVENTS_TABLE} WHERE event_date BETWEEN $start AND $end
              AND (source NOT LIKE 'api:%' OR (event_date = $today AND list_contains($answered, source)))
            """,
            params,
        )
        window = {"start": self.start, "end": self.end}
        conn.execute(
            f"INSERT INTO {EVENTS_TABLE} ({', '.join(EVENT_COLUMNS)}) SELECT {', '.join(EVENT_COLUMNS)} "
            f"FROM {FILE_ROWS_TABLE} WHERE event_date BETWEEN $start AND $end",
            window,
        )
        insert_frame(conn, EVENTS_TABLE, self.sim_frame)
        insert_frame(conn, EVENTS_TABLE, rows_frame(self.measured.rows, EVENT_COLUMNS))
        return dict(
            conn.execute(
                f"SELECT source, count(*) FROM {EVENTS_TABLE} WHERE event_date BETWEEN $start AND $end GROUP BY 1",
                window,
            ).fetchall()
        )

    def _write_references(self, conn: duckdb.DuckDBPyConnection) -> None:
        import pandas as pd

        if self.measured.bad:
            conn.execute(
                "DELETE FROM engagement_quarantine WHERE event_date = $today AND list_contains($answered, source)",
                {"today": self.now.date(), "answered": sorted(self.measured.answered)},
            )
            insert_frame(conn, "engagement_quarantine", pd.DataFrame(self.measured.bad))
        if self.sim_from is not None:
            conn.execute(
                "DELETE FROM engagement_posts WHERE source = 'simulator' "
                "AND CAST(published_at AS DATE) BETWEEN $start AND $end",
                {"start": self.sim_from, "end": self.end},
            )
            insert_frame(conn, "engagement_posts", rows_frame(self.sim_posts, POST_COLUMNS))
        pulled = {r["piece_id"] for r in self.measured.rows}
        if pulled:
            conn.execute(
                "DELETE FROM engagement_posts WHERE source = 'api' AND list_contains($ids, piece_id)",
                {"ids": sorted(pulled)},
            )
            items = [i for i in self.published if i["piece_id"] in pulled]
            insert_frame(
                conn, "engagement_posts", rows_frame(post_rows(items, "api", self.now), POST_COLUMNS)
            )
        conn.execute(
            "UPDATE engagement_file_loads SET events_built_at = $now "
            "WHERE rows_loaded > 0 AND min_date >= $start AND max_date <= $end",
            {"now": self.now, "start": self.start, "end": self.end},
        )
