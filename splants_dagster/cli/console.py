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
    """The Dagster instance of $DAGSTER_HOME (the one `make run` starts the UI on): created under a lock
    (concurrent first starts), with the runs of killed CLI processes failed and their pool slots freed
    (see ``splants_dagster.cli.instance``); says on stderr what it reaped."""
    from splants_dagster.cli.instance import open_instance

    instance, reaped = open_instance()
    for item in reaped:
        err_console.print(styled(("reaped", "yellow"), f" run {item.run_id}: {item.why}; pool slots freed"))
    return instance


def run_with_progress(job, instance, label: str, **kwargs):
    """``job.execute_in_process(...)`` with a progress bar: steps done / steps in the job, and the step
    running now (read from the run's events while it executes on a worker thread). A step blocked on a
    pool says so: "waiting for pool duckdb_write (held by run …)". The run is tagged with this process
    (host, pid) so that a later command can fail it and free its slots if this process is killed."""
    import logging
    import threading
    import time
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

    from splants_dagster.cli.instance import owner_tags, pool_holders, reap_dead_runs

    run_id = str(uuid.uuid4())
    kwargs["tags"] = {**(kwargs.get("tags") or {}), **owner_tags()}
    # Dagster's console logger prints a step failure with its stack trace: a user would read a traceback
    # for a bad input. It is silenced here; the loop below prints each warning (e.g. "LLM: waiting on …")
    # and each step failure as one line instead, and the whole record stays in the Dagster UI.
    run_config = dict(kwargs.get("run_config") or {})
    run_config["loggers"] = {"console": {"config": {"log_level": "CRITICAL"}}}
    kwargs["run_config"] = run_config
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
    watched = finished | {dg.DagsterEventType.STEP_START, dg.DagsterEventType.ENGINE_EVENT}
    worker = threading.Thread(target=work, daemon=True)
    next_reap = 0.0
    said = {"cursor": None}

    def say_news(out) -> None:
        """Warnings and step failures logged since the last call, one line each (no stack traces)."""
        conn = instance.event_log_storage.get_records_for_run(run_id, cursor=said["cursor"])
        said["cursor"] = conn.cursor
        for record in conn.records:
            entry = record.event_log_entry
            event = entry.dagster_event
            if event is not None and event.event_type == dg.DagsterEventType.STEP_FAILURE:
                error = event.step_failure_data.error if event.step_failure_data else None
                message = (error.message.strip() if error else "") or (event.message or "failed")
                if error is not None and error.cls_name == "Failure":  # ours: the description is the message
                    message = message.split(": ", 1)[-1]
                out.print(
                    styled((f"{label}: step {event.step_key} failed: ", "red"), message.splitlines()[0])
                )
            elif (
                event is None
                and entry.level >= logging.WARNING
                and entry.user_message
                and not entry.user_message.startswith("Dependencies for step")  # the failure said it
            ):
                out.print(styled((f"{label}: ", "yellow"), entry.user_message.splitlines()[0]))

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
            blocked: dict[str, str] = {}  # step key -> pool it waits for
            for record in instance.all_logs(run_id, of_type=watched):
                event = record.dagster_event
                if event.event_type in finished:
                    done += 1
                    blocked.pop(event.step_key, None)
                elif event.event_type == dg.DagsterEventType.STEP_START:
                    current = event.step_key
                    blocked.pop(event.step_key, None)
                elif event.step_key and "blocked by limit for pool" in (event.message or ""):
                    pool = event.event_specific_data.metadata.get("pool")
                    blocked[event.step_key] = str(pool.value if pool is not None else "?")
            description = f"{label}: {current}" if current and done < total else label
            if blocked:
                step, pool = next(iter(blocked.items()))
                if time.monotonic() >= next_reap:  # a holder killed while we wait must not block us
                    next_reap = time.monotonic() + 5
                    for item in reap_dead_runs(instance):
                        progress.console.print(f"reaped run {item.run_id}: {item.why}; pool slots freed")
                holders = pool_holders(instance, pool, run_id)
                held = f"held by run {', '.join(holders)}" if holders else "queued"
                description = f"{label}: {step} waiting for pool {pool} ({held})"
            progress.update(task, completed=min(done, total), description=description)
            say_news(progress.console)
        say_news(progress.console)
        progress.update(task, completed=total, description=label)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
