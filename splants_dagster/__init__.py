"""splants-dagster: a self-hosted AI marketing engine built as Dagster software-defined assets."""

__version__ = "0.1.0"
