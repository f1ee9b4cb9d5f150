"""`make probe` / `python -m bench.probe [--only SUBSTRING] [--workers N]`: issue #14's probe of bad inputs
over the real `splants` command (the case table is splants_dagster_tests/robustness/probe.py). Prints the
figures (cases tried, clear errors, tracebacks, data lost) and the failing cases with their output, writes
test-artifacts/probe-summary.json, and exits 1 when any case fails. Not a `bench_*` module: it measures
behaviour, not speed, and takes a few minutes."""

from __future__ import annotations

import argparse
import sys

from splants_dagster_tests.robustness.probe import (
    ALL_CASES,
    Outcome,
    run_matrix,
    summary_table,
    write_summary,
)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.probe", description=__doc__)
    parser.add_argument("--only", default="", help="run only the cases whose name contains this")
    parser.add_argument("--workers", type=int, default=2, help="cases run at once (default 2)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the output of failing cases")
    args = parser.parse_args(argv)
    cases = [c for c in ALL_CASES if args.only in c.name]
    if not cases:
        print(f"no case matches {args.only!r}")
        return 2
    print(f"probing {len(cases)} bad inputs, {args.workers} at a time...", flush=True)

    def progress(outcome: Outcome) -> None:
        state = "ok" if outcome.clear and outcome.lost is None else f"FAILED: {outcome.problem()}"
        print(f"  {outcome.name} ({outcome.seconds:.0f}s): {state}", flush=True)

    _, summary = run_matrix(cases, workers=args.workers, progress=progress)
    summary["scope"] = f"cases matching {args.only!r}" if args.only else "every case"
    print(summary_table(summary))
    if args.verbose:
        for failure in summary["failures"]:
            print(f"\n--- {failure['case']} (exit {failure['exit_code']})\n{failure['output']}")
    print(f"summary: {write_summary(summary)}")
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
