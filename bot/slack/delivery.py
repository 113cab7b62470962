"""Getting rendered messages to people: response_url, channel posts, files, pull progress."""

from __future__ import annotations

import contextvars
import logging
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core.pipeline import Reply
from bot.core.results import CleanupReport, PullProgress
from bot.render.progress import PullTracker, Throttle
from bot.slack.render.block_kit import code, context, escape, section
from bot.slack.render.replies import SlackFile, SlackMessage, render_slack

log = logging.getLogger(__name__)


class Respond(Protocol):
    """Bolt's ``respond``: posts to the request's response_url."""

    def __call__(self, **kwargs: Any) -> Any: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class Conversation:
    """Where a request came from and how to answer it."""

    channel_id: str
    user_id: str
    respond: Respond
    thread_ts: str | None = None  # a command typed in a thread is answered there


NOT_A_MEMBER = ("not_in_channel", "channel_not_found")


def not_a_member(channel: str) -> str:
    """What a person can do when the bot may not post in ``channel``."""
    return (
        f":information_source: The answer could not be posted in <#{channel}>: the bot is not "
        "a member there. Invite it with `/invite @docker` in that channel."
    )


class Delivery:
    """Sends messages for one conversation; failures are logged, never raised."""

    def __init__(self, *, client: WebClient, conversation: Conversation) -> None:
        self._client = client
        self._conversation = conversation

    @property
    def conversation(self) -> Conversation:
        return self._conversation

    def reply(self, message: SlackMessage, *, in_channel: bool, replace: bool = False) -> None:
        """Answer through the response_url (or, if Slack refuses it, another way), then
        attach any files."""
        try:
            # Bolt's respond() returns Slack's answer instead of raising on a refusal.
            answer = self._conversation.respond(
                text=message.text,
                blocks=message.blocks,
                response_type="in_channel" if in_channel else "ephemeral",
                replace_original=replace,
            )
            status = getattr(answer, "status_code", 200)
            problem = None if status == 200 else f"HTTP {status} {getattr(answer, 'body', '')}"
        except Exception as err:  # the response_url is Slack's; a failure must not kill the worker
            problem = repr(err)
        if problem is not None:
            log.warning("the response_url refused an answer (%s); answering another way", problem)
            self._fallback(message, in_channel=in_channel)
        self.attach(message.files, in_channel=in_channel)

    def _fallback(self, message: SlackMessage, *, in_channel: bool) -> None:
        """An answer the response_url refused (expired, too many uses): posted in the channel,
        privately there, or in a direct message, whichever works first."""
        conversation = self._conversation
        attempts: list[tuple[str, Any]] = []
        if in_channel:
            attempts.append(
                (
                    "the channel",
                    lambda: self._client.chat_postMessage(
                        channel=conversation.channel_id,
                        text=message.text,
                        blocks=message.blocks,
                        thread_ts=conversation.thread_ts,
                    ),
                )
            )
        attempts.append(
            (
                "an ephemeral message",
                lambda: self._client.chat_postEphemeral(
                    channel=conversation.channel_id,
                    user=conversation.user_id,
                    text=message.text,
                    blocks=message.blocks,
                    thread_ts=conversation.thread_ts,
                ),
            )
        )
        hint: list[dict[str, Any]] = []  # how to fix it, told with the answer in the DM
        attempts.append(
            (
                "a direct message",
                lambda: self._client.chat_postMessage(
                    channel=self._direct_channel(),
                    text=message.text,
                    blocks=[*hint, *message.blocks][:50],
                ),
            )
        )
        for where, attempt in attempts:
            try:
                attempt()
                log.info("answered %s through %s instead", conversation.user_id, where)
                return
            except SlackClientError as err:
                log.warning("could not answer through %s: %s", where, err)
                code = err.response.get("error") if isinstance(err, SlackApiError) else None
                if code in NOT_A_MEMBER and not hint:
                    hint.append(context(not_a_member(conversation.channel_id)).to_dict())
        log.error(
            "no way to answer %s in %s: the answer is lost",
            conversation.user_id,
            conversation.channel_id,
        )

    def attach(self, files: tuple[SlackFile, ...], *, in_channel: bool) -> None:
        """Upload files to the channel (public answers) or to the person's DM (private ones)."""
        if not files:
            return
        try:
            in_thread = in_channel and self._conversation.thread_ts is not None
            channel = self._conversation.channel_id if in_channel else self._direct_channel()
            for item in files:
                self._client.files_upload_v2(
                    channel=channel,
                    content=item.content,
                    filename=item.filename,
                    title=item.title,
                    thread_ts=self._conversation.thread_ts if in_thread else None,
                )
        except SlackClientError as err:
            log.warning("file upload failed: %s", err)
            detail = err.response.get("error") if isinstance(err, SlackApiError) else str(err)
            self.reply(
                SlackMessage(
                    text="The file could not be attached.",
                    blocks=[
                        section(
                            f":warning: The file could not be attached: {code(str(detail))}"
                        ).to_dict()
                    ],
                ),
                in_channel=False,
            )

    def _direct_channel(self) -> str:
        opened = self._client.conversations_open(users=[self._conversation.user_id])
        return str(opened["channel"]["id"])


class SlackPullProgress:
    """One channel message that shows a pull's progress, updated at most once per ``interval``.

    If the bot may not post in the channel, it stays silent and the result goes through the
    response_url as usual.
    """

    def __init__(
        self,
        *,
        client: WebClient,
        conversation: Conversation,
        reference: str,
        credit: str,
        interval: float = 1.0,
        lazy: bool = False,
    ) -> None:
        """``lazy``: post the message with the first layer's progress, not at once."""
        self._client = client
        self._channel = conversation.channel_id
        self._thread_ts = conversation.thread_ts
        self._reference = reference
        self._credit = credit
        self._tracker = PullTracker()
        self._throttle = Throttle(interval=interval)
        self._lock = threading.Lock()
        self._latest: list[dict[str, Any]] | None = None  # the update waiting to be sent
        self._final: SlackMessage | None = None  # the result, sent last
        self._final_ok = False
        self._sent = threading.Event()  # the result was sent (or could not be)
        self._sender: threading.Thread | None = None
        self.ts: str | None = None
        self._posted = False
        if not lazy:
            self._post()

    def _post(self) -> None:
        self._posted = True
        try:
            answer = self._client.chat_postMessage(
                channel=self._channel,
                text=f"Pulling {self._reference}",
                blocks=self._blocks(),
                thread_ts=self._thread_ts,
            )
            self.ts = str(answer["ts"])
        except SlackClientError as err:
            log.info("no progress message for the pull (%s); answering at the end", err)

    def __call__(self, event: PullProgress) -> None:
        """Called on the thread that reads the pull's stream: it only notes the progress; a
        sender thread of its own takes the Slack call (and its retries), latest state only."""
        self._tracker.add(event)
        if not self._posted:
            self._post()  # a lazy message: its first layer
            return
        if self.ts is None or not self._throttle.ready():
            return
        with self._lock:
            if self._final is not None:
                return  # the result is on its way: no progress after it
            self._latest = self._blocks()
            self._start_sender()

    def finish(self, message: SlackMessage) -> bool:
        """Replace the progress with the result; False if there was no message to replace.
        The result goes through the same sender, after any update on its way, so a slow
        update can never land on top of it."""
        if self.ts is None:
            return False
        with self._lock:
            self._final = message
            self._latest = None
            self._start_sender()
        self._sent.wait()
        return self._final_ok

    def conclude(self, text: str) -> None:
        """End the progress message with a plain line (nothing if none was posted)."""
        if self.ts is not None:
            self.finish(
                SlackMessage(
                    text=text,
                    blocks=[context(self._credit).to_dict(), section(escape(text)).to_dict()],
                )
            )

    def _start_sender(self) -> None:
        if self._sender is None:
            context = contextvars.copy_context()  # its log lines keep the request ID
            self._sender = threading.Thread(
                target=context.run, args=(self._send,), name="pull-progress", daemon=True
            )
            self._sender.start()

    def _send(self) -> None:
        """The one writer of the progress message: updates, then the result, in order."""
        assert self.ts is not None
        sending_final = False
        try:
            while True:
                with self._lock:
                    blocks, self._latest = self._latest, None
                    final = self._final if blocks is None else None
                    if blocks is None and final is None:
                        self._sender = None
                        return
                if blocks is not None:
                    self._update(self.ts, text=f"Pulling {self._reference}", blocks=blocks)
                    continue
                assert final is not None
                sending_final = True
                self._final_ok = self._update(self.ts, text=final.text, blocks=final.blocks)
                self._sent.set()
                with self._lock:
                    self._sender = None
                return
        except Exception:  # a network error past the retries: said here, the result by reply
            log.exception("the pull's progress message could not be updated")
            with self._lock:
                self._sender = None
                # The result came meanwhile: a new sender sends it (after this one is gone).
                if not sending_final and self._final is not None:
                    self._start_sender()
            if sending_final:
                self._final_ok = False
                self._sent.set()

    def _blocks(self) -> list[dict[str, Any]]:
        bar = self._tracker.line(width=20, fill="█", empty="░")
        return [
            context(self._credit).to_dict(),
            section(f":arrow_down: Pulling {code(self._reference)}\n`{bar}`").to_dict(),
        ]

    def _update(self, ts: str, *, text: str, blocks: list[dict[str, Any]]) -> bool:
        try:
            self._client.chat_update(channel=self._channel, ts=ts, text=text, blocks=blocks)
            return True
        except SlackClientError as err:
            log.warning("could not update the progress message: %s", err)
            return False


def post_cleanup_report(client: WebClient, channel: str, report: CleanupReport) -> None:
    """A housekeeping run's report, posted to its notify channel (failures are logged)."""
    message = render_slack(Reply(text="cleanup", result=report))
    try:
        client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)
    except SlackClientError as err:
        log.warning("could not post the housekeeping report to %s: %s", channel, err)


def post_cleanup_note(client: WebClient, channel: str, text: str) -> None:
    """A line about a housekeeping run that did not run (a [[freeze]] held it), escaped."""
    try:
        client.chat_postMessage(channel=channel, text=escape(text))
    except SlackClientError as err:
        log.warning("could not post the housekeeping note to %s: %s", channel, err)
