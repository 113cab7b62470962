"""A replacement's settings from the old container's inspect document: given at run, kept;
the old image's defaults, left to the new image."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.engine.recreate import replacement

OLD_ID = "a" * 64
IMAGE_CONFIG: dict[str, Any] = {
    "Env": ["PATH=/usr/bin", "MODE=old"],
    "Cmd": ["serve"],
    "Entrypoint": ["/entry"],
    "WorkingDir": "/srv",
    "User": "app",
    "Labels": {"maintainer": "x", "version": "1"},
    "Volumes": {"/data": {}},
    "ExposedPorts": {"7000/tcp": {}},
    "Healthcheck": {"Test": ["CMD", "true"], "Interval": 1_000_000_000},
}


def container(**config: Any) -> dict[str, Any]:
    """A container run with nothing given but ``config`` (over the image's defaults)."""
    return {
        "Id": OLD_ID,
        "Name": "/web",
        "Config": {**IMAGE_CONFIG, "Hostname": OLD_ID[:12], "Image": "app:1", **config},
        "HostConfig": {"NetworkMode": "default", "Binds": None, "PortBindings": {}},
        "NetworkSettings": {"Networks": {"bridge": {"Aliases": None}}},
        "Mounts": [],
    }


def body(doc: dict[str, Any]) -> dict[str, Any]:
    return replacement(container=doc, old_image={"Config": IMAGE_CONFIG}, image="app:2").body


def test_a_container_run_with_nothing_given_follows_the_new_image_in_everything() -> None:
    made = body(container())
    given_keys = {key for key in made if key not in ("HostConfig", "NetworkingConfig")}
    assert given_keys == {"Image"} and made["Image"] == "app:2"


def test_what_was_given_at_run_is_kept() -> None:
    made = body(
        container(
            Env=["PATH=/usr/bin", "MODE=given", "TOKEN=x"],
            Labels={"maintainer": "x", "version": "1", "team": "payments", "version2": "1"},
            WorkingDir="/other",
            User="root",
            Hostname="web-host",
            Healthcheck={"Test": ["CMD", "false"]},
        )
    )
    assert made["Env"] == ["MODE=given", "TOKEN=x"]
    assert made["Labels"] == {"team": "payments", "version2": "1"}
    assert (made["WorkingDir"], made["User"], made["Hostname"]) == ("/other", "root", "web-host")
    assert made["Healthcheck"] == {"Test": ["CMD", "false"]}


def test_a_label_with_the_images_key_but_another_value_was_given() -> None:
    assert body(container(Labels={"version": "2"}))["Labels"] == {"version": "2"}


def test_a_command_beside_a_given_entrypoint_is_kept_even_if_it_equals_the_images() -> None:
    made = body(container(Entrypoint=["/other"]))
    assert made["Entrypoint"] == ["/other"] and made["Cmd"] == ["serve"]
    made = body(container(Cmd=["debug"]))
    assert "Entrypoint" not in made and made["Cmd"] == ["debug"]


def test_published_ports_stay_exposed_and_bound() -> None:
    doc = container()
    doc["HostConfig"]["PortBindings"] = {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
    made = body(doc)
    assert made["ExposedPorts"] == {"8080/tcp": {}}
    assert made["HostConfig"]["PortBindings"] == doc["HostConfig"]["PortBindings"]


def test_anonymous_volumes_come_along_and_given_mounts_are_not_doubled() -> None:
    doc = container()
    doc["HostConfig"]["Binds"] = ["named:/named", "/host/dir:/bound:ro"]
    doc["Mounts"] = [
        {"Type": "volume", "Name": "f" * 64, "Destination": "/data", "RW": True},
        {"Type": "volume", "Name": "e" * 64, "Destination": "/cache", "RW": False},
        {"Type": "volume", "Name": "named", "Destination": "/named", "RW": True},
        {"Type": "bind", "Source": "/host/dir", "Destination": "/bound", "RW": False},
    ]
    assert body(doc)["HostConfig"]["Binds"] == [
        "named:/named",
        "/host/dir:/bound:ro",
        f"{'f' * 64}:/data",
        f"{'e' * 64}:/cache:ro",
    ]


def test_networks_keep_their_aliases_but_not_the_old_id() -> None:
    doc = container()
    doc["HostConfig"]["NetworkMode"] = "backend"
    doc["NetworkSettings"]["Networks"] = {
        "bridge": {"Aliases": None},
        "backend": {
            "Aliases": [OLD_ID[:12], "api"],
            "IPAMConfig": {"IPv4Address": "10.0.0.5"},
        },
    }
    made = replacement(container=doc, old_image={"Config": IMAGE_CONFIG}, image="app:2")
    assert made.body["NetworkingConfig"] == {
        "EndpointsConfig": {
            "backend": {"Aliases": ["api"], "IPAMConfig": {"IPv4Address": "10.0.0.5"}}
        }
    }
    assert made.more_networks == (("bridge", {}),)


def test_host_none_and_another_containers_namespace_have_no_endpoints() -> None:
    for mode in ("host", "none", "container:" + "b" * 64):
        doc = container()
        doc["HostConfig"]["NetworkMode"] = mode
        made = replacement(container=doc, old_image={"Config": IMAGE_CONFIG}, image="app:2")
        assert "NetworkingConfig" not in made.body and made.more_networks == ()
        assert made.body["HostConfig"]["NetworkMode"] == mode


_ITEMS = st.text(alphabet="ABC=xyz", min_size=1, max_size=6)


@given(image_env=st.lists(_ITEMS, max_size=5), given_env=st.lists(_ITEMS, max_size=5))
def test_the_environment_is_what_was_given_beyond_the_image(
    image_env: list[str], given_env: list[str]
) -> None:
    doc = container(Env=[*image_env, *given_env])
    made = replacement(
        container=doc, old_image={"Config": {**IMAGE_CONFIG, "Env": image_env}}, image="app:2"
    ).body
    assert made.get("Env", []) == [item for item in given_env if item not in image_env]
    # The inspect document itself is left as it was.
    assert doc["Config"]["Env"] == [*image_env, *given_env]
