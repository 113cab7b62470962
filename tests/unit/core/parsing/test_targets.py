"""Container and image targets are names, IDs or references, nothing else: the engine API puts
them into URL paths, where a `/` or `..` reached other endpoints (`rmi x/../../containers/db`
removed a container, protected or not; `inspect x/../../../distribution/HOST/x` made the
engine fetch from any host)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.operations import ChangeContainers, Inspect, RemoveImages
from bot.core.parsing.parser import parse_command
from bot.errors import ParseError

TRAVERSALS = [
    "rmi -f x/../../containers/db",
    "rmi ../containers/db",
    "inspect web-/../../../images/busybox",
    "inspect x/../../../distribution/127.0.0.1:5099/probe/a",
    "inspect --type container a/b",
    "inspect --type image x/../../containers/db",
    "logs a/../b",
    "stop web/../db",
    "rm ..",
    "top x/y",
    "port a/b 80",
    "stats a/b",
    "upgrade a/b",
    "rollback ../x",
    "can U0DEV restart x/../y",
    "run --pid container:x/../../distribution/127.0.0.1:5987/evil/x busybox true",
    "run --network container:x/../../containers/db busybox true",
    "run --ipc container:a/b busybox true",
    "run --uts container:.. busybox true",
]


@pytest.mark.parametrize("text", TRAVERSALS)
def test_a_path_in_a_target_is_refused(text: str) -> None:
    with pytest.raises(ParseError):
        parse_command(text)


@pytest.mark.parametrize(
    ("text", "operation"),
    [
        (
            "rm /web",
            ChangeContainers(
                action=ChangeContainers.by_action.__iter__().__next__(), containers=("/web",)
            ),
        ),
        (
            "inspect nginx:1.27 web 3f2a sha256:abcd",
            Inspect(targets=("nginx:1.27", "web", "3f2a", "sha256:abcd")),
        ),
        (
            "rmi registry:5000/team/app:1 3f2a",
            RemoveImages(images=("registry:5000/team/app:1", "3f2a")),
        ),
    ],
)
def test_names_ids_and_references_are_taken(text: str, operation: object) -> None:
    assert parse_command(text).operation == operation


_PARTS = st.text(st.characters(blacklist_characters="\x00'\"\\"), max_size=15)


@given(before=_PARTS, after=_PARTS)
def test_no_container_target_holds_a_slash_past_its_first_character(
    before: str, after: str
) -> None:
    word = f"x{before}/{after}"
    for command in ("logs", "stop", "top", "inspect --type container"):
        with pytest.raises(ParseError):
            parse_command(f"{command} '{word}'")
