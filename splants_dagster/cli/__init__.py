"""``splants``: what people do outside the Dagster UI.

Every module in this package that defines ``register(app: typer.Typer)`` adds its commands; a new command
group is a new module, nothing else to edit.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from splants_dagster import settings
from splants_dagster.campaigns.briefs import BriefError
from splants_dagster.cli.console import err_console, styled

app = typer.Typer(no_args_is_help=True, add_completion=False, help="SPLANTS marketing engine on Dagster.")


def _register_all() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "common":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_all()


def main() -> None:
    try:
        settings.check()  # every SPLANTS_* variable, before any command: one line per bad one, exit 2
        app()
    except settings.SettingsError as err:
        for line in err.problems:
            err_console.print(styled((line, "red")))
        sys.exit(2)
    except BriefError as err:
        err_console.print(styled((str(err), "red")))
        sys.exit(1)
