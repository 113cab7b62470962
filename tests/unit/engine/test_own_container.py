"""Finding the bot's own container from /proc, under cgroup v1 and v2."""

from __future__ import annotations

from pathlib import Path

from bot.engine.own_container import own_container_ids

ID = "3f4e" * 16
MOUNTINFO = f"""\
1046 1025 0:88 / / rw,relatime - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X
1055 1046 254:1 /var/lib/docker/containers/{ID}/resolv.conf /etc/resolv.conf rw - ext4 /dev/vda1 rw
1056 1046 254:1 /tmp/sandbox/data/containers/{ID}/hostname /etc/hostname rw - ext4 /dev/vda1 rw
1057 1046 254:1 /var/lib/docker/containers/{ID}/hosts /etc/hosts rw - ext4 /dev/vda1 rw
"""


def test_from_the_mount_table(tmp_path: Path) -> None:
    (tmp_path / "mountinfo").write_text(MOUNTINFO)
    (tmp_path / "cgroup").write_text("0::/\n")
    assert own_container_ids(tmp_path) == {ID}


def test_from_cgroup_v1(tmp_path: Path) -> None:
    (tmp_path / "cgroup").write_text(f"12:memory:/docker/{ID}\n1:name=systemd:/docker/{ID}\n")
    assert own_container_ids(tmp_path) == {ID}


def test_outside_a_container(tmp_path: Path) -> None:
    (tmp_path / "mountinfo").write_text(
        "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
        # A container's files mounted elsewhere are not this process's own /etc files.
        f"30 22 254:1 /srv/containers/{ID}/config.json /srv/x rw - ext4 /dev/vda1 rw\n"
    )
    (tmp_path / "cgroup").write_text("0::/user.slice/user-0.slice/session-1.scope\n")
    assert own_container_ids(tmp_path) == frozenset()
    assert own_container_ids(tmp_path / "missing") == frozenset()
