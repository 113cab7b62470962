"""An engine that answers listings from fixed documents, and records what it was asked.

A real HTTP server on a Unix socket, as dockerd serves its API: ``/_ping``, ``/version``,
``/containers/json``, ``/images/json`` and ``/containers/{id}/json`` (versioned or not), a
filter it is told to refuse answered 400 as dockerd words it, an unknown container 404.
"""

from __future__ import annotations

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_VERSION = "1.45"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    engine: ListingEngine

    def do_GET(self) -> None:
        engine = self.engine
        split = urlsplit(self.path)
        path = split.path.removeprefix(f"/v{API_VERSION}")
        query = {key: values[-1] for key, values in parse_qs(split.query).items()}
        with engine.lock:
            engine.requests.append((path, query))
        if path == "/_ping":
            self._answer(200, b"OK", "text/plain")
        elif path == "/version":
            body = {"Version": "27.0.0", "ApiVersion": API_VERSION, "Os": "linux", "Arch": "amd64"}
            self._answer(200, json.dumps(body).encode())
        elif path in ("/containers/json", "/images/json"):
            refused = engine.refuse_filter and engine.refuse_filter in query.get("filters", "")
            if refused:
                message = {"message": f"invalid filter '{engine.refuse_filter}'"}
                self._answer(400, json.dumps(message).encode())
            elif path == "/images/json":
                self._answer(200, json.dumps(engine.images).encode())
            else:
                self._answer(200, json.dumps(engine.containers).encode())
        elif path.startswith("/containers/") and path.endswith("/json"):
            ident = path.removeprefix("/containers/").removesuffix("/json")
            doc = engine.inspected.get(ident)
            if doc is None:
                message = {"message": f"No such container: {ident}"}
                self._answer(404, json.dumps(message).encode())
            else:
                self._answer(200, json.dumps(doc).encode())
        else:
            self._answer(404, b'{"message": "page not found"}')

    def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Api-Version", API_VERSION)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False


class ListingEngine:
    """Serve ``containers`` and ``images`` (Engine API documents) on ``socket_path``;
    ``inspected``: container ID -> its inspect document; ``refuse_filter``: a filter text
    answered 400. ``requests``: (path without the version, query) of each request."""

    def __init__(
        self,
        socket_path: Path,
        *,
        containers: list[dict[str, Any]] | None = None,
        images: list[dict[str, Any]] | None = None,
        inspected: dict[str, dict[str, Any]] | None = None,
        refuse_filter: str = "",
    ) -> None:
        self.containers = containers or []
        self.images = images or []
        self.inspected = inspected or {}
        self.refuse_filter = refuse_filter
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"engine": self})
        self._server = _Server(str(socket_path), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"unix://{socket_path}"

    def paths(self) -> list[str]:
        with self.lock:
            return [path for path, _ in self.requests]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
