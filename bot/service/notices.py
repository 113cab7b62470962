"""Team notifications: each engine's event stream, watched, grouped and told, chat-neutral.

One ``EngineWatcher`` thread per engine with notification rules streams its container events
(resuming from the last event handled, with ``since=``, after a dropped connection, an engine
restart or a restart of the bot), classifies them (``bot.core.notices.classify``) and records
what matters in the ``IncidentBook``. One flusher thread turns the book into messages within
the chat's rate limits (``NoticeBoard``). Which process streams an engine is a lease in
``StreamCursors``: with several processes on one database, exactly one streams each engine.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, assert_never

from bot.core.notices.classify import Classifier, Occurrence
from bot.core.notices.events import ContainerBrief, ContainerEvent, EventSource, EventStream
from bot.core.notices.incidents import (
    Action,
    IncidentBook,
    MessageRef,
    PostIncident,
    PostSummary,
    PostText,
    PostThread,
    UpdateMessage,
)
from bot.core.notices.intents import Cause, Intent, covering
from bot.core.notices.quiet_hours import (
    HeldNotices,
    InMemoryHeldNotices,
    QuietHours,
    digest_text,
)
from bot.core.notices.rules import NoticeKind, NotificationRules
from bot.core.notices.silences import Silence, silencing
from bot.errors import EngineError
from bot.service.chat import NoticeBoard

log = logging.getLogger(__name__)

LOG_LINES = 10  # log lines shown in a notice
MAX_REPLAY = timedelta(hours=1)  # after a long outage of the bot, older events are not told
# How long a process that stopped renewing keeps an engine's stream before another takes it
# over ([notifications] failover); the lease is renewed, and a free one asked for, three
# times per lease.
LEASE = timedelta(seconds=30)
CURSOR_EVERY = 1.0  # seconds between writes of the resume point
FLUSH_EVERY = 0.2  # seconds
HELD_CHECK_EVERY = 2.0  # seconds between looks for notices held during quiet hours, after them
RECONNECT_PAUSE = 0.5  # seconds before reconnecting a stream that ended
STOPPED_LATELY = 200  # containers remembered as stopped lately
SHUTDOWN_SPAN = timedelta(seconds=30)  # stops this close before a lost stream are told "back"
DETAILS_WAIT = 1.0  # seconds a new notice waits for its log tail before it is posted anyway


class StreamCursors(Protocol):
    """Resume points and ownership of the engines' streams (``bot.state.event_streams``)."""

    def claim(self, engine: str, *, owner: str, now: datetime, lease: timedelta) -> bool: ...

    def release(self, engine: str, *, owner: str) -> None: ...

    def cursor(self, engine: str) -> int | None: ...

    def advance(self, engine: str, *, owner: str, cursor_ns: int) -> None: ...


class IntentReader(Protocol):
    """What the bot was doing to containers (``bot.state.intents``, written by any replica)."""

    def around(self, engine: str, *, at: datetime) -> list[Intent]: ...


class SilenceReader(Protocol):
    """Silenced containers (``bot.state.silences``, written by any replica)."""

    def active(self, *, engine: str | None = None, at: datetime | None = None) -> list[Silence]: ...


def process_owner() -> str:
    """This process's name as a stream owner: host, PID and a random part."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(kw_only=True)
class _Shared:
    """What the watchers and the flusher share, under ``lock``."""

    book: IncidentBook
    lock: threading.Lock
    monotonic: Callable[[], float]
    details: ThreadPoolExecutor
    # [notifications] quiet_hours, and where what waits in them is kept.
    quiet: QuietHours | None = None
    held: HeldNotices = field(default_factory=InMemoryHeldNotices)


class EngineWatcher:
    """One engine's stream: connect, replay the gap, compare, stream live, reconnect."""

    def __init__(
        self,
        *,
        source: EventSource,
        rules: NotificationRules,
        shared: _Shared,
        cursors: StreamCursors,
        owner: str,
        stopping: threading.Event,
        wall_clock: Callable[[], datetime],
        lease: timedelta = LEASE,
        claim_every: float | None = None,
        intents: IntentReader | None = None,
        silences: SilenceReader | None = None,
    ) -> None:
        self._source = source
        self._intents = intents
        self._silences = silences
        self._rules = rules
        self._shared = shared
        self._cursors = cursors
        self._owner = owner
        self._stopping = stopping
        self._wall_clock = wall_clock
        self.last_lag: float | None = None  # seconds from the last event to its handling
        self._lease = lease
        self._claim_every = lease.total_seconds() / 3 if claim_every is None else claim_every
        self._classifier = Classifier(engine=source.name, rules=rules)
        self._stream: EventStream | None = None
        self._stream_lock = threading.Lock()
        self._cursor_ns: int | None = None
        self._saved_ns: int | None = None
        self._seen_at_cursor: set[tuple[int, str, str, str]] = set()
        self._running: dict[str, ContainerBrief] | None = None  # None: not listed yet
        self._down_since: datetime | None = None
        # Containers that stopped lately, with when: an engine that shuts down stops its
        # containers just before the stream ends, and "back" must still name them.
        self._stopped_lately: OrderedDict[str, tuple[ContainerBrief, int]] = OrderedDict()
        self._lost_at_ns: int | None = None
        self._owned = False
        self.connected = threading.Event()  # streaming live now (tests and health wait on it)
        self._thread = threading.Thread(
            target=self._loop, name=f"events-{source.name}", daemon=True
        )

    @property
    def engine(self) -> str:
        return self._source.name

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread.ident is not None:  # a stop during start-up: it never started
            self._thread.join(timeout)

    def cut(self) -> None:
        """Close the live stream (stop, or a lost lease); the loop decides what next."""
        self.connected.clear()
        with self._stream_lock:
            stream = self._stream
        if stream is not None:
            stream.close()

    def renew(self) -> None:
        """Renew the lease; if another process holds it now, stop streaming."""
        if not self._owned:
            return
        if not self._cursors.claim(
            self.engine, owner=self._owner, now=self._wall_clock(), lease=self._lease
        ):
            log.warning("events of %s are now streamed by another process", self.engine)
            self._owned = False
            self.cut()

    def save_cursor(self) -> None:
        cursor = self._cursor_ns
        if self._owned and cursor is not None and cursor != self._saved_ns:
            self._cursors.advance(self.engine, owner=self._owner, cursor_ns=cursor)
            self._saved_ns = cursor

    def release(self) -> None:
        if self._owned:
            self.save_cursor()
            self._cursors.release(self.engine, owner=self._owner)
            self._owned = False

    # -- the loop ---------------------------------------------------------------------------

    def _loop(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            try:
                if not self._owned:
                    self._owned = self._cursors.claim(
                        self.engine,
                        owner=self._owner,
                        now=self._wall_clock(),
                        lease=self._lease,
                    )
                    if not self._owned:  # another process streams it: ask again later
                        self._stopping.wait(self._claim_every)
                        continue
                    saved = self._saved_ns = self._cursors.cursor(self.engine)
                    # The event at the saved point was handled (events are nanoseconds apart).
                    self._cursor_ns = saved + 1 if saved is not None else None
                    self._seen_at_cursor = set()
                self._stream_once()
                delay = 1.0
                # The stream ended or broke: reconnect (a failed reconnect is "down"), soon
                # but never in a tight loop; the replay covers the gap.
                self._stopping.wait(RECONNECT_PAUSE)
            except EngineError as err:
                self.connected.clear()
                self._went_down(err)
                self._stopping.wait(delay)
                delay = min(delay * 2, 30.0)
            except Exception:  # never die silently: say so, and try again
                self.connected.clear()
                log.exception("the event stream of %s failed", self.engine)
                self._stopping.wait(delay)
                delay = min(delay * 2, 30.0)

    def _stream_once(self) -> None:
        now_ns = self._source.engine_time_ns()
        if self._cursor_ns is not None and self._cursor_ns > now_ns + 1_000_000_000:
            # The engine's clock went back (or it is another host now): its events would all
            # look older than the resume point and be dropped.
            log.warning(
                "the clock of engine %s is behind the last event seen; resuming from "
                "its present time",
                self.engine,
            )
            self._cursor_ns, self._seen_at_cursor = now_ns, set()
        since = self._cursor_ns
        floor = now_ns - int(MAX_REPLAY.total_seconds() * 1e9)
        if since is not None and since < now_ns:
            # The gap since the last event handled: told as it happened, not repeated.
            for event in self._source.events(since_ns=max(since, floor), until_ns=now_ns):
                self._handle(event)
        current = self._source.containers()
        self._came_back(current)
        self._running = {c.container_id: c for c in current if c.running}
        if self._cursor_ns is None or self._cursor_ns < now_ns:
            self._cursor_ns, self._seen_at_cursor = now_ns, set()
        if self._saved_ns is None:
            # The first resume point is stored before the stream starts: a process killed
            # before the periodic save would otherwise leave none, and whoever takes the
            # stream over would start from its own present and miss what happened between.
            self.save_cursor()
        stream = self._source.events(since_ns=self._cursor_ns)
        with self._stream_lock:
            self._stream = stream
        if self._stopping.is_set() or not self._owned:
            stream.close()
            return
        self.connected.set()
        try:
            for event in stream:
                self._handle(event)
        except EngineError as err:
            # A broken stream is not an unreachable engine: only a failed reconnect is.
            log.info("the event stream of %s broke (%s); reconnecting", self.engine, err)
        finally:
            self.connected.clear()
            with self._stream_lock:
                self._stream = None

    def _handle(self, event: ContainerEvent) -> None:
        self.last_lag = max(0.0, self._wall_clock().timestamp() - event.time_ns / 1e9)
        cursor = self._cursor_ns or 0
        seen = event.time_ns == cursor and event.key in self._seen_at_cursor
        if event.time_ns < cursor or seen:
            return  # delivered before (a replay overlaps the last second seen)
        if event.time_ns > cursor:
            self._cursor_ns, self._seen_at_cursor = event.time_ns, set()
        self._seen_at_cursor.add(event.key)
        self._track_running(event)
        occurrence = self._classifier.observe(event, self._cause(event))
        if occurrence is None:
            return
        self._record(occurrence)

    def _cause(self, event: ContainerEvent) -> Cause | None:
        """What the bot was doing to the container when ``event`` happened, for the events
        whose meaning depends on it (asked at the event, so any replica's intent counts)."""
        notable = event.action == "die" or event.health == "unhealthy"
        if self._intents is None or not notable:
            return None
        at = datetime.fromtimestamp(event.time_ns / 1e9, UTC)
        try:
            intents = self._intents.around(self.engine, at=at)
        except Exception:  # unknown, so told: a missed crash is worse than a needless notice
            log.exception("could not read the bot's intents on %s", self.engine)
            return None
        return covering(intents, container_id=event.container_id, name=event.name, at=at)

    def _silenced(self, occurrence: Occurrence) -> Silence | None:
        """The silence covering the container when ``occurrence`` happened (asked at the
        occurrence, so a silence made in any replica a moment ago counts)."""
        if self._silences is None:
            return None
        at = datetime.fromtimestamp(occurrence.at_ns / 1e9, UTC)
        try:
            found = self._silences.active(engine=self.engine, at=at)
        except Exception:  # unknown, so told: a missed crash is worse than a needless notice
            log.exception("could not read the silences on %s", self.engine)
            return None
        return silencing(
            found,
            engine=self.engine,
            name=occurrence.name,
            container_id=occurrence.container_id,
            at=at,
        )

    def _record(self, occurrence: Occurrence) -> None:
        shared = self._shared
        silenced = self._silenced(occurrence)
        # Quiet hours are about when the team is told: this host's clock, not the event's.
        at = self._wall_clock()
        quiet = shared.quiet
        wanted = occurrence.kind in self._rules.kinds  # a kind the channel does not take waits not
        if quiet is not None and wanted and quiet.holds_back(occurrence.kind, at):
            if silenced is not None:
                return  # a silenced container stays out of the digest too
            try:
                shared.held.hold(channel=self._rules.channel, occurrence=occurrence, at=at)
                return
            except Exception:  # told now rather than lost: a notice must reach a person
                log.exception("could not hold a notice for quiet hours; telling it now")
        with shared.lock:
            opened = shared.book.add(
                occurrence, self._rules, now=shared.monotonic(), silenced=silenced
            )
        if opened is not None:
            shared.details.submit(self._fetch_details, opened, occurrence.container_id)

    def _fetch_details(self, incident_id: int, container_id: str) -> None:
        try:
            details = self._source.notice_details(container_id, lines=LOG_LINES)
        except EngineError as err:
            log.warning("no details for a notice about %s: %s", container_id[:12], err)
            return
        with self._shared.lock:
            self._shared.book.set_details(incident_id, details)

    def _track_running(self, event: ContainerEvent) -> None:
        if event.action == "start" and self._running is not None:
            self._running[event.container_id] = ContainerBrief(
                container_id=event.container_id,
                name=event.name,
                image=event.image,
                running=True,
                status="running",
                labels=event.labels,
            )
        elif event.action in ("die", "destroy") and self._running is not None:
            before = self._running.pop(event.container_id, None)
            if before is not None:
                self._stopped_lately[event.container_id] = (before, event.time_ns)
                if len(self._stopped_lately) > STOPPED_LATELY:
                    self._stopped_lately.popitem(last=False)

    # -- unreachable and back ---------------------------------------------------------------

    def _went_down(self, err: EngineError) -> None:
        if self._down_since is not None:
            return
        self._down_since = self._wall_clock()
        self._lost_at_ns = self._cursor_ns
        log.warning("engine %s unreachable: %s", self.engine, err)
        self._tell(
            f"Engine `{self.engine}` is unreachable: {err} "
            "Events on it will be told when it is back."
        )

    def _came_back(self, current: list[ContainerBrief]) -> None:
        if self._down_since is None:
            return
        away = self._wall_clock() - self._down_since
        self._down_since = None
        seconds = int(away.total_seconds())
        text = f"Engine `{self.engine}` is reachable again (unreachable for {seconds} s)."
        if self._running is None:  # it was unreachable from the start: nothing to compare
            self._tell(text)
            return
        now = {c.container_id: c for c in current}
        before_loss = dict(self._running)
        if self._lost_at_ns is not None:
            since = self._lost_at_ns - int(SHUTDOWN_SPAN.total_seconds() * 1e9)
            for container_id, (brief, stopped_ns) in self._stopped_lately.items():
                # Stops seen after the loss (replayed) were told as they happened.
                if since <= stopped_ns <= self._lost_at_ns:
                    before_loss.setdefault(container_id, brief)
        stopped = []
        for container_id, before in before_loss.items():
            after = now.get(container_id)
            if after is not None and after.running:
                continue
            if self._rules.ignores(name=before.name, image=before.image, labels=before.labels):
                continue
            state = after.status if after is not None else "removed"
            stopped.append(f"• `{before.name}` ({before.image}): {state}")
        if stopped:
            text += " No longer running since then:\n" + "\n".join(stopped[:20])
            if len(stopped) > 20:
                text += f"\n…and {len(stopped) - 20} more"
        else:
            text += " Nothing that was running stopped meanwhile."
        self._tell(text)

    def _tell(self, text: str) -> None:
        if NoticeKind.ENGINE not in self._rules.kinds:
            return
        with self._shared.lock:
            self._shared.book.add_text(self._rules.channel, text)


class NoticeService:
    """Watches the engines that have notification rules and tells their channels."""

    def __init__(
        self,
        *,
        sources: Mapping[str, EventSource],
        rules: Mapping[str, NotificationRules],
        board: NoticeBoard,
        cursors: StreamCursors,
        owner: str | None = None,
        monotonic: Callable[[], float] | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        lease: timedelta = LEASE,
        claim_every: float | None = None,
        intents: IntentReader | None = None,
        silences: SilenceReader | None = None,
        quiet: QuietHours | None = None,
        held: HeldNotices | None = None,
    ) -> None:
        """``lease``: how long an engine's stream stays with a process that stopped renewing;
        ``claim_every``: seconds between attempts to take an engine another process streams
        (default: a third of the lease); ``intents``: what the bot is doing to containers
        (what it causes is not told as a crash); ``silences``: containers whose trouble is
        not told (read at each occurrence, and every second for the open notices);
        ``quiet``: quiet hours, whose notices of the kinds it holds wait for one digest, kept
        in ``held`` (the database: a restart loses none; default: this process)."""
        clock = monotonic or time.monotonic
        self._board = board
        self._silences = silences
        self._wall_clock = wall_clock
        self._stopping = threading.Event()
        self._shared = _Shared(
            book=IncidentBook(now=clock()),
            lock=threading.Lock(),
            monotonic=clock,
            details=ThreadPoolExecutor(max_workers=2, thread_name_prefix="notice-details"),
            quiet=quiet,
            held=held or InMemoryHeldNotices(),
        )
        self._held_checked = -HELD_CHECK_EVERY
        # Look in the store once after start and once after each quiet period (until a look
        # succeeds): held notices exist only from quiet hours, not every flush of the day.
        self._look_for_held = True
        owner = owner or process_owner()
        self.watchers = [
            EngineWatcher(
                source=sources[name],
                rules=rule,
                shared=self._shared,
                cursors=cursors,
                owner=owner,
                stopping=self._stopping,
                wall_clock=wall_clock,
                lease=lease,
                claim_every=claim_every,
                intents=intents,
                silences=silences,
            )
            for name, rule in rules.items()
        ]
        self._renew_every = lease.total_seconds() / 3
        self._flusher = threading.Thread(target=self._flush_loop, name="notices", daemon=True)
        self._leases = threading.Thread(target=self._lease_loop, name="notice-leases", daemon=True)

    @property
    def book(self) -> IncidentBook:
        return self._shared.book

    def streaming(self) -> dict[str, bool]:
        """Each watched engine: is its live stream connected now?"""
        return {watcher.engine: watcher.connected.is_set() for watcher in self.watchers}

    def lag(self) -> dict[str, float]:
        """Each watched engine with an event handled: seconds from its last event to its
        handling (the engine's clock against this host's)."""
        return {w.engine: w.last_lag for w in self.watchers if w.last_lag is not None}

    def start(self) -> None:
        for watcher in self.watchers:
            watcher.start()
        if self.watchers:
            self._flusher.start()
            self._leases.start()

    def stop(self, *, within: float = 5.0) -> None:
        """Stop watching, then release every stream (its resume point saved, its lease given up
        for another replica): the threads get ``within`` seconds in all, not each, so that the
        releases happen inside the service's drain even when an engine hangs a watcher."""
        self._stopping.set()
        for watcher in self.watchers:
            watcher.cut()
        until = time.monotonic() + within
        for watcher in self.watchers:
            watcher.join(timeout=max(0.0, until - time.monotonic()))
        for thread in (self._flusher, self._leases):
            if thread.is_alive():
                thread.join(timeout=max(0.0, until - time.monotonic()))
        self._shared.details.shutdown(wait=False, cancel_futures=True)
        for watcher in self.watchers:
            try:
                watcher.release()
            except Exception:
                log.exception("could not release the event stream of %s", watcher.engine)

    def flush(self) -> int:
        """Post and update what is due now; returns how many actions were taken."""
        shared = self._shared
        digests = self._digests_due()
        with shared.lock:
            for channel, text in digests:  # paced and posted like any text
                shared.book.add_text(channel, text)
            actions = shared.book.due(shared.monotonic())
        for action in actions:
            ref = self._perform(action)
            with shared.lock:
                shared.book.posted(action, ref)
        return len(actions)

    def _digests_due(self) -> list[tuple[str, str]]:
        """Quiet hours over: each channel's digest of what waited (taken from the store, so
        one replica posts it). Looked for once after start and once after each quiet period
        (a failed look is tried again every HELD_CHECK_EVERY seconds)."""
        shared = self._shared
        quiet = shared.quiet
        if quiet is None:
            return []
        if quiet.holds(self._wall_clock()):
            self._look_for_held = True
            return []
        moment = shared.monotonic()
        if not self._look_for_held or moment - self._held_checked < HELD_CHECK_EVERY:
            return []
        self._held_checked = moment
        digests = []
        try:
            for channel in shared.held.channels():
                counts = shared.held.take(channel)
                if counts:
                    digests.append((channel, digest_text(quiet, counts)))
        except Exception:
            log.exception("could not read the notices held during quiet hours")
            return digests
        self._look_for_held = False
        return digests

    def refresh_silences(self) -> int:
        """Show the silences in force now on the open notices (made or ended in any
        replica); returns how many notices changed."""
        if self._silences is None:
            return 0
        now = self._wall_clock()
        found = self._silences.active(at=now)

        def silence_of(engine: str, name: str, container_id: str) -> Silence | None:
            return silencing(found, engine=engine, name=name, container_id=container_id, at=now)

        with self._shared.lock:
            return self._shared.book.mark_silenced(silence_of)

    def _perform(self, action: Action) -> MessageRef | None:
        board = self._board
        try:
            match action:
                case PostIncident():
                    return board.post_incident(action.channel, action.view)
                case PostSummary():
                    return board.post_summary(action.channel, action.view)
                case UpdateMessage():
                    return action.ref if board.update(action.ref, action.view) else None
                case PostThread():
                    board.post_thread(action.ref, action.occurrences, action.more)
                    return action.ref
                case PostText():
                    board.post_text(action.channel, action.text)
                    return None
                case _:
                    assert_never(action)
        except Exception:  # the chat adapter logs its own failures; this is a bug
            log.exception("could not deliver a notification")
            return None

    def _flush_loop(self) -> None:
        while not self._stopping.wait(FLUSH_EVERY):
            try:
                self.flush()
            except Exception:
                log.exception("notifications: flushing failed")

    def _lease_loop(self) -> None:
        """Resume points and leases on a thread of their own: a slow Slack call (429s are
        waited out) must never let a lease lapse."""
        last_renew = time.monotonic()
        while not self._stopping.wait(CURSOR_EVERY):
            try:
                self.refresh_silences()
            except Exception:
                log.exception("notifications: reading the silences failed")
            try:
                for watcher in self.watchers:
                    watcher.save_cursor()
                if time.monotonic() - last_renew >= self._renew_every:
                    last_renew = time.monotonic()
                    for watcher in self.watchers:
                        watcher.renew()
            except Exception:
                log.exception("notifications: saving the resume points failed")
