"""The audit key is checked where it becomes bytes (the chain itself: tests/database/state/
test_audit.py)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.errors import ConfigError
from bot.state.audit import audit_key


def test_the_key_is_checked_where_it_becomes_bytes() -> None:
    assert audit_key(SecretStr("x" * 32)) == b"x" * 32
    for secret in (None, SecretStr("x" * 31)):
        with pytest.raises(ConfigError) as caught:
            audit_key(secret)
        message = str(caught.value)
        assert "CHATOPS_AUDIT_KEY" in message and "\n" not in message
        assert "python -c 'import secrets; print(secrets.token_hex(32))'" in message
