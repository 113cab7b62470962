"""Which credentials go with a pull or a tag read: the configured ones for their registry
only, and none where the Docker client has a login of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.engine.registry_auth import RegistryAuth

CREDENTIALS = {"reg.example.com:5000": ("bot", "s3cret"), "docker.io": ("hub-bot", "tok")}


def test_the_registry_of_the_reference_decides(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # a client with no logins
    auth = RegistryAuth(credentials=CREDENTIALS)
    assert auth.for_reference("reg.example.com:5000/team/app:1") == {
        "username": "bot",
        "password": "s3cret",
        "serveraddress": "reg.example.com:5000",
    }
    assert auth.for_reference("nginx:1.27")["username"] == "hub-bot"  # type: ignore[index]
    assert auth.for_reference("other.example.com/app:1") is None


def test_the_clients_own_login_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"auths": {"reg.example.com:5000": {"auth": "b3duOm93bg=="}}})
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    auth = RegistryAuth(credentials=CREDENTIALS)
    assert auth.for_reference("reg.example.com:5000/team/app:1") is None  # docker-py sends its own
    # Positive control: another registry still gets the configured login.
    assert auth.for_reference("nginx")["username"] == "hub-bot"  # type: ignore[index]


def test_a_reference_two_parsers_read_differently_gets_no_login(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`LOCALHOST/x` names the host LOCALHOST to the engine (and to our parser) but Docker Hub
    to docker-py: Hub's login must not go to whatever answers there."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    auth = RegistryAuth(credentials=CREDENTIALS)
    # {}: an empty login, so docker-py does not look up its own (docker login's) either.
    assert auth.for_reference("LOCALHOST/x:latest") == {}
    assert auth.for_reference("Evil/x:1") == {}
    assert auth.for_reference("x/../y") == {}  # not a reference at all
    without = RegistryAuth(credentials={})  # no [registries] at all: the same
    assert without.for_reference("LOCALHOST/x:latest") == {}
    assert without.for_reference("nginx:1") is None  # the client's own login, if any
    # Positive control: Hub's own reference still gets Hub's login.
    assert auth.for_reference("library/nginx:1")["username"] == "hub-bot"  # type: ignore[index]
