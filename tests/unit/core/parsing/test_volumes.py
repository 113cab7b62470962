from __future__ import annotations

import pytest

from bot.core.operations import MountKind, VolumeMount
from bot.core.parsing.volumes import parse_volume
from bot.errors import ParseError


@pytest.mark.parametrize(
    ("spec", "mount"),
    [
        ("/host:/ctr", VolumeMount(kind=MountKind.BIND, source="/host", target="/ctr")),
        (
            "/host:/ctr:ro",
            VolumeMount(kind=MountKind.BIND, source="/host", target="/ctr", options=("ro",)),
        ),
        (
            "/h:/c:ro,Z",
            VolumeMount(kind=MountKind.BIND, source="/h", target="/c", options=("ro", "Z")),
        ),
        (
            "data:/var/lib/data",
            VolumeMount(kind=MountKind.VOLUME, source="data", target="/var/lib/data"),
        ),
        ("/cache", VolumeMount(kind=MountKind.ANONYMOUS, target="/cache")),
    ],
)
def test_forms(spec: str, mount: VolumeMount) -> None:
    assert parse_volume(spec) == mount
    assert mount.read_only == ("ro" in spec)


@pytest.mark.parametrize(
    "spec",
    ["", ":", "/a:", "a:b", "/a:/", "/a:/b:ro,rw", "/a:/b:c:d", "da ta:/x", "../x:/y", "x/y:/z"],
)
def test_invalid(spec: str) -> None:
    with pytest.raises(ParseError, match="Invalid volume"):
        parse_volume(spec)
