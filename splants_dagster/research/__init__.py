"""Research: reading a brief's sources safely (fetch) and analysing them (analysis)."""
