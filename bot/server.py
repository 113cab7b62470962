"""``python -m bot serve``: the Slack app over HTTP (waitress) or Socket Mode, the probes
(/livez, /readyz and its alias /healthz), and /metrics on a port of its own."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine
from waitress.server import create_server

from bot.audit_head import AuditHeadPublisher
from bot.chat_ids import referenced_groups
from bot.config import configured_policy, engine_directory, notification_rules
from bot.core.approvals import ApprovalRecord, ApprovalRules, ApprovalService, Planner
from bot.core.cleanup import run_cleanup
from bot.core.command import ParsedCommand
from bot.core.engine import EngineDirectory
from bot.core.notices.events import EventSource
from bot.core.operations import Cleanup
from bot.core.parsing.units import parse_duration
from bot.core.pipeline import Pipeline
from bot.core.policy import AccessRules, channel_refusal, has_role
from bot.core.rate_limit import RateLimiter
from bot.core.results import CleanupReport
from bot.errors import AuditError, ConfigError
from bot.health import HealthCheck
from bot.housekeeping.runs import SqlCleanupRuns
from bot.housekeeping.scheduler import EngineSchedule, HousekeepingScheduler
from bot.metrics import PrometheusMetrics
from bot.metrics_server import MetricsServer
from bot.service.approvals import ExpirySweeper, post_or_withdraw, report_tampered
from bot.service.chat import Requester
from bot.service.metrics import (
    ACK_SECONDS,
    HOUSEKEEPING_BYTES,
    HOUSEKEEPING_OBJECTS,
    Metrics,
    NoMetrics,
)
from bot.service.notices import NoticeService
from bot.service.orders import ClickOrder, CommandOrder, WorkOrder
from bot.service.requests import RequestService
from bot.settings import Settings
from bot.slack.app import build_bolt_app
from bot.slack.approvals import ApprovalButtons, ApprovalMessages
from bot.slack.chat import SlackChat
from bot.slack.commands import SlashCommandHandler
from bot.slack.delivery import post_cleanup_report
from bot.slack.dispatch import Dispatch, InProcess, WorkProcess
from bot.slack.groups import SlackGroups
from bot.slack.home import HomeTab
from bot.slack.messages import MessageCommands
from bot.slack.notices import NoticeButtons, SlackNoticeBoard
from bot.slack.object_actions import ObjectActions
from bot.slack.priority import AckFirst
from bot.slack.web import make_probe_client, make_web_client
from bot.state.approvals import SqlApprovalRepository
from bot.state.audit import SqlAuditLog, audit_key
from bot.state.database import open_database
from bot.state.event_streams import SqlStreamCursors
from bot.state.slack_events import SqlSeenEvents
from bot.workers import EngineWorkers

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Slack's own payloads are a few KiB; anything near this is not from Slack. waitress answers
# 413 from the Content-Length (or as a chunked body passes it) without reading the rest, and
# before the signature check could even start.
MAX_BODY_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024
WORK_START_SECONDS = 60.0  # the longest readiness waits for the work process to start
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def required_credentials(settings: Settings) -> None:
    """Stop with one line naming what is missing for the chosen mode."""
    socket_mode = settings.slack_app_token is not None
    needed = {"SLACK_BOT_TOKEN": settings.slack_bot_token}
    if socket_mode:
        needed["SLACK_APP_TOKEN"] = settings.slack_app_token
    else:
        needed["SLACK_SIGNING_SECRET"] = settings.slack_signing_secret
    missing = [name for name, value in needed.items() if value is None]
    if missing:
        mode = "Socket Mode" if socket_mode else "HTTP mode"
        raise ConfigError(
            f"Missing {', '.join(missing)} for {mode}: set them in the environment or .env "
            "(README, section 'Slack app')."
        )


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


def build_approval_service(
    *,
    settings: Settings,
    engines: EngineDirectory,
    rules: AccessRules,
    database: Engine,
    audit_key: bytes,
    on_tampered: Callable[[ApprovalRecord], None],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ApprovalService:
    """Approvals stored in the database (each row sealed under ``audit_key``), planned and
    executed by the named engines; ``on_tampered`` reports a row that failed verification."""
    expire_after = parse_duration(settings.approvals.expire_after, option="expire_after")

    def planner_for(name: str) -> Planner:
        return engines.get(name)

    return ApprovalService(
        repository=SqlApprovalRepository(engine=database, key=audit_key),
        planner_for=planner_for,
        rules=ApprovalRules(
            approvers=tuple(settings.approvals.approvers),
            min_approvals=settings.approvals.min_approvals,
            allow_self_approval=settings.approvals.allow_self_approval,
            expire_after=expire_after,
            interrupted_after=parse_duration(
                settings.approvals.interrupted_after, option="interrupted_after"
            ),
        ),
        has_role=lambda role, user, groups: has_role(role, user, groups, rules),
        clock=clock,
        on_tampered=on_tampered,
    )


def engine_schedules(settings: Settings, engines: EngineDirectory) -> list[EngineSchedule]:
    """Each engine's housekeeping schedule: its own [engines.NAME.cleanup] or [cleanup]."""
    schedules = []
    for name in engines.names():
        engine_config = settings.engines.get(name)
        config = (engine_config.cleanup if engine_config else None) or settings.cleanup
        if config.schedule:
            schedules.append(
                EngineSchedule(
                    engine=name,
                    crontab=config.schedule,
                    timezone=config.timezone,
                    dry_run=config.dry_run,
                    notify_channel=config.notify_channel,
                    quiet_when_empty=config.quiet_when_empty,
                    veto_window=_duration(config.veto_window),
                )
            )
    return schedules


def _duration(text: str | None) -> timedelta | None:
    return parse_duration(text, option="veto_window") if text else None


@dataclass(frozen=True, kw_only=True)
class Backend:
    """What requests and the schedules need, built the same way in every process."""

    audit: SqlAuditLog
    approvals: ApprovalService
    chat: SlackChat
    housekeeping: HousekeepingScheduler
    work: RequestService
    rules: AccessRules
    database: Engine


def build_backend(
    *,
    settings: Settings,
    engines: EngineDirectory,
    default_engine: str,
    client: WebClient,
    wait_for_acks: Callable[[], None] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    metrics: Metrics | None = None,
) -> Backend:
    """Policy, database, approvals, housekeeping and the work side, wired from the settings."""
    workers = EngineWorkers(
        engines=engines.names(),
        per_engine=settings.engine_concurrency,
        control_threads=settings.worker_threads,
        max_waiting=settings.engine_queue,
    )
    policy = configured_policy(settings)
    groups = SlackGroups(client=client, ttl=settings.access.group_cache_seconds)
    referenced = referenced_groups(policy.rules)

    def groups_of(user: str) -> frozenset[str]:
        return groups.groups_of(user, referenced) if referenced else frozenset()

    database = open_database(
        settings.chatops_database_url, upgrade=settings.chatops_db_auto_upgrade
    )
    key = audit_key(settings.chatops_audit_key)
    audit = SqlAuditLog(engine=database, key=key)
    try:
        audit.check_key()  # before anything runs: entries are written after commands run
    except AuditError as err:
        raise ConfigError(str(err)) from None

    def tampered(record: ApprovalRecord) -> None:
        report_tampered(chat=chat, audit=audit, record=record)  # chat: made below

    approvals = build_approval_service(
        settings=settings,
        engines=engines,
        rules=policy.rules,
        database=database,
        audit_key=key,
        on_tampered=tampered,
        clock=clock,
    )
    messages = ApprovalMessages(
        client=client,
        service=approvals,
        channel=settings.approvals.channel,
        approvers=", ".join(settings.approvals.approvers),
    )
    chat = SlackChat(client=client, messages=messages, groups_of=groups_of)

    counted = metrics or NoMetrics()

    def housekeep(name: str, dry_run: bool) -> CleanupReport:
        report = run_cleanup(engines.get(name), dry_run=dry_run)
        if not dry_run:
            counted.count(HOUSEKEEPING_OBJECTS, (("engine", name),), len(report.removed))
            counted.count(HOUSEKEEPING_BYTES, (("engine", name),), report.space_reclaimed)
        return report

    def propose(schedule: EngineSchedule, window: timedelta) -> str:
        command = ParsedCommand(operation=Cleanup())
        plan = approvals.plan(command, engine=schedule.engine)
        if not plan.items:
            return "nothing to do"
        record = approvals.request(
            requester="housekeeping",
            channel_id=schedule.notify_channel,
            command=command,
            engine=schedule.engine,
            plan=plan,
            veto_window=window,
        )
        problem = post_or_withdraw(
            chat=chat,
            approvals=approvals,
            audit=audit,
            record=record,
            channel=schedule.notify_channel,
        )
        if problem is not None:
            return f"not run: #{record.id} was withdrawn ({problem})"
        detail = f"#{record.id}: {len(plan.items)} object(s)"
        audit.record(
            event="cleanup_proposed",
            actor="bot",
            engine=schedule.engine,
            command="cleanup",
            detail=detail,
        )
        return f"proposed as #{record.id}, runs in {window} unless cancelled"

    housekeeping = HousekeepingScheduler(
        schedules=engine_schedules(settings, engines),
        runs=SqlCleanupRuns(engine=database),
        housekeep=housekeep,
        propose=propose,
        notify=lambda channel, report: post_cleanup_report(client, channel, report),
    )
    pipeline = Pipeline(
        engines=engines,
        policy=policy,
        approvals=approvals,
        audit=audit,
        cleanup_status=housekeeping.status,
    )
    work = RequestService(
        pipeline=pipeline,
        workers=workers,
        chat=chat,
        approvals=approvals,
        audit=audit,
        default_engine=default_engine,
        changes_in_channel=settings.slack_changes_in_channel,
        listings_in_channel=settings.slack_listings_in_channel,
        wait_for_acks=wait_for_acks or (lambda: None),
        metrics=metrics,
    )
    return Backend(
        audit=audit,
        approvals=approvals,
        chat=chat,
        housekeeping=housekeeping,
        work=work,
        rules=policy.rules,
        database=database,
    )


def build_request_service(
    settings: Settings, *, metrics: Metrics | None = None
) -> tuple[RequestService, Callable[[], None]]:
    """The work side on its own, for the work process; returns it and what closes it."""
    engines = engine_directory(settings)  # the work process's own engines
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = make_web_client(token=token, base_url=settings.slack_api_url, metrics=metrics)
    backend = build_backend(
        settings=settings,
        engines=engines,
        default_engine=engines.default,
        client=client,
        metrics=metrics,
    )
    return backend.work, engines.close


def build_notices(
    *, settings: Settings, engines: EngineDirectory, database: Engine, client: WebClient
) -> NoticeService | None:
    """Team notifications for the engines that have a ``[notifications]`` channel (None: no
    engine has one)."""
    rules = notification_rules(settings, engines.names())
    sources = {}
    for name in rules:
        source = engines.get(name)
        if not isinstance(source, EventSource):
            raise ConfigError(f"Engine {name!r} cannot stream events, so it cannot notify.")
        sources[name] = source
    if not rules:
        return None
    return NoticeService(
        sources=sources,
        rules=rules,
        board=SlackNoticeBoard(client=client),
        cursors=SqlStreamCursors(engine=database),
    )


class SlackService:
    """The running bot: HTTP server (events and health) and, in Socket Mode, the socket."""

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
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        # What Prometheus scrapes at /metrics; engine health and stream lag are read then.
        self.metrics = PrometheusMetrics(
            engines_up=lambda: {e.name: e.ok for e in self.health.check().engines},
            stream_lag=lambda: self.notices.lag() if self.notices is not None else {},
        )
        self._metrics_server = MetricsServer(
            exposition=self.metrics.exposition,
            host=settings.chatops_metrics_host,
            port=settings.chatops_metrics_port,
        )
        self._client = make_web_client(
            token=token, base_url=settings.slack_api_url, metrics=self.metrics
        )
        self._api_url = settings.slack_api_url
        self._probe = make_probe_client(token=token, base_url=settings.slack_api_url)
        self._settings = settings
        ack_first = AckFirst()
        backend = build_backend(
            settings=settings,
            engines=engines,
            default_engine=default_engine,
            client=self._client,
            # In one process, work also waits for acknowledgements in flight (up to 1 s).
            wait_for_acks=ack_first.wait_for_quiet if not settings.work_process else None,
            clock=clock,
            metrics=self.metrics,
        )
        self._backend = backend
        self._head_publisher = AuditHeadPublisher(
            audit=backend.audit,
            publish=lambda line: self._publish_head(settings.audit.channel, line),
            log=logging.getLogger("bot.audit"),
            interval=parse_duration(settings.audit.publish_every, option="publish_every"),
        )
        self._sweeper = ExpirySweeper(
            service=backend.approvals, chat=backend.chat, audit=backend.audit
        )
        self._housekeeping = backend.housekeeping
        self._dispatch: Dispatch | None = None  # started with the service
        # One count per person for every way in (typed, mentioned, clicked), in this process.
        rate = RateLimiter(limit=settings.access.user_rate_limit, clock=rate_clock)
        handler = SlashCommandHandler(
            dispatch=self._send,
            channel_refusal=lambda channel: channel_refusal(channel, backend.rules),
            rate=rate,
        )
        buttons = ApprovalButtons(dispatch=self._send, rate=rate)
        notice_buttons = NoticeButtons(
            dispatch=self._send,
            engines=engines.names(),
            channel_refusal=lambda channel: channel_refusal(channel, backend.rules),
            rate=rate,
        )
        object_actions = ObjectActions(
            dispatch=self._send,
            engines=engines.names(),
            channel_refusal=lambda channel: channel_refusal(channel, backend.rules),
            rate=rate,
        )
        messages = MessageCommands(
            dispatch=self._send,
            client=self._client,
            seen=SqlSeenEvents(engine=backend.database),
            clock=clock,
            channel_refusal=lambda channel: channel_refusal(channel, backend.rules),
            rate=rate,
        )
        self.notices = build_notices(
            settings=settings, engines=engines, database=backend.database, client=self._client
        )
        notices = self.notices
        self.health = HealthCheck(
            engines=engines,
            default_engine=default_engine,
            streams=notices.streaming if notices is not None else dict,
        )
        self._home = HomeTab(
            client=self._client,
            rules=backend.rules,
            groups_of=backend.chat.groups_of,
            engines=engines,
            default_engine=default_engine,
            health=self.health,
            approvals=backend.approvals,
            approvers=", ".join(settings.approvals.approvers),
            housekeeping=backend.housekeeping.status,
            command=settings.slack_command,
        )
        app_token = settings.slack_app_token
        secret = settings.slack_signing_secret
        try:
            app = build_bolt_app(
                client=self._client,
                signing_secret=None
                if app_token
                else (secret.get_secret_value() if secret else None),
                command=settings.slack_command,
                handler=handler,
                buttons=buttons,
                notice_buttons=notice_buttons,
                object_actions=object_actions,
                messages=messages,
                home=self._home,
            )
        except BoltError as err:
            raise ConfigError(f"The Slack app could not be set up: {err}") from None
        self._ready = threading.Event()
        self._socket = (
            SocketModeHandler(app, app_token.get_secret_value(), web_client=self._client)
            if app_token
            else None
        )
        wsgi = make_wsgi_app(
            slack=None if self._socket else SlackRequestHandler(app),
            health=self.health,
            ack_first=ack_first,
            ready=self._ready,
            metrics=self.metrics,
            metrics_state=lambda: self._metrics_server.state,
        )
        self._http = create_server(
            wsgi,
            host=settings.host,
            port=settings.port,
            threads=settings.http_threads,
            ident="docker-chatops",
            max_request_body_size=MAX_BODY_BYTES,
            max_request_header_size=MAX_HEADER_BYTES,
            # Idle or trickling connections cost a socket, never a thread; close them sooner
            # and allow more of them, so a few hundred cannot lock Slack out.
            connection_limit=1000,
            channel_timeout=30,
        )
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
        return self._housekeeping

    def sweep_approvals(self) -> None:
        """One sweep now (expiry, veto windows that ended, interrupted executions), as the
        schedule would do within its interval."""
        self._sweeper.sweep()

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
        self._dispatch = (
            WorkProcess(
                settings=self._settings,
                build=build_request_service,
                tell=self._tell_lost,
                metrics=self.metrics,
            )
            if self._settings.work_process
            else InProcess(work=self._backend.work)
        )
        self._wait_for_work_process(until or self._stopping)
        self._sweeper.start()
        self._housekeeping.start()
        self._head_publisher.start()
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
                self._probe.auth_test()
                return True
            except SlackApiError as err:
                code = err.response.get("error")
                raise ConfigError(f"Slack did not accept SLACK_BOT_TOKEN ({code}).") from None
            except Exception as err:  # urllib, socket and SDK errors alike: Slack is not there
                log.warning(
                    "Slack's API (%s) does not answer: %s; retrying in %.0f s",
                    self._api_url,
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

    def stop(self) -> None:
        """Stop taking requests, then let running work finish."""
        self._stopping.set()
        if self._socket is not None:
            self._socket.close()
        self._http.close()
        self._metrics_server.close()
        self._sweeper.stop()
        self._housekeeping.stop()
        if self.notices is not None:
            self.notices.stop()
        if self._dispatch is not None:
            self._dispatch.close()  # the work under way finishes
        self._head_publisher.stop()  # after the work: its entries are covered too
        self.health.close()
        self._home.close()

    def _tell_lost(self, order: WorkOrder, text: str) -> None:
        """Tell the person whose order the work process lost, wherever they asked."""
        match order:
            case CommandOrder():
                to = Requester(
                    channel_id=order.actor.channel_id or "",
                    user_id=order.actor.user_id,
                    reply_to=order.reply_to,
                )
            case ClickOrder():
                to = Requester(
                    channel_id=order.channel_id, user_id=order.user_id, reply_to=order.reply_to
                )
        self._backend.chat.tell(to, f":warning: {text}")

    def _send(self, order: WorkOrder) -> None:
        dispatch = self._dispatch
        if dispatch is None:  # /slack/events answers 503 until start() has set it
            raise RuntimeError("work dispatched before the service started")
        dispatch(order)

    def _publish_head(self, channel: str | None, line: str) -> None:
        """Post the audit head to ``[audit] channel`` (the publisher has logged it already);
        a failure raises, so the same head is tried again next time."""
        if channel is not None:
            self._client.chat_postMessage(channel=channel, text=line)


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:300]
