"""Console and instance helpers shared by the CLI modules."""

from __future__ import annotations

from rich.console import Console

# wide enough for the status/summary tables when output is piped (no terminal to measure)
console = Console(width=max(160, Console().width))
# errors are never wrapped by rich (the terminal wraps them), so file paths and values stay copyable
err_console = Console(stderr=True, soft_wrap=True)


def dagster_instance():
    """The Dagster instance of $DAGSTER_HOME (the one `make run` starts the UI on)."""
    import dagster as dg

    return dg.DagsterInstance.get()
