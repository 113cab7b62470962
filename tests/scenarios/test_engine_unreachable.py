"""An engine that does not answer: a clear message that says where the bot looked."""

from __future__ import annotations

import socket
from pathlib import Path

from bot.config import engine_directory
from bot.core.pipeline import Pipeline
from bot.core.policy import Actor, AllowEverything
from bot.errors import EngineTimeout, EngineUnreachable, UnknownEngine
from bot.settings import EngineSettings
from tests.conftest import Sandbox, make_settings
from tests.fakes.socket_relay import SocketRelay


def pipeline_for(settings_host: str) -> Pipeline:
    return Pipeline(
        engines=engine_directory(make_settings(settings_host)),
        policy=AllowEverything(),
    )


def test_missing_socket(tmp_path: Path) -> None:
    socket = tmp_path / "nothing.sock"
    reply = pipeline_for(f"unix://{socket}").handle("ps", actor=Actor(user_id="U1"))
    assert isinstance(reply.error, EngineUnreachable)
    message = str(reply.error)
    assert str(socket) in message
    assert "DOCKER_HOST" in message


def test_refused_tcp_port() -> None:
    reply = pipeline_for("tcp://127.0.0.1:1").handle("images", actor=Actor(user_id="U1"))
    assert isinstance(reply.error, EngineUnreachable)
    assert "tcp://127.0.0.1:1" in str(reply.error)
    assert "connection refused" in str(reply.error)


def test_engine_that_goes_away_after_start(tmp_path: Path, sandbox: Sandbox) -> None:
    """docker-py raises requests' errors (not DockerException) once the client exists."""
    proxy = SocketRelay(path=tmp_path / "engine.sock", target=sandbox.docker_host)
    pipeline = pipeline_for(f"unix://{proxy.path}")
    assert pipeline.handle("ps", actor=Actor(user_id="U1")).ok
    proxy.stop()
    reply = pipeline.handle("ps", actor=Actor(user_id="U1"))
    assert isinstance(reply.error, EngineUnreachable), reply
    assert str(proxy.path) in str(reply.error)


def test_stalled_engine_times_out(tmp_path: Path) -> None:
    """An engine that accepts connections but never answers: a timeout, not a hang."""
    path = tmp_path / "stalled.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(16)
    try:
        settings = make_settings(f"unix://{path}", engine_timeout_seconds=1)
        pipeline = Pipeline(engines=engine_directory(settings), policy=AllowEverything())
        reply = pipeline.handle("ps", actor=Actor(user_id="U1"))
        assert isinstance(reply.error, EngineTimeout), reply.error
        assert str(path) in str(reply.error) and "did not answer in time" in str(reply.error)
    finally:
        listener.close()


def test_unknown_engine_name(sandbox: Sandbox) -> None:
    settings = make_settings(
        sandbox.docker_host,
        engines={
            "local": EngineSettings(url=sandbox.docker_host, default=True),
            "prod": EngineSettings(url="tcp://127.0.0.1:1"),
        },
    )
    pipeline = Pipeline(engines=engine_directory(settings), policy=AllowEverything())
    assert pipeline.handle("-c local ps", actor=Actor(user_id="U1")).ok
    assert pipeline.handle("ps", actor=Actor(user_id="U1")).engine == "local"
    prod = pipeline.handle("-c prod ps", actor=Actor(user_id="U1"))
    assert isinstance(prod.error, EngineUnreachable) and prod.engine == "prod"
    reply = pipeline.handle("-c staging ps", actor=Actor(user_id="U1"))
    assert isinstance(reply.error, UnknownEngine)
    assert "local, prod" in str(reply.error)
