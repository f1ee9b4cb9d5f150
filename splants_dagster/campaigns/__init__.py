"""Campaigns: briefs and the brand profile."""
