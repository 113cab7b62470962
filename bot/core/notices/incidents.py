"""Occurrences grouped into messages, and what to post or update now within Slack's limits.

- Repeats of one container's trouble within the group window are one *incident*: one message,
  updated (count, last time, last exit code), the repeats told in its thread.
- New messages in a channel are paced (``POSTS_PER_SECOND``, short bursts allowed); when more
  new incidents wait than that allows, one *summary* message takes them all, and takes the rest
  of the storm as updates until the channel has been quiet for ``STORM_QUIET`` seconds.
- Updates are paced across channels (``chat.update``'s tier: about 50 a minute); an update
  always shows the latest state, so waiting ones are merged, never queued.

Pure and single-threaded: the caller locks, passes the time, performs the actions it is given
and reports back with ``posted``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from bot.core.notices.classify import Occurrence
from bot.core.notices.events import NoticeDetails
from bot.core.notices.intents import Cause
from bot.core.notices.pacing import TokenBucket
from bot.core.notices.rules import NoticeKind, NotificationRules
from bot.core.notices.silences import Silence

POSTS_PER_SECOND = 1.0
POST_BURST = 3.0
UPDATES_PER_SECOND = 50 / 60
UPDATE_BURST = 5.0
DETAILS_WAIT = 1.0  # seconds a new incident waits for its details (log tail) before posting
STORM_AT = 4  # new incidents waiting at once in a channel that make a summary
STORM_QUIET = 60.0  # seconds without a new incident that end a storm
THREAD_LINES = 20  # repeats kept for one thread reply (the rest are counted)
SUMMARY_ROWS = 30  # containers named in a summary (the rest are counted)
SUMMARY_MEMBERS = 1_000  # incidents a summary keeps; past this they are only counted
MAX_INCIDENTS = 5_000


class Family(StrEnum):
    EXIT = "exit"
    HEALTH = "health"


_FAMILY = {
    NoticeKind.CRASH: Family.EXIT,
    NoticeKind.OOM: Family.EXIT,
    NoticeKind.RESTART_LOOP: Family.EXIT,
    NoticeKind.UNHEALTHY: Family.HEALTH,
}
# The headline of an incident is its most telling kind so far.
_RANK = {
    NoticeKind.CRASH: 0,
    NoticeKind.UNHEALTHY: 0,
    NoticeKind.OOM: 1,
    NoticeKind.RESTART_LOOP: 2,
}


@dataclass(frozen=True, kw_only=True, slots=True)
class MessageRef:
    channel: str
    ts: str


@dataclass(frozen=True, kw_only=True, slots=True)
class IncidentView:
    """An incident as shown: a frozen copy, rendered outside the caller's lock."""

    id: int
    engine: str
    container_id: str
    name: str
    image: str
    kind: NoticeKind
    count: int
    first_ns: int
    last_ns: int
    exit_code: int | None
    restarts: int
    details: NoticeDetails | None
    during: Cause | None = None  # what the bot was doing to the container then
    silenced: Silence | None = None  # the silence in force on it now


@dataclass(frozen=True, kw_only=True, slots=True)
class SummaryView:
    id: int
    channel: str
    incidents: tuple[IncidentView, ...]  # the first SUMMARY_ROWS
    total: int  # incidents in the summary
    events: int  # occurrences they stand for


@dataclass(frozen=True, kw_only=True, slots=True)
class PostIncident:
    channel: str
    view: IncidentView


@dataclass(frozen=True, kw_only=True, slots=True)
class PostSummary:
    channel: str
    view: SummaryView


@dataclass(frozen=True, kw_only=True, slots=True)
class UpdateMessage:
    ref: MessageRef
    view: IncidentView | SummaryView


@dataclass(frozen=True, kw_only=True, slots=True)
class PostThread:
    """Repeats told in the thread of the message that shows them."""

    ref: MessageRef
    occurrences: tuple[Occurrence, ...]
    more: int  # repeats left out


@dataclass(frozen=True, kw_only=True, slots=True)
class PostText:
    """A notice about an engine (unreachable, back)."""

    channel: str
    text: str


Action = PostIncident | PostSummary | UpdateMessage | PostThread | PostText


@dataclass(kw_only=True, slots=True)
class _Incident:
    id: int
    channel: str
    family: Family
    window_ns: int
    first: Occurrence
    kind: NoticeKind
    count: int = 1
    last_ns: int = 0
    exit_code: int | None = None
    restarts: int = 0
    details: NoticeDetails | None = None
    during: Cause | None = None
    silenced: Silence | None = None
    opened_at: float = 0.0
    summary: _Summary | None = None
    ref: MessageRef | None = None  # its own message
    version: int = 0
    shown_version: int = -1  # the version its message shows (or is being posted with)
    shown_at: float = 0.0  # when its message was last posted or updated
    in_flight: bool = False
    thread: list[Occurrence] = field(default_factory=list)
    thread_more: int = 0

    def view(self) -> IncidentView:
        first = self.first
        return IncidentView(
            id=self.id,
            engine=first.engine,
            container_id=first.container_id,
            name=first.name,
            image=first.image,
            kind=self.kind,
            count=self.count,
            first_ns=first.at_ns,
            last_ns=self.last_ns,
            exit_code=self.exit_code,
            restarts=self.restarts,
            details=self.details,
            during=self.during,
            silenced=self.silenced,
        )


@dataclass(kw_only=True, slots=True)
class _Summary:
    id: int
    channel: str
    members: list[_Incident] = field(default_factory=list)
    uncounted: int = 0  # members past SUMMARY_MEMBERS
    ref: MessageRef | None = None
    version: int = 0
    shown_version: int = -1
    shown_at: float = 0.0
    in_flight: bool = False
    last_join: float = 0.0
    thread: list[Occurrence] = field(default_factory=list)
    thread_more: int = 0

    def view(self) -> SummaryView:
        return SummaryView(
            id=self.id,
            channel=self.channel,
            incidents=tuple(member.view() for member in self.members[:SUMMARY_ROWS]),
            total=len(self.members) + self.uncounted,
            events=sum(member.count for member in self.members) + self.uncounted,
        )


@dataclass(kw_only=True, slots=True)
class _Channel:
    posts: TokenBucket
    waiting: list[_Incident] = field(default_factory=list)  # new, not yet posted
    texts: list[str] = field(default_factory=list)
    summary: _Summary | None = None  # the storm under way


class IncidentBook:
    """Every open incident, and the pacing of their messages."""

    def __init__(self, *, now: float) -> None:
        self._ids = itertools.count(1)
        self._open: dict[tuple[str, str, Family], _Incident] = {}
        self._by_id: dict[int, _Incident] = {}
        self._summaries: dict[int, _Summary] = {}
        self._channels: dict[str, _Channel] = {}
        self._updates = TokenBucket(rate=UPDATES_PER_SECOND, burst=UPDATE_BURST, now=now)
        self._latest_ns = 0

    @property
    def open_incidents(self) -> int:
        return len(self._open)

    def add(
        self,
        occurrence: Occurrence,
        rules: NotificationRules,
        *,
        now: float,
        silenced: Silence | None = None,
    ) -> int | None:
        """Record ``occurrence``; returns the ID of the incident it opened, which waits up to
        ``DETAILS_WAIT`` for ``set_details`` before it is posted. An occurrence ``silenced``
        (the silence covering its container then) is neither posted nor shown: no message,
        no update, no thread reply."""
        self._latest_ns = max(self._latest_ns, occurrence.at_ns)
        if silenced is not None:
            return None
        family = _FAMILY[occurrence.kind]
        key = (occurrence.engine, occurrence.container_id, family)
        incident = self._open.get(key)
        if incident is not None and occurrence.at_ns <= incident.last_ns + incident.window_ns:
            incident.silenced = None  # told again: whatever silenced it has ended
            self._repeat(incident, occurrence)
            return None
        if occurrence.kind not in rules.kinds:
            return None
        incident = _Incident(
            id=next(self._ids),
            channel=rules.channel,
            family=family,
            window_ns=int(rules.group_window.total_seconds() * 1e9),
            first=occurrence,
            kind=occurrence.kind,
            last_ns=occurrence.at_ns,
            exit_code=occurrence.exit_code,
            restarts=occurrence.restarts,
            during=occurrence.during,
            opened_at=now,
        )
        self._forget(self._open.get(key))
        self._open[key] = incident
        self._by_id[incident.id] = incident
        self._channel(rules.channel).waiting.append(incident)
        self._forget_closed()
        return incident.id

    def mark_silenced(self, silence_of: Callable[[str, str, str], Silence | None]) -> int:
        """Show on each open incident the silence now in force on its container
        (``silence_of(engine, name, container_id)``), or that none is any more: its message
        is updated ("silenced by @dana until 14:05"); one not posted yet never is. Returns
        how many incidents changed."""
        changed = 0
        for incident in list(self._open.values()):
            first = incident.first
            silence = silence_of(first.engine, first.name, first.container_id)
            if silence == incident.silenced:
                continue
            changed += 1
            incident.silenced = silence
            incident.version += 1
            if incident.summary is not None:
                incident.summary.version += 1
            if silence is not None:  # silenced before it was told: it never is
                channel = self._channel(incident.channel)
                channel.waiting = [w for w in channel.waiting if w is not incident]
        return changed

    def add_text(self, channel: str, text: str) -> None:
        self._channel(channel).texts.append(text)

    def set_details(self, incident_id: int, details: NoticeDetails) -> None:
        incident = self._by_id.get(incident_id)
        if incident is not None:
            incident.details = details
            incident.version += 1
            if incident.summary is not None:
                incident.summary.version += 1

    def due(self, now: float) -> list[Action]:
        """What to post or update now, within the limits."""
        actions: list[Action] = []
        for name, channel in self._channels.items():
            self._new_messages(name, channel, now, actions)
        stale = [
            message
            for message in self._messages()
            if message.ref is not None
            and not message.in_flight
            and message.shown_version != message.version
        ]
        # The least recently refreshed first, so that no message waits behind busier ones.
        for message in sorted(stale, key=lambda message: message.shown_at):
            if message.ref is None or not self._updates.take(now):
                break
            message.shown_version = message.version
            message.shown_at = now
            message.in_flight = True
            actions.append(UpdateMessage(ref=message.ref, view=message.view()))
        for message in self._messages():
            if message.ref is None or not message.thread:
                continue
            if not self._channel(message.ref.channel).posts.take(now):
                continue
            actions.append(
                PostThread(
                    ref=message.ref, occurrences=tuple(message.thread), more=message.thread_more
                )
            )
            message.thread, message.thread_more = [], 0
        return actions

    def posted(self, action: Action, ref: MessageRef | None) -> None:
        """Report what became of an action: ``ref`` of the message it posted (None: failed)."""
        match action:
            case PostIncident():
                incident = self._find(action.view.id)
                if incident is not None:
                    incident.in_flight = False
                    incident.ref = ref or incident.ref
                    if incident.ref is None and incident.summary is None:
                        # Not shown: it waits again (first in line), paced like any post.
                        self._channel(incident.channel).waiting.insert(0, incident)
            case PostSummary():
                summary = self._summaries.get(action.view.id)
                if summary is not None:
                    summary.in_flight = False
                    summary.ref = ref or summary.ref
            case UpdateMessage():
                message = self._find_message(action.view)
                if message is not None:
                    message.in_flight = False
                    if ref is None:
                        message.shown_version = -1  # try again
            case PostThread() | PostText():
                pass

    # -- inside -------------------------------------------------------------------------

    def _channel(self, name: str) -> _Channel:
        channel = self._channels.get(name)
        if channel is None:
            bucket = TokenBucket(rate=POSTS_PER_SECOND, burst=POST_BURST, now=0.0)
            channel = self._channels[name] = _Channel(posts=bucket)
        return channel

    def _repeat(self, incident: _Incident, occurrence: Occurrence) -> None:
        incident.count += 1
        incident.last_ns = max(incident.last_ns, occurrence.at_ns)
        if occurrence.exit_code is not None:
            incident.exit_code = occurrence.exit_code
        incident.restarts = max(incident.restarts, occurrence.restarts)
        incident.during = occurrence.during or incident.during
        if _RANK[occurrence.kind] >= _RANK[incident.kind]:
            incident.kind = occurrence.kind
        incident.version += 1
        message: _Incident | _Summary = incident.summary or incident
        if message is incident and incident.ref is None and not incident.in_flight:
            return  # not posted yet: the post will show it
        if len(message.thread) < THREAD_LINES:
            message.thread.append(occurrence)
        else:
            message.thread_more += 1
        if incident.summary is not None:
            incident.summary.version += 1

    def _new_messages(self, name: str, channel: _Channel, now: float, out: list[Action]) -> None:
        for summary in self._summaries.values():
            # A summary whose post failed is posted again (it stands for all its members).
            if summary.channel == name and summary.ref is None and not summary.in_flight:
                if not channel.posts.take(now):
                    return
                summary.in_flight = True
                summary.shown_version, summary.shown_at = summary.version, now
                out.append(PostSummary(channel=name, view=summary.view()))
        storm = channel.summary
        if storm is not None and now - storm.last_join > STORM_QUIET:
            storm = channel.summary = None
        while channel.texts and channel.posts.take(now):
            out.append(PostText(channel=name, text=channel.texts.pop(0)))
        if not channel.waiting:
            return
        if storm is None and len(channel.waiting) >= STORM_AT and channel.posts.take(now):
            storm = channel.summary = _Summary(id=next(self._ids), channel=name, last_join=now)
            self._summaries[storm.id] = storm
            storm.in_flight = True
            self._join(storm, channel.waiting, now)
            channel.waiting = []
            storm.shown_version = storm.version
            out.append(PostSummary(channel=name, view=storm.view()))
            return
        if storm is not None:
            self._join(storm, channel.waiting, now)
            channel.waiting = []
            return
        while channel.waiting and len(channel.waiting) < STORM_AT:
            incident = channel.waiting[0]
            if incident.details is None and now - incident.opened_at < DETAILS_WAIT:
                return
            if not channel.posts.take(now):
                return
            channel.waiting.pop(0)
            incident.in_flight = True
            incident.shown_version = incident.version
            out.append(PostIncident(channel=name, view=incident.view()))

    def _join(self, summary: _Summary, incidents: list[_Incident], now: float) -> None:
        for incident in incidents:
            incident.summary = summary
            if len(summary.members) < SUMMARY_MEMBERS:
                summary.members.append(incident)
            else:
                summary.uncounted += 1
        summary.last_join = now
        summary.version += 1

    def _messages(self) -> list[_Incident | _Summary]:
        incidents: list[_Incident | _Summary] = [
            incident for incident in self._open.values() if incident.summary is None
        ]
        return incidents + list(self._summaries.values())

    def _find(self, incident_id: int) -> _Incident | None:
        return self._by_id.get(incident_id)

    def _find_message(self, view: IncidentView | SummaryView) -> _Incident | _Summary | None:
        if isinstance(view, SummaryView):
            return self._summaries.get(view.id)
        return self._find(view.id)

    def _forget(self, incident: _Incident | None) -> None:
        if incident is None:
            return
        self._by_id.pop(incident.id, None)
        summary = incident.summary
        if (
            summary is not None
            and not summary.in_flight
            and self._channel(summary.channel).summary is not summary
            and all(member.id not in self._by_id for member in summary.members)
        ):
            self._summaries.pop(summary.id, None)

    def _forget_closed(self) -> None:
        """Drop incidents whose window has passed (by the newest event seen) and that have
        nothing left to show; past ``MAX_INCIDENTS``, the oldest go regardless."""
        if len(self._open) <= MAX_INCIDENTS // 2:
            return
        for key, incident in list(self._open.items()):
            closed = incident.last_ns + incident.window_ns < self._latest_ns
            settled = incident.ref is not None and not incident.in_flight and not incident.thread
            if (closed and settled) or len(self._open) > MAX_INCIDENTS:
                del self._open[key]
                self._forget(incident)
