"""Debian's ``faketime`` for tests: installed when missing (as root, from Debian's packages, like the e2e
test's chromium), and an environment under which Python processes behave with the clock moved.

``faketime 'YYYY-MM-DD hh:mm:ss' cmd`` starts the clock of ``cmd`` and of every process it starts at that
instant and lets it run (one shared start); ``FAKETIME='YYYY-MM-DD hh:mm:ss'`` set by hand without the
wrapper *freezes* it instead, which stalls anything that waits for time to pass (a daemon's interval).
"""

from __future__ import annotations

import os
from pathlib import Path

from splants_dagster_tests.fixtures_http import debian_program

SHIM = Path(__file__).parent / "shim"
LONDON_DST_STARTS = "2027-03-28 00:30:00"  # UTC: clocks go forward at 01:00 UTC, 30 minutes later
LONDON_DST_ENDS = "2027-10-31 00:30:00"  # UTC (01:30 BST): 01:00-02:00 local happens twice from 01:00 UTC
A_YEAR_AHEAD = "2027-12-07 10:00:00"


def faketime_binary() -> str:
    """Path of Debian's ``faketime``; installed when missing and possible, else skips (fails in CI)."""
    return debian_program("faketime")


def faketime_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) made fit for Python under libfaketime: the monotonic
    clock stays real (timed waits work) and ``time.sleep`` goes through the shim (see shim/sitecustomize)."""
    env = dict(os.environ if base is None else base)
    env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SHIM), env.get("PYTHONPATH", "")) if p)
    return env


def under_faketime(at: str, argv: list[str]) -> list[str]:
    """``argv`` run with the clock starting at ``at`` (UTC, ``YYYY-MM-DD hh:mm:ss``) and running."""
    return [faketime_binary(), f"{at} UTC", *argv]
