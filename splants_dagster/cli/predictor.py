"""``splants predictor evaluate``: train and evaluate the performance predictor on any history CSV.

Time-ordered: the oldest 80% of rows train (hyperparameters chosen by time-ordered cross-validation inside
them), the newest 20% test. Prints ``{"n_train", "n_test", "model": {mae, mape, spearman, r2},
"baselines": {name: {same keys}}}`` (MAPE in percent, null where the target has zeros). See docs/ml.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from splants_dagster.cli.console import err_console, styled

predictor_app = typer.Typer(no_args_is_help=True, help="The performance predictor: honest evaluation.")


def register(app: typer.Typer) -> None:
    app.add_typer(predictor_app, name="predictor")


def _columns(value: str | None) -> tuple[str, ...]:
    return tuple(c.strip() for c in (value or "").split(",") if c.strip())


@predictor_app.command("evaluate")
def evaluate_command(
    history: Path = typer.Option(..., exists=True, dir_okay=False, help="history CSV, one row per post"),
    time_column: str = typer.Option(
        ..., help="column giving publish time (dates or numbers), or '@row' for the file's row order"
    ),
    target: str = typer.Option(..., help="the outcome to predict (a non-negative number)"),
    text_column: str | None = typer.Option(None, help="the post text, if the history has it"),
    categorical: str | None = typer.Option(None, help="comma-separated categorical input columns"),
    numeric: str | None = typer.Option(None, help="comma-separated numeric input columns"),
    sep: str = typer.Option(",", help="field separator of the CSV"),
    predictions_out: Path | None = typer.Option(
        None, help="write the test rows' time, actual, predicted to this CSV"
    ),
    newest_first: bool = typer.Option(
        False, "--newest-first", help="with --time-column @row: the first data row is the newest post"
    ),
    test_fraction: float = typer.Option(0.2, help="share of the newest rows held out for the test"),
    window: str = typer.Option(
        "auto", help="trailing-median window in posts, or 'auto' (chosen on the training rows)"
    ),
    baseline_gap: int = typer.Option(
        0, help="skip this many most recent posts in the trailing median (targets not final yet)"
    ),
    baseline_group: str | None = typer.Option(
        None, help="take the trailing median within this column's groups (e.g. platform)"
    ),
    exclude_where: str | None = typer.Option(
        None, help='drop rows matching this pandas query, e.g. "`Impressions` < `Reach`"'
    ),
    log_offset: str = typer.Option("auto", help="c in log(y + c): 'auto' (1 for counts) or a number"),
    time_format: str = typer.Option(
        "auto",
        help="strftime format of --time-column's dates (e.g. '%d/%m/%Y %H:%M'); 'auto': one format "
        "inferred for the whole column, so day-first and month-first dates are never mixed; 'mixed': each "
        "value parsed on its own",
    ),
    details: bool = typer.Option(False, "--details", help="add a 'details' key: CV table, extra metrics"),
    model_name: str | None = typer.Option(
        None,
        help="register the trained model under $SPLANTS_DATA_DIR/models/NAME (activated only if it passes "
        "the gate), with the active model of that name as the 'deployed_model' baseline",
    ),
):
    """Train and evaluate on a history CSV with a time-ordered split; print the figures as JSON."""
    import pandas as pd

    from splants_dagster.engagement.files import detect_encoding
    from splants_dagster.ml.evaluate import evaluate
    from splants_dagster.ml.features import FeatureSpec, LeakageError
    from splants_dagster.ml.training import prepare_history

    try:
        spec = FeatureSpec(categorical=_columns(categorical), numeric=_columns(numeric), text=text_column)
        if not spec.columns:
            raise ValueError("give at least one input: --categorical, --numeric or --text-column")
        encoding = detect_encoding(history)  # UTF-8 (BOM or not), UTF-16, else cp1252 with a note
        try:
            df = pd.read_csv(history, sep=sep, encoding=encoding.name, encoding_errors=encoding.errors)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError) as exc:
            raise ValueError(f"{history}: cannot be read as a CSV with separator {sep!r}: {exc}") from None
        ts = prepare_history(
            df,
            target=target,
            spec=spec,
            time_column=time_column,
            newest_first=newest_first,
            window=window if window == "auto" else int(window),
            gap=baseline_gap,
            group=baseline_group,
            offset=log_offset if log_offset == "auto" else float(log_offset),
            exclude_where=exclude_where,
            test_fraction=test_fraction,
            time_format=None if time_format == "mixed" else time_format,
        )
        if encoding.note:
            ts.notes["encoding"] = encoding.note
        deployed = registry = None
        if model_name:
            from splants_dagster.ml.registry import ModelRegistry

            registry = ModelRegistry.at(name=model_name)
            active = registry.load_active()
            deployed = active[1] if active else None
        if registry is None:
            ev = evaluate(ts, deployed, test_fraction=test_fraction)
            registered = None
        else:
            from splants_dagster.ml.registry import register as register_model
            from splants_dagster.ml.training import train_and_evaluate

            result = train_and_evaluate(ts, deployed, test_fraction=test_fraction)
            ev = result.evaluation
            registered = register_model(registry, result.model, result.card, result.decision)
    except (LeakageError, KeyError, ValueError) as exc:
        err_console.print(styled((f"predictor evaluate: {exc}", "red")), soft_wrap=True)
        raise typer.Exit(2) from None

    out = ev.summary()
    if details:
        out["details"] = {**ev.details(), **ts.describe()}
    if registered is not None:
        out["registry"] = {
            "model_version": registered.model_version,
            "activated": registered.activated,
            "active_version": registered.active_version,
            "reason": registered.reason,
        }
    if predictions_out is not None:
        predictions_out.parent.mkdir(parents=True, exist_ok=True)
        ev.predictions[["time", "actual", "predicted"]].to_csv(predictions_out, index=False)
    sys.stdout.write(json.dumps(out, indent=2, default=str) + "\n")
