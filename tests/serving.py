"""``python -m bot serve`` started as a deployment starts it, for scenario tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import AUDIT_KEY, REPO, SIGNING_SECRET


def environment(**values: str) -> dict[str, str]:
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DOCKER_", "CHATOPS_"))
    }
    return keep | {"PYTHONPATH": str(REPO)} | values


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_process(
    tmp_path: Path, *, started: bool = True, **values: str
) -> tuple[subprocess.Popen[str], str]:
    """``python -m bot serve`` with ``values`` in its environment; returns it and its base URL
    once it has started (reached Slack, its work process up: /healthz no longer says
    "starting"), or with ``started=False`` once it listens. What it prints goes to
    ``tmp_path / "serve.log"``.

    The port free_port() found free may be another process's before the bot binds it (the
    tests run side by side): what answers must be this process, and a bot told that its port
    is taken is started again on another."""
    for _ in range(_PORT_ATTEMPTS):
        port = free_port()
        log = (tmp_path / "serve.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env=environment(
                **(
                    {
                        "SLACK_BOT_TOKEN": "xoxb-test",
                        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                        "CHATOPS_PORT": str(port),
                        "CHATOPS_HOST": "127.0.0.1",
                        "CHATOPS_AUDIT_KEY": AUDIT_KEY,
                        "CHATOPS_METRICS_HOST": "127.0.0.1",
                        "CHATOPS_METRICS_PORT": "0",
                        "CHATOPS_DATABASE_URL": f"sqlite:///{tmp_path}/state.db",
                    }
                    | values
                )
            ),
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        log.close()
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            if process.poll() is not None:
                break
            try:
                health = requests.get(f"{base}/healthz", timeout=5).json()
            except requests.ConnectionError:
                health = {"status": "starting"} if started else None
            answered = health is not None and not (started and health.get("status") == "starting")
            if answered and _listens(process.pid, port):
                return process, base
            time.sleep(0.1)
        printed = (tmp_path / "serve.log").read_text()
        if process.poll() is not None and "Cannot listen on" in printed:
            continue  # its port was taken before it bound it
        process.kill()
        raise AssertionError(f"serve did not start: {printed}")
    raise AssertionError(f"serve found no free port in {_PORT_ATTEMPTS} attempts")


_PORT_ATTEMPTS = 3


def _listens(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds the socket that listens on ``port`` (Linux's /proc)."""
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for row in Path(table).read_text().splitlines()[1:]:
                fields = row.split()
                # local address "ADDR:PORT" in hex; state 0A is LISTEN; then the inode.
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    listening.add(f"socket:[{fields[9]}]")
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # gone
        return False
    for descriptor in descriptors:
        with contextlib.suppress(OSError):  # closed meanwhile
            if os.readlink(descriptor) in listening:
                return True
    return False


def stop(process: subprocess.Popen[str], tmp_path: Path) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return (tmp_path / "serve.log").read_text()
