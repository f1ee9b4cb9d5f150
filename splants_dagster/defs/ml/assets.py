"""The performance predictor: the training set built from posts with a final outcome, a model trained,
evaluated on the newest fold and gated against naive baselines, and predictions for every piece not yet
published (which the scheduler uses to break ties between equally good slots). The logic lives in
``splants_dagster/ml/``; these functions load, call and write. See docs/ml.md.
"""

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import dagster as dg

from splants_dagster.defs.ml.resources import PredictorResource
from splants_dagster.defs.partitions import CAMPAIGN_SCOPE, campaign_partitions
from splants_dagster.defs.resources import ProjectResource, WarehouseResource
from splants_dagster.display import md_table
from splants_dagster.warehouse.queries import ml as ml_queries

if TYPE_CHECKING:  # pandas and the ml modules load when a step runs, not with the code location (#17)
    import pandas as pd

    from splants_dagster.ml import data

GROUP = "ml"
# Mondays 04:00 UTC: after the weekend's engagement has settled, before the working week's campaigns.
WEEKLY_CRON = "0 4 * * 1"
DEMO_NOTE = (
    "**Simulated demo data**: {share:.0%} of these rows are posts whose engagement came from the seeded "
    "demo simulator (`is_demo = true`), not from any platform. A model trained on them shows the "
    "pipeline working; its figures say nothing about a real audience."
)
METRICS = ("mae_log", "mae", "spearman", "auc_top_quartile", "r2", "mape")


def _data_label(demo_rows: int, rows: int) -> str:
    """``demo`` (simulated engagement only: no real engagement yet), ``real`` or ``none``."""
    if not rows:
        return "none"
    return "demo (simulated engagement only; no real engagement yet)" if demo_rows else "real"


def _float(value: float | None) -> dg.MetadataValue:
    return dg.MetadataValue.null() if value is None else dg.MetadataValue.float(float(value))


# ------------------------------------------------------------------------------------- training set


def training_set_summary(built: "data.TrainingData") -> str:
    """One log line: rows by source, and how many posts had metrics."""
    rows = built.rows
    n = len(rows)
    demo = int(rows["is_demo"].sum()) if n else 0
    ours = int((rows["source"] == "ours").sum()) if n else 0
    return (
        f"training set: {n} rows ({ours} our pieces, {n - ours} external, {demo} demo) "
        f"from {built.posts_with_outcomes} posts with metrics"
    )


def training_set_metadata(
    built: "data.TrainingData", features: list[str], include_external: bool
) -> dict[str, Any]:
    """The materialization metadata of the training set: rows by source and platform, the demo share, the
    date range, the target and features, and the newest rows."""
    import pandas as pd

    rows = built.rows
    n = len(rows)
    demo = int(rows["is_demo"].sum()) if n else 0
    ours = int((rows["source"] == "ours").sum()) if n else 0
    eligible = int(built.ts.fit_mask().sum()) if n else 0
    first = rows["published_at"].min() if n else None
    last = rows["published_at"].max() if n else None
    newest = cast(
        "list[dict[str, Any]]", rows.sort_values("published_at", ascending=False).head(10).to_dict("records")
    )
    for r in newest:
        r["published_at"] = pd.Timestamp(r["published_at"]).strftime("%Y-%m-%d %H:%M")
    metadata: dict[str, Any] = {
        "rows": dg.MetadataValue.int(n),
        "our_pieces": dg.MetadataValue.int(ours),
        "external_posts": dg.MetadataValue.int(n - ours),
        "demo_rows": dg.MetadataValue.int(demo),
        "demo_share": dg.MetadataValue.float(round(demo / n, 4) if n else 0.0),
        "rows_with_baseline_history": dg.MetadataValue.int(eligible),
        "date_range": f"{first:%Y-%m-%d} .. {last:%Y-%m-%d}" if n else "(no rows)",
        "per_platform": dg.MetadataValue.json(
            {str(k): int(v) for k, v in rows["platform"].value_counts().sort_index().items()} if n else {}
        ),
        "trailing_window": dg.MetadataValue.int(built.ts.window),
        "target": f"log((engagement rate + c) / (trailing platform median + c)), c = {built.ts.offset:.3g}",
        "features": ", ".join(features),
        "include_external_history": str(include_external),
        "training_data": _data_label(demo, n),
        "newest_rows": dg.MetadataValue.md(
            md_table(
                newest,
                ["piece_id", "platform", "published_at", "actual", "baseline", "target", "source", "is_demo"],
            )
        ),
    }
    if demo:
        metadata["simulated"] = dg.MetadataValue.md(DEMO_NOTE.format(share=demo / n))
    return metadata


@dg.asset(
    group_name=GROUP,
    kinds={"python", "duckdb"},
    deps=["engagement_metrics"],
    pool="duckdb_write",
    automation_condition=dg.AutomationCondition.on_cron(WEEKLY_CRON, "UTC"),
    check_specs=[
        dg.AssetCheckSpec(
            "features_known_before_publishing",
            asset="performance_training_set",
            blocking=True,
            description="No model input is measured after publishing (the leakage guard), and every "
            "row's outcome is final (published at least 2 days before the set was built).",
        )
    ],
)
def performance_training_set(
    context: dg.AssetExecutionContext,
    project: ProjectResource,
    warehouse: WarehouseResource,
    predictor: PredictorResource,
) -> dg.MaterializeResult:
    """One row per post with a final outcome (published at least 2 days ago): our published pieces and,
    by default, the account's external history (imported exports, the demo simulator's posts). Inputs are
    only what is known before publishing (text statistics and TF-IDF text, platform, content type, tone,
    paid flag, variant dimension, hour and weekday on the brand's clock); the target is
    log(engagement rate / trailing platform median at publish time). Stored in ``core.ml_training_set``
    (view ``analytics.training_set``); retrained weekly and when enough new engagement has arrived."""
    import pandas as pd

    from splants_dagster.ml import data
    from splants_dagster.ml.features import LeakageError, check_pre_publication

    store = warehouse.store()
    brand = project.brand()
    built = data.build_training_data(
        store,
        brand.timezone,
        include_external=predictor.include_external_history,
        window=predictor.trailing_window,
    )
    rows = built.rows
    features = [c for c in rows.columns if c not in data.NON_FEATURE_COLUMNS]
    problems: list[str] = []
    try:
        check_pre_publication(features)
    except LeakageError as exc:
        problems.append(str(exc))
    # an outcome is final two days after publishing; a younger post's rate would still move
    if len(rows):
        young = int((rows["published_at"] > rows["built_at"] - pd.Timedelta(days=2)).sum())
        if young:
            problems.append(f"{young} row(s) were published less than 2 days ago (outcome not final)")
    if problems:
        context.log.error("training set not stored (the previous one is kept): " + "; ".join(problems))
    else:
        with store.write() as conn:
            ml_queries.replace_training_set(conn, rows)

    context.log.info(training_set_summary(built))
    metadata = training_set_metadata(built, features, predictor.include_external_history)
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name="features_known_before_publishing",
                passed=not problems,
                metadata={
                    "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "_(none)_")
                },
            )
        ],
    )


# ---------------------------------------------------------------------------------------- predictor


def importance_chart(importances: dict[str, float], width: int = 24) -> str:
    """Permutation importances as a markdown bar chart (one row per input, largest first)."""
    if not importances:
        return "_(none)_"
    top = max(importances.values())
    lines = [
        "Increase in the MAE of the log target on the newest fold when one input is shuffled "
        "(≤ 0: the model does not use it).",
        "",
        "| input | Δ MAE (log) | |",
        "|---|---:|---|",
    ]
    for name, value in importances.items():
        bar = "█" * max(1, round(width * value / top)) if top > 0 and value > 0 else ""
        lines.append(f"| {name} | {value:.4f} | {f'`{bar}`' if bar else ''} |")
    return "\n".join(lines)


def _importance_table(importances: dict[str, float]) -> dg.MetadataValue:
    return dg.MetadataValue.table(
        records=[dg.TableRecord({"input": k, "mae_log_increase": float(v)}) for k, v in importances.items()],
        schema=dg.TableSchema(
            columns=[
                dg.TableColumn("input", "string"),
                dg.TableColumn("mae_log_increase", "float", description="Δ MAE of the log target"),
            ]
        ),
    )


def _comparison(card: dict[str, Any]) -> str:
    ev = card.get("evaluation", {})
    rows = [{"": "**new model**", **ev.get("model", {})}]
    rows += [{"": name, **m} for name, m in ev.get("baselines", {}).items()]
    return md_table(rows, ["", *METRICS])


def _gate_check(passed: bool, reason: str, active: str | None, **extra: Any) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name="beats_baselines",
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=reason,
        metadata={
            "reason": reason,
            "active_model_version": active or "none",
            **extra,
        },
    )


def not_trained(
    why: str, active_mv: str | None, *, rows: int, usable: int, min_rows: int
) -> dg.MaterializeResult:
    """The result of a run that trained no model (too few rows, or none usable): why, and which model stays
    active; the gate check fails with the same reason."""
    reason = f"no model trained: {why}; " + (
        f"{active_mv} stays active" if active_mv else "the content suite and scheduler run without one"
    )
    return dg.MaterializeResult(
        metadata={
            "skipped": reason,
            "rows": dg.MetadataValue.int(rows),
            "rows_with_baseline_history": dg.MetadataValue.int(usable),
            "min_rows": dg.MetadataValue.int(min_rows),
            "active_model_version": active_mv or "none",
            "deployed": False,
        },
        check_results=[_gate_check(False, reason, active_mv)],
    )


def model_metadata(
    card: dict[str, Any],
    model_version: str,
    version_dir: Path,
    *,
    deployed: bool,
    active: str | None,
    previously_active: str,
    gate: str,
    demo_rows: int,
    rows: int,
) -> dict[str, Any]:
    """The materialization metadata of a trained model (its card: evaluation against the baselines,
    feature importances, cross-validation), whether it was deployed and which model is active."""
    ev = card["evaluation"]
    model_metrics = ev["model"]
    window = card.get("training_window", {})
    metadata: dict[str, Any] = {
        "model_version": model_version,
        "demo_model": demo_rows > 0,
        "training_data": _data_label(demo_rows, rows),
        "deployed": deployed,
        "active_model_version": active or "none",
        "previously_active": previously_active,
        "gate": gate,
        "model": card["model_label"],
        "spearman": _float(model_metrics.get("spearman")),
        "mae_log": _float(model_metrics.get("mae_log")),
        "auc_top_quartile": _float(model_metrics.get("auc_top_quartile")),
        "mae": _float(model_metrics.get("mae")),
        "trailing_median_mae_log": _float(ev["baselines"].get("trailing_median", {}).get("mae_log")),
        "rows": dg.MetadataValue.int(int(card["rows"])),
        "rows_fitted": dg.MetadataValue.int(int(card["rows_fitted"])),
        "n_train": dg.MetadataValue.int(int(ev["n_train"])),
        "n_test": dg.MetadataValue.int(int(ev["n_test"])),
        "training_window": f"{window.get('from')} .. {window.get('through')}",
        "test_from": str(ev.get("test_from")),
        "metrics_vs_baselines": dg.MetadataValue.md(_comparison(card)),
        "feature_importances": dg.MetadataValue.md(importance_chart(card.get("feature_importances", {}))),
        "feature_importances_table": _importance_table(card.get("feature_importances", {})),
        "cross_validation": dg.MetadataValue.md(
            md_table(
                sorted(card.get("cross_validation", []), key=lambda r: r["cv_mae_log"])[:8],
                ["candidate", "cv_mae_log"],
            )
        ),
        "model_path": dg.MetadataValue.path(str(version_dir / "model.joblib")),
        "card_path": dg.MetadataValue.path(str(version_dir / "card.json")),
        "demo_rows": dg.MetadataValue.int(demo_rows),
    }
    if demo_rows:
        metadata["simulated"] = dg.MetadataValue.md(DEMO_NOTE.format(share=demo_rows / rows))
    return metadata


@dg.asset(
    group_name=GROUP,
    kinds={"scikitlearn", "duckdb"},
    deps=[performance_training_set],
    pool="duckdb_write",
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[
        dg.AssetCheckSpec(
            "beats_baselines",
            asset="performance_predictor",
            description="The new model beats the trailing platform median and the deployed model on the "
            "newest fold (MAE and MAE of the log target); otherwise the previous model stays active.",
        )
    ],
)
def performance_predictor(
    context: dg.AssetExecutionContext,
    project: ProjectResource,
    warehouse: WarehouseResource,
    predictor: PredictorResource,
) -> dg.MaterializeResult:
    """A scikit-learn model of performance relative to the trailing platform median: regularised linear
    models and gradient-boosted trees, chosen by time-ordered cross-validation on the older 80% of the
    training set, evaluated on the newest 20% against the trailing median and the deployed model. It
    becomes the active model only if it beats both (the gate); every version is kept under
    ``$SPLANTS_DATA_DIR/models/engagement/`` and every training is a row of ``analytics.model_runs``."""
    from splants_dagster.ml import data
    from splants_dagster.ml.registry import ModelRegistry, register
    from splants_dagster.ml.training import model_run_row, train_and_evaluate

    store = warehouse.store()
    ts = data.load_training_set(store)
    registry = ModelRegistry.at(project.paths, data.MODEL_NAME)
    active, active_note = data.load_active(project.paths)
    active_mv = active.model_version if active else None
    rows = 0 if ts is None else len(ts)
    usable = 0 if ts is None else int(ts.fit_mask().sum())

    def skipped(why: str) -> dg.MaterializeResult:
        context.log.warning(f"no model trained: {why}")
        return not_trained(why, active_mv, rows=rows, usable=usable, min_rows=predictor.min_rows)

    if ts is None or rows < predictor.min_rows:
        return skipped(f"{rows} posts with a final outcome in the training set (< {predictor.min_rows})")
    try:
        result = train_and_evaluate(ts, active.model if active else None, predictor.candidate_grid())
    except ValueError as exc:  # too few rows with a usable target for the folds or the fit
        return skipped(str(exc))

    demo_rows = int(ts.notes.get("demo_rows", 0))
    # a model that learned from simulated engagement is a demo model: demo campaigns only
    card_in = {**result.card, "demo": demo_rows > 0, "demo_rows": demo_rows}
    stored = register(registry, result.model, card_in, result.decision)
    card = registry.card(stored.version)
    run_row = model_run_row(card)
    with store.write() as conn:
        ml_queries.replace_model_run(conn, stored.model_version, run_row)
    now_active = registry.active_version()
    now_active_mv = registry.model_version(now_active) if now_active else None
    verdict = "deployed" if stored.activated else "not deployed"
    context.log.info(f"{stored.model_version} ({card['model_label']}): {verdict}: {result.reason}")
    check_reason = result.reason
    if not stored.activated:
        check_reason += f"; {now_active_mv} stays active" if now_active_mv else "; no model is active"
        context.log.warning(f"{stored.model_version} is not deployed: {check_reason}")
    metadata = model_metadata(
        card,
        stored.model_version,
        registry.root / stored.version,
        deployed=stored.activated,
        active=now_active_mv,
        previously_active=active_note,
        gate=result.reason,
        demo_rows=demo_rows,
        rows=rows,
    )
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            _gate_check(result.gate_passed, check_reason, now_active_mv, model_version=stored.model_version)
        ],
    )


# -------------------------------------------------------------------------------------- predictions


def no_predictions_metadata(note: str, demo_campaign: bool) -> dict[str, Any]:
    """The metadata of a run without an active model (or with a demo model for a real campaign)."""
    return {
        "predictions": dg.MetadataValue.int(0),
        "slot_predictions": dg.MetadataValue.int(0),
        "model_version": "none",
        "demo_campaign": demo_campaign,
        "note": f"{note}: nothing predicted; the content suite leaves predicted performance out "
        "and renormalises its other weights, and the scheduler breaks ties by time",
    }


def predictions_metadata(
    predictions: "pd.DataFrame",
    slots: "pd.DataFrame",
    baselines: dict[str, float],
    active: "data.ActiveModel",
    *,
    demo_campaign: bool,
) -> dict[str, Any]:
    """The metadata of the campaign's predictions: counts, the model, the mean predicted score, the
    platform baselines and every piece, best first."""
    listing = cast(
        "list[dict[str, Any]]",
        predictions.sort_values("predicted_score", ascending=False).to_dict("records")
        if len(predictions)
        else [],
    )
    return {
        "predictions": dg.MetadataValue.int(len(predictions)),
        "slot_predictions": dg.MetadataValue.int(len(slots)),
        "model_version": active.model_version,
        "demo_model": active.demo,
        "demo_campaign": demo_campaign,
        "mean_predicted_score": _float(
            round(float(predictions["predicted_score"].mean()), 4) if len(predictions) else None
        ),
        "baselines": dg.MetadataValue.json({k: round(v, 5) for k, v in sorted(baselines.items())}),
        "pieces": dg.MetadataValue.md(
            md_table(
                listing,
                ["piece_id", "platform", "predicted_score", "predicted_relative", "predicted_value"],
            )
        ),
    }


@dg.asset(
    group_name=GROUP,
    kinds={"scikitlearn", "duckdb"},
    partitions_def=campaign_partitions,
    deps=["content_suite", "qa_report"],
    pool="duckdb_write",
    tags=CAMPAIGN_SCOPE,
)
def content_predictions(
    context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Predicted performance of every piece and A/B variant of the campaign not yet published, from the
    active model (``analytics.predictions``: a percentile, 0.5 = a typical post for its platform), and of
    each piece at every weekday × hour, which ``publishing_schedule`` uses to choose between equally good
    slots. With no active model nothing is predicted and the metadata says so."""
    import pandas as pd

    from splants_dagster.ml import data
    from splants_dagster.ml.training import current_baselines, predict, predict_slots

    campaign_id = context.partition_key
    store = warehouse.store()
    brand = project.brand()
    active, note = data.load_active(project.paths)
    demo_campaign = data.campaign_is_demo(store, campaign_id)
    if active is not None and active.demo and not demo_campaign:
        note = data.DEMO_MODEL_NOTE.format(mv=active.model_version)
        active = None
    if active is None:
        with store.write() as conn:
            ml_queries.replace_predictions(conn, campaign_id, pd.DataFrame(), pd.DataFrame())
        context.log.info(f"no predictions for {campaign_id}: {note}")
        return dg.MaterializeResult(metadata=no_predictions_metadata(note, demo_campaign))
    model = active.model
    pieces = data.upcoming_pieces(store, campaign_id)
    baselines = current_baselines(
        data.real_first(data.outcomes_frame(store)), window=model.window, gap=model.gap
    )
    now = dt.datetime.now(dt.UTC)
    predictions = pd.DataFrame()
    slots = pd.DataFrame()
    if len(pieces):
        scored = predict(model, pieces, baselines, brand.timezone)
        fallback = baselines.get("*", model.fallback_baseline)
        predictions = scored.assign(
            campaign_id=campaign_id,
            platform=pieces["platform"].to_numpy(),
            model_version=active.model_version,
            baseline=[baselines.get(p, fallback) for p in pieces["platform"]],
            predicted_at=now,
            is_demo=active.demo,
        )
        slots = predict_slots(model, pieces, baselines, brand.timezone).assign(
            campaign_id=campaign_id, model_version=active.model_version, predicted_at=now
        )
    with store.write() as conn:
        ml_queries.replace_predictions(conn, campaign_id, predictions, slots)
    context.log.info(f"{len(predictions)} predictions for {campaign_id} with {active.model_version}")
    return dg.MaterializeResult(
        metadata=predictions_metadata(predictions, slots, baselines, active, demo_campaign=demo_campaign)
    )
