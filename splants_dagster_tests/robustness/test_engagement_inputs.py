"""Engagement files that used to break an import (issue #14 items 7, 8, 12): counts above BIGINT, a poison
file among good ones (asset and CLI), a file streamed in many chunks, and text encodings."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path

import dagster as dg

from splants_dagster.defs.engagement.assets import engagement_file_imports
from splants_dagster.engagement import files, imports
from splants_dagster.engagement.files import LoadContext, parse_file
from splants_dagster_tests.engagement.conftest import raw_query

SPLANTS = str(Path(os.sys.executable).parent / "splants")
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
HEADER = "date,external_id,platform,impressions,reach\n"


def ctx(name: str = "f.csv") -> LoadContext:
    return LoadContext(name, NOW, NOW, last_date=NOW.date())


def test_counts_above_bigint_are_quarantined_and_the_good_rows_load(tmp_path):
    csv_path = tmp_path / "big.csv"
    csv_path.write_text(
        HEADER + "2026-11-20,a,twitter,99999999999999999999999,1\n2026-11-20,b,twitter,10,5\n"
    )
    parsed = parse_file(csv_path, ctx())
    assert [r["external_id"] for r in parsed.rows] == ["twitter:b"]
    (bad,) = parsed.quarantined
    assert bad["line"] == 2 and bad["reason_code"] == "number_out_of_range"
    assert "count out of range in 'impressions': 99999999999999999999999" in bad["reason"]

    json_path = tmp_path / "big.json"
    json_path.write_text(
        json.dumps(
            [
                {"date": "2026-11-20", "external_id": "a", "platform": "twitter", "impressions": 1e300},
                {"date": "2026-11-20", "external_id": "c", "platform": "twitter", "impressions": 2**64},
                {"date": "2026-11-20", "external_id": "b", "platform": "twitter", "impressions": 7},
            ]
        )
    )
    parsed = parse_file(json_path, ctx())
    assert [r["impressions"] for r in parsed.rows] == [7]
    assert [q["reason_code"] for q in parsed.quarantined] == ["number_out_of_range"] * 2


def _materialize(instance, resources):
    return dg.materialize(
        [engagement_file_imports], instance=instance, resources=resources, raise_on_error=False
    )


def test_a_poison_file_among_good_ones_fails_only_itself(data_dir, store, instance, resources):
    inbox = data_dir / "inbox" / "engagement"
    inbox.mkdir(parents=True)
    (inbox / "a_good.csv").write_text(HEADER + "2026-11-20,a,twitter,10,5\n2026-11-21,a,twitter,20,9\n")
    # once: "Current transaction is aborted" and no file of the batch loaded
    (inbox / "b_huge.csv").write_text(HEADER + "2026-11-20,h,twitter,99999999999999999999999,1\n")
    (inbox / "c_mixed.csv").write_text(HEADER + "2026-11-20,m,twitter,1e300,1\n2026-11-20,n,twitter,30,3\n")
    (inbox / "d_binary.csv").write_bytes(b"\x00\x01\x02\xff" * 50)
    result = _materialize(instance, resources)
    assert not result.success
    message = result.get_step_failure_events()[0].step_failure_data.error.message
    assert "b_huge.csv: line 2: count out of range in 'impressions'" in message
    assert "d_binary.csv" in message and "a_good.csv" not in message
    loads = {r["source_file"]: r for r in store.query("SELECT * FROM engagement_file_loads")}
    assert loads["a_good.csv"]["rows_loaded"] == 2 and loads["a_good.csv"]["error"] is None
    assert loads["c_mixed.csv"]["rows_loaded"] == 1 and loads["c_mixed.csv"]["rows_quarantined"] == 1
    assert loads["b_huge.csv"]["rows_loaded"] == 0 and "out of range" in loads["b_huge.csv"]["error"]
    assert loads["d_binary.csv"]["error"]
    staged = raw_query(
        store, "SELECT source_file, count(*) AS n FROM events.engagement_file_rows GROUP BY 1 ORDER BY 1"
    )
    assert staged == [{"source_file": "a_good.csv", "n": 2}, {"source_file": "c_mixed.csv", "n": 1}]
    quarantine = store.query(
        "SELECT source_file, line, reason_code FROM engagement_quarantine ORDER BY source_file, line"
    )
    assert {"source_file": "b_huge.csv", "line": 2, "reason_code": "number_out_of_range"} in quarantine
    assert {"source_file": "c_mixed.csv", "line": 2, "reason_code": "unparseable_number"} in quarantine


def test_a_file_streams_in_chunks_and_quarantines_across_boundaries(
    data_dir, store, instance, resources, monkeypatch
):
    monkeypatch.setattr(files, "CHUNK_ROWS", 4)
    inbox = data_dir / "inbox" / "engagement"
    inbox.mkdir(parents=True)
    lines, bad = [], {5, 6, 9, 14}  # file lines (header = 1): 4/5 and 8/9 are chunk boundaries
    for line in range(2, 24):
        impressions = "x" if line in bad else str(100 + line)
        lines.append(f"2026-11-{1 + line % 20:02d},p{line % 3},twitter,{impressions},10\n")
    (inbox / "chunks.csv").write_text(HEADER + "".join(lines))
    chunks = []
    batch = imports.parse_files(inbox, [inbox / "chunks.csv"], None, {}, {}, NOW)
    try:
        assert batch.spills  # the rows went to a spill file, not into memory
        ((_, pf),) = batch.parsed
        assert pf.rows == [] and pf.loaded == 18 and pf.bad == 4 and pf.total == 22
    finally:
        batch.close()
    parse_file(inbox / "chunks.csv", ctx(), sink=chunks.append)
    assert len(chunks) == 6
    assert sorted(q["line"] for c in chunks for q in c.quarantined) == sorted(bad)

    result = _materialize(instance, resources)
    assert result.success
    staged = raw_query(store, "SELECT line FROM events.engagement_file_rows ORDER BY line")
    assert [r["line"] for r in staged] == [n for n in range(2, 24) if n not in bad]
    quarantined = store.query("SELECT line, reason FROM engagement_quarantine ORDER BY line")
    assert [q["line"] for q in quarantined] == sorted(bad)
    assert all("unparseable number in 'impressions'" in q["reason"] for q in quarantined)


ROWS = HEADER + "2026-11-20,café-1,twitter,10,5\n2026-11-21,café-2,twitter,20,9\n"


def test_bom_and_utf16_files_load(tmp_path):
    variants = {
        "utf8sig.csv": ROWS.encode("utf-8-sig"),
        "utf16.csv": ROWS.encode("utf-16"),  # with a BOM
        "utf16be.csv": b"\xfe\xff" + ROWS.encode("utf-16-be"),
        "utf16le_nobom.csv": ROWS.encode("utf-16-le"),
        "utf32.csv": ROWS.encode("utf-32"),
    }
    for name, data in variants.items():
        (tmp_path / name).write_bytes(data)
        parsed = parse_file(tmp_path / name, ctx(name))
        assert [r["external_id"] for r in parsed.rows] == ["twitter:café-1", "twitter:café-2"], name
        assert (parsed.encoding.note is None) == (name == "utf8sig.csv"), name


def test_latin1_is_read_as_cp1252_and_said_never_replacement_characters(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes((ROWS.replace("café-2", "naïve\x81")).encode("latin-1"))
    parsed = parse_file(path, ctx())
    ids = [r["external_id"] for r in parsed.rows]
    assert ids == ["twitter:café-1", "twitter:naïve\x81"]
    assert "�" not in "".join(ids)
    assert parsed.encoding.name == "cp1252" and "not valid UTF-8" in parsed.encoding.note


def _splants(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SPLANTS_DATA_DIR": str(data_dir)}
    return subprocess.run([SPLANTS, *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_reports_each_file_and_a_poison_one_exits_1_without_traceback(tmp_path, data_dir):
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "2026-11-20,a,twitter,10,5\n")
    poison = tmp_path / "poison.csv"
    poison.write_text(HEADER + "2026-11-20,h,twitter,99999999999999999999999,1\n")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(ROWS.encode("latin-1"))
    run = _splants("engagement", "import", str(good), str(poison), str(latin), "--dry-run", data_dir=data_dir)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr + run.stdout
    err = " ".join(run.stderr.split())
    assert "poison.csv: line 2: count out of range in 'impressions'" in err
    out = " ".join(run.stdout.split())
    assert "good.csv: preset generic, 1 rows: 1 loadable" in out
    assert "latin.csv: preset generic, 2 rows: 2 loadable" in out and "Windows-1252" in out
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(ROWS.encode("utf-16"))
    run = _splants("engagement", "import", str(utf16), "--dry-run", data_dir=data_dir)
    assert run.returncode == 0, run.stderr
    assert "2 loadable" in run.stdout and "UTF-16 LE" in run.stdout


def test_a_file_the_warehouse_refuses_is_rejected_alone(data_dir, store, instance, resources, monkeypatch):
    """Whatever a database error hits one file's write (here injected for one file), the other files of
    the batch are stored and the failing one is recorded with the database's message."""
    import duckdb

    inbox = data_dir / "inbox" / "engagement"
    inbox.mkdir(parents=True)
    (inbox / "a.csv").write_text(HEADER + "2026-11-20,a,twitter,10,5\n")
    (inbox / "b.csv").write_text(HEADER + "2026-11-20,b,twitter,10,5\n")
    (inbox / "c.csv").write_text(HEADER + "2026-11-20,c,twitter,10,5\n")
    stage = imports.FileBatch._stage

    def refusing(self, conn, path):
        stage(self, conn, path)
        if path.name == "b.csv":
            raise duckdb.ConversionException("Conversion Error: injected for b.csv")

    monkeypatch.setattr(imports.FileBatch, "_stage", refusing)
    result = _materialize(instance, resources)
    assert not result.success
    message = result.get_step_failure_events()[0].step_failure_data.error.message
    assert "b.csv: line 0: could not be stored: Conversion Error: injected for b.csv" in message
    loads = {r["source_file"]: r for r in store.query("SELECT * FROM engagement_file_loads")}
    assert loads["a.csv"]["rows_loaded"] == 1 and loads["c.csv"]["rows_loaded"] == 1
    assert loads["b.csv"]["rows_loaded"] == 0 and "injected" in loads["b.csv"]["error"]
    staged = raw_query(store, "SELECT DISTINCT source_file FROM events.engagement_file_rows ORDER BY 1")
    assert [r["source_file"] for r in staged] == ["a.csv", "c.csv"]  # b's staging rolled back
