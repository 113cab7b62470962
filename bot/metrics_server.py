"""``GET /metrics`` on a port of its own (``CHATOPS_METRICS_PORT``), never the Slack port.

The Slack port faces Slack (through a proxy, often published); what Prometheus scrapes is for
operators, so it listens apart, where compose does not publish it. It is waitress, as the
Slack port is (bounded threads, idle connections closed), on its own thread. A port that
cannot be bound never stops the bot: it is logged at ERROR and shown by ``/livez`` and
``/readyz`` (``"metrics": "unavailable"``), and the bot serves on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from waitress.server import create_server

from bot.metrics import CONTENT_TYPE

log = logging.getLogger(__name__)


class MetricsServer:
    """Serves ``exposition()`` at ``/metrics`` on ``host:port`` once started (``port`` 0:
    any free port; None: not served)."""

    def __init__(self, *, exposition: Callable[[], bytes], host: str, port: int | None) -> None:
        self._exposition = exposition
        self._host = host
        self._wanted = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.problem: str | None = None  # why it is not served, when it should be

    @property
    def port(self) -> int | None:
        """The port it listens on (None: not listening)."""
        return int(self._server.effective_port) if self._server is not None else None

    @property
    def state(self) -> str:
        """``serving``, ``off`` (not wanted) or ``unavailable`` (the port could not be bound)."""
        if self._wanted is None:
            return "off"
        return "serving" if self._server is not None else "unavailable"

    def start(self) -> None:
        if self._wanted is None or self._server is not None:
            return
        try:
            self._server = create_server(
                self._app,
                host=self._host,
                port=self._wanted,
                threads=2,
                ident="docker-chatops-metrics",
                connection_limit=100,
                channel_timeout=30,
            )
        except (OSError, ValueError) as err:  # in use, no permission, no such address
            self.problem = str(err)
            log.error(
                "metrics are not served: cannot listen on %s:%s (%s); the bot serves on "
                "without them (set CHATOPS_METRICS_PORT to a free port, or off)",
                self._host,
                self._wanted,
                err,
            )
            return
        self._thread = threading.Thread(target=self._serve, name="metrics", daemon=True)
        self._thread.start()
        log.info("metrics on http://%s:%s/metrics", self._host, self.port)

    def _serve(self) -> None:
        try:
            self._server.run()
        except (OSError, ValueError):
            if not self._stopping.is_set():  # closing from another thread breaks its loop
                raise

    def close(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.close()
            # Its request threads too (close() leaves them waiting: bot.server's stop).
            self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/metrics" and environ.get("REQUEST_METHOD") in (
            "GET",
            "HEAD",
        ):
            data = self._exposition()
            start_response(
                "200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(data)))]
            )
            return [data]
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return [b"not found\n"]
