"""Grouping and pacing: a state machine checked with hypothesis, and a storm."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.core.notices.classify import Occurrence
from bot.core.notices.events import NoticeDetails
from bot.core.notices.incidents import (
    DETAILS_WAIT,
    POST_BURST,
    POSTS_PER_SECOND,
    UPDATE_BURST,
    UPDATES_PER_SECOND,
    Action,
    IncidentBook,
    IncidentView,
    MessageRef,
    PostIncident,
    PostSummary,
    PostText,
    PostThread,
    SummaryView,
    UpdateMessage,
)
from bot.core.notices.rules import NoticeKind, NotificationRules
from bot.core.notices.silences import Silence

RULES = NotificationRules(channel="C1")
SECOND = 1_000_000_000


def crash(container: str, at: float, code: int = 3) -> Occurrence:
    return Occurrence(
        kind=NoticeKind.CRASH,
        engine="prod",
        container_id=container,
        name=container,
        image="app",
        at_ns=int(at * SECOND),
        exit_code=code,
    )


@dataclass
class Slack:
    """What the board would have shown, for the checks."""

    posts: list[tuple[float, str]] = field(default_factory=list)  # (time, channel)
    updates: list[float] = field(default_factory=list)
    shown: dict[str, IncidentView | SummaryView] = field(default_factory=dict)
    counter: int = 0

    def perform(self, book: IncidentBook, now: float) -> list[Action]:
        actions = book.due(now)
        for action in actions:
            ref = None
            match action:
                case PostIncident() | PostSummary():
                    self.counter += 1
                    ref = MessageRef(channel=action.channel, ts=str(self.counter))
                    self.posts.append((now, action.channel))
                    self.shown[ref.ts] = action.view
                case UpdateMessage():
                    ref = action.ref
                    self.updates.append(now)
                    self.shown[ref.ts] = action.view
                case PostThread():
                    self.posts.append((now, action.ref.channel))
                case PostText():
                    self.posts.append((now, action.channel))
            book.posted(action, ref)
        return actions


def within_rate(times: list[float], rate: float, burst: float) -> bool:
    """No window of time holds more than ``burst + rate * length`` of ``times``."""
    ordered = sorted(times)
    for i, start in enumerate(ordered):
        for j in range(i, len(ordered)):
            if j - i + 1 > burst + rate * (ordered[j] - start) + 1e-9:
                return False
    return True


def test_a_storm_of_a_hundred_crashes_is_a_handful_of_messages() -> None:
    book, slack = IncidentBook(now=0.0), Slack()
    for n in range(100):
        book.add(crash(f"c{n}", 10 + n / 100), RULES, now=n / 100)
        if n % 20 == 0:
            slack.perform(book, n / 100 + DETAILS_WAIT)
    for tick in range(200):
        slack.perform(book, 2 + tick * 0.2)
    assert len(slack.posts) <= 5
    alone = [v for v in slack.shown.values() if isinstance(v, IncidentView)]
    summaries = [v for v in slack.shown.values() if isinstance(v, SummaryView)]
    assert len(summaries) == 1
    assert len(alone) + summaries[0].total == 100  # every crash is in one message or another


def test_repeats_update_one_message_and_go_to_its_thread() -> None:
    book, slack = IncidentBook(now=0.0), Slack()
    book.add(crash("web", 0), RULES, now=0.0)
    book.set_details(1, NoticeDetails(log_tail="boom"))
    slack.perform(book, 0.1)
    assert len(slack.posts) == 1
    for n in range(1, 6):
        book.add(crash("web", n, code=n), RULES, now=n)
        slack.perform(book, n + 0.5)
    view = slack.shown["1"]
    assert isinstance(view, IncidentView) and view.count == 6 and view.exit_code == 5
    assert len(slack.posts) == 1 + 5  # the message and five thread replies
    # After the window, the same trouble is a new message.
    book.add(crash("web", 5 + 601), RULES, now=700)
    slack.perform(book, 702)
    assert len(slack.posts) == 7


class BookMachine(RuleBasedStateMachine):
    """Any mix of occurrences and time: within the limits, and everything shown in the end."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.event_s = 0.0
        self.book = IncidentBook(now=0.0)
        self.slack = Slack()
        self.counts: dict[str, int] = {}

    @rule(
        container=st.sampled_from([f"c{n}" for n in range(12)]),
        channel=st.sampled_from(["C1", "C2"]),
        code=st.integers(1, 255),
    )
    def occur(self, container: str, channel: str, code: int) -> None:
        self.event_s += 0.5
        rules = NotificationRules(channel=channel)
        key = f"{channel}/{container}"
        occurrence = crash(key, self.event_s, code)
        opened = self.book.add(occurrence, rules, now=self.now)
        self.counts[key] = self.counts.get(key, 0) + 1
        if opened is not None and code % 2:
            self.book.set_details(opened, NoticeDetails(log_tail="x"))

    @rule(seconds=st.floats(0.05, 3.0))
    def wait(self, seconds: float) -> None:
        self.now += seconds
        self.slack.perform(self.book, self.now)

    @precondition(lambda self: self.counts)
    @rule()
    def settle(self) -> None:
        """Long enough without new trouble: every count is shown as it is."""
        for _ in range(400):
            self.now += 0.5
            self.slack.perform(self.book, self.now)
        for key, count in self.counts.items():
            shown = [
                v
                for v in self.slack.shown.values()
                if isinstance(v, IncidentView) and v.name == key
            ]
            in_summary = [
                i
                for v in self.slack.shown.values()
                if isinstance(v, SummaryView)
                for i in v.incidents
                if i.name == key
            ]
            best = max([v.count for v in shown + in_summary], default=0)
            assert best == count, (key, count, best)

    @invariant()
    def posts_within_slack_limits(self) -> None:
        for channel in ("C1", "C2"):
            times = [t for t, c in self.slack.posts if c == channel]
            assert within_rate(times, POSTS_PER_SECOND, POST_BURST)
        assert within_rate(self.slack.updates, UPDATES_PER_SECOND, UPDATE_BURST)


TestBookMachine = BookMachine.TestCase
TestBookMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


def test_a_post_that_failed_is_posted_again() -> None:
    book = IncidentBook(now=0.0)
    book.add(crash("web", 0), RULES, now=0.0)
    book.set_details(1, NoticeDetails())
    [first] = book.due(1.0)
    assert isinstance(first, PostIncident)
    book.posted(first, None)  # Slack refused it
    book.add(crash("web", 1), RULES, now=1.5)
    [again] = book.due(3.0)
    assert isinstance(again, PostIncident) and again.view.count == 2


def _silence(pattern: str = "web", *, ended: bool = False) -> Silence:
    made = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    return Silence(
        id=7,
        engine="prod",
        pattern=pattern,
        created_by="U0OPS",
        created_at=made,
        until=made + timedelta(hours=1),
        ended_at=made if ended else None,
    )


def test_a_silenced_container_is_not_told_while_another_is() -> None:
    book, slack = IncidentBook(now=0.0), Slack()
    assert book.add(crash("web", 0), RULES, now=0.0, silenced=_silence()) is None
    book.add(crash("api", 0), RULES, now=0.0)  # the control
    book.set_details(1, NoticeDetails())
    slack.perform(book, 1.5)
    assert [v.name for v in slack.shown.values() if isinstance(v, IncidentView)] == ["api"]
    assert len(slack.shown) == 1


def test_a_silenced_notice_is_updated_once_then_its_repeats_neither_post_nor_update() -> None:
    book, slack = IncidentBook(now=0.0), Slack()
    book.add(crash("web", 0), RULES, now=0.0)
    book.set_details(1, NoticeDetails())
    slack.perform(book, 0.1)
    web = _silence()
    silence_of = {("prod", "web"): web}
    assert book.mark_silenced(lambda engine, name, _: silence_of.get((engine, name))) == 1
    [update] = slack.perform(book, 10.0)
    assert isinstance(update, UpdateMessage) and isinstance(update.view, IncidentView)
    assert update.view.silenced == web  # "silenced by @x until 14:05"
    # Asked again with nothing new: nothing to change, nothing to do.
    assert book.mark_silenced(lambda engine, name, _: silence_of.get((engine, name))) == 0
    for n in range(1, 5):
        assert book.add(crash("web", n), RULES, now=10.0 + n, silenced=web) is None
        assert slack.perform(book, 20.0 + n) == []  # no update, no thread reply
    assert len(slack.posts) == 1
    # Unsilenced (or expired): the notice says so, and repeats are told again.
    assert book.mark_silenced(lambda engine, name, _: None) == 1
    [cleared] = slack.perform(book, 30.0)
    assert isinstance(cleared, UpdateMessage) and isinstance(cleared.view, IncidentView)
    assert cleared.view.silenced is None and cleared.view.count == 1
    book.add(crash("web", 40), RULES, now=40.0)
    actions = slack.perform(book, 41.0)
    counts = [
        a.view.count
        for a in actions
        if isinstance(a, UpdateMessage) and isinstance(a.view, IncidentView)
    ]
    assert counts == [2], actions


def test_a_notice_silenced_before_it_was_posted_never_is() -> None:
    book, slack = IncidentBook(now=0.0), Slack()
    book.add(crash("web", 0), RULES, now=0.0)  # waits for its log tail
    book.mark_silenced(lambda engine, name, _: _silence() if name == "web" else None)
    slack.perform(book, 5.0)
    assert slack.posts == []
