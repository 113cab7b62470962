"""The composition roots: where the bot is built from its settings and its parts connected,
and nothing else (no behaviour: that is the service's, the core's and the adapters').

- ``bot.composition.slack`` builds ``serve``: settings → engines → state → service → the Slack
  adapter, the schedules and the probes.
- ``bot.composition.console`` builds the local console and ``exec``: engines → the pipeline →
  the console. It imports nothing of Slack's, the database's or the scheduler's, so that
  ``exec ps`` starts cold in a fraction of ``serve``'s time (``tests/unit/test_cli.py``).

This package's ``__init__`` imports nothing: importing the console's root must not build
Slack's.
"""
