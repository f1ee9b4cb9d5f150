"""The cause of "two campaigns at once fail intermittently" (#14 item 13), pinned down on the real
PostgreSQL: two runs making the first claim on the ``duckdb_write`` pool at the same moment.

Each run's executor creates the pool's limit row and slot on its first claim. With dagster-postgres's own
storage the second INSERT hit the unique key, PostgreSQL aborted that transaction, and the fallback UPDATE
raised ``InFailedSqlTransaction`` in the run's orchestrator: the run failed with no step error. The
production instance's storage (``splants_dagster.defs.instance_storage``) serialises that first claim.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from splants_dagster.paths import PROJECT_ROOT
from splants_dagster_tests.production.conftest import service_env

pytestmark = pytest.mark.services

# both processes open the instance first, then make the first claim at the same wall-clock moment
FIRST_CLAIM = """
import sys, time
import dagster as dg
with dg.DagsterInstance.get() as instance:
    storage = instance.event_log_storage
    time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
    # what a run's executor does on its first claim (InstanceConcurrencyContext.claim): initialise, claim
    storage.initialize_concurrency_limit_to_default("duckdb_write")
    status = storage.claim_concurrency_slot("duckdb_write", sys.argv[2], "writer")
    print(type(storage).__name__, status.is_claimed)
"""


def test_two_first_claims_on_the_pool_at_once_both_work_and_make_one_slot(prod_home, pg_url, data_dir):
    import dagster as dg
    import psycopg2

    env = service_env(data_dir, prod_home, pg_url)
    start = time.time() + 6  # time enough for both to start and open the instance on a loaded machine
    run_ids = ["11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_CLAIM, str(start), run_id],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for run_id in run_ids
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-3000:]  # before the fix: InFailedSqlTransaction in one of them
        assert out.split()[0] == "PoolSafePostgresEventLogStorage"
    assert sorted(out.split()[1] for out, _ in outputs) == ["False", "True"]  # one slot: one of them waits

    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM concurrency_slots WHERE concurrency_key = 'duckdb_write'")
        assert cur.fetchone()[0] == 1
    with dg.DagsterInstance.get() as instance:
        info = instance.event_log_storage.get_concurrency_info("duckdb_write")
        assert info.limit == 1 and info.using_default_limit
