"""Engagement domain logic, free of Dagster: file presets and validation, the demo simulator, platform API
readers, the metrics SQL, anomaly rules, the A/B test and what the sensors' runs derive (boosts, briefs).

The Dagster wiring lives in ``splants_dagster/defs/engagement/``; docs in ``docs/engagement.md``.
"""
