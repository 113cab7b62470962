"""Shared fixtures: the private engine (never a user's own), and pipeline/console helpers.

Engine tests run against the sandbox engine of ``scripts/sandbox-engine`` (or the engine named
by ``CHATOPS_TEST_DOCKER_HOST``). A missing engine fails the run; it is never skipped.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
from sqlalchemy import create_engine, text

from bot.composition.slack import build_request_service
from bot.config import engine_directory
from bot.console.session import Console
from bot.core.pipeline import Pipeline, Reply
from bot.core.policy import Actor, AllowEverything
from bot.engine.directory import DockerEngineDirectory
from bot.server import SlackService
from bot.settings import Settings, load_settings
from bot.slack.dispatch import WorkProcess
from bot.state.tables import metadata
from tests.fakes.fake_slack import (
    FakeSlack,
    post_signed,
    slash_command_body,
    start_fake_slack,
    stop_fake_slack,
)
from tests.private_database import private_database
from tests.worker_crashes import register as register_worker_crashes

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """A parallel worker that dies says why (tests/worker_crashes.py)."""
    register_worker_crashes(config)


# The tiers in the order scripts/test's parallel run starts them: it passes
# --no-loadscope-reorder, else pytest-xdist hands out the files with the most tests first (the
# unit files of many short tests), leaving a long scenario file to end the run alone.
_TIER_ORDER = {"scenarios": 0, "database": 1, "unit": 2}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With --no-loadscope-reorder, the slow tier first: its files start at once on the
    parallel workers, and the many short unit files fill what time is left at the end.
    Otherwise pytest's order (testpaths: the fast tiers first, for quick feedback)."""
    if config.getoption("loadscopereorder", default=True):
        return

    def tier(item: pytest.Item) -> int:
        try:
            parts = item.path.resolve().relative_to(REPO / "tests").parts
        except ValueError:  # collected elsewhere (a doctest in bot/, say): last
            return len(_TIER_ORDER)
        return _TIER_ORDER.get(parts[0], len(_TIER_ORDER))

    items.sort(key=tier)  # stable: within a tier, the files' own order


TEST_IMAGE = "chatops-test/busybox:latest"
SESSION_LABEL = "chatops-test.session"  # outside the bot's reserved chatops. namespace


@dataclass(frozen=True, kw_only=True)
class Sandbox:
    """The private engine and registry the tests may use, and this run's label."""

    docker_host: str
    registry: str
    session: str

    @property
    def labels(self) -> dict[str, str]:
        return {SESSION_LABEL: self.session}

    def labels_filter(self) -> str:
        return f"{SESSION_LABEL}={self.session}"

    def label_args(self) -> str:
        return f"--label {SESSION_LABEL}={self.session}"

    def name(self, stem: str) -> str:
        """A container name unique to this test run."""
        return f"t{self.session[:6]}-{stem}"


def _start_sandbox() -> dict[str, str]:
    script = REPO / "scripts" / "sandbox-engine"
    done = subprocess.run([str(script), "start"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(
            "No test engine: set CHATOPS_TEST_DOCKER_HOST or let scripts/sandbox-engine start "
            f"one (it needs root).\n{done.stderr}",
            pytrace=False,
        )
    values = {}
    for line in done.stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        values[key] = value
    return values


_BOT_VARIABLES = (
    "DOCKER_HOST",
    "CHATOPS_CONFIG",
    "CHATOPS_DATABASE_URL",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "PORT",
    "LOG_LEVEL",
    "CHATOPS_PORT",
    "CHATOPS_LOG_LEVEL",
    "SLACK_BOT_TOKEN_FILE",
    "SLACK_SIGNING_SECRET_FILE",
    "SLACK_APP_TOKEN_FILE",
    "CHATOPS_AUDIT_KEY",
    "CHATOPS_AUDIT_KEY_FILE",
    "CHATOPS_REGISTRY_PASSWORDS",
    "CHATOPS_REGISTRY_PASSWORDS_FILE",
)

# The sandbox's registry that wants a login (scripts/sandbox-engine): the tests' own account.
AUTH_REGISTRY_USER = "chatops-test"
AUTH_REGISTRY_PASSWORD = "chatops-test-password"


def build_and_push(api: docker.APIClient, *, dockerfile: str, repository: str) -> None:
    """Builds ``dockerfile`` (no context) as ``repository:latest`` and pushes it, failing on
    any error either reports."""
    for chunk in api.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=f"{repository}:latest", rm=True, decode=True
    ):
        assert "error" not in chunk, chunk
    for line in api.push(repository, tag="latest", stream=True, decode=True):
        assert "error" not in line, line


def auth_registry() -> str:
    """The sandbox's registry with a login (started with the engine if the environment does
    not name it)."""
    named = os.environ.get("CHATOPS_TEST_AUTH_REGISTRY")
    return named or _start_sandbox()["CHATOPS_TEST_AUTH_REGISTRY"]


@pytest.fixture(scope="session", autouse=True)
def isolated_from_user_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Run from an empty folder with none of the bot's variables: a developer's own .env,
    chatops.toml or DOCKER_HOST must not steer the tests."""
    saved = {name: os.environ.pop(name) for name in _BOT_VARIABLES if name in os.environ}
    previous = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(previous)
    os.environ.update(saved)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    host = os.environ.get("CHATOPS_TEST_DOCKER_HOST")
    registry = os.environ.get("CHATOPS_TEST_REGISTRY")
    if not host or not registry:
        values = _start_sandbox()
        host, registry = values["CHATOPS_TEST_DOCKER_HOST"], values["CHATOPS_TEST_REGISTRY"]
    box = Sandbox(docker_host=host, registry=registry, session=uuid.uuid4().hex[:12])
    yield box
    _remove_labelled(box)


_ANONYMOUS_VOLUME = re.compile(r"[0-9a-f]{64}")


def _remove_labelled(box: Sandbox) -> None:
    api = docker.APIClient(base_url=box.docker_host, version="auto", timeout=60)
    label = f"{SESSION_LABEL}={box.session}"
    containers = api.containers(all=True, filters={"label": label})
    # The engine's own volumes for them (an image's VOLUME): `rm -v` leaves one an upgrade
    # carried over to the new container, which mounts it by name (bot/engine/recreate.py).
    anonymous = {
        str(mount["Name"])
        for doc in containers
        for mount in doc.get("Mounts") or ()
        if mount.get("Type") == "volume" and _ANONYMOUS_VOLUME.fullmatch(mount.get("Name", ""))
    }
    for doc in containers:
        api.remove_container(doc["Id"], force=True, v=True)
    for name in anonymous:
        with contextlib.suppress(docker.errors.APIError):  # gone with its container, or in use
            api.remove_volume(name)
    for doc in api.images(filters={"label": label}):
        with contextlib.suppress(docker.errors.APIError):
            api.remove_image(doc["Id"], force=True)
    api.close()


@pytest.fixture(scope="session")
def api(sandbox: Sandbox) -> Iterator[docker.APIClient]:
    """A raw engine client for arranging and checking what the bot did."""
    client = docker.APIClient(base_url=sandbox.docker_host, version="auto", timeout=60)
    client.ping()
    yield client
    client.close()


def import_image(
    api: docker.APIClient, sandbox: Sandbox, *, repository: str, content: bytes
) -> str:
    """A one-file image, labelled for this run; returns its ID."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("content")
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    api.import_image_from_data(
        buffer.getvalue(),
        repository=repository,
        tag="latest",
        changes=[f"LABEL {SESSION_LABEL}={sandbox.session}"],
    )
    return str(api.inspect_image(f"{repository}:latest")["Id"])


# The audit log's HMAC key for every Settings built here (CHATOPS_AUDIT_KEY in production).
AUDIT_KEY = "0123456789abcdef" * 4


def make_settings(docker_host: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"chatops_audit_key": AUDIT_KEY} | overrides
    return load_settings(_env_file=None, docker_host=docker_host, **values)


def start_work_process(sandbox: Sandbox, fake: FakeSlack) -> WorkProcess:
    """A work process as ``serve`` starts one, with a SQLite file of its own."""
    settings = make_settings(
        sandbox.docker_host,
        slack_bot_token="xoxb-test-token",
        slack_api_url=fake.api_url,
        chatops_database_url=f"sqlite:///{Path.cwd()}/work-{os.getpid()}-{time.time_ns()}.db",
    )
    return WorkProcess(settings=settings, build=build_request_service)


@pytest.fixture
def engines(sandbox: Sandbox) -> Iterator[DockerEngineDirectory]:
    directory = engine_directory(make_settings(sandbox.docker_host, run_wait_seconds=20))
    yield directory
    directory.close()


class BotDriver:
    """Runs command lines through the real pipeline and console, collecting the output."""

    def __init__(self, *, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.out = io.StringIO()
        self.err = io.StringIO()
        self.console = Console(pipeline=pipeline, out=self.out, err=self.err)

    def run(self, text: str) -> Reply:
        """The reply to ``text``, rendered into ``out``/``err`` by the console."""
        self.out.seek(0)
        self.out.truncate()
        self.err.seek(0)
        self.err.truncate()
        return self.console.run_one(text)

    def ok(self, text: str) -> str:
        """Run ``text``, insist that it succeeded, and return what it printed."""
        reply = self.run(text)
        assert reply.error is None, f"{text!r} failed: {reply.error}"
        return self.out.getvalue()

    def handle(self, text: str) -> Reply:
        return self.pipeline.handle(text, actor=Actor(user_id="U_TEST"))


@pytest.fixture
def bot(engines: DockerEngineDirectory) -> BotDriver:
    return BotDriver(pipeline=Pipeline(engines=engines, policy=AllowEverything()))


# --- Databases ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test process's own on the private PostgreSQL
    (scripts/sandbox-postgres); missing is a failure, not a skip. Its own, so that parallel
    workers (pytest -n) and concurrent runs never empty each other's tables."""
    url = os.environ.get("CHATOPS_TEST_POSTGRES_URL")
    if not url:
        script = REPO / "scripts" / "sandbox-postgres"
        done = subprocess.run([str(script), "start"], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.fail(f"No test PostgreSQL: {done.stderr}", pytrace=False)
        url = done.stdout.strip().split("=", 1)[1]
    with private_database(url) as private:
        yield private


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each state test runs on SQLite and on PostgreSQL, from empty tables."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state.db"
    url = str(request.getfixturevalue("postgres_url"))
    empty_postgres(url)
    return url


def empty_postgres(url: str) -> None:
    """None of the bot's tables left in the test database, nor the migrations' version (the
    release fixtures load tables of the same names)."""
    engine = create_engine(url)
    metadata.drop_all(engine)  # the bot's tables only: nothing else in a shared database
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version, schema_lock"))
    engine.dispose()


# --- Slack --------------------------------------------------------------------------------

SIGNING_SECRET = "test-signing-secret"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    state = start_fake_slack()
    yield state
    stop_fake_slack(state)


@dataclass
class SlackBot:
    """The bot served over HTTP as in production, wired to the fake Slack."""

    service: SlackService
    fake: FakeSlack
    sandbox: Sandbox

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.service.port}/slack/events"

    def command(self, text: str, *, name: str = "r1", **fields: str) -> requests.Response:
        """Post ``/docker text`` as Slack would, signed; the response URL is named ``name``."""
        body = slash_command_body(text=text, response_url=self.fake.response_url(name), **fields)
        return post_signed(self.events_url, body, secret=SIGNING_SECRET)

    def responses(self, name: str = "r1", *, count: int = 1) -> list[dict[str, Any]]:
        """What the bot posted to response URL ``name`` (waits for ``count`` posts)."""
        self.fake.wait_for("response", count=count)
        deadline = time.monotonic() + 30
        while True:
            found = [c.body for c in self.fake.of("response") if c.path.endswith(f"/{name}")]
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, f"{len(found)} posts to {name}"
                return found
            self.fake.wait_for("response", count=len(self.fake.of("response")) + 1, timeout=30)


def serve_bot(
    sandbox: Sandbox,
    fake: FakeSlack,
    *,
    clock: Callable[[], datetime] | None = None,
    rate_clock: Callable[[], float] | None = None,
    **overrides: Any,
) -> SlackService:
    values: dict[str, Any] = {
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake.api_url,
        "host": "127.0.0.1",
        "port": 0,
        "chatops_metrics_host": "127.0.0.1",
        "chatops_metrics_port": 0,  # any free port: tests run side by side
        "run_wait_seconds": 20,
        # Everyone may do everything unless a test says otherwise (tests/scenarios/
        # test_slack_access.py checks the rules themselves).
        "roles": {"viewer": ["*"], "operator": ["*"], "admin": ["*"]},
        "approvals": {"required_for": []},
        "chatops_database_url": f"sqlite:///{Path.cwd()}/bot-{uuid.uuid4().hex[:8]}.db",
    }
    settings = make_settings(sandbox.docker_host, **(values | overrides))
    engines = engine_directory(settings)
    clocks: dict[str, Any] = {"clock": clock, "rate_clock": rate_clock}
    clocks = {name: value for name, value in clocks.items() if value is not None}
    service = SlackService(
        settings=settings,
        engines=engines,
        default_engine=engines.default,
        **clocks,
    )
    service.start()
    return service


@pytest.fixture
def slack_bot(sandbox: Sandbox, fake_slack: FakeSlack) -> Iterator[SlackBot]:
    service = serve_bot(sandbox, fake_slack)
    yield SlackBot(service=service, fake=fake_slack, sandbox=sandbox)
    service.stop()


@contextlib.contextmanager
def serving(sandbox: Sandbox, **overrides: Any) -> Iterator[SlackBot]:
    """A bot served with its own fake Slack, for a module whose tests need no fresh server
    (starting and stopping one is most of a short test's time); ``overrides`` as for
    :func:`serve_bot`. The module's tests take it through :func:`shared_slack_bot`, and each
    must have had the answers to everything it sent before it ends, so that none reaches the
    next test's fake."""
    fake = start_fake_slack()
    service = serve_bot(sandbox, fake, **overrides)
    try:
        yield SlackBot(service=service, fake=fake, sandbox=sandbox)
    finally:
        service.stop()
        stop_fake_slack(fake)


@pytest.fixture(scope="module")
def module_slack_bot(sandbox: Sandbox) -> Iterator[SlackBot]:
    """:func:`serving` with the settings of ``slack_bot``, once per module."""
    with serving(sandbox) as bot:
        yield bot


def shared_slack_bot(module_bot: SlackBot) -> SlackBot:
    """The module's served bot with a fresh fake Slack (no calls, nothing scripted)."""
    module_bot.fake.reset()
    return module_bot
