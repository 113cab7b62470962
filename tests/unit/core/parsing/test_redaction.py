from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.parsing.redaction import redact_command_text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("run -e TOKEN=abc img", "run -e 'TOKEN=<redacted>' img"),
        ("run --env TOKEN=abc img", "run --env 'TOKEN=<redacted>' img"),
        ("run --env=TOKEN=abc img", "run '--env=TOKEN=<redacted>' img"),
        ("run -eTOKEN=abc img", "run '-eTOKEN=<redacted>' img"),
        ("run -e=TOKEN=abc img", "run '-eTOKEN=<redacted>' img"),
        ("run -e “A=b c” img", "run -e 'A=<redacted>' img"),
        ("ps -a", "ps -a"),
        ("run 'unclosed -e X=secret", "run …"),
    ],
)
def test_environment_values_are_hidden(text: str, shown: str) -> None:
    assert redact_command_text(text) == shown


@given(st.text(max_size=40), st.text(alphabet="abcdef0123456789", min_size=6, max_size=12))
def test_a_secret_value_never_survives(prefix: str, secret: str) -> None:
    text = f"run -e KEY={secret} --env=OTHER={secret} busybox"
    assert secret not in redact_command_text(text)
    redact_command_text(prefix)  # never raises
