"""`silence`, `silences` and `unsilence` through the pipeline (issue 20, item 5): who may,
what is stored and audited, and a silence longer than max_silence refused naming it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.audit import AuditEntry, ChainCheck
from bot.core.notices.silences import MemorySilenceStore
from bot.core.pipeline import Pipeline
from bot.core.policy import AccessRules, Actor, ConfiguredPolicy
from bot.core.results import SilenceList, SilenceUpdate
from bot.core.run_policy import RunPolicy
from bot.engine.fake import FakeEngine, FakeEngineDirectory
from bot.errors import AccessDenied, ChatOpsError, ParseError

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
OPS = Actor(user_id="U0OPS", channel_id="C1")
VIEWER = Actor(user_id="U0VIEW", channel_id="C1")


@dataclass
class Audit:
    entries: list[dict[str, object]] = field(default_factory=list)

    def record(self, **entry: object) -> None:
        self.entries.append(entry)

    def recent(self, count: int) -> list[AuditEntry]:
        return []

    def verify(self, *, published: str | None = None) -> ChainCheck:
        raise NotImplementedError


@dataclass
class Bot:
    pipeline: Pipeline
    store: MemorySilenceStore
    audit: Audit
    now: list[datetime]


@pytest.fixture
def bot() -> Bot:
    now = [T0]
    store = MemorySilenceStore(clock=lambda: now[0])
    audit = Audit()
    policy = ConfiguredPolicy(
        rules=AccessRules(roles={"viewer": ("*",), "operator": ("U0OPS",), "admin": ()}),
        run_policy=RunPolicy(),
    )
    pipeline = Pipeline(
        engines=FakeEngineDirectory(FakeEngine()),
        policy=policy,
        audit=audit,
        silences=store,
        max_silence=timedelta(days=7),
    )
    return Bot(pipeline=pipeline, store=store, audit=audit, now=now)


def test_an_operator_silences_and_it_is_stored_and_audited(bot: Bot) -> None:
    reply = bot.pipeline.handle("silence api-* 2h", actor=OPS)
    assert isinstance(reply.result, SilenceUpdate), reply.error
    made = reply.result.silence
    assert (made.engine, made.pattern, made.created_by) == ("fake", "api-*", "U0OPS")
    assert made.until == T0 + timedelta(hours=2)
    assert bot.store.active() == [made]
    [entry] = bot.audit.entries
    assert entry["event"] == "executed" and entry["command"] == "silence 'api-*' 2h"
    assert entry["detail"] == f"silence #{made.id} until 2026-12-06 14:00:00 UTC"


def test_a_viewer_may_list_silences_but_not_make_or_end_one(bot: Bot) -> None:
    made = bot.store.add(engine="fake", pattern="web", user="U0OPS", duration=timedelta(hours=1))
    refused = bot.pipeline.handle("silence web 1h", actor=VIEWER)
    assert isinstance(refused.error, AccessDenied) and "operator" in str(refused.error)
    refused = bot.pipeline.handle(f"unsilence {made.id}", actor=VIEWER)
    assert isinstance(refused.error, AccessDenied)
    listed = bot.pipeline.handle("silences", actor=VIEWER)
    assert listed.result == SilenceList(silences=(made,))
    assert bot.store.active() == [made]


def test_a_silence_longer_than_max_silence_is_refused_naming_it(bot: Bot) -> None:
    reply = bot.pipeline.handle("silence web 8d", actor=OPS)
    assert isinstance(reply.error, AccessDenied)
    assert str(reply.error) == (
        "Not silenced: a silence of 8d is longer than [notifications] max_silence (7d)."
    )
    assert bot.store.active() == []
    assert bot.pipeline.handle("silence web 7d", actor=OPS).ok


@pytest.mark.parametrize(
    "text", ["silence web", "silence web soon", "silence web 0s", "silence 'a b' 1h", "unsilence x"]
)
def test_bad_input_is_refused_before_anything_is_stored(bot: Bot, text: str) -> None:
    assert isinstance(bot.pipeline.handle(text, actor=OPS).error, ParseError)
    assert bot.store.active() == []


def test_unsilence_ends_one_and_says_so_and_an_unknown_one_is_named(bot: Bot) -> None:
    first = bot.pipeline.handle("silence web 1h", actor=OPS).result
    second = bot.pipeline.handle("silence api 3h", actor=OPS).result
    assert isinstance(first, SilenceUpdate) and isinstance(second, SilenceUpdate)
    bot.now[0] = T0 + timedelta(minutes=5)
    ended = bot.pipeline.handle(f"unsilence {first.silence.id}", actor=OPS)
    assert isinstance(ended.result, SilenceUpdate) and ended.result.ended
    assert ended.result.silence.ended_by == "U0OPS"
    assert bot.pipeline.handle("silences", actor=OPS).result == SilenceList(
        silences=(second.silence,)
    )
    again = bot.pipeline.handle(f"unsilence {first.silence.id}", actor=OPS)
    assert isinstance(again.error, ChatOpsError)
    assert str(again.error) == (
        f"There is no silence #{first.silence.id} in force (`silences` lists them)."
    )
    # Expired on time: listed no more, and no longer to be ended.
    bot.now[0] = T0 + timedelta(hours=3)
    assert bot.pipeline.handle("silences", actor=OPS).result == SilenceList(silences=())


def test_without_a_store_silences_are_refused_with_a_reason() -> None:
    pipeline = Pipeline(
        engines=FakeEngineDirectory(FakeEngine()),
        policy=ConfiguredPolicy(
            rules=AccessRules(roles={"operator": ("U0OPS",)}), run_policy=RunPolicy()
        ),
    )
    reply = pipeline.handle("silence web 1h", actor=OPS)
    assert reply.error is not None and "Slack service" in str(reply.error)
