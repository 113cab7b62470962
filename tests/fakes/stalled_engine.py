"""An engine that answers its API's small questions and then stalls an event stream.

A real HTTP server on a Unix socket: ``/_ping``, ``/version`` and ``/info`` answer as
dockerd does; ``/events`` sends its headers and one event, then nothing, holding the
connection open (what a hung daemon or a half-open TCP connection looks like to a client).
"""

from __future__ import annotations

import json
import socketserver
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    release: threading.Event

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path.endswith("/_ping"):
            self._json(b"OK", "text/plain")
        elif path.endswith("/version"):
            self._json(
                json.dumps(
                    {"Version": "27.0.0", "ApiVersion": "1.41", "Os": "linux", "Arch": "amd64"}
                ).encode()
            )
        elif path.endswith("/info"):
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            self._json(json.dumps({"SystemTime": now}).encode())
        elif path.endswith("/events"):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            event = (
                json.dumps(
                    {
                        "Type": "container",
                        "Action": "start",
                        "Actor": {"ID": "c" * 64, "Attributes": {"name": "x"}},
                        "timeNano": 1_700_000_000_000_000_000,
                    }
                ).encode()
                + b"\n"
            )
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            self.wfile.flush()
            self.release.wait(120)  # ... and then nothing
        else:
            self.send_error(404)

    def _json(self, body: bytes, kind: str = "application/json") -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class StalledEngine:
    def __init__(self, path: Path) -> None:
        self.release = threading.Event()
        handler = type("Handler", (_Handler,), {"release": self.release})
        self._server = _Server(str(path), handler)
        self.url = f"unix://{path}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
