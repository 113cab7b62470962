"""Housekeeping, chat-neutral: crontab schedules, the scheduler, and the runs it claims.

What may go and the plan that says so are ``bot.core.cleanup``'s (pure rules, and the same
``Plan`` from planning to the report); how an engine plans and applies it is the engine's
(``bot.engine.housekeeping``, ``bot.engine.fake``). Chat adapters give the scheduler a way to
report and to propose; nothing here knows Slack. Nothing is imported here, so that reading a
crontab (``schedule``) does not start a scheduler's imports.
"""
