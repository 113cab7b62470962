"""`config check` offline: every problem of the files and the environment at once, each with
its file and line (or its variable), and nothing when all is well."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config_check import CheckReport, check_configuration

GOOD = """\
[roles]
admin = ["U0ADMIN"]
operator = ["U0OPS"]

[notifications]
channel = "C0OPS"
"""
CREDENTIALS = {
    "SLACK_BOT_TOKEN": "xoxb-test",
    "SLACK_SIGNING_SECRET": "signing-secret",
    "CHATOPS_AUDIT_KEY": "k" * 64,
    "DOCKER_HOST": "unix:///nowhere/docker.sock",  # offline: never asked
}


def checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, **env: str) -> CheckReport:
    config = tmp_path / "chatops.toml"
    config.write_text(toml)
    monkeypatch.chdir(tmp_path)
    for name, value in (CREDENTIALS | {"CHATOPS_CONFIG": str(config)} | env).items():
        monkeypatch.setenv(name, value)
    return check_configuration(offline=True)


def problems(report: CheckReport) -> list[tuple[str, str]]:
    return [(f.subject, f.text) for f in report.findings if f.status == "problem"]


def test_a_good_configuration_is_all_well(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = checked(tmp_path, monkeypatch, GOOD)
    assert report.ok, report.as_text()
    assert report.as_text().endswith("All is well.")
    assert json.loads(report.as_json())["ok"] is True


def test_every_problem_at_once_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = GOOD.replace('admin = ["U0ADMIN"]', 'admin = ["dana"]') + (
        'group_window = "ten"\n\n[acess]\nchannels = []\n'
    )
    found = problems(checked(tmp_path, monkeypatch, bad))
    config = tmp_path / "chatops.toml"
    assert [subject for subject, _ in found] == [f"{config}:9", f"{config}:2", f"{config}:7"]
    assert "unknown table 'acess' (did you mean 'access'?)" in found[0][1]
    assert "roles.admin: 'dana' is not a Slack user" in found[1][1]
    assert "notifications.group_window: Invalid duration 'ten'" in found[2][1]


def test_a_key_at_the_wrong_level(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `channel` belongs under [notifications]; at the top it is no setting at all.
    found = problems(checked(tmp_path, monkeypatch, 'channel = "C0OPS"\n' + GOOD))
    assert found == [
        (
            f"{tmp_path / 'chatops.toml'}:1",
            "unknown setting 'channel'. See chatops.example.toml for every key.",
        )
    ]


def test_a_file_that_is_not_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [(subject, text)] = problems(checked(tmp_path, monkeypatch, "[roles\nadmin = 1\n"))
    assert subject == str(tmp_path / "chatops.toml") and "not valid TOML" in text
    assert "line 1" in text


def test_the_environment_is_named_by_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = problems(checked(tmp_path, monkeypatch, GOOD, CHATOPS_PORT="abc", LOG_FORMAT="xml"))
    assert [subject for subject, _ in found] == ["CHATOPS_PORT", "LOG_FORMAT"]


def test_what_serve_builds_is_checked_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A blank value is unset, as .env.example ships it.
    report = checked(
        tmp_path, monkeypatch, GOOD, CHATOPS_AUDIT_KEY="short", SLACK_SIGNING_SECRET=""
    )
    subjects = [subject for subject, _ in problems(report)]
    assert subjects == ["Slack credentials", "CHATOPS_AUDIT_KEY"]
    assert not report.ok and report.as_text().endswith("2 problems.")


def test_an_old_variable_name_is_a_warning_not_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = checked(tmp_path, monkeypatch, GOOD, PORT="3000")
    assert report.ok and report.as_text().endswith("All is well.")
    warnings = [(f.subject, f.text) for f in report.findings if f.status == "warning"]
    assert warnings == [
        ("renamed", "PORT (in the environment) is read as CHATOPS_PORT: rename it.")
    ]


def test_only_slack_settings_are_taken_for_slack_ids() -> None:
    from bot.config_check import _configured_ids

    settings = {
        "roles": {"admin": ["U0ADMIN"], "operator": ["S0SRE", "*"]},
        "access": {"channels": ["C0OPS"]},
        "run_policy": {"network_allowlist": ["C0FFEE1"], "image_allowlist": ["U2FOO/app"]},
        "notifications": {"channel": "C0ALERTS", "exclude": ["S0METHING1"]},
        "engines": {"prod": {"url": "ssh://U0HOST1", "channels": ["C0PROD"]}},
    }
    assert sorted(_configured_ids(settings)) == ["C0ALERTS", "C0OPS", "C0PROD", "S0SRE", "U0ADMIN"]


def test_a_bad_grant_is_named_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = GOOD + '\n[[grants]]\nwho = ["U0DEV"]\nactions = ["logs"]\n\n[[grants]]\n'
    bad += 'who = ["U0DEV"]\nactions = ["restrat"]\n'
    found = problems(checked(tmp_path, monkeypatch, bad))
    assert len(found) == 1 and found[0][0] == f"{tmp_path / 'chatops.toml'}:14"
    assert "unknown action 'restrat'" in found[0][1]
