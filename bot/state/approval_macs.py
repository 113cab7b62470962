"""The MAC that seals each approval request row, with its votes, under CHATOPS_AUDIT_KEY.

Whoever can write the database but lacks the key cannot change what the bot would run, for
whom, where or when: every column of the row (its id included, so a row cannot take another
one's MAC) and the set of its votes are covered, and the bot recomputes the MAC only inside
the transaction of a write it made itself, after verifying the MAC it found.

The key is derived from the audit key with its own label, so that no MAC of a row can ever
be passed off as a hash of the audit chain (which uses the audit key itself), or the reverse.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.state.database import as_utc

SCHEME = "hmac-sha256:"
_LABEL = b"docker-chatops-bot approval rows v1"

# What the MAC covers, in this order; a column added to the table must be added here too
# (tests/database/state/test_approval_macs.py edits each column of the table and fails otherwise).
COVERED = (
    "id",
    "state",
    "requester",
    "channel_id",
    "engine",
    "command_text",
    "plan",
    "created_at",
    "expires_at",
    "message_channel",
    "message_ts",
    "outcome",
    "auto_run",
)


def approval_key(audit_key: bytes) -> bytes:
    """The approvals' own key: HMAC of a fixed label under the audit key."""
    return hmac.new(audit_key, _LABEL, hashlib.sha256).digest()


def row_mac(key: bytes, row: Mapping[Any, Any], votes: Iterable[tuple[str, datetime]]) -> str:
    """``hmac-sha256:`` and the hex MAC of ``row``'s covered columns and its votes (user, time)."""
    fields = [_canonical(name, row[name]) for name in COVERED]
    ballot = sorted((user, as_utc(at).astimezone(UTC).isoformat()) for user, at in votes)
    message = json.dumps(["approval", fields, ballot], separators=(",", ":"), sort_keys=True)
    return SCHEME + hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def verifies(key: bytes, row: Mapping[Any, Any], votes: Iterable[tuple[str, datetime]]) -> bool:
    stored = row["mac"]
    if not isinstance(stored, str) or not stored.startswith(SCHEME):
        return False
    return hmac.compare_digest(row_mac(key, row, votes), stored)


def _canonical(name: str, value: Any) -> Any:
    """One spelling of a stored value, whatever the database handed back."""
    if isinstance(value, datetime):
        return as_utc(value).astimezone(UTC).isoformat()
    if name == "auto_run":
        return bool(value) if value in (0, 1, True, False) else repr(value)
    if name == "id":
        return int(value)
    if name == "plan":
        # The JSON column hands back what was stored; an edit to any of it changes this.
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return value
