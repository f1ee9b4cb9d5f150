"""Cost control, as pure Python (no Dagster): budget configuration (:mod:`.config`), the budget policy that
turns ledger aggregates into a strategy and its reason (:mod:`.policy`), the ledger queries it reads
(:mod:`.ledger`), in-step spending controls (:mod:`.guard`) and the charts the UI shows (:mod:`.charts`).
The Dagster wiring is in ``splants_dagster/defs/costs/``; see docs/costs.md.
"""
