"""Weekly and monthly reports per brand: figures read from the ``analytics`` views, plots, and a
self-contained HTML file with a JSON sidecar under ``$SPLANTS_DATA_DIR/reports/`` (docs/reports.md)."""
