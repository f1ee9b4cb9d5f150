"""Engagement assets: dropped files → raw events (daily partitions) → daily metrics with baselines →
anomalies and highlights; A/B winners; and the runs the monitoring sensors request (boosts, similar
campaigns). Domain logic lives in ``splants_dagster/engagement/``; these functions load, call, write.
"""

import datetime as dt
import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
from pydantic import Field

from splants_dagster.briefs import CampaignBrief
from splants_dagster.defs.engagement.common import (
    date_window,
    engagement_partitions,
    snapshot_rows,
    trend_markdown,
)
from splants_dagster.defs.engagement.resources import (
    READERS,
    EngagementResource,
    EngagementSourcesResource,
)
from splants_dagster.defs.resources import ProjectResource, WarehouseResource
from splants_dagster.engagement import abtest, actions, rules, sql
from splants_dagster.engagement.events import (
    COUNTERS,
    EVENT_COLUMNS,
    EVENTS_TABLE,
    FILE_ROWS_TABLE,
    POST_COLUMNS,
)
from splants_dagster.engagement.features import text_features
from splants_dagster.engagement.files import (
    FileRejected,
    LoadContext,
    ParsedFile,
    inbox_files,
    parse_file,
    preset_for,
)
from splants_dagster.engagement.presets import PRESETS
from splants_dagster.report import md_table
from splants_dagster.warehouse.store import Warehouse

GROUP = "engagement"
SIMULATED_NOTE = (
    "**Simulated demo data**: rows with `is_demo = true` (source `simulator`) come from the seeded demo "
    "simulator, not from any platform. Turn it off with `SPLANTS_ENGAGEMENT_SIMULATOR=0`."
)


# ------------------------------------------------------------------------------------------ helpers


def insert_rows(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    """Insert a DataFrame's columns into ``table`` (a ``core`` table, or ``<bulk db>.<table>``), cast to the
    table's column types (one SQL scan)."""
    if frame is None or not len(frame):
        return 0
    database, _, name = table.rpartition(".")
    types = {
        column: dtype
        for column, dtype in conn.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = coalesce(?, current_database()) AND schema_name = ? AND table_name = ?",
            [database or None, "main" if database else "core", name],
        ).fetchall()
    }
    cols = [c for c in frame.columns if c in types]
    view = f"_frame_{name}"
    conn.register(view, frame)
    try:
        select = ", ".join(f'CAST("{c}" AS {types[c]})' for c in cols)
        conn.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} FROM {view}")
    finally:
        conn.unregister(view)
    return len(frame)


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=list(columns), dtype=object)


def _in_transaction(conn: duckdb.DuckDBPyConnection, work) -> Any:
    conn.execute("BEGIN TRANSACTION")
    try:
        result = work()
        conn.execute("COMMIT")
        return result
    except Exception:
        conn.execute("ROLLBACK")
        raise


# -------------------------------------------------------------------------------------- file imports


class FileImportConfig(dg.Config):
    files: list[str] = Field(
        default_factory=list,
        description="files under inbox/engagement (relative) or absolute paths; empty: every new or changed file",
    )
    preset: str | None = Field(
        default=None, description="preset for all files (default: folder name, else detected)"
    )


def known_ids(store: Warehouse) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """Our pieces (piece_id -> platform) and published remote ids ((platform, remote_id) -> piece_id)."""
    pieces = snapshot_rows(store, "SELECT piece_id, platform FROM content_pieces") or []
    remote = (
        snapshot_rows(
            store,
            "SELECT platform, remote_id, piece_id FROM publications WHERE remote_id IS NOT NULL AND status = 'published'",
        )
        or []
    )
    return (
        {p["piece_id"]: p["platform"] for p in pieces},
        {(r["platform"], str(r["remote_id"])): r["piece_id"] for r in remote},
    )


@dg.asset(
    group_name=GROUP,
    kinds={"python", "duckdb"},
    pool="duckdb_write",
)
def engagement_file_imports(
    context: dg.AssetExecutionContext,
    config: FileImportConfig,
    project: ProjectResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Engagement exports dropped in ``inbox/engagement/`` (CSV/JSON), parsed with their preset and
    validated: good rows are staged per file (``engagement_file_rows``), bad rows go to
    ``engagement_quarantine`` with line and reason. A file with no usable row fails the run, naming the
    file, the line and the reason. The touched dates are rebuilt by ``engagement_events``."""
    inbox = project.paths.engagement_inbox
    store = warehouse.store()
    now = dt.datetime.now(dt.UTC)
    if config.preset and config.preset not in PRESETS:
        raise dg.Failure(f"unknown preset {config.preset!r}: one of {', '.join(PRESETS)}")
    loaded = {
        r["source_file"]: r for r in (snapshot_rows(store, "SELECT * FROM engagement_file_loads") or [])
    }
    if config.files:
        targets = []
        for name in config.files:
            path = Path(name) if Path(name).is_absolute() else inbox / name
            if not path.is_file():
                raise dg.Failure(f"{path}: no such file")
            targets.append(path)
    else:
        targets = [
            p
            for p in inbox_files(inbox)
            if loaded.get(_relative(inbox, p), {}).get("mtime_ns") != p.stat().st_mtime_ns
        ]
    parsed: list[tuple[Path, ParsedFile]] = []
    rejected: list[tuple[Path, FileRejected]] = []
    pieces, remote_ids = known_ids(store) if targets else ({}, {})
    for path in targets:
        rel = _relative(inbox, path)
        ctx = LoadContext(
            source_file=rel,
            export_time=dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC),
            loaded_at=now,
            known_pieces=pieces,
            remote_ids=remote_ids,
            last_date=now.date() + dt.timedelta(days=1),
        )
        try:
            parsed.append((path, parse_file(path, ctx, config.preset or preset_for(inbox, path))))
        except FileRejected as err:
            rejected.append((path, err))
            context.log.error(f"rejected {err}")

    def stage(conn: duckdb.DuckDBPyConnection) -> None:
        for path, pf in parsed:
            conn.execute(f"DELETE FROM {FILE_ROWS_TABLE} WHERE source_file = ?", [_relative(inbox, path)])
            insert_rows(conn, FILE_ROWS_TABLE, _frame(pf.rows, EVENT_COLUMNS))

    def record(conn: duckdb.DuckDBPyConnection) -> None:
        for path, pf in parsed:
            rel = _relative(inbox, path)
            conn.execute("DELETE FROM engagement_quarantine WHERE source_file = ?", [rel])
            conn.execute("DELETE FROM engagement_posts WHERE source_file = ?", [rel])
            insert_rows(conn, "engagement_quarantine", pd.DataFrame(pf.quarantined))
            insert_rows(conn, "engagement_posts", _frame(pf.posts, POST_COLUMNS))
            low, high = pf.dates
            old = loaded.get(rel) or {}
            if old.get("min_date"):
                low, high = min(low, old["min_date"]), max(high, old["max_date"])
            _record_load(
                conn, path, rel, pf.preset, pf.total, len(pf.rows), len(pf.quarantined), low, high, now, None
            )
        for path, err in rejected:
            rel = _relative(inbox, path)
            conn.execute("DELETE FROM engagement_quarantine WHERE source_file = ?", [rel])
            insert_rows(conn, "engagement_quarantine", pd.DataFrame(err.quarantined))
            if (loaded.get(rel) or {}).get("rows_loaded"):
                # a bad new version of a file loaded before: its previous rows stay, the error is recorded
                conn.execute(
                    "UPDATE engagement_file_loads SET error = ?, mtime_ns = ? WHERE source_file = ?",
                    [str(err), path.stat().st_mtime_ns, rel],
                )
            else:
                _record_load(
                    conn, path, rel, err.preset, err.total, 0, err.bad_rows, None, None, now, str(err)
                )

    if parsed or rejected:
        with store.write() as conn:
            # one transaction per database (DuckDB's rule): the staged rows first, then the load records,
            # so a failure in between leaves the file recorded in its old version and it is imported again
            _in_transaction(conn, lambda: stage(conn))
            _in_transaction(conn, lambda: record(conn))
    summary = [
        {
            "file": _relative(inbox, path),
            "preset": pf.preset,
            "rows": pf.total,
            "loaded": len(pf.rows),
            "quarantined": len(pf.quarantined),
            "dates": f"{pf.dates[0]}..{pf.dates[1]}",
            "reasons": ", ".join(f"{k} ×{v}" for k, v in pf.reasons.most_common(5)),
        }
        for path, pf in parsed
    ] + [
        {
            "file": _relative(inbox, path),
            "preset": err.preset,
            "rows": err.total,
            "loaded": 0,
            "quarantined": err.bad_rows,
            "dates": "",
            "reasons": f"REJECTED: line {err.line}: {err.reason}",
        }
        for path, err in rejected
    ]
    reasons = Counter()
    for _, pf in parsed:
        reasons.update(pf.reasons)
    metadata = {
        "files": dg.MetadataValue.int(len(parsed) + len(rejected)),
        "rows_loaded": dg.MetadataValue.int(sum(len(pf.rows) for _, pf in parsed)),
        "rows_quarantined": dg.MetadataValue.int(
            sum(len(pf.quarantined) for _, pf in parsed) + sum(e.bad_rows for _, e in rejected)
        ),
        "quarantine_reasons": dg.MetadataValue.json(dict(reasons)),
        "files_table": dg.MetadataValue.md(
            md_table(summary, ["file", "preset", "rows", "loaded", "quarantined", "dates", "reasons"])
        ),
        "inbox": dg.MetadataValue.path(str(inbox)),
    }
    if rejected:
        raise dg.Failure(
            description="; ".join(str(err) for _, err in rejected),
            metadata=metadata,
        )
    if not targets:
        context.log.info(f"no new or changed files in {inbox}")
    return dg.MaterializeResult(metadata=metadata)


def _relative(inbox: Path, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(inbox.resolve()))
    except ValueError:
        return str(path.resolve())


def _record_load(conn, path, rel, preset, total, ok, bad, low, high, now, error) -> None:
    stat = path.stat()
    conn.execute(
        """
        INSERT OR REPLACE INTO engagement_file_loads
            (source_file, preset, mtime_ns, sha256, rows_total, rows_loaded, rows_quarantined, min_date,
             max_date, loaded_at, events_built_at, error)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)
        """,
        [
            rel,
            preset,
            stat.st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest(),
            total,
            ok,
            bad,
            low,
            high,
            now,
            error,
        ],
    )


# --------------------------------------------------------------------------------------------- events


def _api_rows(
    engagement_sources: EngagementSourcesResource,
    published: list[dict[str, Any]],
    now: dt.datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str], dict[str, str], set[str]]:
    """(event rows, quarantined rows, note per reader, error per item, readers that answered)."""
    configured = engagement_sources.configured()
    by_reader: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in published:
        reader = READERS.get(item["publisher"] or "")
        if reader:
            by_reader[reader].append(item)
    rows, bad, notes, errors, answered = [], [], {}, {}, set()
    for reader, items in sorted(by_reader.items()):
        if not configured.get(reader):
            notes[reader] = f"not configured: {len(items)} published item(s) not measured"
            continue
        pull = engagement_sources.pull(reader, [str(i["remote_id"]) for i in items])
        if pull.snapshots:
            answered.add(f"api:{reader}")
        for item in items:
            rid = str(item["remote_id"])
            if rid in pull.errors:
                errors[f"{item['piece_id']} ({reader} {rid})"] = pull.errors[rid]
                continue
            counters = pull.snapshots.get(rid)
            if counters is None:
                continue
            negative = [k for k, v in counters.items() if v is not None and v < 0]
            if negative:
                bad.append(
                    {
                        "event_date": now.date(),
                        "source": f"api:{reader}",
                        "source_file": None,
                        "line": None,
                        "reason": f"negative count in '{negative[0]}'",
                        "reason_code": "negative_count",
                        "raw": json.dumps(counters),
                        "quarantined_at": now,
                        "preset": None,
                    }
                )
                continue
            rows.append(
                {
                    "event_date": now.date(),
                    "piece_id": item["piece_id"],
                    "external_id": None,
                    "platform": item["platform"],
                    "observed_at": now,
                    **{c: counters.get(c) for c in COUNTERS},
                    "source": f"api:{reader}",
                    "source_file": None,
                    "is_demo": False,
                    "content_type": item.get("content_type"),
                    "published_at": item.get("published_at"),
                    "loaded_at": now,
                    "cumulative": True,
                    "line": None,
                }
            )
        notes[reader] = f"{len(pull.snapshots)} of {len(items)} item(s) measured" + (
            f", {len(pull.errors)} error(s)" if pull.errors else ""
        )
    return rows, bad, notes, errors, answered


def _post_rows_for(items: list[dict[str, Any]], source: str, now: dt.datetime) -> list[dict[str, Any]]:
    out = []
    for item in items:
        text = item.get("text")
        out.append(
            {
                "piece_id": item["piece_id"],
                "platform": item["platform"],
                "content_type": item.get("content_type"),
                "published_at": item.get("published_at"),
                "external": False,
                "is_demo": False,
                "source": source,
                "source_file": None,
                "text": text,
                **text_features(text),
                "media_type": None,
                "paid": None,
                "injected_anomaly": None,
                "attributes": None,
                "updated_at": now,
            }
        )
    return out


PUBLISHED_SQL = """
SELECT p.piece_id, p.platform, p.publisher, p.remote_id, p.published_at, c.content_type,
       coalesce(c.rendered, c.body) AS text
FROM publications p JOIN content_pieces c ON c.piece_id = p.piece_id
WHERE p.status = 'published' AND p.remote_id IS NOT NULL
"""
# nothing real went out for these: outbox files, dry runs (their time: when it happened or was planned)
SIMULATED_PIECES_SQL = """
SELECT p.piece_id, p.platform, c.content_type, coalesce(p.published_at, s.publish_at) AS published_at,
       coalesce(c.rendered, c.body) AS text
FROM publications p
JOIN content_pieces c ON c.piece_id = p.piece_id
LEFT JOIN schedule s ON s.piece_id = p.piece_id AND s.platform = p.platform
WHERE (p.status = 'published' AND p.publisher = 'outbox') OR p.status = 'dry_run'
"""


@dg.asset(
    group_name=GROUP,
    kinds={"python", "duckdb"},
    partitions_def=engagement_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[engagement_file_imports],
    pool="duckdb_write",
    check_specs=[
        dg.AssetCheckSpec(
            "api_pulls_ok",
            asset="engagement_events",
            description="Every published item with a configured platform API could be measured.",
        )
    ],
)
def engagement_events(
    context: dg.AssetExecutionContext,
    engagement: EngagementResource,
    engagement_sources: EngagementSourcesResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Raw engagement observations per UTC day, from three sources: rows of dropped files for these days
    (staged by ``engagement_file_imports``), running totals of items we published read from the platform
    APIs (only for today's partition: an API reports totals now, not in the past; past days keep their
    snapshots), and the seeded demo simulator (labelled ``is_demo``). Re-materializing a day replaces
    exactly what these sources produce for it; a range runs as one step (backfills)."""
    start, end = date_window(context)
    now = dt.datetime.now(dt.UTC)
    store = warehouse.store()
    # older posts barely move and every pull costs API quota: measure what went out recently
    since = now - dt.timedelta(days=engagement.api_max_age_days)
    published = [
        p
        for p in snapshot_rows(store, PUBLISHED_SQL) or []
        if p["published_at"] is None or p["published_at"] >= since
    ]
    sim_pieces = (snapshot_rows(store, SIMULATED_PIECES_SQL) or []) if engagement.simulator else []

    pull_today = start <= now.date() <= end
    api_rows, api_bad, notes, errors, answered = ([], [], {}, {}, set())
    if pull_today and published:
        api_rows, api_bad, notes, errors, answered = _api_rows(engagement_sources, published, now)
    for item_error in list(errors.items())[:20]:
        context.log.warning(f"engagement API: {item_error[0]}: {item_error[1]}")

    sim_frame, sim_posts = None, []
    sim_from = max(start, dt.date.fromisoformat(engagement.simulator_start))
    if engagement.simulator and sim_from <= end:
        sim_frame, sim_posts = engagement.simulator_impl().simulate(
            sim_from, end, now, now, pieces=sim_pieces
        )

    def write_events(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
        params = {"start": start, "end": end, "today": now.date(), "answered": sorted(answered)}
        conn.execute(
            f"""
            DELETE FROM {EVENTS_TABLE} WHERE event_date BETWEEN $start AND $end
              AND (source NOT LIKE 'api:%' OR (event_date = $today AND list_contains($answered, source)))
            """,
            params,
        )
        conn.execute(
            f"INSERT INTO {EVENTS_TABLE} ({', '.join(EVENT_COLUMNS)}) SELECT {', '.join(EVENT_COLUMNS)} "
            f"FROM {FILE_ROWS_TABLE} WHERE event_date BETWEEN $start AND $end",
            {"start": start, "end": end},
        )
        insert_rows(conn, EVENTS_TABLE, sim_frame)
        insert_rows(conn, EVENTS_TABLE, _frame(api_rows, EVENT_COLUMNS))
        return dict(
            conn.execute(
                f"SELECT source, count(*) FROM {EVENTS_TABLE} WHERE event_date BETWEEN $start AND $end GROUP BY 1",
                {"start": start, "end": end},
            ).fetchall()
        )

    def write_rest(conn: duckdb.DuckDBPyConnection) -> None:
        if api_bad:
            conn.execute(
                "DELETE FROM engagement_quarantine WHERE event_date = $today AND list_contains($answered, source)",
                {"today": now.date(), "answered": sorted(answered)},
            )
            insert_rows(conn, "engagement_quarantine", pd.DataFrame(api_bad))
        if engagement.simulator and sim_from <= end:
            conn.execute(
                "DELETE FROM engagement_posts WHERE source = 'simulator' "
                "AND CAST(published_at AS DATE) BETWEEN $start AND $end",
                {"start": sim_from, "end": end},
            )
            insert_rows(conn, "engagement_posts", _frame(sim_posts, POST_COLUMNS))
        pulled = {r["piece_id"] for r in api_rows}
        if pulled:
            conn.execute(
                "DELETE FROM engagement_posts WHERE source = 'api' AND list_contains($ids, piece_id)",
                {"ids": sorted(pulled)},
            )
            items = [i for i in published if i["piece_id"] in pulled]
            insert_rows(conn, "engagement_posts", _frame(_post_rows_for(items, "api", now), POST_COLUMNS))
        conn.execute(
            "UPDATE engagement_file_loads SET events_built_at = $now "
            "WHERE rows_loaded > 0 AND min_date >= $start AND max_date <= $end",
            {"now": now, "start": start, "end": end},
        )

    with store.write() as conn:
        sql.session(conn, engagement.memory_limit)
        # one transaction per database (DuckDB's rule): the raw events first, then what refers to them
        # (posts, quarantine, "file built"), so a failure in between leaves the days to be rebuilt again
        by_source = _in_transaction(conn, lambda: write_events(conn))
        _in_transaction(conn, lambda: write_rest(conn))
        quarantined = conn.execute(
            "SELECT count(*) FROM engagement_quarantine WHERE event_date BETWEEN ? AND ?", [start, end]
        ).fetchone()[0]
    simulated = int(by_source.get("simulator", 0))
    file_rows = sum(v for k, v in by_source.items() if k.startswith("file:"))
    context.log.info(
        f"engagement_events {start}..{end}: " + ", ".join(f"{k}={v}" for k, v in sorted(by_source.items()))
    )
    metadata = {
        "date_range": f"{start}..{end}",
        "rows": dg.MetadataValue.int(int(sum(by_source.values()))),
        "rows_by_source": dg.MetadataValue.json({k: int(v) for k, v in sorted(by_source.items())}),
        "file_rows": dg.MetadataValue.int(int(file_rows)),
        "simulated_rows": dg.MetadataValue.int(simulated),
        "api_snapshots": dg.MetadataValue.int(len(api_rows)),
        "api_errors": dg.MetadataValue.int(len(errors)),
        "api": dg.MetadataValue.json(
            notes
            or {
                "note": "no published item to measure"
                if pull_today
                else "API pulls only run for today's partition"
            }
        ),
        "quarantined_rows_in_range": dg.MetadataValue.int(int(quarantined)),
        "simulator": "on (demo data, is_demo = true)" if engagement.simulator else "off",
    }
    if simulated:
        metadata["simulated"] = dg.MetadataValue.md(SIMULATED_NOTE)
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name="api_pulls_ok",
                passed=not errors,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "errors": dg.MetadataValue.md(
                        md_table([{"item": k, "error": v} for k, v in errors.items()], ["item", "error"])
                    )
                },
            )
        ],
    )


# -------------------------------------------------------------------------------------------- metrics


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb"},
    partitions_def=engagement_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[engagement_events],
    pool="duckdb_write",
    check_specs=[
        dg.AssetCheckSpec(
            "rates_within_bounds",
            asset="engagement_metrics",
            description="Engagement rate, click-through and bounce rate are between 0 and 1.",
        )
    ],
)
def engagement_metrics(
    context: dg.AssetExecutionContext, engagement: EngagementResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Per piece × platform × day: impressions, reach, engagements, clicks, engagement rate, click-through,
    bounce rate (where bounces are reported), age since publishing, and rolling 28-day per-platform
    baselines, computed by one DuckDB SQL statement over the raw events (see ``engagement/sql.py``)."""
    start, end = date_window(context)
    now = dt.datetime.now(dt.UTC)
    with warehouse.store().write() as conn:
        sql.session(conn, engagement.memory_limit)
        written = sql.build_metrics(conn, start, end, now)
        trends = sql.platform_trends(conn, max(start, end - dt.timedelta(days=29)), end)
        stats = conn.execute(
            """
            SELECT count(DISTINCT piece_id), coalesce(sum(impressions), 0), coalesce(sum(engagements), 0),
                   count(*) FILTER (WHERE is_demo), count(*) FILTER (WHERE external),
                   count(*) FILTER (WHERE engagement_rate > 1 OR click_through > 1 OR bounce_rate > 1
                                    OR engagement_rate < 0 OR click_through < 0 OR bounce_rate < 0)
            FROM engagement_metrics WHERE date BETWEEN ? AND ?
            """,
            [start, end],
        ).fetchone()
    pieces, impressions, engagements, demo_rows, external_rows, out_of_bounds = stats
    rate = engagements / impressions if impressions else 0.0
    context.log.info(f"engagement_metrics {start}..{end}: {written} rows, {pieces} pieces, rate {rate:.2%}")
    metadata = {
        "date_range": f"{start}..{end}",
        "rows": dg.MetadataValue.int(written),
        "pieces": dg.MetadataValue.int(int(pieces)),
        "impressions": dg.MetadataValue.int(int(impressions)),
        "engagements": dg.MetadataValue.int(int(engagements)),
        "engagement_rate": dg.MetadataValue.float(round(rate, 6)),
        "demo_rows": dg.MetadataValue.int(int(demo_rows)),
        "external_rows": dg.MetadataValue.int(int(external_rows)),
        "trends": dg.MetadataValue.md(trend_markdown(trends)),
    }
    if demo_rows:
        metadata["simulated"] = dg.MetadataValue.md(SIMULATED_NOTE)
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name="rates_within_bounds",
                passed=out_of_bounds == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"rows_out_of_bounds": dg.MetadataValue.int(int(out_of_bounds))},
            )
        ],
    )


# ----------------------------------------------------------------------------------------- monitoring


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "engagement_anomalies",
            deps=["engagement_metrics"],
            group_name=GROUP,
            kinds={"python", "duckdb"},
            description="Piece-days breaking the workflow guide's rules (low_views, low_engagement, high_bounce, "
            "engagement rate < 0.02) or the robust z-score rule; each with rule, value and baseline.",
        ),
        dg.AssetSpec(
            "engagement_highlights",
            deps=["engagement_metrics"],
            group_name=GROUP,
            kinds={"python", "duckdb"},
            description="Piece-days in the platform's top percentile of engagement rate (high engagement).",
        ),
    ],
    partitions_def=engagement_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb_write",
)
def engagement_monitoring(
    context: dg.AssetExecutionContext, engagement: EngagementResource, warehouse: WarehouseResource
):
    """Applies ``engagement/rules.py`` to the fresh pieces' metrics of the range. A detection keeps its id,
    sequence number and first detection time when re-run, so sensors never see it twice."""
    start, end = date_window(context)
    now = dt.datetime.now(dt.UTC)
    cfg = engagement.rules()
    with warehouse.store().write() as conn:
        sql.session(conn, engagement.memory_limit)
        rows = sql.monitor_rows(conn, start, end, cfg.fresh_days, cfg.min_impressions, cfg.top_percentile)
        anomalies, highlights = rules.evaluate(rows, cfg, now)
        new_anomalies, removed_anomalies = sql.write_anomalies(conn, anomalies, start, end)
        new_highlights, removed_highlights = sql.write_highlights(conn, highlights, start, end)
        recent = conn.execute(
            "SELECT date, piece_id, platform, rule, value, baseline, severity FROM anomalies "
            "WHERE date BETWEEN ? AND ? ORDER BY date DESC, severity, piece_id LIMIT 25",
            [start, end],
        ).fetchall()
    by_rule = Counter(a["rule"] for a in anomalies)
    ours = sum(1 for a in anomalies if not a["external"])
    context.log.info(
        f"monitoring {start}..{end}: {len(rows)} piece-days checked, {len(anomalies)} anomalies "
        f"({new_anomalies} new), {len(highlights)} highlights ({new_highlights} new)"
    )
    cols = ["date", "piece_id", "platform", "rule", "value", "baseline", "severity"]
    yield dg.MaterializeResult(
        asset_key="engagement_anomalies",
        metadata={
            "date_range": f"{start}..{end}",
            "piece_days_checked": dg.MetadataValue.int(len(rows)),
            "anomalies": dg.MetadataValue.int(len(anomalies)),
            "new_anomalies": dg.MetadataValue.int(new_anomalies),
            "withdrawn_anomalies": dg.MetadataValue.int(removed_anomalies),
            "our_pieces": dg.MetadataValue.int(ours),
            "by_rule": dg.MetadataValue.json(dict(by_rule)),
            "rules": dg.MetadataValue.json(cfg.as_dict()),
            "latest": dg.MetadataValue.md(md_table([dict(zip(cols, r, strict=True)) for r in recent], cols)),
        },
    )
    yield dg.MaterializeResult(
        asset_key="engagement_highlights",
        metadata={
            "date_range": f"{start}..{end}",
            "highlights": dg.MetadataValue.int(len(highlights)),
            "new_highlights": dg.MetadataValue.int(new_highlights),
            "withdrawn_highlights": dg.MetadataValue.int(removed_highlights),
            "top_percentile": dg.MetadataValue.float(cfg.top_percentile),
            "our_pieces": dg.MetadataValue.int(sum(1 for h in highlights if not h["external"])),
        },
    )


# ------------------------------------------------------------------------------------------------ A/B


@dg.asset(
    group_name=GROUP,
    kinds={"python", "duckdb"},
    deps=[engagement_metrics],
    pool="duckdb_write",
)
def ab_test_results(
    context: dg.AssetExecutionContext, engagement: EngagementResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """For every A/B variant (a piece with ``variant_of``) against its control: a two-proportion z-test of
    engagements / impressions over their lifetime metrics, Bonferroni over the control's variants; the
    winner is recorded when significant and there is enough data (``engagement/abtest.py``)."""
    now = dt.datetime.now(dt.UTC)
    with warehouse.store().write() as conn:
        pairs = sql.ab_pairs(conn)
        results = abtest.decide(pairs, engagement.ab(), now)
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute("DELETE FROM ab_results")
            insert_rows(conn, "ab_results", pd.DataFrame(results))
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
    decisions = Counter(r["decision"] for r in results)
    context.log.info(f"A/B: {len(results)} comparison(s): {dict(decisions)}")
    cols = [
        "variant_of",
        "variant_piece_id",
        "dimension",
        "rate_control",
        "rate_variant",
        "p_value",
        "decision",
    ]
    return dg.MaterializeResult(
        metadata={
            "comparisons": dg.MetadataValue.int(len(results)),
            "winners": dg.MetadataValue.int(sum(1 for r in results if r["winner_piece_id"])),
            "decisions": dg.MetadataValue.json(dict(decisions)),
            "results": dg.MetadataValue.md(md_table(results, cols)),
        }
    )


# ----------------------------------------------------------------------------------- sensor actions


class BoostConfig(dg.Config):
    anomaly_ids: list[str] = Field(
        default_factory=list,
        description="anomalies to act on; empty: recent anomalies of our pieces that have no boost yet",
    )


@dg.asset(
    group_name=GROUP,
    kinds={"python", "duckdb"},
    deps=["engagement_anomalies"],
    pool="duckdb_write",
)
def engagement_boosts(
    context: dg.AssetExecutionContext,
    config: BoostConfig,
    engagement: EngagementResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """A re-promotion plan for each under-performing piece of ours (requested by the anomaly sensor): the
    piece reworked for what went wrong (question-led hook, CTA first, or key point first) within its
    platform's limits, and the next best publish slot by the platform's engagement data. Written to
    ``engagement_boosts`` (status ``planned``); the publishing step schedules it (``scheduled``) and sends
    it at that slot through the exactly-once path, to the outbox by default (``published``)."""
    store = warehouse.store()
    now = dt.datetime.now(dt.UTC)
    since = now.date() - dt.timedelta(days=engagement.alert_window_days)
    with store.read() as conn:
        if config.anomaly_ids:
            found = _rows(
                conn.execute(
                    "SELECT * FROM anomalies WHERE list_contains(?, anomaly_id)", [config.anomaly_ids]
                )
            )
        else:
            found = _rows(
                conn.execute(
                    "SELECT * FROM anomalies WHERE NOT coalesce(external, false) AND date >= ? "
                    "AND piece_id NOT IN (SELECT piece_id FROM engagement_boosts)",
                    [since],
                )
            )
        by_piece: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for a in found:
            if not a.get("external"):
                by_piece[a["piece_id"]].append(a)
        pieces = {
            p["piece_id"]: p
            for p in _rows(
                conn.execute(
                    "SELECT piece_id, campaign_id, platform, title, body, rendered, cta, hashtags FROM content_pieces "
                    "WHERE list_contains(?, piece_id)",
                    [sorted(by_piece)],
                )
            )
        }
        conn.execute("SET TimeZone = 'UTC'")
        slots = {
            platform: sql.slot_rates(conn, platform, now.date() - dt.timedelta(days=90))
            for platform in {p["platform"] for p in pieces.values()}
        }
    boosts = []
    for piece_id, items in sorted(by_piece.items()):
        piece = pieces.get(piece_id)
        if piece is None:
            context.log.warning(f"anomaly for unknown piece {piece_id}: nothing to boost")
            continue
        rule_names = sorted({a["rule"] for a in items})
        when, reason = actions.best_slot(slots.get(piece["platform"], []), now)
        boosts.append(
            {
                "boost_id": f"boost-{hashlib.sha1(piece_id.encode()).hexdigest()[:12]}",
                "piece_id": piece_id,
                "campaign_id": piece["campaign_id"],
                "platform": piece["platform"],
                "action": "re_promote",
                "anomaly_ids": sorted(a["anomaly_id"] for a in items),
                "rules": rule_names,
                "planned_at": when,
                "slot_reason": reason,
                "boost_copy": actions.boost_copy(piece, rule_names),
                "status": "planned",
                "run_id": context.run_id,
                "created_at": now,
            }
        )
    if boosts:
        with store.write() as conn:
            cols = list(boosts[0])

            def write() -> None:
                # a planned boost is planned again; one publishing has scheduled or published keeps its state
                conn.execute(
                    "DELETE FROM engagement_boosts WHERE list_contains(?, boost_id) AND status = 'planned'",
                    [[b["boost_id"] for b in boosts]],
                )
                conn.executemany(
                    f"INSERT INTO engagement_boosts ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
                    "ON CONFLICT (boost_id) DO NOTHING",
                    [[b[c] for c in cols] for b in boosts],
                )

            _in_transaction(conn, write)
    skipped = len(found) - sum(len(v) for v in by_piece.values())
    context.log.info(
        f"{len(boosts)} boost(s) planned; {skipped} anomaly(ies) of external posts not boostable"
    )
    return dg.MaterializeResult(
        metadata={
            "boosts": dg.MetadataValue.int(len(boosts)),
            "anomalies_considered": dg.MetadataValue.int(len(found)),
            "external_skipped": dg.MetadataValue.int(skipped),
            "plans": dg.MetadataValue.md(
                md_table(boosts, ["piece_id", "rules", "planned_at", "slot_reason", "boost_copy"])
            ),
        }
    )


class SimilarContentConfig(dg.Config):
    piece_ids: list[str] = Field(
        default_factory=list,
        description="winning pieces; empty: recent highlights of our pieces without a derived campaign yet",
    )
    lead_days: int = Field(default=7, description="the new campaign starts this many days from today")


def _rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


@dg.asset(
    group_name=GROUP,
    kinds={"yaml", "duckdb"},
    deps=["engagement_highlights"],
    pool="duckdb_write",
)
def similar_campaign_briefs(
    context: dg.AssetExecutionContext,
    config: SimilarContentConfig,
    project: ProjectResource,
    engagement: EngagementResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """ "Create similar content" for a winning piece (requested by the high-engagement sensor): a new brief
    derived from the piece's campaign brief, led by its platform and angle, with ``parent_piece_id`` set,
    written to ``campaigns/<parent>-more-<hash>.yaml``; ``campaign_brief_sensor`` then registers it as a
    campaign partition and runs ``campaign_job``. The link is recorded in ``campaign_lineage``."""
    store = warehouse.store()
    now = dt.datetime.now(dt.UTC)
    since = now.date() - dt.timedelta(days=engagement.alert_window_days)
    with store.read() as conn:
        wanted = list(config.piece_ids) or [
            r["piece_id"]
            for r in _rows(
                conn.execute(
                    "SELECT DISTINCT piece_id FROM engagement_highlights WHERE NOT coalesce(external, false) "
                    "AND date >= ? AND piece_id NOT IN (SELECT parent_piece_id FROM campaign_lineage)",
                    [since],
                )
            )
        ]
        pieces = _rows(
            conn.execute(
                """
            SELECT c.piece_id, c.platform, c.title, c.campaign_id, k.brief_json,
                   (SELECT max(engagement_rate) FROM engagement_highlights h WHERE h.piece_id = c.piece_id) AS rate,
                   (SELECT arg_max(threshold, engagement_rate) FROM engagement_highlights h
                     WHERE h.piece_id = c.piece_id) AS threshold,
                   (SELECT arg_max(highlight_id, engagement_rate) FROM engagement_highlights h
                     WHERE h.piece_id = c.piece_id) AS highlight_id,
                   (SELECT count(*) FROM campaign_lineage l WHERE l.child_campaign_id = c.campaign_id) AS derived,
                   (SELECT count(*) FROM campaign_lineage l JOIN campaign_lineage g
                      ON g.child_campaign_id = l.parent_campaign_id
                     WHERE l.child_campaign_id = c.campaign_id) AS derived_twice
            FROM content_pieces c JOIN campaigns k ON k.campaign_id = c.campaign_id
            WHERE list_contains(?, c.piece_id)
            """,
                [wanted],
            )
        )
    missing = sorted(set(wanted) - {p["piece_id"] for p in pieces})
    for piece_id in missing:
        context.log.warning(f"{piece_id}: not a piece of a registered campaign; no similar content")
    lineage, created = [], []
    campaigns_dir = project.paths.campaigns_dir
    for piece in pieces:
        if piece["derived_twice"]:
            context.log.info(
                f"{piece['piece_id']}: its campaign is already two generations deep; not deriving"
            )
            continue
        parent = CampaignBrief.model_validate_json(piece["brief_json"])
        child = actions.similar_brief(parent, piece, now.date(), config.lead_days)
        path = campaigns_dir / f"{child.id}.yaml"
        if not path.exists():
            rate = piece.get("rate")
            note = (
                f"Derived by splants from winning piece {piece['piece_id']} of campaign {parent.id}"
                + (
                    f" (engagement rate {rate:.2%}, top-percentile threshold {piece['threshold']:.2%})"
                    if rate
                    else ""
                )
                + f" on {now.date()}.\nEdit freely; delete the file to cancel the campaign."
            )
            campaigns_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".yaml.tmp")
            tmp.write_text(actions.brief_yaml(child, note))
            tmp.replace(path)
            created.append(child.id)
        lineage.append(
            {
                "child_campaign_id": child.id,
                "parent_campaign_id": parent.id,
                "parent_piece_id": piece["piece_id"],
                "platform": piece["platform"],
                "engagement_rate": piece.get("rate"),
                "threshold": piece.get("threshold"),
                "highlight_id": piece.get("highlight_id"),
                "brief_file": str(path),
                "reason": "high engagement (top percentile)",
                "run_id": context.run_id,
                "created_at": now,
            }
        )
    if lineage:
        with store.write() as conn:
            cols = list(lineage[0])
            conn.executemany(
                f"INSERT OR REPLACE INTO campaign_lineage ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                [[r[c] for c in cols] for r in lineage],
            )
    context.log.info(f"{len(created)} new brief(s): {', '.join(created) or 'none'}")
    return dg.MaterializeResult(
        metadata={
            "derived_campaigns": dg.MetadataValue.int(len(lineage)),
            "new_brief_files": dg.MetadataValue.int(len(created)),
            "lineage": dg.MetadataValue.md(
                md_table(
                    lineage, ["child_campaign_id", "parent_campaign_id", "parent_piece_id", "engagement_rate"]
                )
            ),
            "next": "campaign_brief_sensor registers each new brief as a campaign partition and runs campaign_job",
        }
    )
