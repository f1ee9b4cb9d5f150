"""The DuckDB warehouse and the analysts' read-only snapshot."""
