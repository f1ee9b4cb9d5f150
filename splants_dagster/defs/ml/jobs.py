"""Jobs over the predictor's assets (the retrain sensor requests this one)."""

import dagster as dg

ml_training_job = dg.define_asset_job(
    "ml_training_job",
    selection=dg.AssetSelection.assets("performance_training_set", "performance_predictor"),
    description="Rebuild the training set and train, evaluate and gate a new performance predictor.",
)
