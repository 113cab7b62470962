"""`updates`, `upgrade` and `rollback` as chat asks for them, on the private engine and
registry: the moved tag is seen, the upgrade waits for an approver and then replaces the
container, an up-to-date one asks nobody, and rollback returns to the replaced image."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

from bot.core.results import ActionResult, ApprovalRequested, UpdateList
from bot.errors import Conflict, Protected
from tests.chat_bot import ADMIN, ChatBot
from tests.conftest import TEST_IMAGE, Sandbox, build_and_push


@pytest.fixture
def chat(sandbox: Sandbox, tmp_path: Path) -> Iterator[ChatBot]:
    bot = ChatBot(host=sandbox.docker_host, database=f"sqlite:///{tmp_path}/state.db", settle=1.0)
    yield bot
    bot.engines.close()


def push(api: docker.APIClient, sandbox: Sandbox, repository: str, version: str) -> str:
    """A build of ``version`` pushed as ``repository:latest``; its image ID."""
    dockerfile = (
        f"FROM {TEST_IMAGE}\n"
        f"LABEL chatops-test.session={sandbox.session} version={version}\n"
        f'CMD ["sh", "-c", "trap \'exit 0\' TERM; echo {version}; sleep 3600 & wait"]\n'
    )
    build_and_push(api, dockerfile=dockerfile, repository=repository)
    return str(api.inspect_image(f"{repository}:latest")["Id"])


@pytest.fixture
def moved(api: docker.APIClient, sandbox: Sandbox) -> Callable[..., tuple[str, str, str]]:
    """A container running v1 of a tag that now names v2: (name, v1 ID, v2 ID)."""

    def make(*, move: bool = True, **labels: str) -> tuple[str, str, str]:
        repository = f"{sandbox.registry}/chatops-test/upc-{sandbox.session}-{uuid.uuid4().hex[:6]}"
        first = push(api, sandbox, repository, "v1")
        name = sandbox.name(f"upc-{uuid.uuid4().hex[:6]}")
        created = api.create_container(
            f"{repository}:latest", name=name, labels=sandbox.labels | labels
        )
        api.start(created["Id"])
        second = push(api, sandbox, repository, "v2") if move else first
        return name, first, second

    return make


def running_image(api: docker.APIClient, name: str) -> str:
    doc = api.inspect_container(name)
    assert doc["State"]["Running"]
    return str(doc["Image"])


def test_updates_then_an_approved_upgrade_then_a_rollback(
    chat: ChatBot, api: docker.APIClient, moved: Callable[..., tuple[str, str, str]]
) -> None:
    name, first, second = moved()
    listing = chat.ask("updates").result
    assert isinstance(listing, UpdateList)
    assert name in [row.container for row in listing.rows]

    asked = chat.ask(f"upgrade {name}")
    assert isinstance(asked.result, ApprovalRequested)
    [item] = asked.result.record.plan.items
    assert item.description.startswith(f"{name}: ") and " -> " in item.description
    assert running_image(api, name) == first  # nothing happens before the approval

    done = chat.approve(asked)
    assert [(o.target, o.ok) for o in done.outcomes] == [(name, True)], done
    assert "held for" in done.outcomes[0].detail
    assert running_image(api, name) == second
    assert chat.ask(f"upgrade {name}").result == ActionResult(
        action="upgrade",
        outcomes=(done.outcomes[0].__class__(target=name, ok=True, detail="up to date"),),
    )

    back = chat.approved(f"rollback {name}")
    assert [(o.target, o.ok) for o in back.outcomes] == [(name, True)], back
    assert running_image(api, name) == first


def test_an_up_to_date_container_asks_nobody(
    chat: ChatBot, moved: Callable[..., tuple[str, str, str]]
) -> None:
    name, _first, _second = moved(move=False)
    reply = chat.ask(f"upgrade {name}")
    assert isinstance(reply.result, ActionResult), reply.error  # not ApprovalRequested
    assert [(o.target, o.detail) for o in reply.result.outcomes] == [(name, "up to date")]
    assert chat.approvals.pending() == []


def test_what_cannot_be_upgraded_is_told_and_nothing_changes(
    chat: ChatBot,
    api: docker.APIClient,
    sandbox: Sandbox,
    moved: Callable[..., tuple[str, str, str]],
) -> None:
    kept, first, _second = moved(**{"chatops.upgrade": "false"})
    reply = chat.ask(f"upgrade {kept}")
    assert isinstance(reply.error, Conflict) and "kept from upgrades" in str(reply.error)
    by_id = sandbox.name(f"upc-id-{uuid.uuid4().hex[:6]}")
    image_id = api.inspect_image(TEST_IMAGE)["Id"]
    api.create_container(image_id, ["sleep", "300"], name=by_id, labels=sandbox.labels)
    reply = chat.ask(f"upgrade {by_id}")
    assert isinstance(reply.error, Conflict) and "--image" in str(reply.error)
    name, first, _second = moved()
    reply = chat.ask(f"upgrade --image {TEST_IMAGE} {name}")
    assert isinstance(reply.error, Conflict) and "another repository" in str(reply.error)
    assert running_image(api, name) == first
    reply = chat.ask(f"rollback {kept}")
    assert isinstance(reply.error, Conflict) and "no upgrade to roll back" in str(reply.error)
    assert running_image(api, kept) == first
    assert chat.approvals.pending() == []
    # Another repository that merely tags the same image is still another repository.
    api.tag(api.inspect_container(name)["Image"], "chatops-test/elsewhere", "1")
    reply = chat.ask(f"upgrade --image chatops-test/elsewhere:1 {name}")
    assert isinstance(reply.error, Conflict) and "another repository" in str(reply.error)
    api.remove_image("chatops-test/elsewhere:1")
    # Positive control: --image along the container's own repository is planned.
    repository = api.inspect_container(name)["Config"]["Image"].rsplit(":", 1)[0]
    asked = chat.ask(f"upgrade --image {repository}:latest {name}")
    assert isinstance(asked.result, ApprovalRequested), asked.error


def test_a_container_set_aside_by_an_upgrade_is_left_to_it(
    chat: ChatBot, api: docker.APIClient, sandbox: Sandbox
) -> None:
    aside = sandbox.name(f"upc-{uuid.uuid4().hex[:4]}-chatops-old-{'a' * 12}")
    api.create_container(TEST_IMAGE, ["true"], name=aside, labels=sandbox.labels)
    reply = chat.ask(f"rm {aside}", actor=ADMIN)
    assert isinstance(reply.error, Protected) and "set aside by an upgrade" in str(reply.error)
    # Positive control: the same container under an ordinary name is planned for removal.
    api.rename(aside, aside.replace("-chatops-old-", "-plain-"))
    planned = chat.ask(f"rm {aside.replace('-chatops-old-', '-plain-')}", actor=ADMIN)
    assert isinstance(planned.result, ApprovalRequested), planned.error


def test_an_upgrade_already_waiting_is_not_asked_for_twice(
    chat: ChatBot, moved: Callable[..., tuple[str, str, str]]
) -> None:
    name, _first, _second = moved()
    first = chat.ask(f"upgrade {name}")
    assert isinstance(first.result, ApprovalRequested)  # the positive control
    again = chat.ask(f"upgrade {name}")
    assert isinstance(again.error, Conflict) and "already asks to upgrade" in str(again.error)
    assert len(chat.approvals.pending()) == 1
