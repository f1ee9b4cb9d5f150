"""``splants status`` (campaigns at a glance) and ``splants sql`` (a SQL prompt on analytics.duckdb)."""

from __future__ import annotations

import contextlib

import duckdb
import typer
from rich.table import Table

from splants_dagster.cli.console import console, err_console, styled
from splants_dagster.paths import DataPaths
from splants_dagster.warehouse.store import Warehouse, dict_rows

STATUS_SQL = """
SELECT c.campaign_id, c.status, c.start_date, c.duration_days,
       (SELECT count(*) FROM analytics.content p WHERE p.campaign_id = c.campaign_id AND p.variant_of IS NULL) AS pieces,
       (SELECT count(*) FROM analytics.qa_status q WHERE q.campaign_id = c.campaign_id
            AND q.status IN ('approved', 'auto_fixed')) AS approved,
       (SELECT count(*) FROM analytics.qa_status q WHERE q.campaign_id = c.campaign_id AND q.status = 'flagged') AS flagged,
       (SELECT count(*) FROM analytics.schedule s WHERE s.campaign_id = c.campaign_id) AS scheduled,
       (SELECT count(*) FROM analytics.publications u WHERE u.campaign_id = c.campaign_id
            AND u.status = 'published') AS published,
       (SELECT coalesce(sum(cost_usd), 0) FROM analytics.llm_calls l WHERE l.campaign_id = c.campaign_id) AS cost_usd
FROM analytics.campaigns c ORDER BY c.start_date, c.campaign_id
"""


def warehouse_unreadable(store: Warehouse, exc: duckdb.Error) -> typer.Exit:
    """One line naming the warehouse file that DuckDB cannot open (not a DuckDB file, a newer format, no
    permission), instead of a traceback; exit 1. Nothing is changed or removed."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    err_console.print(
        styled((f"cannot open the warehouse in {store.paths.warehouse_dir}", "red"), f": {reason}")
    )
    return typer.Exit(1)


def read_warehouse(stack: contextlib.ExitStack, store: Warehouse) -> duckdb.DuckDBPyConnection:
    """A read connection held by ``stack``; an unreadable warehouse file exits with one line (see above)."""
    try:
        return stack.enter_context(store.read())
    except duckdb.Error as exc:
        raise warehouse_unreadable(store, exc) from None


def status() -> None:
    """Every campaign: stage, pieces, QA, schedule, publications and LLM spend (from analytics.duckdb)."""
    store = Warehouse(DataPaths.at())
    with contextlib.ExitStack() as stack:
        conn = read_warehouse(stack, store)
        rows = dict_rows(conn.execute(STATUS_SQL))
    if not rows:
        console.print("no campaigns yet: drop a brief in campaigns/ or run `splants campaign new`")
        return
    table = Table(
        "campaign",
        "status",
        "starts",
        "days",
        "pieces",
        "approved",
        "flagged",
        "scheduled",
        "published",
        "LLM cost",
        title="campaigns",
    )
    for r in rows:
        table.add_row(
            r["campaign_id"],
            r["status"],
            str(r["start_date"]),
            str(r["duration_days"]),
            str(r["pieces"]),
            str(r["approved"]),
            str(r["flagged"]),
            str(r["scheduled"]),
            str(r["published"]),
            f"${r['cost_usd']:.4f}",
        )
    console.print(table)


def _show(conn: duckdb.DuckDBPyConnection, sql: str) -> None:
    cur = conn.execute(sql)
    if cur.description is None:
        return
    cols = [d[0] for d in cur.description]
    rows = cur.fetchmany(200)
    table = Table(*cols)
    for row in rows:
        table.add_row(*("" if v is None else str(v)[:80] for v in row))
    console.print(table)
    more = len(cur.fetchmany(1))
    console.print(f"{len(rows)}{'+' if more else ''} row(s)")


def sql(
    query: str = typer.Argument(None, help="run one statement and exit; omit for an interactive prompt"),
) -> None:
    """A read-only SQL prompt on analytics.duckdb (`.views` lists the analytics views, `.quit` exits)."""
    store = Warehouse(DataPaths.at())
    with contextlib.ExitStack() as stack:
        conn = read_warehouse(stack, store)
        conn.execute("USE main")
        if query:
            try:
                _show(conn, query)
            except duckdb.Error as exc:
                err_console.print(styled((str(exc), "red")))
                raise typer.Exit(1) from None
            return
        console.print(
            f"analytics.duckdb (read-only): {store.paths.analytics_db}\n"
            "end statements with ';'  ·  .views  ·  .quit"
        )
        buffer = ""
        while True:
            try:
                line = input("sql> " if not buffer else "...> ")
            except (EOFError, KeyboardInterrupt):
                console.print()
                return
            stripped = line.strip()
            if not buffer and stripped in (".quit", ".exit", "\\q"):
                return
            if not buffer and stripped in (".views", ".tables"):
                _show(
                    conn,
                    "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' ORDER BY 1",
                )
                continue
            buffer += line + "\n"
            if stripped.endswith(";"):
                try:
                    _show(conn, buffer)
                except duckdb.Error as exc:
                    err_console.print(styled((str(exc), "red")))
                buffer = ""


def register(app: typer.Typer) -> None:
    app.command("status")(status)
    app.command("sql")(sql)
