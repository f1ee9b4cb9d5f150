"""Importing one large engagement file: peak memory and time.

1. Generate a generic engagement CSV of 2 M rows (~200 MB, the size of the export in issue #14 item 8:
   2,017,467 rows, 210 MB, once 9.4 GB peak): one row per post and day, with a bad row every
   ~10,000 (an impossible value, an unparseable number, a count above BIGINT: quarantined, not loaded).
2. Materialize ``engagement_file_imports`` on it (the real asset: Dagster step, parse, validate, stage
   into the bulk database, record the load) in a subprocess, measuring wall time and peak RSS (VmHWM).
3. Baseline in the same run: a subprocess that only reads the file into memory as text (what any
   whole-file reader pays at the least), so the import's figure reads as a ratio against it.

``python -m bench import`` prints the figures; ``SPLANTS_BENCH_IMPORT_ROWS`` changes the row count.
Scratch data lives in a temporary directory.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROWS = int(os.environ.get("SPLANTS_BENCH_IMPORT_ROWS", "2017467"))
# one bad row in this many (an impossible value, an unparseable number, a count above BIGINT)
BAD_EVERY = 10_007
TARGET_PEAK_MB = 1024

IMPORT_STEP = textwrap.dedent(
    """
    import json, resource, sys, time
    import dagster as dg
    from splants_dagster.defs.engagement.assets import engagement_file_imports
    from splants_dagster.definitions import build_all_resources
    from splants_dagster.paths import DataPaths
    from splants_dagster.warehouse.store import Warehouse

    def hwm_mb():
        # VmHWM: this process's peak RSS (ru_maxrss would include the parent's at fork time)
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    data_dir, name = sys.argv[1], sys.argv[2]
    before = hwm_mb()
    t0 = time.perf_counter()
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [engagement_file_imports],
            instance=instance,
            resources=build_all_resources(data_dir),
            run_config={"ops": {"engagement_file_imports": {"config": {"files": [name]}}}},
            raise_on_error=False,
        )
    elapsed = time.perf_counter() - t0
    store = Warehouse(DataPaths.at(data_dir))
    load = store.query("SELECT rows_total, rows_loaded, rows_quarantined, error FROM engagement_file_loads")
    with store.read_bulk() as conn:
        staged = conn.execute("SELECT count(*) FROM events.engagement_file_rows").fetchone()[0]
    print(json.dumps({"success": result.success, "import_s": elapsed, "peak_rss_mb": hwm_mb(),
                      "startup_rss_mb": before, "staged_rows": staged, "load": load}, default=str))
    """
)

READ_ONLY = textwrap.dedent(
    """
    import json, sys, time
    def hwm_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    t0 = time.perf_counter()
    text = open(sys.argv[1], encoding="utf-8").read()
    print(json.dumps({"read_s": time.perf_counter() - t0, "chars": len(text), "peak_rss_mb": hwm_mb()}))
    """
)


def _subprocess(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"bench subprocess failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def generate(path: Path, rows: int) -> tuple[int, int]:
    """A generic engagement CSV of ``rows`` data rows; returns (rows, bad rows)."""
    platforms = ("twitter", "facebook", "instagram", "linkedin")
    start = dt.date(2025, 1, 1)
    bad = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(
            "date,observed_at,external_id,platform,content_type,impressions,reach,likes,comments,shares,"
            "clicks\n"
        )
        lines = []
        for i in range(rows):
            day = start + dt.timedelta(days=i % 365)
            post = f"campaign-post-{i // 365:07d}"
            count = 1000 + (i * 7919) % 50000
            reach = count * 3 // 4
            impressions: int | str = count
            if i % BAD_EVERY == BAD_EVERY - 1:
                bad += 1
                kind = bad % 3
                if kind == 0:
                    reach = count + 1  # impossible: impressions < reach
                elif kind == 1:
                    impressions = "12x"
                else:
                    impressions = 99999999999999999999999  # above BIGINT
            lines.append(
                f"{day},{day}T{i % 24:02d}:{i % 60:02d}:00+00:00,{post},{platforms[i % 4]},social_post,"
                f"{impressions},{reach},{i % 97},{i % 13},{i % 7},{i % 31}\n"
            )
            if len(lines) == 50_000:
                out.writelines(lines)
                lines = []
        out.writelines(lines)
    return rows, bad


def measure(data_dir: Path, rows: int) -> dict:
    inbox = data_dir / "inbox" / "engagement"
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / "large.csv"
    t0 = time.perf_counter()
    total, bad = generate(path, rows)
    generated_s = time.perf_counter() - t0
    size_mb = path.stat().st_size / 1e6
    baseline = _subprocess(READ_ONLY, str(path))
    step = _subprocess(IMPORT_STEP, str(data_dir), "large.csv")
    return {
        "rows": total,
        "bad_rows": bad,
        "file_mb": round(size_mb, 1),
        "generate_s": round(generated_s, 1),
        "import": step,
        "read_text_only": baseline,
        "peak_rss_vs_file": round(step["peak_rss_mb"] / size_mb, 2),
        "peak_rss_vs_read_text": round(step["peak_rss_mb"] / baseline["peak_rss_mb"], 2),
        "rows_per_s": round(total / step["import_s"]),
        "target_peak_mb": TARGET_PEAK_MB,
        "meets_target": step["peak_rss_mb"] <= TARGET_PEAK_MB,
    }


def run() -> dict:
    with tempfile.TemporaryDirectory(prefix="splants-bench-import-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        print(f"generating {ROWS:,} rows and importing them (subprocess) ...", flush=True)
        return measure(data_dir, ROWS)
