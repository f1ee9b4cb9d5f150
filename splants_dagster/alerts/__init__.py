"""Alerts for people: log, webhook and Slack channels."""
