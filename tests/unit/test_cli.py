"""``python -m bot exec`` starts cold in a fraction of what ``serve`` imports: no Slack, no
database, no scheduler, and for a listing neither the docker SDK nor (when nothing configures
the bot) pydantic. Each case runs the real command in a process of its own, on an engine
served on a Unix socket, and reads what that process imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.fakes.listing_engine import ListingEngine

# Runs `python -m bot ARGS...`, then writes the names of the modules it imported to stderr.
PROBE = """
import json, runpy, sys
sys.argv = ["bot", *json.loads(sys.argv[1])]
status = 0
try:
    runpy.run_module("bot", run_name="__main__", alter_sys=True)
except SystemExit as done:
    status = done.code
sys.stderr.write("\\nIMPORTED " + json.dumps(sorted(sys.modules)) + "\\n")
sys.exit(status)
"""
# What serve needs and exec never does.
NEVER = ("slack_bolt", "slack_sdk", "sqlalchemy", "alembic", "apscheduler", "waitress")
# What a listing does without: the engine is read with the standard library.
NOT_FOR_A_LISTING = ("docker", "requests", "urllib3")
# What is left to a configured bot: its settings are read as serve reads them.
NOT_UNCONFIGURED = ("pydantic", "pydantic_settings", "bot.settings", "bot.config")

CONTAINER: dict[str, Any] = {
    "Id": "a" * 64,
    "Names": ["/cold-web"],
    "Image": "nginx:1.27",
    "Command": "nginx -g 'daemon off;'",
    "Created": 1_700_000_000,
    "Ports": [],
    "Labels": {},
    "State": "running",
    "Status": "Up 2 hours",
}


@pytest.fixture
def engine() -> Iterator[ListingEngine]:
    with tempfile.TemporaryDirectory(prefix="cold-") as folder:
        served = ListingEngine(
            Path(folder) / "engine.sock",
            containers=[CONTAINER],
            inspected={CONTAINER["Id"]: {"Config": {"Env": ["PATH=/bin"]}}},
        )
        yield served
        served.close()


def run_bot(args: list[str], *, engine: ListingEngine, cwd: Path) -> tuple[str, set[str]]:
    """The command's output, and the modules it imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "CHATOPS_"))}
    env |= {"DOCKER_HOST": engine.url, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )
    errors, _, imported = done.stderr.rpartition("\nIMPORTED ")
    assert done.returncode == 0, errors
    return done.stdout, set(json.loads(imported))


def loaded(imported: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(name for name in imported if name.split(".")[0] in packages or name in packages)


def test_exec_ps_imports_only_what_a_listing_needs(engine: ListingEngine, tmp_path: Path) -> None:
    out, imported = run_bot(["exec", "ps", "-a"], engine=engine, cwd=tmp_path)
    assert "cold-web" in out and '"nginx -g \'daemon of…"' in out
    assert "bot.core.pipeline" in imported  # the probe sees the command's imports
    assert loaded(imported, NEVER + NOT_FOR_A_LISTING) == []
    assert loaded(imported, NOT_UNCONFIGURED) == []
    assert engine.paths() == ["/version", "/containers/json", f"/containers/{'a' * 64}/json"]


def test_a_configured_bot_reads_its_settings_and_still_no_more(
    engine: ListingEngine, tmp_path: Path
) -> None:
    (tmp_path / "chatops.toml").write_text("[run_policy]\nallow_privileged = false\n")
    out, imported = run_bot(["exec", "images"], engine=engine, cwd=tmp_path)
    assert out.startswith("REPOSITORY")
    assert {"pydantic", "bot.settings"} <= imported
    assert loaded(imported, NEVER + NOT_FOR_A_LISTING) == []
