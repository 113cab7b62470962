"""Upgrading a container on the private engine: the replacement keeps what was given at run,
follows the new image's defaults, is verified or put back, and a killed upgrade is finished by
the next start (exactly one container under the name)."""

from __future__ import annotations

import contextlib
import io
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from bot.core.upgrades import InMemoryUpgradeJournal, UpgradePhase, UpgradeRecord
from bot.engine.upgrade import ContainerUpgrader
from tests.conftest import Sandbox

BASE = "chatops-test/busybox:latest"


class FakeTime:
    """The settle's clock: each poll advances it; the engine is asked again at once, or after
    ``pause`` real seconds where a container needs a moment to do what is tested."""

    def __init__(self, *, pause: float = 0.0) -> None:
        self.now = 0.0
        self.polls = 0
        self._pause = pause

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.polls += 1
        self.now += seconds
        if self._pause:
            time.sleep(self._pause)


def build(api: docker.APIClient, sandbox: Sandbox, tag: str, *lines: str) -> str:
    dockerfile = "\n".join(
        [f"FROM {BASE}", *lines, f"LABEL {next(iter(sandbox.labels))}={sandbox.session}"]
    )
    for chunk in api.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, decode=True):
        assert "error" not in chunk, chunk
    return str(api.inspect_image(tag)["Id"])


@pytest.fixture(scope="module")
def images(api: docker.APIClient, sandbox: Sandbox) -> Iterator[dict[str, str]]:
    """Three versions of one app, built once: old, new, and one whose command fails."""
    repository = f"chatops-test/app-{uuid.uuid4().hex[:8]}"
    common = ["ENV GREETING=hello", "WORKDIR /srv", "VOLUME /data", "EXPOSE 7000"]
    built = {
        "old": build(
            api,
            sandbox,
            f"{repository}:old",
            "ENV MODE=old",
            *common,
            'CMD ["sh", "-c", "trap \'exit 0\' TERM; echo started old; sleep 3600 & wait"]',
        ),
        "new": build(
            api,
            sandbox,
            f"{repository}:new",
            "ENV MODE=new",
            *common,
            'CMD ["sh", "-c", "trap \'exit 0\' TERM; echo started new; sleep 3600 & wait"]',
        ),
        "failing": build(
            api,
            sandbox,
            f"{repository}:failing",
            'CMD ["sh", "-c", "echo boom with $TOKEN; exit 3"]',
        ),
    }
    yield built
    for image_id in built.values():
        with contextlib.suppress(docker.errors.APIError):
            api.remove_image(image_id, force=True)


@pytest.fixture
def app(api: docker.APIClient, images: dict[str, str]) -> tuple[str, str, str]:
    """(reference, old image ID, new image ID): a tag of this test's own, on the old image
    until the test moves it."""
    repository = f"chatops-test/app-{uuid.uuid4().hex[:8]}"
    api.tag(images["old"], repository, "latest")
    return f"{repository}:latest", images["old"], images["new"]


def upgrader(
    api: docker.APIClient, journal: InMemoryUpgradeJournal, fake: FakeTime
) -> ContainerUpgrader:
    return ContainerUpgrader(
        api=api, engine="local", journal=journal, clock=fake.clock, sleep=fake.sleep, poll=1.0
    )


def names(api: docker.APIClient, name: str) -> list[dict[str, Any]]:
    return [c for c in api.containers(all=True) if f"/{name}" in c["Names"]]


def test_a_good_upgrade_keeps_what_was_given_and_follows_the_new_image(
    api: docker.APIClient, sandbox: Sandbox, app: tuple[str, str, str]
) -> None:
    reference, old_image, new_image = app
    name = sandbox.name(f"web-{uuid.uuid4().hex[:6]}")
    network = api.create_network(sandbox.name("net"), labels=sandbox.labels)["Id"]
    volume = api.create_volume(sandbox.name("vol"), labels=sandbox.labels)["Name"]
    host = api.create_host_config(
        binds=[f"{volume}:/named"],
        port_bindings={8080: ("127.0.0.1", None)},
        restart_policy={"Name": "unless-stopped"},
        mem_limit="64m",
    )
    created = api.create_container(
        reference,
        name=name,
        environment={"GIVEN": "at-run", "TOKEN": "s3cr3t-value"},
        labels={**sandbox.labels, "team": "payments"},
        ports=[8080],
        host_config=host,
        networking_config=api.create_networking_config(
            {sandbox.name("net"): api.create_endpoint_config(aliases=["frontend"])}  # type: ignore[arg-type]
        ),
    )
    old_id = created["Id"]
    api.connect_container_to_network(old_id, "bridge")
    api.start(old_id)
    api.exec_start(api.exec_create(old_id, ["sh", "-c", "echo kept > /data/file"])["Id"])
    api.tag(new_image, reference.rsplit(":", 1)[0], "latest")

    journal, fake = InMemoryUpgradeJournal(), FakeTime()
    outcome = upgrader(api, journal, fake).upgrade(container_id=old_id, image=reference, settle=30)

    assert outcome.upgraded, outcome.record.reason
    assert outcome.settled_after >= 30 and fake.polls >= 30
    [row] = names(api, name)
    assert row["Id"] != old_id and row["State"] == "running"
    doc = api.inspect_container(row["Id"])
    assert doc["Image"] == new_image
    env = set(doc["Config"]["Env"])
    assert {"GIVEN=at-run", "TOKEN=s3cr3t-value", "MODE=new"} <= env and "MODE=old" not in env
    assert "started new" in doc["Config"]["Cmd"][-1]
    assert doc["Config"]["Labels"]["team"] == "payments"
    assert doc["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert doc["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert doc["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostIp"] == "127.0.0.1"
    networks = doc["NetworkSettings"]["Networks"]
    assert set(networks) == {sandbox.name("net"), "bridge"}
    assert "frontend" in networks[sandbox.name("net")]["Aliases"]
    assert not any(alias == old_id[:12] for alias in networks[sandbox.name("net")]["Aliases"])
    mounts = {m["Destination"]: m for m in doc["Mounts"]}
    assert mounts["/named"]["Name"] == volume
    # The anonymous volume came along, with what the old container wrote in it.
    check = api.exec_create(row["Id"], ["cat", "/data/file"])
    assert api.exec_start(check["Id"]).strip() == b"kept"
    assert outcome.record.old_image_id == old_image
    with pytest.raises(docker.errors.NotFound):
        api.inspect_container(old_id)
    api.remove_container(row["Id"], force=True, v=True)
    api.remove_network(network)
    api.remove_volume(volume)
    # The carried volume is mounted by name now: `rm -v` leaves it, as it would a user's.
    api.remove_volume(mounts["/data"]["Name"])


def test_a_replacement_that_exits_is_rolled_back_and_says_why(
    api: docker.APIClient, sandbox: Sandbox, app: tuple[str, str, str], images: dict[str, str]
) -> None:
    reference, _old_image, _new = app
    repository = reference.rsplit(":", 1)[0]
    failing = images["failing"]
    name = sandbox.name(f"web-{uuid.uuid4().hex[:6]}")
    old_id = api.create_container(
        reference,
        name=name,
        environment={"TOKEN": "s3cr3t-value"},
        labels=sandbox.labels,
        host_config=api.create_host_config(restart_policy={"Name": "no"}),
    )["Id"]
    api.start(old_id)
    api.tag(failing, repository, "latest")

    # A real pause per poll: the replacement needs a moment to exit.
    journal, fake = InMemoryUpgradeJournal(), FakeTime(pause=0.05)
    outcome = upgrader(api, journal, fake).upgrade(container_id=old_id, image=reference, settle=60)

    assert not outcome.upgraded
    assert outcome.record.phase is UpgradePhase.ROLLED_BACK
    assert "exited with code 3" in outcome.record.reason
    assert "boom with <redacted>" in outcome.record.reason
    assert "s3cr3t-value" not in outcome.record.reason
    [row] = names(api, name)
    assert row["Id"] == old_id and row["State"] == "running"
    assert not names(api, outcome.record.trial_name) and not names(api, outcome.record.aside_name)


class Killed(Exception):
    """The bot dies (kill -9) right after recording this phase."""


class DyingJournal(InMemoryUpgradeJournal):
    def __init__(self, *, at: UpgradePhase) -> None:
        super().__init__()
        self._at = at
        self.alive = True

    def save(self, record: UpgradeRecord) -> None:
        super().save(record)
        if self.alive and record.phase is self._at:
            self.alive = False
            raise Killed(record.phase)


@pytest.mark.parametrize(
    ("phase", "survivor"),
    [
        (UpgradePhase.CREATING, "old"),
        (UpgradePhase.SWAPPING, "old"),
        (UpgradePhase.VERIFYING, "old"),
        (UpgradePhase.VERIFIED, "new"),
    ],
)
def test_an_upgrade_killed_in_any_phase_is_finished_by_the_next_start(
    api: docker.APIClient,
    sandbox: Sandbox,
    app: tuple[str, str, str],
    phase: UpgradePhase,
    survivor: str,
) -> None:
    reference, _old, new_image = app
    name = sandbox.name(f"web-{uuid.uuid4().hex[:6]}")
    old_id = api.create_container(reference, name=name, labels=sandbox.labels)["Id"]
    api.start(old_id)
    api.tag(new_image, reference.rsplit(":", 1)[0], "latest")
    journal, fake = DyingJournal(at=phase), FakeTime()

    with pytest.raises(Killed):
        upgrader(api, journal, fake).upgrade(container_id=old_id, image=reference, settle=5)
    [unfinished] = journal.unfinished("local")

    finished = upgrader(api, journal, FakeTime()).recover()

    assert [r.id for r in finished] == [unfinished.id] and not journal.unfinished("local")
    rows = [c for c in api.containers(all=True, filters={"label": sandbox.labels_filter()})]
    under_name = [c for c in rows if f"/{name}" in c["Names"]]
    assert len(under_name) == 1, json.dumps([c["Names"] for c in rows])
    [row] = under_name
    assert row["State"] == "running"
    assert (row["Id"] == old_id) == (survivor == "old")
    assert row["Image"] in (reference, new_image) if survivor == "new" else True
    # Nothing else of this upgrade is left behind.
    assert not names(api, unfinished.trial_name) and not names(api, unfinished.aside_name)


def test_a_container_squatting_the_replacements_name_is_never_removed(
    api: docker.APIClient, sandbox: Sandbox, app: tuple[str, str, str]
) -> None:
    reference, _old, new_image = app
    name = sandbox.name(f"web-{uuid.uuid4().hex[:6]}")
    old_id = api.create_container(reference, name=name, labels=sandbox.labels)["Id"]
    api.start(old_id)
    squatter = api.create_container(
        BASE,
        ["sleep", "300"],
        name=f"{name}-chatops-new-{old_id[:12]}",
        labels={**sandbox.labels, "chatops.protected": "true"},
    )["Id"]
    api.tag(new_image, reference.rsplit(":", 1)[0], "latest")
    journal, fake = InMemoryUpgradeJournal(), FakeTime()

    outcome = upgrader(api, journal, fake).upgrade(container_id=old_id, image=reference, settle=5)

    assert not outcome.upgraded and "refused a step" in outcome.record.reason
    assert api.inspect_container(squatter)["Id"] == squatter  # still there
    [row] = names(api, name)
    assert row["Id"] == old_id and row["State"] == "running"


def test_an_old_container_removed_during_the_settle_leaves_the_replacement_under_the_name(
    api: docker.APIClient, sandbox: Sandbox, app: tuple[str, str, str]
) -> None:
    reference, _old, new_image = app
    name = sandbox.name(f"web-{uuid.uuid4().hex[:6]}")
    old_id = api.create_container(reference, name=name, labels=sandbox.labels)["Id"]
    api.start(old_id)
    api.tag(new_image, reference.rsplit(":", 1)[0], "latest")
    journal = InMemoryUpgradeJournal()

    class Meddling(FakeTime):
        """Someone removes the old container and kills the replacement while it settles."""

        def sleep(self, seconds: float) -> None:
            if self.polls == 0:
                api.remove_container(old_id, force=True)
                api.kill(name)
            super().sleep(seconds)

    outcome = upgrader(api, journal, Meddling()).upgrade(
        container_id=old_id, image=reference, settle=30
    )

    assert not outcome.upgraded and "removed meanwhile" in outcome.record.reason
    [row] = names(api, name)
    assert row["Id"] == outcome.record.new_id and row["State"] == "running"
    assert journal.unfinished("local") == []
