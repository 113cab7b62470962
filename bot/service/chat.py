"""The chat port: what the service needs from a chat platform, whatever the platform."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.core.approval_records import ApprovalRecord
from bot.core.command import ParsedCommand
from bot.core.pipeline import Reply
from bot.core.results import PullProgress
from bot.service.orders import ReplyTarget

if TYPE_CHECKING:  # the notices' types: a one-shot command (exec) need not import them
    from bot.core.notices.classify import Occurrence
    from bot.core.notices.incidents import IncidentView, MessageRef, SummaryView


@dataclass(frozen=True, kw_only=True, slots=True)
class Requester:
    """Who asked, where, and the adapter's handle to answer them (``reply_to``)."""

    channel_id: str
    user_id: str
    reply_to: ReplyTarget
    acknowledged: bool = True  # a "working on" note stands where the answer goes
    public: bool = False  # asked where everyone sees it (a mention): answers are public too


class ProgressSink(Protocol):
    """A live progress display (a pull's), that the result can replace."""

    def __call__(self, event: PullProgress) -> None: ...

    def finish(self, reply: Reply, *, credit: str | None) -> bool:
        """Show ``reply`` in place of the progress; False if there is none to replace."""
        ...

    def conclude(self, text: str) -> None:
        """End the progress with a plain line, where the result is told elsewhere (a request
        that waits for an approver is told to the requester alone)."""
        ...


class Chat(Protocol):
    """One chat platform, as the service uses it."""

    def answer(
        self,
        to: Requester,
        reply: Reply,
        *,
        in_channel: bool,
        replace: bool,
        credit: str | None = None,
    ) -> None:
        """Answer a request: for everyone in the channel (crediting ``credit``, a user) or
        only for the requester; ``replace``: in place of the acknowledgement."""
        ...

    def tell(self, to: Requester, text: str) -> None:
        """A short private note to the person (a refused click, a busy engine)."""
        ...

    def pull_progress(self, to: Requester, command: ParsedCommand) -> ProgressSink | None:
        """A progress display for a pull, or None where the channel cannot show one."""
        ...

    def post_request(self, record: ApprovalRecord, *, channel: str | None = None) -> str | None:
        """Show an approval request to its approvers; None when shown, else why not."""
        ...

    def update_request(self, record: ApprovalRecord) -> None: ...

    def tell_requester(self, record: ApprovalRecord, text: str) -> None: ...

    def announce(self, record: ApprovalRecord, text: str) -> None:
        """A notice about a request where its approvers look."""
        ...

    def groups_of(self, user: str) -> frozenset[str]:
        """The user groups (among those the rules name) ``user`` belongs to."""
        ...


class NoticeBoard(Protocol):
    """Where team notifications go, on one chat platform. Each call says whether it worked
    (failures are the adapter's to log); messages are referred to by ``MessageRef``."""

    def post_incident(self, channel: str, view: IncidentView) -> MessageRef | None: ...

    def post_summary(self, channel: str, view: SummaryView) -> MessageRef | None: ...

    def update(self, ref: MessageRef, view: IncidentView | SummaryView) -> bool: ...

    def post_thread(
        self, ref: MessageRef, occurrences: tuple[Occurrence, ...], more: int
    ) -> bool: ...

    def post_text(self, channel: str, text: str) -> bool: ...
