"""The deployment files: compose.yaml behind the socket proxy, the Dockerfile's layers and
locked dependencies, the shipped examples. (tests/scenarios/test_deployment.py builds and runs
all of it.)"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "compose.yaml").read_text()))


def test_the_bot_reaches_the_engine_only_through_the_proxy() -> None:
    services = compose()["services"]
    bot, proxy = services["bot"], services["socket-proxy"]
    assert bot["environment"]["DOCKER_HOST"] == "tcp://socket-proxy:2375"
    assert not any("docker.sock" in volume for volume in bot["volumes"])
    socket = "${CHATOPS_DOCKER_SOCKET:-/var/run/docker.sock}:/var/run/docker.sock:ro"
    assert proxy["volumes"] == [socket]
    assert proxy["build"]["context"] == "./deploy"
    dockerfile = (REPO / "deploy" / proxy["build"]["dockerfile"]).read_text()
    assert "COPY haproxy.cfg /etc/haproxy/haproxy.cfg" in dockerfile
    assert "/etc/haproxy/haproxy.cfg" in " ".join(dockerfile.splitlines()[-1:])
    assert proxy["environment"]["PROXY_BIND"] == ":2375"
    # The proxy sits on an internal network only the bot joins, and serves the bot's address.
    networks = compose()["networks"]
    assert networks["engine"]["internal"] is True
    assert list(proxy["networks"]) == ["engine"] and "ports" not in proxy
    joined = [
        name for name, svc in compose()["services"].items() if "engine" in svc.get("networks", {})
    ]
    assert sorted(joined) == ["bot", "socket-proxy"]
    bot_address = bot["networks"]["engine"]["ipv4_address"]
    assert proxy["environment"]["BOT_ADDRESS"] == bot_address
    assert proxy["networks"]["engine"]["ipv4_address"] != bot_address
    assert compose()["services"]["db"]["networks"] == ["database"]
    assert networks["database"]["internal"] is True


def test_the_configuration_is_checked_before_the_bot_starts() -> None:
    services = compose()["services"]
    check, bot = services["config-check"], services["bot"]
    assert check["command"] == ["config", "check", "--offline"]
    assert check["restart"] == "no" and check["network_mode"] == "none"
    assert check["environment"] == bot["environment"] and check["image"] == bot["image"]
    assert check["volumes"] == ["./chatops.toml:/etc/chatops/chatops.toml:ro"]
    assert bot["depends_on"]["config-check"] == {"condition": "service_completed_successfully"}


def test_the_stack_is_hardened_and_labelled_protected() -> None:
    doc = compose()
    for name in ("bot", "config-check", "socket-proxy"):
        service = doc["services"][name]
        assert service["init"] is True and service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert service["security_opt"] == ["no-new-privileges:true"], name
        assert service["labels"]["chatops.protected"] == "true", name
        assert (
            service["build"]["args"]["BASE"] == "${CHATOPS_BASE_IMAGE:-python:3.11-slim-bookworm}"
        )
    assert doc["services"]["bot"]["tmpfs"] == ["/tmp"]
    assert doc["services"]["db"]["labels"]["chatops.protected"] == "true"
    for kind in ("networks", "volumes"):
        for name, item in doc[kind].items():
            assert item["labels"]["chatops.protected"] == "true", (kind, name)


def test_only_the_slack_port_is_published_on_loopback_by_default() -> None:
    bot = compose()["services"]["bot"]
    # Its own variable: CHATOPS_PORT configures the bot (and stays 3000 inside the container).
    assert bot["ports"] == ["${CHATOPS_PUBLISH:-127.0.0.1:3000}:3000"]
    assert bot["environment"]["CHATOPS_PORT"] == "3000"
    assert not any("9464" in port for port in bot["ports"])  # metrics stay unpublished


def test_state_config_and_secrets_are_where_they_belong() -> None:
    bot = compose()["services"]["bot"]
    assert "state:/data" in bot["volumes"]
    assert "sqlite:////data/chatops.db" in bot["environment"]["CHATOPS_DATABASE_URL"]
    assert any(v.endswith(":/etc/chatops/chatops.toml:ro") for v in bot["volumes"])
    assert bot["env_file"] == ".env"
    assert compose()["services"]["db"]["profiles"] == ["postgres"]
    # Time for what the bot does on SIGTERM (the drain, then the rest: within 10 s).
    from bot.slack.dispatch import DRAIN_SECONDS

    assert DRAIN_SECONDS < 10 <= int(bot["stop_grace_period"].rstrip("s"))


def test_dockerfile_installs_locked_dependencies_before_the_code() -> None:
    lines = (REPO / "Dockerfile").read_text().splitlines()
    deps = next(i for i, line in enumerate(lines) if "-c constraints.txt -r" in line)
    code = next(i for i, line in enumerate(lines) if line.startswith("COPY bot"))
    assert lines.index("COPY pyproject.toml constraints.txt ./") < deps < code
    assert any("org.opencontainers.image.source" in line for line in lines)
    assert any("openssh-client" in line for line in lines)  # ssh:// engines are advertised
    assert "USER 10001:10001" in lines  # numeric: runAsNonRoot can tell without /etc/passwd
    assert lines[0].startswith("#") and "ARG BASE=python:3.11-slim-bookworm" in lines
    healthcheck = next(i for i, line in enumerate(lines) if line.startswith("HEALTHCHECK"))
    assert "/livez" in lines[healthcheck + 1]  # liveness, not the engines' readiness


def test_the_dockerfile_dependency_step_reads_pyproject_as_it_should(tmp_path: Path) -> None:
    text = (REPO / "Dockerfile").read_text()
    snippet = re.search(r'python3? -c "(import tomllib.*?)" >', text)
    assert snippet is not None
    (tmp_path / "pyproject.toml").write_bytes((REPO / "pyproject.toml").read_bytes())
    done = subprocess.run(
        [sys.executable, "-c", snippet.group(1)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["postgres"]
    assert done.stdout.splitlines() == wanted  # the PostgreSQL driver included


def test_every_dependency_is_locked() -> None:
    locked = {
        re.split(r"[=<>\[]", line)[0].lower().replace("_", "-")
        for line in (REPO / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    names = {re.split(r"[=<>\[ ;]", item)[0].lower().replace("_", "-") for item in wanted}
    assert names <= locked, names - locked


def test_the_shipped_env_example_sets_nothing_but_empty_secrets() -> None:
    """A copied .env.example must not outrank chatops.toml: defaults are comments."""
    assigned = [
        line
        for line in (REPO / ".env.example").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert assigned == ["CHATOPS_AUDIT_KEY=", "SLACK_BOT_TOKEN=", "SLACK_SIGNING_SECRET="]


def test_the_shipped_toml_does_not_outrank_the_proxy() -> None:
    example = tomllib.loads((REPO / "chatops.example.toml").read_text())
    assert "engines" not in example  # DOCKER_HOST (compose: the proxy) names the engine


def test_the_wheels_folder_is_in_the_build_context_but_never_committed() -> None:
    assert (REPO / "wheels" / ".gitignore").read_text().splitlines()[1:] == ["*", "!.gitignore"]
    assert "wheels" not in (REPO / ".dockerignore").read_text().split()
