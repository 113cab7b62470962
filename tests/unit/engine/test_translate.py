"""The engine's error answers as the project's errors, fit to show."""

from __future__ import annotations

import docker.errors

from bot.engine.translate import api_error
from bot.errors import EngineRequestFailed, NotFound


def test_an_engine_error_quoting_a_command_shows_no_secret() -> None:
    """A start that failed quotes the container's command line, which may hold a token."""
    token = "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
    err = docker.errors.APIError(
        "500 Server Error", explanation=f'exec: "{token}": executable file not found in $PATH'
    )
    error = api_error(err)
    assert isinstance(error, EngineRequestFailed)
    assert str(error) == 'Exec: "<redacted>": executable file not found in $PATH'


def test_an_ordinary_engine_error_is_unchanged() -> None:
    class Missing(docker.errors.NotFound):
        status_code = 404

    error = api_error(Missing("404", explanation="no such container: web"))
    assert isinstance(error, NotFound) and str(error) == "No such container: web"
