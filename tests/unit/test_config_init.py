"""`config init`: a minimal chatops.toml that the settings accept, from flags or answers."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

import pytest

from bot.config import notification_rules
from bot.config_init import Essentials, ask_essentials, checked_essentials, render_config
from bot.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def test_the_written_file_is_what_the_settings_read(tmp_path: Path) -> None:
    essentials = Essentials(
        admins=("U0ADMIN",),
        operators=("S0SRE", "U0OPS"),
        channels=("C0OPS",),
        notify_channel="C0ALERTS",
    )
    config = tmp_path / "chatops.toml"
    config.write_text(render_config(essentials, written=date(2026, 12, 6)))
    assert tomllib.loads(config.read_text())["roles"]["admin"] == ["U0ADMIN"]
    settings = Settings(chatops_config=config)
    assert settings.roles.admin == ["U0ADMIN"] and settings.roles.operator == ["S0SRE", "U0OPS"]
    # The notices' channel is one the bot takes commands in (their buttons are commands):
    # serve and config check refuse it otherwise, which the README's own example hit.
    assert settings.access.channels == ["C0OPS", "C0ALERTS"]
    assert settings.notifications.channel == "C0ALERTS"
    assert set(notification_rules(settings, ["default"])) == {"default"}


def test_without_a_notifications_channel_none_is_set(tmp_path: Path) -> None:
    config = tmp_path / "chatops.toml"
    config.write_text(render_config(Essentials(admins=("U0ADMIN",)), written=date(2026, 12, 6)))
    settings = Settings(chatops_config=config)
    assert settings.notifications.channel is None and settings.access.channels == []


def test_answers_are_asked_again_until_they_are_ids() -> None:
    answers = iter(["dana", "", "U0ADMIN", "#ops", "S0SRE", "general", "C0OPS", "C0A C0B", "C0A"])
    said: list[str] = []
    essentials = ask_essentials(ask=lambda _: next(answers), say=said.append)
    assert essentials == Essentials(
        admins=("U0ADMIN",), operators=("S0SRE",), channels=("C0OPS",), notify_channel="C0A"
    )
    problems = [line for line in said if line.startswith("  ")]
    assert len(problems) == 5  # dana, empty, #ops, general, two channels where one goes
    assert "Copy member ID" in said[0]


def test_flags_are_checked_and_asked_nothing() -> None:
    given = checked_essentials(admins=["U0ADMIN"], operators=[], channels=[], notify=None)
    assert ask_essentials(ask=lambda _: pytest.fail("asked"), say=print, given=given) is given
    with pytest.raises(ValueError, match="'dana' is not a Slack user"):
        checked_essentials(admins=["dana"], operators=[], channels=[], notify=None)
    with pytest.raises(ValueError, match="'#ops' is not a Slack channel ID"):
        checked_essentials(admins=["U0ADMIN"], operators=[], channels=[], notify="#ops")


def test_the_command_writes_once_and_never_overwrites_unasked(tmp_path: Path) -> None:
    def init(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "config", "init", *flags],
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    done = init("--admin", "U0ADMIN", "--notify", "C0OPS")
    assert done.returncode == 0 and "Wrote chatops.toml" in done.stdout, done.stderr
    written = (tmp_path / "chatops.toml").read_text()
    assert 'admin = ["U0ADMIN"]' in written and 'channel = "C0OPS"' in written
    again = init("--admin", "U0OTHER")
    assert again.returncode == 1 and "--force" in again.stderr
    assert (tmp_path / "chatops.toml").read_text() == written
    forced = init("--admin", "U0OTHER", "--force")
    assert (
        forced.returncode == 0 and 'admin = ["U0OTHER"]' in (tmp_path / "chatops.toml").read_text()
    )
