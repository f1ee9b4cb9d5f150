"""Loaded by every Python process started under :func:`splants_dagster_tests.clock.faketime.faketime_env`
(its folder is first on PYTHONPATH); does nothing outside libfaketime.

libfaketime 0.9.10 (Debian 12) has two bugs that bite Python >= 3.11:
- with the monotonic clock faked (its default), every timed lock/condition/queue wait hangs, because
  CPython waits with ``sem_clockwait(CLOCK_MONOTONIC)``, which libfaketime does not intercept: the deadline
  is computed on the faked clock and waited for on the real one (libfaketime issue 390);
- with ``FAKETIME_DONT_FAKE_MONOTONIC=1`` those waits work, but ``time.sleep`` fails with EINVAL, because
  libfaketime shifts the absolute monotonic deadline of ``clock_nanosleep`` by the fake offset (issue 426).
So the harness keeps the monotonic clock real and routes ``time.sleep`` through ``select``, which takes a
relative timeout and is passed through unchanged.
"""

import os
import select
import time

if "faketime" in os.environ.get("LD_PRELOAD", "") and os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1":
    _monotonic = time.monotonic

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = _monotonic() + seconds
        while (left := deadline - _monotonic()) > 0:
            select.select([], [], [], left)

    time.sleep = _sleep
