"""The performance predictor: one row per training run (deployed or not, and why) and the predictions
for pieces not yet published.

Contract for analysts: ``analytics.model_runs`` (model_version, trained_at, rows, metrics on the newest
fold, the trailing-median and deployed-model baselines' figures, deployed, reason) and
``analytics.predictions`` (piece_id, model_version, predicted_score, predicted_at). ``predicted_score``
is the percentile in [0, 1] of the predicted performance relative to the platform's trailing median among
the training posts (0.5 = a typical post); it is what the content suite weighs at .15.
``analytics.training_set`` shows the rows the predictor was last trained on (features, target, demo flag).
``is_demo`` on ``model_runs`` and ``predictions``: the model learned from simulated engagement (demo
campaigns only; see docs/ml.md, "Demo data kept apart").
"""

DDL = [
    """
    CREATE TABLE IF NOT EXISTS ml_model_runs (
        model_version VARCHAR PRIMARY KEY, model_name VARCHAR, trained_at TIMESTAMPTZ, rows INTEGER,
        rows_fitted INTEGER, n_train INTEGER, n_test INTEGER, window_from VARCHAR, window_through VARCHAR,
        model_kind VARCHAR, model_label VARCHAR, target VARCHAR, trailing_window INTEGER,
        mae DOUBLE, mape DOUBLE, spearman DOUBLE, r2 DOUBLE, mae_log DOUBLE, auc_top_quartile DOUBLE,
        trailing_median_mae DOUBLE, trailing_median_mae_log DOUBLE, trailing_median_spearman DOUBLE,
        deployed_model_mae DOUBLE, deployed_model_mae_log DOUBLE, deployed_model_spearman DOUBLE,
        deployed BOOLEAN, reason VARCHAR, card JSON
    )
    """,
    # one-sided paired test that the new model's log errors are smaller than the trailing median's
    "ALTER TABLE ml_model_runs ADD COLUMN IF NOT EXISTS trailing_median_p_value DOUBLE",
    # the model learned from simulated (is_demo) engagement: it scores demo campaigns only
    "ALTER TABLE ml_model_runs ADD COLUMN IF NOT EXISTS is_demo BOOLEAN",
    """
    CREATE TABLE IF NOT EXISTS ml_predictions (
        piece_id VARCHAR, campaign_id VARCHAR, platform VARCHAR, model_version VARCHAR,
        predicted_score DOUBLE, predicted_relative DOUBLE, predicted_value DOUBLE, baseline DOUBLE,
        predicted_at TIMESTAMPTZ
    )
    """,
    # predicted by a demo model (trained on simulated engagement; demo campaigns only)
    "ALTER TABLE ml_predictions ADD COLUMN IF NOT EXISTS is_demo BOOLEAN",
    # performance_training_set: one row per post with a final outcome (features known before publishing,
    # the target and its trailing baseline); rebuilt whole on each materialization
    """
    CREATE TABLE IF NOT EXISTS ml_training_set (
        piece_id VARCHAR, platform VARCHAR, content_type VARCHAR, tone VARCHAR, paid VARCHAR,
        variant_dimension VARCHAR, weekday VARCHAR, hour DOUBLE, text VARCHAR, keywords VARCHAR[],
        published_at TIMESTAMPTZ, row_no INTEGER, actual DOUBLE, baseline DOUBLE, history INTEGER,
        target DOUBLE, target_offset DOUBLE, trailing_window INTEGER, source VARCHAR, is_demo BOOLEAN,
        campaign_id VARCHAR, built_at TIMESTAMPTZ
    )
    """,
    # content_predictions: each upcoming piece at every weekday × hour of the brand's clock (weekday
    # 0 = Monday); the scheduler's tie-breaker between equally good slots
    """
    CREATE TABLE IF NOT EXISTS ml_slot_predictions (
        piece_id VARCHAR, campaign_id VARCHAR, model_version VARCHAR, weekday INTEGER, hour INTEGER,
        predicted_relative DOUBLE, predicted_score DOUBLE, predicted_at TIMESTAMPTZ
    )
    """,
]

VIEWS = {
    "model_runs": """
        SELECT model_version, trained_at, rows, mae, mape, spearman, r2, mae_log, auc_top_quartile,
               trailing_median_mae, trailing_median_mae_log, trailing_median_spearman,
               deployed_model_mae, deployed_model_mae_log, deployed_model_spearman,
               deployed, reason, model_name, model_kind, model_label, target, trailing_window,
               rows_fitted, n_train, n_test, window_from, window_through, trailing_median_p_value,
               coalesce(is_demo, false) AS is_demo
        FROM core.ml_model_runs
    """,
    "predictions": """
        SELECT piece_id, model_version, predicted_score, predicted_at, campaign_id, platform,
               predicted_relative, predicted_value, baseline, coalesce(is_demo, false) AS is_demo
        FROM core.ml_predictions
    """,
    "training_set": """
        SELECT piece_id, published_at, platform, content_type, tone, paid, variant_dimension, weekday,
               hour, actual AS engagement_rate, baseline AS trailing_median, history AS baseline_posts,
               target, source, is_demo, campaign_id, text, keywords, built_at
        FROM core.ml_training_set
    """,
}
