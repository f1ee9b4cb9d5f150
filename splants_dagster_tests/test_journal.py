"""The LLM call journal: durable, and ingested into the ledger exactly once."""

import datetime as dt
import os
import subprocess
import sys

from splants_dagster.llm.base import CallRecord
from splants_dagster.llm.journal import CallJournal, idle_journals


def record(i: int) -> CallRecord:
    return CallRecord(
        call_id=f"call-{i}",
        campaign_id="c1",
        asset="content_suite",
        purpose="content.piece",
        piece_id=None,
        provider="openai",
        model="gpt-x",
        prompt_tokens=100,
        completion_tokens=50,
        cached_tokens=0,
        tokens_estimated=False,
        cost_usd=0.01,
        cached=False,
        latency_ms=12.0,
        status="ok",
        error=None,
        strategy="balanced",
        run_id="r1",
        called_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    )


def ledger(store) -> list[str]:
    return [r["call_id"] for r in store.query("SELECT call_id FROM llm_calls ORDER BY call_id")]


def test_open_journal_is_not_ingested_closed_one_is(store, paths):
    journal = CallJournal(paths.journal_dir)
    journal.append(record(1))
    with store.write():
        pass
    assert ledger(store) == []  # still being written by its owner: left alone
    journal.close()
    with store.write():
        pass
    assert ledger(store) == ["call-1"]
    assert list(paths.journal_dir.glob("*.jsonl")) == []


def test_replayed_journal_does_not_double_count(store, paths):
    with CallJournal(paths.journal_dir) as journal:
        journal.append(record(1))
        journal.append(record(2))
        lines = journal.path.read_text()
    with store.write():
        pass
    # the same calls arrive again (e.g. a retried step re-ingesting a copy)
    replay = paths.journal_dir / "calls-replay.jsonl"
    replay.write_text(lines)
    with store.write():
        pass
    assert ledger(store) == ["call-1", "call-2"]


def test_journal_of_killed_process_is_ingested_and_torn_line_ignored(store, paths):
    script = f"""
import os, sys, datetime as dt
sys.path.insert(0, {str(os.getcwd())!r})
from splants_dagster.llm.journal import CallJournal
from splants_dagster_tests.test_journal import record
j = CallJournal(__import__('pathlib').Path({str(paths.journal_dir)!r}))
j.append(record(7))
j._fh.write('{{"call_id": "torn')  # a crash in the middle of a line
j._fh.flush()
os.kill(os.getpid(), 9)
"""
    proc = subprocess.run([sys.executable, "-c", script], check=False)
    assert proc.returncode == -9
    assert len(list(idle_journals(paths.journal_dir))) == 1  # the dead process's lock is gone
    with store.write():
        pass
    assert ledger(store) == ["call-7"]
