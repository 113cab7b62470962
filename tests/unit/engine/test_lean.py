"""``LeanEngine``: the listings of ``exec`` and the console without the docker SDK answer, ask
and fail as ``DockerEngine``'s do, against an engine served on a Unix socket."""

from __future__ import annotations

import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.operations import EngineOperation, ListContainers, ListImages
from bot.core.redaction import REDACTED
from bot.core.results import ContainerList
from bot.engine.docker_engine import DockerEngine, EngineLimits
from bot.engine.lean import LeanEngine, UnreadableAnswer, _get
from bot.errors import EngineError, EngineRequestFailed, EngineUnreachable
from tests.fakes.listing_engine import ListingEngine

WEB = "a" * 64
JOB = "b" * 64
GONE = "c" * 64
CONTAINERS: list[dict[str, Any]] = [
    {
        "Id": WEB,
        "Names": ["/web"],
        "Image": "nginx:1.27",
        "Command": "nginx -g 'daemon off;' --token s3cret-value",
        "Created": 1_700_000_200,
        "Ports": [{"PrivatePort": 80, "Type": "tcp", "IP": "127.0.0.1", "PublicPort": 8080}],
        "Labels": {"team": "web"},
        "State": "running",
        "Status": "Up 2 hours",
    },
    {
        "Id": JOB,
        "Names": ["/job"],
        "Image": "busybox",
        "Command": "true",
        "Created": 1_700_000_100,
        "Ports": [],
        "Labels": {},
        "State": "exited",
        "Status": "Exited (0) 1 hour ago",
    },
    {
        "Id": GONE,
        "Names": ["/gone"],
        "Image": "busybox",
        "Command": "sleep 3600",
        "Created": 1_700_000_000,
        "Ports": [],
        "Labels": {},
        "State": "exited",
        "Status": "Exited (137) 2 hours ago",
    },
]
INSPECTED = {WEB: {"Id": WEB, "Config": {"Env": ["TOKEN=s3cret-value", "PATH=/usr/bin"]}}}
IMAGES: list[dict[str, Any]] = [
    {
        "Id": "sha256:" + "d" * 64,
        "RepoTags": ["nginx:1.27", "nginx:latest"],
        "RepoDigests": ["nginx@sha256:" + "e" * 64],
        "Created": 1_700_000_000,
        "Size": 190_000_000,
    },
    {"Id": "sha256:" + "f" * 64, "RepoTags": None, "Created": 1_690_000_000, "Size": 5},
]
LISTINGS: list[EngineOperation] = [
    ListContainers(),
    ListContainers(all=True),
    ListContainers(all=True, quiet=True, no_trunc=True),
    ListContainers(last=2),
    ListContainers(latest=True),
    ListContainers(filters=(("label", "team=web"), ("status", "running"), ("label", "x"))),
    ListImages(),
    ListImages(all=True, digests=True, filters=(("dangling", "true"),)),
]
LISTING_PATHS = ("/containers/json", "/images/json")


@pytest.fixture
def engine() -> Iterator[ListingEngine]:
    # A short path: a Unix socket's path may not be longer than 107 bytes.
    with tempfile.TemporaryDirectory(prefix="lean-") as folder:
        served = ListingEngine(
            Path(folder) / "engine.sock",
            containers=CONTAINERS,
            images=IMAGES,
            inspected=INSPECTED,
            refuse_filter="bogus",
        )
        yield served
        served.close()


def docker_engine(url: str) -> DockerEngine:
    return DockerEngine(name="local", url=url, limits=EngineLimits(timeout_seconds=5))


def lean_engine(url: str, full: Callable[[], DockerEngine] | None = None) -> LeanEngine:
    def refuse() -> DockerEngine:
        raise AssertionError("a listing needs no full engine")

    return LeanEngine(name="local", url=url, timeout=5, full=full or refuse)


def listing_queries(served: ListingEngine) -> list[tuple[str, dict[str, str]]]:
    return [(path, query) for path, query in served.requests if path in LISTING_PATHS]


def test_listings_answer_and_ask_as_the_docker_engine_does(engine: ListingEngine) -> None:
    full, lean = docker_engine(engine.url), lean_engine(engine.url)
    try:
        for operation in LISTINGS:
            engine.requests.clear()
            expected = full.execute(operation)
            asked = listing_queries(engine)
            engine.requests.clear()
            assert lean.execute(operation) == expected, operation
            assert listing_queries(engine) == asked, operation
    finally:
        full.close()
        lean.close()
    ps = full.execute(ListContainers(all=True))
    assert isinstance(ps, ContainerList)
    commands = {row.names[0]: row.command for row in ps.rows}
    assert commands == {
        "web": f"nginx -g 'daemon off;' --token {REDACTED}",
        "job": "true",
        "gone": REDACTED,  # its environment could not be read: fail closed
    }


def test_a_fresh_listing_reads_only_environments_a_command_could_hold(
    engine: ListingEngine,
) -> None:
    """The first `ps -a` of a new process reads the environment of the containers whose
    command is long enough to hold a value redaction looks for, and no other; the next reads
    none."""
    lean = lean_engine(engine.url)
    lean.execute(ListContainers(all=True))
    assert engine.paths() == [
        "/version",
        "/containers/json",
        f"/containers/{WEB}/json",
        f"/containers/{GONE}/json",
    ] or engine.paths() == [
        "/version",
        "/containers/json",
        f"/containers/{GONE}/json",
        f"/containers/{WEB}/json",
    ]
    engine.requests.clear()
    lean.execute(ListContainers(all=True))
    assert engine.paths() == ["/containers/json", f"/containers/{GONE}/json"]


def failure(run: Callable[[], object]) -> EngineError:
    with pytest.raises(EngineError) as caught:
        run()
    return caught.value


def test_failures_read_as_the_docker_engines(engine: ListingEngine) -> None:
    refused = ListContainers(filters=(("label", "bogus"),))
    full, lean = docker_engine(engine.url), lean_engine(engine.url)
    expected = failure(lambda: full.execute(refused))
    got = failure(lambda: lean.execute(refused))
    assert isinstance(got, EngineRequestFailed) and type(got) is type(expected)
    assert str(got) == str(expected) == "Invalid filter 'bogus'"

    missing = engine.url + ".absent"
    expected = failure(lambda: docker_engine(missing).execute(ListImages()))
    got = failure(lambda: lean_engine(missing).execute(ListImages()))
    assert isinstance(got, EngineUnreachable) and type(got) is type(expected)
    assert str(got) == str(expected)
    assert "the socket does not exist" in str(got)
    assert str(failure(lean_engine(missing).ping)) == str(expected)


def test_everything_else_goes_to_the_full_engine_built_once(engine: ListingEngine) -> None:
    built: list[DockerEngine] = []

    def full() -> DockerEngine:
        built.append(docker_engine(engine.url))
        return built[-1]

    lean = lean_engine(engine.url, full)
    lean.execute(ListContainers())
    lean.ping()
    assert built == []
    assert lean.version() == lean.version() == "27.0.0 (linux/amd64)"
    assert lean.container_facts(("nobody",)) == built[0].container_facts(("nobody",))
    assert len(built) == 1
    lean.close()

    # An engine that is not a local socket (TLS, SSH) is all the docker SDK's.
    built.clear()
    over_tcp = LeanEngine(name="remote", url="tcp://engine.example:2376", timeout=5, full=full)
    assert isinstance(over_tcp.execute(ListContainers()), ContainerList)
    assert len(built) == 1
    over_tcp.close()


class CannedAnswer:
    """A Unix socket that answers each connection with ``data`` and closes it."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(1)
        self._thread = threading.Thread(target=self._answer, args=(data,), daemon=True)
        self._thread.start()

    def _answer(self, data: bytes) -> None:
        connection, _ = self._server.accept()
        with connection:
            connection.recv(65_536)
            connection.sendall(data)
        self._server.close()


def canned(data: bytes) -> tuple[int, bytes]:
    with tempfile.TemporaryDirectory(prefix="lean-") as folder:
        served = CannedAnswer(Path(folder) / "engine.sock", data)
        return _get(str(served.path), "/version", timeout=5)


@pytest.mark.parametrize(
    ("data", "answer"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n[{}]", (200, b"[{}]")),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\n[{}\r\n1;ext=1\r\n]\r\n0\r\n\r\n",
            (200, b"[{}]"),
        ),
        (b"HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\n{}", (404, b"{}")),
    ],
)
def test_an_answer_is_read_whole(data: bytes, answer: tuple[int, bytes]) -> None:
    assert canned(data) == answer


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n[{}]", ConnectionError),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n[{}", ConnectionError),
        # A chunk without a size: the standard library reads it as an answer cut short.
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ConnectionError),
        (b"SSH-2.0-OpenSSH_9.2\r\n", UnreadableAnswer),
        (b"", UnreadableAnswer),
    ],
)
def test_an_answer_cut_short_or_not_http_is_refused(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        canned(data)
