"""Operational tables: an audit of warehouse write sessions (who held the single-writer lock, and when)."""

DDL = [
    """
    CREATE TABLE IF NOT EXISTS write_sessions (
        host VARCHAR, pid INTEGER, started_at TIMESTAMPTZ, ended_at TIMESTAMPTZ
    )
    """,
]

VIEWS: dict[str, str] = {}
