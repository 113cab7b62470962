"""The deployment files: compose.yaml behind the socket proxy, the Dockerfile's layers and
locked dependencies. (The image cannot be built here: no base image can be pulled.)"""

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
    assert "/var/run/docker.sock:/var/run/docker.sock:ro" in proxy["volumes"]
    [config] = [v for v in proxy["volumes"] if "haproxy.cfg" in v]
    source, target, mode = config.split(":")
    assert (REPO / source).is_file() and target.endswith("/haproxy.cfg") and mode == "ro"
    assert proxy["environment"]["PROXY_BIND"] == ":2375"
    # The proxy (and the database) sit on an internal network: nothing outside reaches them.
    assert compose()["networks"]["engine"]["internal"] is True
    assert proxy["networks"] == ["engine"] and "ports" not in proxy


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
    deps = next(i for i, line in enumerate(lines) if "pip install -c constraints.txt -r" in line)
    code = next(i for i, line in enumerate(lines) if line.startswith("COPY bot"))
    assert lines.index("COPY pyproject.toml constraints.txt ./") < deps < code
    assert any("org.opencontainers.image.source" in line for line in lines)
    assert any("openssh-client" in line for line in lines)  # ssh:// engines are advertised


def test_the_dockerfile_dependency_step_reads_pyproject_as_it_should(tmp_path: Path) -> None:
    text = (REPO / "Dockerfile").read_text()
    snippet = re.search(r'python -c "(import tomllib.*?)" >', text)
    assert snippet is not None
    (tmp_path / "pyproject.toml").write_bytes((REPO / "pyproject.toml").read_bytes())
    done = subprocess.run([sys.executable, "-c", snippet.group(1)],
                          cwd=tmp_path, capture_output=True, text=True, check=True)  # fmt: skip
    wanted = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert done.stdout.splitlines() == wanted


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
