"""Robustness: bad inputs, kills and hostile sources never stop the rest (#14)."""
