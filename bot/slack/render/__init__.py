"""Slack's renderers: neutral results, notices, cards and the Home tab as Block Kit."""
