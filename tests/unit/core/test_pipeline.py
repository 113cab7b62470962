"""The pipeline's contract: a Reply for every input, errors as values, never an exception."""

from __future__ import annotations

import logging

import pytest

from bot.core.command import ParsedCommand
from bot.core.operations import EngineOperation, ListContainers
from bot.core.pipeline import Pipeline
from bot.core.policy import Actor, AllowEverything, Decision, FactsLookup, Verdict
from bot.core.results import ContainerList, HelpResult, Result
from bot.engine.fake import FakeEngine, FakeEngineDirectory
from bot.errors import AccessDenied, Conflict, InternalError, ParseError, UnknownEngine

ACTOR = Actor(user_id="U123", channel_id="C1")


def empty_list(operation: EngineOperation) -> Result:
    return ContainerList(rows=())


def test_success_carries_result_engine_and_warnings() -> None:
    engine = FakeEngine(handler=empty_list)
    reply = Pipeline(engines=FakeEngineDirectory(engine), policy=AllowEverything()).handle(
        "ps -all", actor=ACTOR
    )
    assert reply.ok and reply.result == ContainerList(rows=())
    assert reply.engine == "fake"
    assert engine.operations == [ListContainers(all=True)]
    assert reply.warnings and "--all" in reply.warnings[0]


def test_parse_errors_never_reach_the_engine() -> None:
    engine = FakeEngine(handler=empty_list)
    reply = Pipeline(engines=FakeEngineDirectory(engine), policy=AllowEverything()).handle(
        "ps --bogus", actor=ACTOR
    )
    assert isinstance(reply.error, ParseError)
    assert engine.operations == []


def test_help_needs_no_engine() -> None:
    reply = Pipeline(engines=FakeEngineDirectory(), policy=AllowEverything()).handle(
        "help", actor=ACTOR
    )
    assert isinstance(reply.result, HelpResult)


def test_engine_errors_become_replies() -> None:
    def conflict(operation: EngineOperation) -> Result:
        raise Conflict("busy")

    reply = Pipeline(
        engines=FakeEngineDirectory(FakeEngine(handler=conflict)), policy=AllowEverything()
    ).handle("rm web", actor=ACTOR)
    assert isinstance(reply.error, Conflict) and str(reply.error) == "busy"


def test_bugs_become_an_incident_not_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    def broken(operation: EngineOperation) -> Result:
        raise KeyError("Id")

    with caplog.at_level(logging.ERROR):
        reply = Pipeline(
            engines=FakeEngineDirectory(FakeEngine(handler=broken)), policy=AllowEverything()
        ).handle("ps", actor=ACTOR)
    assert isinstance(reply.error, InternalError)
    assert "KeyError" not in str(reply.error) and "incident" in str(reply.error)
    assert "KeyError" in caplog.text


def test_unknown_engine() -> None:
    reply = Pipeline(
        engines=FakeEngineDirectory(FakeEngine(handler=empty_list)), policy=AllowEverything()
    ).handle("-c prod ps", actor=ACTOR)
    assert isinstance(reply.error, UnknownEngine)


def test_policy_denial_stops_the_request() -> None:
    class DenyRemovals:
        def decide(
            self,
            *,
            actor: Actor,
            command: ParsedCommand,
            engine: str,
            facts: FactsLookup | None = None,
        ) -> Decision:
            return Decision(verdict=Verdict.DENY, reason="viewers may not remove")

    engine = FakeEngine(handler=empty_list)
    reply = Pipeline(engines=FakeEngineDirectory(engine), policy=DenyRemovals()).handle(
        "rm web", actor=ACTOR
    )
    assert isinstance(reply.error, AccessDenied)
    assert "viewers may not remove" in str(reply.error)
    assert engine.operations == []
