"""The core: parsing, operations, policy and results. Imports neither Slack nor Docker."""
