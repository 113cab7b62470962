"""`updates`, the engine's part: a tag moved in the private registry is seen without a pull; a
tag that did not move is not listed; a registry that fails is told and the rest still asked."""

from __future__ import annotations

import uuid
from typing import Any

import docker

from bot.engine.updates import check_updates, engine_digest_reader
from tests.conftest import Sandbox, build_and_push


def push_marked(api: docker.APIClient, sandbox: Sandbox, repository: str, marker: str) -> str:
    """An image unlike any other (``marker``), pushed as ``repository:latest``; its digest."""
    dockerfile = (
        "FROM chatops-test/busybox:latest\n"
        f"LABEL chatops-test.session={sandbox.session} marker={marker}\n"
    )
    build_and_push(api, dockerfile=dockerfile, repository=repository)
    digests = api.inspect_image(f"{repository}:latest")["RepoDigests"]
    return str(next(d for d in digests if d.startswith(repository + "@")).partition("@")[2])


def run(api: docker.APIClient, sandbox: Sandbox, reference: str) -> dict[str, Any]:
    created = api.create_container(
        reference,
        command=["sleep", "3600"],
        name=sandbox.name(f"upd-{uuid.uuid4().hex[:6]}"),
        labels=sandbox.labels,
    )
    api.start(created["Id"])
    document: dict[str, Any] = api.inspect_container(created["Id"])
    return document


def test_a_moved_tag_is_found_in_the_registry_and_others_are_not(
    api: docker.APIClient, sandbox: Sandbox
) -> None:
    moving = f"{sandbox.registry}/chatops-test/upd-moving-{sandbox.session}"
    still = f"{sandbox.registry}/chatops-test/upd-still-{sandbox.session}"
    first = push_marked(api, sandbox, moving, "1")
    push_marked(api, sandbox, still, "1")
    web, db = run(api, sandbox, f"{moving}:latest"), run(api, sandbox, f"{still}:latest")
    second = push_marked(api, sandbox, moving, "2")  # the tag moves; web still runs the first
    assert first != second
    images = {doc["Image"]: api.inspect_image(doc["Image"]) for doc in (web, db)}
    asked: list[str] = []
    reader = engine_digest_reader(api)

    def read(reference: str) -> str:
        asked.append(reference)
        return reader(reference)

    found = check_updates(containers=[web, db, web], images=images, read_digest=read)

    assert [(u.name, u.current_digest, u.available_digest) for u in found.updates] == [
        (web["Name"].lstrip("/"), first, second),
        (web["Name"].lstrip("/"), first, second),
    ]
    assert found.failures == () and found.checked == 3
    assert asked == [f"{moving}:latest", f"{still}:latest"]  # each reference once
    assert found.updates[0].current_created is not None


def test_a_registry_that_fails_is_told_and_the_others_are_still_asked(
    api: docker.APIClient, sandbox: Sandbox
) -> None:
    still = f"{sandbox.registry}/chatops-test/upd-ok-{sandbox.session}"
    push_marked(api, sandbox, still, "3")
    ok = run(api, sandbox, f"{still}:latest")
    broken = dict(ok, Config=dict(ok["Config"], Image="127.0.0.1:1/nowhere/app:latest"))
    images = {ok["Image"]: api.inspect_image(ok["Image"])}

    found = check_updates(
        containers=[broken, ok], images=images, read_digest=engine_digest_reader(api)
    )

    assert [reference for reference, _ in found.failures] == ["127.0.0.1:1/nowhere/app:latest"]
    assert found.updates == () and found.checked == 1
