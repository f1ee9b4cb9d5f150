"""The project's single entry point: everything under ``defs/`` plus global policies.

Code outside the Dagster layer (the CLI, benchmarks, scripts, tests) reaches the definitions only through
this module: :func:`defs`, :func:`resolve_job_def`, :func:`reconstructable_campaign_job` and
:func:`build_all_resources`. Nothing under ``defs/`` imports it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import dagster as dg

from splants_dagster import settings

EXECUTOR_ENV = "SPLANTS_EXECUTOR"

# every folder under defs/ with a resources.py (each registers its own with @dg.definitions, which
# load_from_defs_folder picks up); listed here for build_all_resources. A test checks the two agree.
RESOURCE_MODULES = {
    "shared": "splants_dagster.defs.resources",
    "alerts": "splants_dagster.defs.alerts.resources",
    "conversions": "splants_dagster.defs.conversions.resources",
    "costs": "splants_dagster.defs.costs.resources",
    "engagement": "splants_dagster.defs.engagement.resources",
    "ml": "splants_dagster.defs.ml.resources",
    "platforms": "splants_dagster.defs.platforms.resources",
    "publishing": "splants_dagster.defs.publishing.resources",
    "research": "splants_dagster.defs.research.resources",
}


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


def resolve_job_def(name: str) -> dg.JobDefinition:
    """Job ``name``, resolved with the resources and executor a run gets."""
    return defs().resolve_job_def(name)


def reconstructable_campaign_job() -> dg.JobDefinition:
    """The resolved ``campaign_job``, for ``dg.reconstructable(...)`` in scripts, benchmarks and Celery
    workers (which rebuild the job from this code pointer)."""
    return resolve_job_def("campaign_job")


def build_all_resources(
    data_dir: str | Path | None = None, domains: Iterable[str] | None = None
) -> dict[str, Any]:
    """The resources a run gets, built for ``data_dir`` (default ``$SPLANTS_DATA_DIR``): every folder's
    ``build_resources(data_dir)``, or only those of ``domains`` (keys of :data:`RESOURCE_MODULES`), e.g.
    the CLI's ``publish`` builds just ``publishing`` without loading the LLM code. Modules are imported
    on demand, so importing this module stays cheap."""
    chosen = list(RESOURCE_MODULES) if domains is None else list(domains)
    resources: dict[str, Any] = {}
    for domain in chosen:
        if domain not in RESOURCE_MODULES:
            raise ValueError(f"no resources for {domain!r}: one of {', '.join(RESOURCE_MODULES)}")
        module = importlib.import_module(RESOURCE_MODULES[domain])
        for key, resource in module.build_resources(data_dir).items():
            if key in resources:
                raise ValueError(f"resource key {key!r} is built twice ({domain})")
            resources[key] = resource
    return resources
