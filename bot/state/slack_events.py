"""Which Slack Events API deliveries were taken already (retries carry the same event_id)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.errors import StateUnavailable
from bot.state.tables import slack_events

log = logging.getLogger(__name__)

KEEP = timedelta(days=1)  # Slack retries within minutes; a day is plenty
_PRUNE_EVERY = 500  # deliveries between two clean-ups of old rows


class SqlSeenEvents:
    """Claims of event IDs in the database: exactly one claim succeeds, across processes."""

    def __init__(self, *, engine: Engine) -> None:
        self._db = engine
        self._since_prune = 0

    def first_time(self, event_id: str, *, now: datetime) -> bool:
        """True for the first delivery of ``event_id``; False for every retry of it.
        ``StateUnavailable`` when the database cannot say."""
        try:
            with self._db.begin() as connection:
                connection.execute(
                    insert(slack_events).values(event_id=event_id[:64], received_at=now)
                )
        except IntegrityError:
            return False
        except SQLAlchemyError as err:
            raise StateUnavailable(f"The bot's database did not answer: {err}") from None
        self._since_prune += 1
        if self._since_prune >= _PRUNE_EVERY:
            self._since_prune = 0
            try:
                with self._db.begin() as connection:
                    connection.execute(
                        delete(slack_events).where(slack_events.c.received_at < now - KEEP)
                    )
            except SQLAlchemyError as err:  # the claim stands; the clean-up comes again later
                log.warning("could not drop old Slack event claims: %s", err)
        return True
