"""A durable, append-only journal of LLM calls, flushed into the warehouse ledger.

A billed call must be recorded exactly once, even when the step that made it fails or its process is
killed. So every call is appended (and fsynced) to a journal file the moment it returns, and the warehouse
ingests journal lines with ``INSERT ... ON CONFLICT DO NOTHING`` on the call id. A writer holds an
exclusive ``flock`` on its journal file while it is open; any warehouse writer may ingest (and delete)
journals whose lock it can take, which is how calls of a killed process still reach the ledger.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from splants_dagster.llm.base import CallRecord


class CallJournal:
    # file name prefix; the response cache keeps its own journals (``cache-*.jsonl``) beside these
    prefix = "calls"

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{self.prefix}-{os.getpid()}-{uuid.uuid4().hex[:12]}.jsonl"
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - held open for the journal's life
        fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.records: list[CallRecord] = []

    def append(self, record: CallRecord) -> None:
        self._write_line(record.to_json())
        self.records.append(record)

    def _write_line(self, line: str) -> None:
        self._fh.write(line + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if not self._fh.closed:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
        if self.path.exists() and self.path.stat().st_size == 0:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> CallJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_journal(path: Path) -> list[CallRecord]:
    """The complete lines of a journal; a line cut short by a crash is ignored."""
    records = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                records.append(CallRecord.from_json(line))
            except (ValueError, TypeError, KeyError):
                continue
    return records


def idle_journals(directory: Path, pattern: str = "calls-*.jsonl") -> Iterator[Path]:
    """Journal files nobody is writing. Each is locked while the caller handles it (between yields)."""
    if not directory.is_dir():
        return
    for path in sorted(directory.glob(pattern)):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield path
        finally:
            os.close(fd)
