"""Benchmarks (`make bench`): each `bench_<name>.py` module defines `run() -> dict` and prints its figures.

Speed targets are ratios against a baseline measured in the same run, never absolute timings in tests.
"""
