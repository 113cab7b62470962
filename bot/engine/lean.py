"""Engines for one-shot commands (``python -m bot exec``, the console), which start cold.

The docker SDK and ``requests`` cost a new process some 0.2 s to import, several times what a
listing takes. A ``LeanEngine`` answers ``ps`` and ``images`` on a local socket (``unix://``)
with the standard library's ``http.client`` over that socket (some 40 ms of imports, against
the SDK's 200), asked as the SDK asks (the API version negotiated
first, the same queries; ``bot.engine.listings`` builds the answer for both), and hands
everything else to the ``DockerEngine`` it builds on first need. ``serve`` keeps its
``DockerEngine``s: a process that lives for weeks has paid its imports once.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, urlencode

from bot.core import operations, results
from bot.core.command import ParsedCommand
from bot.core.engine import ProgressCallback
from bot.core.grants import ContainerFacts
from bot.core.plans import Plan
from bot.engine import listings
from bot.engine.directory import NamedEngines
from bot.engine.environments import ListedEnvironments
from bot.engine.translate import answer_error, said, timed_out, unreachable
from bot.errors import ChatOpsError

if TYPE_CHECKING:
    from bot.engine.docker_engine import DockerEngine

_LOCAL = "unix://"


class EngineAnswer(Exception):
    """An error answer from the engine: its status and what it said."""

    def __init__(self, status: int, explanation: str) -> None:
        super().__init__(f"{status}: {explanation}")
        self.status = status
        self.explanation = explanation


class UnreadableAnswer(Exception):
    """What came back is not an HTTP answer with a JSON body (a proxy, another server)."""


def _get(path: str, target: str, *, timeout: float) -> tuple[int, bytes]:
    """``GET target`` on the Unix socket at ``path``: the status and the whole body, read by
    the standard library's HTTP client (imported here: only a request pays for it)."""
    import http.client

    class UnixConnection(http.client.HTTPConnection):
        def connect(self) -> None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(path)
            except OSError:
                sock.close()
                raise
            self.sock = sock

    connection = UnixConnection("localhost", timeout=timeout)
    try:
        connection.request("GET", target)
        answer = connection.getresponse()
        return answer.status, answer.read()
    except http.client.IncompleteRead:
        raise ConnectionError("the engine's answer was cut short") from None
    except http.client.HTTPException as err:  # not HTTP at all: another server, a proxy
        raise UnreadableAnswer(f"not an HTTP answer: {err!r:.80}") from None
    finally:
        connection.close()


class UnixSocketClient:
    """The Engine API's listings over a local socket, named and queried as ``docker.APIClient``
    does (``version="auto"``). Thread-safe: each call has a connection of its own. Raises
    ``EngineAnswer`` for an error answer, ``OSError`` (``TimeoutError`` among them) or
    ``UnreadableAnswer`` when the engine cannot be read."""

    def __init__(self, *, path: str, timeout: float) -> None:
        self._path = path
        self._timeout = timeout
        self._version: str | None = None

    def containers(
        self,
        *,
        all: bool,
        limit: int,
        latest: bool,
        filters: dict[str, Any] | None,
        trunc: bool,
    ) -> Any:
        params: dict[str, object] = {
            "limit": 1 if latest else limit,
            "all": 1 if all else 0,
            "size": 0,
            "trunc_cmd": 1 if trunc else 0,
        }
        if filters:
            params["filters"] = _filters(filters)
        docs = self._get("/containers/json", params)
        if trunc:
            for doc in docs:
                doc["Id"] = doc["Id"][:12]
        return docs

    def images(self, *, all: bool, filters: dict[str, Any] | None) -> Any:
        params: dict[str, object] = {"only_ids": 0, "all": 1 if all else 0}
        if filters:
            params["filters"] = _filters(filters)
        return self._get("/images/json", params)

    def inspect_container(self, container: str) -> Any:
        return self._get(f"/containers/{quote_plus(container, safe='/:')}/json")

    def ping(self) -> None:
        self._request(f"/v{self.api_version}/_ping")

    @property
    def api_version(self) -> str:
        if self._version is None:
            try:
                answer = json.loads(self._request("/version"))
                version = str(answer["ApiVersion"])
            except EngineAnswer as err:
                # As docker-py words a negotiation that failed: the engine was not reached.
                raise OSError(f"Error while fetching server API version: {err}") from None
            except (ValueError, KeyError, TypeError) as err:
                raise OSError(f"Error while fetching server API version: {err!r}") from None
            self._version = version
        return self._version

    def _get(self, path: str, params: dict[str, object] | None = None) -> Any:
        query = f"?{urlencode(params)}" if params else ""
        body = self._request(f"/v{self.api_version}{path}{query}")
        try:
            return json.loads(body)
        except ValueError as err:
            raise UnreadableAnswer(f"not an Engine API answer: {err}") from None

    def _request(self, target: str) -> bytes:
        status, body = _get(self._path, target, timeout=self._timeout)
        if status >= 400:
            raise EngineAnswer(status, _explanation(body))
        return body


def _filters(filters: dict[str, Any]) -> str:
    """``--filter`` values as the Engine API takes them (docker-py's ``convert_filters``)."""
    converted = {}
    for key, value in filters.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, list):
            value = [value]
        converted[key] = [item if isinstance(item, str) else str(item) for item in value]
    return json.dumps(converted)


def _explanation(body: bytes) -> str:
    """What an error answer says (its JSON ``message``, else its text), as docker-py reads it."""
    try:
        return str(json.loads(body)["message"])
    except (ValueError, KeyError, TypeError):
        return body.decode("utf-8", "replace").strip()


class LeanEngine:
    """One configured engine (``bot.core.engine.Engine``) for a one-shot command: listings on a
    local socket without the docker SDK, everything else through ``full()``, built once."""

    def __init__(self, *, name: str, url: str, timeout: float, full: Callable[[], DockerEngine]):
        self._name = name
        self._url = url
        self._build = full
        self._full: DockerEngine | None = None
        self._lock = threading.Lock()
        self._socket = (
            UnixSocketClient(path=url[len(_LOCAL) :], timeout=timeout)
            if url.startswith(_LOCAL)
            else None
        )
        self._environments = ListedEnvironments()

    @property
    def name(self) -> str:
        return self._name

    @property
    def location(self) -> str:
        return self._url

    def execute(
        self, operation: operations.EngineOperation, *, progress: ProgressCallback | None = None
    ) -> results.Result:
        api = self._socket
        if api is not None and isinstance(operation, operations.ListContainers):
            with self._errors():
                return listings.container_list(
                    api, operation, environments=self._environments, inspect=self._inspected
                )
        if api is not None and isinstance(operation, operations.ListImages):
            with self._errors():
                return listings.image_list(api, operation)
        return self._engine().execute(operation, progress=progress)

    def ping(self) -> None:
        if self._socket is None:
            self._engine().ping()
            return
        with self._errors():
            self._socket.ping()

    def version(self) -> str:
        return self._engine().version()

    def container_facts(self, names: tuple[str, ...]) -> tuple[ContainerFacts, ...]:
        return self._engine().container_facts(names)

    def plan(self, command: ParsedCommand, *, progress: ProgressCallback | None = None) -> Plan:
        return self._engine().plan(command, progress=progress)

    def execute_plan(self, plan: Plan) -> results.ActionResult:
        return self._engine().execute_plan(plan)

    def plan_cleanup(self) -> Plan:
        return self._engine().plan_cleanup()

    def apply_cleanup(self, plan: Plan) -> results.CleanupReport:
        return self._engine().apply_cleanup(plan)

    def close(self) -> None:
        with self._lock:
            full, self._full = self._full, None
        if full is not None:
            full.close()

    def _engine(self) -> DockerEngine:
        with self._lock:
            if self._full is None:
                self._full = self._build()
            return self._full

    def _inspected(self, container_id: str) -> dict[str, Any] | None:
        assert self._socket is not None
        try:
            doc: dict[str, Any] = self._socket.inspect_container(container_id)
        except (EngineAnswer, OSError, UnreadableAnswer):
            return None
        return doc

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """The errors ``DockerEngine`` raises for the same failures, in the same words."""
        try:
            yield
        except ChatOpsError:
            raise
        except EngineAnswer as err:
            raise answer_error(err.status, said(err.explanation)) from None
        except TimeoutError:
            raise timed_out(engine=self._name, location=self._url) from None
        except (OSError, UnreadableAnswer) as err:
            raise unreachable(engine=self._name, location=self._url, cause=err) from None


class LeanEngineDirectory(NamedEngines[LeanEngine]):
    """``LeanEngine``s by name (``bot.core.engine.EngineDirectory``)."""

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close()
