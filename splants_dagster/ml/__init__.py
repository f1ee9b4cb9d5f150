"""The performance predictor: features known before publishing, model selection by time-ordered
cross-validation, an honest evaluation against naive baselines, versioned model files and a gate.

Pure Python (pandas, scikit-learn): no Dagster imports. See ``docs/ml.md``.

- :mod:`~splants_dagster.ml.features`: leakage guard, text/context features, trailing baselines,
  :func:`~splants_dagster.ml.features.build_training_set` for published pieces.
- :mod:`~splants_dagster.ml.models`: the candidate pipelines and :class:`PerformanceModel`.
- :mod:`~splants_dagster.ml.evaluate`: time-ordered split, metrics, baselines, the evaluation protocol.
- :mod:`~splants_dagster.ml.registry`: model files under ``$SPLANTS_DATA_DIR/models/``, the active
  pointer and the gate.
- :mod:`~splants_dagster.ml.training`: ``train_and_evaluate`` / ``predict`` (what the assets call) and
  ``suite_predictor`` (the content suite's predicted-performance component), ``predict_slots`` (the
  scheduler's tie-breaker).
- :mod:`~splants_dagster.ml.data`: the warehouse side (training rows, outcomes, upcoming pieces, the
  active model).
"""
