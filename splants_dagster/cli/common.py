"""Console and instance helpers shared by the CLI modules."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

# Rich markup is OFF on both consoles: the CLI prints user data (brief values, file names, SQL results) and
# a "[/oops]" in a tone or a file name must print as written, never be parsed as a style tag (it raised
# MarkupError before). Colour comes only from `styled()`, whose style names are code, not data.
# wide enough for the status/summary tables when output is piped (no terminal to measure)
console = Console(width=max(160, Console().width), markup=False, highlight=False)
# errors are never wrapped by rich (the terminal wraps them), so file paths and values stay copyable
err_console = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)


def styled(*parts: str | tuple[str, str]) -> Text:
    """A line of plain text pieces and ``(text, style)`` pieces; nothing in any text is parsed as markup."""
    return Text.assemble(*((p, "") if isinstance(p, str) else p for p in parts))


def dagster_instance():
    """The Dagster instance of $DAGSTER_HOME (the one `make run` starts the UI on)."""
    import dagster as dg

    return dg.DagsterInstance.get()


def run_with_progress(job, instance, label: str, **kwargs):
    """``job.execute_in_process(...)`` with a progress bar: steps done / steps in the job, and the step
    running now (read from the run's events while it executes on a worker thread)."""
    import threading
    import uuid

    import dagster as dg
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    run_id = str(uuid.uuid4())
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["result"] = job.execute_in_process(run_id=run_id, instance=instance, **kwargs)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    total = max(1, len(job.graph.nodes))
    finished = {
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
        dg.DagsterEventType.STEP_SKIPPED,
    }
    step_events = finished | {dg.DagsterEventType.STEP_START}
    worker = threading.Thread(target=work, daemon=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(label, total=total)
        worker.start()
        while worker.is_alive():
            worker.join(0.5)
            done, current = 0, None
            for record in instance.all_logs(run_id, of_type=step_events):  # only the step events
                event = record.dagster_event
                if event.event_type in finished:
                    done += 1
                elif event.event_type == dg.DagsterEventType.STEP_START:
                    current = event.step_key
            progress.update(
                task,
                completed=min(done, total),
                description=f"{label}: {current}" if current and done < total else label,
            )
        progress.update(task, completed=total, description=label)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
