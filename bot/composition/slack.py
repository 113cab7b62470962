"""``serve``'s composition root: builds the bot from its settings and connects the parts, in one
direction: settings → engines → state (database, audit, approvals) → service → adapters
(Slack's chat port and listeners, the schedules, the probes).

Only construction: what to do with a request, a schedule's run or a failure is decided in the
service (``bot/service/``), the core and the adapters, never here. Both processes build their
backend with ``build_backend``; ``bot.server.SlackService`` serves what ``build_front`` builds.
This is the only module that imports both the Slack adapter and the engines or the state
(``tests/unit/test_import_boundaries.py`` holds it to that).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from slack_bolt import App
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.audit_head import AuditHeadPublisher
from bot.chat_ids import referenced_groups
from bot.config import (
    configured_policy,
    engine_directory,
    freezes,
    notification_rules,
    quiet_hours,
)
from bot.core.approvals import ApprovalRecord, ApprovalRules, ApprovalService, Planner
from bot.core.engine import EngineDirectory
from bot.core.freezes import HOUSEKEEPING_ACTION, UPDATE_CHECK_ACTION, FreezeCalendar
from bot.core.notices.events import EventSource
from bot.core.notices.intents import IntentLog
from bot.core.parsing.units import parse_duration
from bot.core.pipeline import Pipeline
from bot.core.policy import AccessRules, channel_refusal, has_role
from bot.core.rate_limit import RateLimiter
from bot.engine.directory import DEFAULT_ENGINE_NAME, DockerEngineDirectory
from bot.errors import AuditError, ConfigError
from bot.health import HealthCheck
from bot.housekeeping.runs import SqlCleanupRuns
from bot.housekeeping.scheduler import EngineSchedule, HousekeepingScheduler
from bot.housekeeping.update_checks import UpdateCheckScheduler
from bot.metrics import PrometheusMetrics
from bot.periodic import Periodic
from bot.service.approvals import ExpirySweeper, lease_renewal, report_tampered
from bot.service.housekeeping import Housekeeping
from bot.service.lost_orders import tell_lost
from bot.service.metrics import Metrics
from bot.service.notices import NoticeService
from bot.service.orders import WorkOrder
from bot.service.requests import RequestService
from bot.service.update_checks import UpdateChecks
from bot.settings import Settings
from bot.slack.app import build_bolt_app
from bot.slack.approvals import ApprovalButtons, ApprovalMessages
from bot.slack.chat import SlackChat
from bot.slack.commands import SlashCommandHandler
from bot.slack.delivery import post_cleanup_note, post_cleanup_report
from bot.slack.dispatch import Dispatch, InProcess, WorkProcess
from bot.slack.groups import SlackGroups
from bot.slack.home import HomeTab
from bot.slack.messages import MessageCommands
from bot.slack.notices import NoticeButtons, SlackNoticeBoard
from bot.slack.object_actions import ObjectActions
from bot.slack.priority import AckFirst
from bot.slack.update_notices import SlackUpdateBoard
from bot.slack.web import make_probe_client, make_web_client
from bot.state.approvals import SqlApprovalRepository
from bot.state.audit import SqlAuditLog, audit_key
from bot.state.database import open_database
from bot.state.event_streams import SqlStreamCursors
from bot.state.held_notices import SqlHeldNotices
from bot.state.intents import SqlIntentLog
from bot.state.silences import SqlSilenceStore
from bot.state.slack_events import SqlSeenEvents
from bot.state.update_notices import SqlSeenUpdates
from bot.state.upgrades import SqlUpgradeJournal
from bot.workers import EngineWorkers

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def build_approval_service(
    *,
    settings: Settings,
    engines: EngineDirectory,
    rules: AccessRules,
    database: Engine,
    audit_key: bytes,
    on_tampered: Callable[[ApprovalRecord], None],
    clock: Clock = _now,
    intents: IntentLog | None = None,
    freezes: FreezeCalendar | None = None,
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
        intents=intents,
        frozen=freezes.holding if freezes is not None else None,
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
    freezes: FreezeCalendar  # [[freeze]] windows, for the schedules and the Home tab


log = logging.getLogger(__name__)

# How often the records of upgrades left by stopped processes are looked for (at most).
UPGRADE_RECOVERY_SECONDS = 30.0


def recover_upgrades(engines: EngineDirectory, *, idle_for: float) -> None:
    """Finish what stopped processes left of upgrades (exactly one container under each
    name): records not saved for ``idle_for`` seconds ([upgrades] recovery_after); what was
    done is logged."""
    if isinstance(engines, DockerEngineDirectory):
        for line in engines.recover_upgrades(idle_for=idle_for):
            log.warning("%s", line)


def build_update_checks(
    *,
    settings: Settings,
    engines: EngineDirectory,
    client: WebClient,
    database: Engine,
    freezes: FreezeCalendar | None = None,
) -> UpdateCheckScheduler | None:
    """``[upgrades] check_schedule``: each engine's moved tags, new digests posted once to
    ``[notifications] channel``; an engine a [[freeze]] holds for ``upgrade`` is skipped."""
    crontab = settings.upgrades.check_schedule
    if crontab is None:
        return None
    channel = settings.notifications.channel
    if channel is None:
        raise ConfigError(
            "[upgrades] check_schedule posts to [notifications] channel, which is not set."
        )
    checks = UpdateChecks(
        engines=engines,
        seen=SqlSeenUpdates(engine=database),
        board=SlackUpdateBoard(client=client, channel=channel),
        frozen=(
            None if freezes is None else lambda engine: freezes.holding(engine, UPDATE_CHECK_ACTION)
        ),
    )
    return UpdateCheckScheduler(
        crontab=crontab,
        timezone=settings.upgrades.timezone,
        engines=engines.names(),
        check=checks.check,
    )


def build_backend(
    *,
    settings: Settings,
    engines: EngineDirectory,
    default_engine: str,
    client: WebClient,
    wait_for_acks: Callable[[], None] | None = None,
    clock: Clock = _now,
    metrics: Metrics | None = None,
) -> Backend:
    """Policy, database, approvals, housekeeping and the work side, wired from the settings."""
    workers = EngineWorkers(
        engines=engines.names(),
        per_engine=settings.engine_concurrency,
        control_threads=settings.worker_threads,
        max_waiting=settings.engine_queue,
    )
    # One clock for the windows, whoever asks: the policy, the schedules, the Home tab.
    policy = configured_policy(settings, clock=clock)
    calendar = FreezeCalendar(freezes=freezes(settings, now=clock()), clock=clock)
    groups = SlackGroups(client=client, ttl=settings.access.group_cache_seconds)
    referenced = referenced_groups(
        policy.rules, also=(entry for grant in policy.grants for entry in grant.who)
    )

    def groups_of(user: str) -> frozenset[str]:
        return groups.groups_of(user, referenced) if referenced else frozenset()

    database = open_database(
        settings.chatops_database_url, upgrade=settings.chatops_db_auto_upgrade
    )
    if isinstance(engines, DockerEngineDirectory):
        engines.keep_upgrades_in(SqlUpgradeJournal(engine=database))
    key = audit_key(settings.chatops_audit_key)
    audit = SqlAuditLog(engine=database, key=key)
    try:
        audit.check_key()  # before anything runs: entries are written after commands run
    except AuditError as err:
        raise ConfigError(str(err)) from None

    def tampered(record: ApprovalRecord) -> None:
        # The approvals need this before the chat exists (the chat's messages need them).
        report_tampered(chat=chat, audit=audit, record=record)

    # What the bot is about to do to containers, for the notices (in any replica).
    intents = SqlIntentLog(engine=database)
    approvals = build_approval_service(
        settings=settings,
        engines=engines,
        rules=policy.rules,
        database=database,
        audit_key=key,
        on_tampered=tampered,
        clock=clock,
        intents=intents,
        freezes=calendar,
    )
    messages = ApprovalMessages(
        client=client,
        service=approvals,
        channel=settings.approvals.channel,
        approvers=", ".join(settings.approvals.approvers),
    )
    chat = SlackChat(client=client, messages=messages, groups_of=groups_of)
    cleanups = Housekeeping(
        engines=engines,
        approvals=approvals,
        chat=chat,
        audit=audit,
        metrics=metrics,
        intents=intents,
    )
    housekeeping = HousekeepingScheduler(
        schedules=engine_schedules(settings, engines),
        runs=SqlCleanupRuns(engine=database),
        housekeep=cleanups.clean,
        propose=lambda schedule, window: cleanups.propose(
            engine=schedule.engine, channel=schedule.notify_channel, veto_window=window
        ),
        notify=partial(post_cleanup_report, client),
        frozen=lambda engine: calendar.holding(engine, HOUSEKEEPING_ACTION),
        tell=partial(post_cleanup_note, client),
    )
    pipeline = Pipeline(
        engines=engines,
        policy=policy,
        approvals=approvals,
        audit=audit,
        cleanup_status=housekeeping.status,
        intents=intents,
        groups_of=groups_of,
        silences=SqlSilenceStore(engine=database),
        max_silence=parse_duration(settings.notifications.max_silence, option="max_silence"),
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
        freezes=calendar,
    )


def _bot_token(settings: Settings) -> str | None:
    return settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None


def build_request_service(
    settings: Settings, *, metrics: Metrics | None = None
) -> tuple[RequestService, Callable[[], None]]:
    """The work side on its own, for the work process; returns it and what closes it."""
    engines = engine_directory(settings)  # the work process's own engines
    client = make_web_client(
        token=_bot_token(settings), base_url=settings.slack_api_url, metrics=metrics
    )
    backend = build_backend(
        settings=settings,
        engines=engines,
        default_engine=engines.default,
        client=client,
        metrics=metrics,
    )
    # Approved plans run here, under leases held by this process's approval service: it
    # renews them, or the front's sweep would report a plan that runs longer than
    # [approvals] interrupted_after as interrupted while it still runs.
    leases = lease_renewal(backend.approvals)
    leases.start()

    def close() -> None:
        leases.stop()
        engines.close()

    return backend.work, close


def build_notices(
    *,
    settings: Settings,
    engines: EngineDirectory,
    database: Engine,
    client: WebClient,
    clock: Clock = _now,
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
        lease=parse_duration(settings.notifications.failover, option="failover"),
        intents=SqlIntentLog(engine=database),
        silences=SqlSilenceStore(engine=database),
        quiet=quiet_hours(settings.notifications),
        held=SqlHeldNotices(engine=database),
        wall_clock=clock,
    )


@dataclass(frozen=True, kw_only=True)
class Front:
    """The process that faces Slack, built but not started: ``bot.server.SlackService``
    serves ``app`` and starts and stops the rest."""

    app: App
    client: WebClient
    probe: WebClient  # reaches Slack's API at start-up, without the client's retries
    ack_first: AckFirst
    metrics: PrometheusMetrics
    backend: Backend
    sweeper: ExpirySweeper
    head_publisher: AuditHeadPublisher
    notices: NoticeService | None
    health: HealthCheck
    home: HomeTab
    upgrade_recovery: Periodic  # finishes upgrades a stopped process left
    update_checks: UpdateCheckScheduler | None  # [upgrades] check_schedule


def build_front(
    *,
    settings: Settings,
    engines: EngineDirectory,
    default_engine: str,
    dispatch: Callable[[WorkOrder], None],
    clock: Clock = _now,
    rate_clock: Callable[[], float] = time.monotonic,
) -> Front:
    """The front process's parts: its backend, schedules, probes and metrics, and Slack's
    listeners and app, every way in handing its orders to ``dispatch``."""
    token = _bot_token(settings)
    # What Prometheus scrapes at /metrics; engine health and stream lag are read then.
    metrics = PrometheusMetrics(
        engines_up=lambda: {e.name: e.ok for e in health.check().engines},
        stream_lag=lambda: notices.lag() if notices is not None else {},
    )
    client = make_web_client(token=token, base_url=settings.slack_api_url, metrics=metrics)
    ack_first = AckFirst()
    backend = build_backend(
        settings=settings,
        engines=engines,
        default_engine=default_engine,
        client=client,
        # In one process, work also waits for acknowledgements in flight (up to 1 s).
        wait_for_acks=ack_first.wait_for_quiet if not settings.work_process else None,
        clock=clock,
        metrics=metrics,
    )
    audit_channel = settings.audit.channel

    def post_head(line: str) -> None:
        # Without [audit] channel the publisher's log line is all; a failure raises, so that
        # the same head is tried again next time.
        if audit_channel is not None:
            client.chat_postMessage(channel=audit_channel, text=line)

    head_publisher = AuditHeadPublisher(
        audit=backend.audit,
        publish=post_head,
        log=logging.getLogger("bot.audit"),
        interval=parse_duration(settings.audit.publish_every, option="publish_every"),
    )
    notices = build_notices(
        settings=settings,
        engines=engines,
        database=backend.database,
        client=client,
        clock=clock,
    )
    health = HealthCheck(
        engines=engines,
        default_engine=default_engine,
        streams=notices.streaming if notices is not None else dict,
    )
    home = HomeTab(
        client=client,
        rules=backend.rules,
        groups_of=backend.chat.groups_of,
        engines=engines,
        default_engine=default_engine,
        health=health,
        approvals=backend.approvals,
        approvers=", ".join(settings.approvals.approvers),
        housekeeping=backend.housekeeping.status,
        freezes=backend.freezes.outlook if backend.freezes.freezes else None,
        command=settings.slack_command,
        silences=SqlSilenceStore(engine=backend.database).active,
    )
    return Front(
        app=_build_app(
            settings=settings,
            client=client,
            backend=backend,
            engines=engines,
            home=home,
            dispatch=dispatch,
            clock=clock,
            rate_clock=rate_clock,
        ),
        client=client,
        probe=make_probe_client(token=token, base_url=settings.slack_api_url),
        ack_first=ack_first,
        metrics=metrics,
        backend=backend,
        sweeper=ExpirySweeper(service=backend.approvals, chat=backend.chat, audit=backend.audit),
        head_publisher=head_publisher,
        notices=notices,
        health=health,
        home=home,
        upgrade_recovery=Periodic(
            name="upgrade-recovery",
            # Looked for at start, then often enough that one is finished within about
            # recovery_after and a half.
            interval=min(UPGRADE_RECOVERY_SECONDS, settings.upgrades.recovery_after_seconds / 2),
            task=partial(
                recover_upgrades, engines, idle_for=settings.upgrades.recovery_after_seconds
            ),
        ),
        update_checks=build_update_checks(
            settings=settings,
            engines=engines,
            client=client,
            database=backend.database,
            freezes=backend.freezes,
        ),
    )


def _build_app(
    *,
    settings: Settings,
    client: WebClient,
    backend: Backend,
    engines: EngineDirectory,
    home: HomeTab,
    dispatch: Callable[[WorkOrder], None],
    clock: Clock,
    rate_clock: Callable[[], float],
) -> App:
    """Slack's listeners (typed, mentioned, clicked, the Home tab) in one Bolt app."""
    # One count per person for every way in (typed, mentioned, clicked), in this process.
    rate = RateLimiter(limit=settings.access.user_rate_limit, clock=rate_clock)

    def refusal(channel: str | None) -> str | None:
        return channel_refusal(channel, backend.rules)

    app_token = settings.slack_app_token
    secret = settings.slack_signing_secret
    try:
        return build_bolt_app(
            client=client,
            signing_secret=None if app_token else (secret.get_secret_value() if secret else None),
            command=settings.slack_command,
            handler=SlashCommandHandler(dispatch=dispatch, channel_refusal=refusal, rate=rate),
            buttons=ApprovalButtons(dispatch=dispatch, rate=rate),
            notice_buttons=NoticeButtons(
                dispatch=dispatch, engines=engines.names(), channel_refusal=refusal, rate=rate
            ),
            object_actions=ObjectActions(
                dispatch=dispatch, engines=engines.names(), channel_refusal=refusal, rate=rate
            ),
            messages=MessageCommands(
                dispatch=dispatch,
                client=client,
                seen=SqlSeenEvents(engine=backend.database),
                clock=clock,
                channel_refusal=refusal,
                rate=rate,
            ),
            home=home,
        )
    except BoltError as err:
        raise ConfigError(f"The Slack app could not be set up: {err}") from None


def build_dispatch(*, settings: Settings, backend: Backend, metrics: Metrics) -> Dispatch:
    """Where acknowledged orders run: a work process beside this one, which builds its own
    backend (``CHATOPS_WORK_PROCESS``, the default), or this process's threads. The people whose
    orders a stop or a dead work process cut short are told through the front's chat."""
    tell = partial(tell_lost, backend.chat)
    if not settings.work_process:
        return InProcess(work=backend.work, tell=tell)
    return WorkProcess(settings=settings, build=build_request_service, tell=tell, metrics=metrics)


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


def preflight(settings: Settings) -> list[tuple[str, Callable[[], object]]]:
    """What ``serve`` builds from the settings before it starts, one step per subject, each
    raising ``ConfigError``: ``config check`` runs them all and tells every failure."""
    engines = list(settings.engines) or [DEFAULT_ENGINE_NAME]

    def update_checks() -> None:
        if settings.upgrades.check_schedule and settings.notifications.channel is None:
            raise ConfigError(
                "[upgrades] check_schedule posts to [notifications] channel, which is not set."
            )

    return [
        ("Slack credentials", lambda: required_credentials(settings)),
        ("CHATOPS_AUDIT_KEY", lambda: audit_key(settings.chatops_audit_key)),
        ("access rules", lambda: configured_policy(settings)),
        ("engines", lambda: engine_directory(settings).close()),
        ("notifications", lambda: notification_rules(settings, engines)),
        ("update checks", update_checks),
    ]
