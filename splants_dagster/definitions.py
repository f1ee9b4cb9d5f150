"""The project's single entry point: everything under ``defs/`` plus global policies."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from splants_dagster import settings

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
    choice = settings.value(EXECUTOR_ENV)  # SettingsError naming the variable when it is not one of these
    if choice == "in_process":
        return dg.in_process_executor
    if choice == "multiprocess":
        return dg.multiprocess_executor
    if choice == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(
            {
                "broker": settings.value("SPLANTS_CELERY_BROKER"),
                "backend": settings.value("SPLANTS_CELERY_BACKEND"),
                "config_source": {"task_default_queue": settings.value("SPLANTS_CELERY_QUEUE")},
            },
            name="celery",
        )
    raise AssertionError(f"unreachable: settings accepted {EXECUTOR_ENV}={choice!r}")


@dg.definitions
def defs() -> dg.Definitions:
    # every SPLANTS_* setting checked up front: the UI's code location error lists each bad one in a line
    settings.check()
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(executor=executor_from_env()),
    )
