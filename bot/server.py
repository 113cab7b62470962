"""``python -m bot serve``: the Slack app over HTTP (waitress) or Socket Mode, the probes
(/livez, /readyz and its alias /healthz), and /metrics on a port of its own. Serving only:
the parts are built and connected by ``bot.composition.slack``; this starts and stops them."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.errors import SlackApiError
from waitress.server import create_server

from bot.composition.slack import Front, build_dispatch, build_front, required_credentials
from bot.core.engine import EngineDirectory
from bot.errors import ConfigError
from bot.health import HealthCheck
from bot.housekeeping.scheduler import HousekeepingScheduler
from bot.housekeeping.update_checks import UpdateCheckScheduler
from bot.metrics import PrometheusMetrics
from bot.metrics_server import MetricsServer
from bot.service.metrics import ACK_SECONDS
from bot.service.orders import WorkOrder
from bot.settings import Settings
from bot.slack.dispatch import DRAIN_SECONDS, Dispatch, WorkProcess
from bot.slack.priority import AckFirst

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Slack's own payloads are a few KiB; anything near this is not from Slack. waitress answers
# 413 from the Content-Length (or as a chunked body passes it) without reading the rest, and
# before the signature check could even start.
MAX_BODY_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024
WORK_START_SECONDS = 60.0  # the longest readiness waits for the work process to start
# The audit head's last publish on the way out (after the drain and the telling: 10 s in all).
HEAD_PUBLISH_SECONDS = 1.0
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def make_wsgi_app(
    *,
    slack: SlackRequestHandler | None,
    health: HealthCheck,
    ack_first: AckFirst,
    ready: threading.Event,
    metrics: PrometheusMetrics | None = None,
    metrics_state: Callable[[], str] = lambda: "off",
) -> WsgiApp:
    """Routes ``/slack/events`` to Bolt and the probes: ``/livez`` (200 while this process
    serves, whatever the engines do: for liveness probes), ``/readyz`` and its alias
    ``/healthz`` (200 when ready and the default engine answers: for load balancers).
    ``/metrics`` is not here: it has a port of its own (``bot.metrics_server``); ``metrics``
    only times the acknowledgements."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        probe = environ.get("REQUEST_METHOD") in ("GET", "HEAD")
        # Said only when it fails: a person looking at a probe learns that /metrics is down.
        unserved = {"metrics": "unavailable"} if metrics_state() == "unavailable" else {}
        if path == "/livez" and probe:
            return _json(start_response, "200 OK", {"status": "alive"} | unserved)
        if path in ("/readyz", "/healthz") and probe:
            report = health.check()
            status = "200 OK" if report.ok else "503 Service Unavailable"
            return _json(start_response, status, report.as_dict() | unserved)
        if path == EVENTS_PATH and slack is not None:
            if not ready.is_set():  # Slack retries; nothing may run before start-up is done
                return _json(start_response, "503 Service Unavailable", {"error": "starting"})
            ack_first.started()
            started = time.monotonic()
            try:
                answer: Iterable[bytes] = slack(environ, start_response)
            finally:
                ack_first.finished()
                if metrics is not None:
                    metrics.observe(ACK_SECONDS, time.monotonic() - started)
            return answer
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return app


def _json(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


class SlackService:
    """The running bot: HTTP server (events and health) and, in Socket Mode, the socket,
    over what ``bot.composition.slack.build_front`` builds; starts and stops its parts."""

    def __init__(
        self,
        *,
        settings: Settings,
        engines: EngineDirectory,
        default_engine: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rate_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock``: what "now" is for this process's schedules (expiry, veto windows,
        leases); ``rate_clock``: the seconds ``[access] user_rate_limit`` counts in. Tests
        move them instead of waiting."""
        required_credentials(settings)
        self._settings = settings
        self._dispatch: Dispatch | None = None  # started with the service
        front = build_front(
            settings=settings,
            engines=engines,
            default_engine=default_engine,
            dispatch=self._send,
            clock=clock,
            rate_clock=rate_clock,
        )
        self._front: Front = front
        self.metrics: PrometheusMetrics = front.metrics
        self.notices = front.notices
        self.health: HealthCheck = front.health
        self._metrics_server = MetricsServer(
            exposition=front.metrics.exposition,
            host=settings.chatops_metrics_host,
            port=settings.chatops_metrics_port,
        )
        self._ready = threading.Event()
        app_token = settings.slack_app_token
        self._socket = (
            SocketModeHandler(front.app, app_token.get_secret_value(), web_client=front.client)
            if app_token
            else None
        )
        wsgi = make_wsgi_app(
            slack=None if self._socket else SlackRequestHandler(front.app),
            health=front.health,
            ack_first=front.ack_first,
            ready=self._ready,
            metrics=front.metrics,
            metrics_state=lambda: self._metrics_server.state,
        )
        try:
            self._http = create_server(
                wsgi,
                host=settings.host,
                port=settings.port,
                threads=settings.http_threads,
                ident="docker-chatops",
                max_request_body_size=MAX_BODY_BYTES,
                max_request_header_size=MAX_HEADER_BYTES,
                # Idle or trickling connections cost a socket, never a thread; close them
                # sooner and allow more of them, so a few hundred cannot lock Slack out.
                connection_limit=1000,
                channel_timeout=30,
            )
        except OSError as err:  # the port is taken, or the address is not this host's
            raise ConfigError(
                f"Cannot listen on {settings.host}:{settings.port} (CHATOPS_HOST, "
                f"CHATOPS_PORT): {err.strerror or err}."
            ) from None
        self._stopping = threading.Event()
        self._http_thread = threading.Thread(target=self._serve_http, name="http", daemon=True)

    @property
    def port(self) -> int:
        # One host and port give a single-socket server, which has effective_port.
        return int(self._http.effective_port)  # type: ignore[union-attr]

    @property
    def metrics_port(self) -> int | None:
        """Where /metrics listens (None: off, or the port could not be bound)."""
        return self._metrics_server.port

    @property
    def work_pid(self) -> int | None:
        """The work process's PID, or None when the work runs in this process."""
        return self._dispatch.pid if isinstance(self._dispatch, WorkProcess) else None

    @property
    def work_started(self) -> bool:
        """Whether the work process has built its backend (always, for work in this process)."""
        return not isinstance(self._dispatch, WorkProcess) or self._dispatch.wait_started(0)

    @property
    def housekeeping(self) -> HousekeepingScheduler:
        return self._front.backend.housekeeping

    @property
    def update_checks(self) -> UpdateCheckScheduler | None:
        """``[upgrades] check_schedule``'s scheduler (None: not configured)."""
        return self._front.update_checks

    def sweep_approvals(self) -> None:
        """One sweep now (expiry, veto windows that ended, interrupted executions), as the
        schedule would do within its interval."""
        self._front.sweeper.sweep()

    @property
    def socket_mode(self) -> bool:
        return self._socket is not None

    def start(self, *, until: threading.Event | None = None) -> bool:
        """Serve /healthz at once ("starting"), reach Slack (retrying while it is unreachable),
        then take requests. False if ``until`` was set before Slack answered."""
        self._http_thread.start()
        self._metrics_server.start()  # a port it cannot bind is logged; the bot serves on
        if not self._reach_slack(until or self._stopping):
            return False
        front = self._front
        self._dispatch = build_dispatch(
            settings=self._settings, backend=front.backend, metrics=front.metrics
        )
        self._wait_for_work_process(until or self._stopping)
        front.sweeper.start()
        front.backend.housekeeping.start()
        front.head_publisher.start()
        front.upgrade_recovery.start()
        if front.update_checks is not None:
            front.update_checks.start()
        if self.notices is not None:
            self.notices.start()
        if self._socket is not None:
            self._socket.connect()
        self._ready.set()
        self.health.ready()
        self.health.start()
        log.info(
            "serving on port %s (%s)", self.port, "Socket Mode" if self._socket else EVENTS_PATH
        )
        return True

    def _wait_for_work_process(self, until: threading.Event) -> None:
        """Not ready before the work process has built its backend: its start-up (seconds of
        CPU on a small host) taken from the first acknowledgements was the tail of the ack
        benchmark (README, Benchmarks). One that takes too long is waited for no more."""
        dispatch = self._dispatch
        if not isinstance(dispatch, WorkProcess):
            return
        deadline = time.monotonic() + WORK_START_SECONDS
        while not dispatch.wait_started(0.1):
            if until.is_set():
                return
            if time.monotonic() > deadline:
                log.warning(
                    "the work process has not started within %g s; serving anyway",
                    WORK_START_SECONDS,
                )
                return

    def _reach_slack(self, until: threading.Event) -> bool:
        """``auth.test`` until it answers: a refused token stops start-up with one line; an
        unreachable API is retried with backoff (one log line each), /healthz saying
        "starting" meanwhile."""
        delay = 1.0
        while not until.is_set():
            try:
                self._front.probe.auth_test()
                return True
            except SlackApiError as err:
                code = err.response.get("error")
                raise ConfigError(f"Slack did not accept SLACK_BOT_TOKEN ({code}).") from None
            except Exception as err:  # urllib, socket and SDK errors alike: Slack is not there
                log.warning(
                    "Slack's API (%s) does not answer: %s; retrying in %.0f s",
                    self._settings.slack_api_url,
                    _one_line(err),
                    delay,
                )
            until.wait(delay)
            delay = min(delay * 2, 60.0)
        return False

    def _serve_http(self) -> None:
        try:
            self._http.run()
        except (OSError, ValueError):
            # Closing the server from another thread can break its select loop mid-wait.
            if not self._stopping.is_set():
                raise

    def stop(self, *, drain: float = DRAIN_SECONDS) -> None:
        """Stop taking requests, then let running work finish: the commands under way (up to
        ``drain`` seconds, then their requesters are told) and, at the same time and within the
        same ``drain``, the background tasks (schedules, sweeps, notices, probes). An engine
        that hangs one of those delays the exit by ``drain`` at most, never one wait after
        another: the process must be gone within its grace period (README, Running in
        production), and the people whose commands were cut short told before that."""
        until = time.monotonic() + drain  # closing the socket counts too (its listeners end)
        self._stopping.set()
        if self._socket is not None:
            self._socket.close()
        self._http.close()
        self._metrics_server.close()
        background = [
            ("approval-sweeps", self._front.sweeper.stop),
            ("housekeeping", self._front.backend.housekeeping.stop),
            ("upgrade-recovery", self._front.upgrade_recovery.stop),
            ("health-probe", self.health.close),
        ]
        if self._front.update_checks is not None:
            background.append(("update-checks", self._front.update_checks.stop))
        if self.notices is not None:
            background.append(("notices", self.notices.stop))
        stopping = [
            threading.Thread(target=stop, name=f"stop-{name}", daemon=True)
            for name, stop in background
        ]
        for thread in stopping:
            thread.start()
        if self._dispatch is not None:  # the work under way finishes, or is told
            self._dispatch.close(drain=max(0.0, until - time.monotonic()))
        for thread in stopping:
            thread.join(timeout=max(0.0, until - time.monotonic()))
        hung = [thread.name.removeprefix("stop-") for thread in stopping if thread.is_alive()]
        if hung:
            # As on a kill -9, which each is built to survive: an upgrade's journal is
            # finished by the next start, a plan's lease goes stale and is reported
            # interrupted; a cut cleanup or update check waits for its next scheduled time.
            log.warning("stopping without waiting longer for: %s", ", ".join(hung))
        # After the work: its entries are covered too. Its last publish is one Web API call.
        self._front.head_publisher.stop(timeout=HEAD_PUBLISH_SECONDS)
        self._front.home.close()
        # waitress's close() leaves a single-socket server's request threads waiting for work
        # (only its multi-socket server ends them): an exiting process does not mind, but one
        # that serves again (an embedding, the tests) gathered http_threads more each time.
        # One second at most: they are idle by now (the socket was closed first).
        self._http.task_dispatcher.shutdown(cancel_pending=True, timeout=1)

    def _send(self, order: WorkOrder) -> None:
        dispatch = self._dispatch
        if dispatch is None:  # /slack/events answers 503 until start() has set it
            raise RuntimeError("work dispatched before the service started")
        dispatch(order)


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:300]
