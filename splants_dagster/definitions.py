"""The project's single entry point: everything under ``defs/`` plus global policies."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

EXECUTOR_ENV = "SPLANTS_EXECUTOR"


def executor_from_env() -> dg.ExecutorDefinition:
    """``in_process`` (default), ``multiprocess`` or ``celery``, from ``SPLANTS_EXECUTOR``.

    A campaign is a chain (brief → research → content → QA → schedule) whose steps each wait for the
    previous one, and each multiprocess step pays ~1.7 s of process start on this class of machine, so one
    process per run is faster; campaigns still run in parallel as separate runs. Choose ``multiprocess``
    when steps are heavy and independent (e.g. large backfills of engagement partitions), and ``celery``
    to run steps on Celery workers on other machines (broker from ``SPLANTS_CELERY_BROKER``, default the
    local RabbitMQ; start workers with ``celery -A dagster_celery.app worker -Q dagster``).
    """
    choice = os.environ.get(EXECUTOR_ENV, "in_process").strip().lower()
    if choice in ("in_process", "in-process", ""):
        return dg.in_process_executor
    if choice == "multiprocess":
        return dg.multiprocess_executor
    if choice == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(
            {
                "broker": os.environ.get("SPLANTS_CELERY_BROKER", "pyamqp://guest@127.0.0.1:5672//"),
                "backend": os.environ.get("SPLANTS_CELERY_BACKEND", "rpc://"),
                "config_source": {"task_default_queue": os.environ.get("SPLANTS_CELERY_QUEUE", "dagster")},
            },
            name="celery",
        )
    raise ValueError(f"{EXECUTOR_ENV}={choice!r}: expected 'in_process', 'multiprocess' or 'celery'")


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(executor=executor_from_env()),
    )
