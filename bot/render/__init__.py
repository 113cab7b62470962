"""Renderers: neutral results -> what a person reads (plain text here; Slack blocks later)."""
