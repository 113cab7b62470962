"""Protected objects and reserved labels: the pure rules, as tables."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.notices.rules import NotificationRules
from bot.core.protection import Protection, is_protected, reserved_label_problems


@pytest.mark.parametrize(
    ("labels", "protected"),
    [
        (None, False),
        ({}, False),
        ({"chatops.protected": "true"}, True),
        ({"chatops.protected": "TRUE"}, True),
        ({"chatops.protected": "1"}, True),
        ({"chatops.protected": ""}, True),  # present and not a clear no: protected
        ({"chatops.protected": "yes please"}, True),
        ({"chatops.protected": "false"}, False),
        ({"chatops.protected": " No "}, False),
        ({"chatops.protected": "0"}, False),
        ({"Chatops.Protected": "true"}, False),  # another label: the engine's keys are exact
        ({"chatops.keep": "true"}, False),
    ],
)
def test_is_protected(labels: dict[str, str] | None, protected: bool) -> None:
    assert is_protected(labels) is protected


def test_the_bots_own_container_is_protected_without_a_label() -> None:
    own = "a" * 64
    rules = Protection(own_container_ids=frozenset({own}))
    assert "the bot's own" in (
        rules.container_refusal(container_id=own, labels={}, shown="x") or ""
    )
    assert rules.container_refusal(container_id="b" * 64, labels={}, shown="x") is None
    refused = rules.container_refusal(
        container_id="b" * 64, labels={"chatops.protected": "true"}, shown="proxy"
    )
    assert refused is not None and "`proxy` is protected" in refused


@pytest.mark.parametrize(
    ("keys", "admin", "refused"),
    [
        (["chatops.protected"], True, ["cannot be set from chat"]),
        (["CHATOPS.PROTECTED"], True, ["cannot be set from chat"]),
        ([" chatops.protected "], False, ["cannot be set from chat"]),
        (["chatops.keep"], False, ["only admins"]),
        (["chatops.quiet"], False, ["only admins"]),
        (["chatops.owner"], False, ["only admins"]),
        (["ChatOps.Anything"], False, ["only admins"]),
        (["chatops.keep", "chatops.owner"], True, []),
        (["team", "chatops-test.session", "chatopsx"], False, []),
        (["keep-me"], False, ["only admins"]),  # a configured keep label outside the namespace
        (["keep-me"], True, []),
    ],
)
def test_reserved_labels(keys: list[str], admin: bool, refused: list[str]) -> None:
    problems = reserved_label_problems(keys, is_admin=admin, admin_labels=("keep-me",))
    assert len(problems) == len(refused)
    for problem, words in zip(problems, refused, strict=True):
        assert words in problem


@given(st.text(max_size=40), st.booleans())
def test_a_label_is_refused_exactly_when_it_is_reserved(key: str, admin: bool) -> None:
    problems = reserved_label_problems([key], is_admin=admin)
    folded = key.strip().lower()
    reserved = folded == "chatops.protected" or (folded.startswith("chatops.") and not admin)
    assert bool(problems) is reserved


def test_notifications_ignore_protected_containers() -> None:
    rules = NotificationRules(channel="C0OPS")
    assert rules.ignores(name="proxy", image="haproxy", labels={"chatops.protected": "true"})
    # The positive control: the same container without the label is reported.
    assert not rules.ignores(name="proxy", image="haproxy", labels={})


def test_reserved_labels_an_image_brings_are_found() -> None:
    rules = Protection(admin_labels=frozenset({"keep-me"}))
    labels = {"chatops.keep": "true", "keep-me": "1", "team": "x", "chatops.owner": "U1"}
    assert rules.inherited_reserved(labels, given=["chatops.owner"]) == ["chatops.keep", "keep-me"]
    assert (
        rules.inherited_reserved(labels, given=["chatops.owner", "chatops.keep", "keep-me"]) == []
    )
    assert rules.inherited_reserved(None, given=[]) == []
