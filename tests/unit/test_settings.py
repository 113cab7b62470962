from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.core.operations import DESTRUCTIVE_ACTIONS
from bot.errors import ConfigError
from bot.settings import load_settings


def test_defaults() -> None:
    settings = load_settings(_env_file=None)
    assert settings.port == 3000
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.engines == {}
    assert settings.docker_host is None


def test_environment_and_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret")
    monkeypatch.setenv("CHATOPS_PORT", "8080")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    settings = load_settings(_env_file=None)
    assert settings.port == 8080
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-secret"
    assert "xoxb-secret" not in repr(settings)


def test_dotenv_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("DOCKER_HOST=tcp://10.0.0.1:2376\n")
    assert load_settings(_env_file=env).docker_host == "tcp://10.0.0.1:2376"


def test_toml_engines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(
        "run_wait_seconds = 5\n"
        "[engines.local]\nurl = 'unix:///var/run/docker.sock'\ndefault = true\n"
        "[engines.prod]\nurl = 'tcp://prod:2376'\ntimeout_seconds = 10\n"
        "[engines.prod.tls]\nca_cert = '/etc/ca.pem'\n"
    )
    monkeypatch.setenv("CHATOPS_CONFIG", str(config))
    settings = load_settings(_env_file=None)
    assert settings.run_wait_seconds == 5
    assert settings.engines["local"].default
    assert settings.engines["prod"].tls is not None
    assert settings.engines["prod"].tls.ca_cert == Path("/etc/ca.pem")


def test_environment_beats_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "bot.toml"
    config.write_text("port = 4000\n")
    monkeypatch.setenv("CHATOPS_CONFIG", str(config))
    monkeypatch.setenv("CHATOPS_PORT", "5000")
    assert load_settings(_env_file=None).port == 5000


@pytest.mark.parametrize(
    ("toml", "env", "fragment"),
    [
        ("[engines.a]\nurl = 'ftp://x'\n", {}, "engines.a.url: must start with"),
        ("[engines.a]\nurl = 'unix:///a'\n[engines.b]\nurl = 'unix:///b'\n", {}, "mark one"),
        (
            "[engines.a]\nurl='unix:///a'\ndefault=true\n[engines.b]\nurl='unix:///b'\ndefault=true\n",
            {},
            "only one engine",
        ),
        ("[engines.a]\nurl = 'unix:///a'\ncolour = 'red'\n", {}, "engines.a.colour"),
        ("", {"CHATOPS_PORT": "99999"}, "Invalid setting CHATOPS_PORT"),
        ("", {"PORT": "abc"}, "Invalid setting PORT"),
        ("[notifications]\nfailover = '1s'\n", {}, "failover must be between 3s and 10m"),
        ("[notifications]\nfailover = 'soon'\n", {}, "notifications.failover: Invalid duration"),
        ("[notifications]\nmax_silence = 'a week'\n", {}, "notifications.max_silence: Invalid"),
        ("[notifications]\nmax_silence = '30m'\n", {}, "max_silence must be at least 1h"),
        (
            "[engines.a]\nurl = 'unix:///a'\n[engines.a.notifications]\nmax_silence = '1d'\n",
            {},
            "max_silence",
        ),
        ("", {"SLACK_API_URL": "slack.com"}, "SLACK_API_URL: must be an http(s) URL"),
        ("", {"DOCKER_HOST": "/var/run/docker.sock"}, "DOCKER_HOST: must start with"),
        ("not toml = = =", {}, "is not valid TOML"),
        # A misspelt table or key fails closed instead of being ignored.
        ("[acess]\nchannels = ['C0OPS']\n", {}, "unknown table 'acess' (did you mean 'access'?)"),
        ("[run_polcy]\nallow_privileged = false\n", {}, "unknown table 'run_polcy'"),
        ("[role]\nadmin = ['U0ADMIN']\n", {}, "unknown table 'role' (did you mean 'roles'?)"),
        ("run_wait_secs = 5\n", {}, "unknown setting 'run_wait_secs'"),
        ("[access]\nchannel = ['C0OPS']\n", {}, "access.channel"),
        # Slack IDs wherever a setting holds one.
        (
            "[approvals]\nchannel = '#approvals'\n",
            {},
            "approvals.channel: '#approvals' is not a Slack channel ID",
        ),
        (
            "[cleanup]\nnotify_channel = 'ops'\n",
            {},
            "cleanup.notify_channel: 'ops' is not a Slack channel ID",
        ),
        ("[audit]\nchannel = 'U0USER'\n", {}, "audit.channel: 'U0USER' is not a Slack channel ID"),
        ("[access]\nchannels = ['U0USER']\n", {}, "is not a Slack channel ID"),
        ("[engines.a]\nurl = 'unix:///a'\nchannels = ['general']\n", {}, "engines.a.channels"),
        ("[roles]\nadmin = ['C0CHANNEL']\n", {}, "roles.admin: 'C0CHANNEL' is not a Slack user"),
        ("[approvals]\napprovers = ['@alice']\n", {}, "approvals.approvers"),
        # Mistakes that used to load (an attacker's review).
        (
            "[approvals]\nrequired_for = ['rm', 'prunes']\n",
            {},
            "'prunes' is not a destructive action (did you mean 'prune'?)",
        ),
        ("[approvals]\napprovers = ['viewer']\n", {}, "'viewer' cannot approve"),
        ("chatops_audit_key = '" + "k" * 40 + "'\n", {}, "chatops_audit_key is a credential"),
        ("slack_signing_secret = 'x'\n", {}, "set SLACK_SIGNING_SECRET in the environment"),
        ("[run_policy]\ndefault_memory = '0'\n", {}, "at least 6m"),
        ("[run_policy]\ndefault_cpus = 0.001\n", {}, "run_policy.default_cpus"),
        ("[roles]\nadmin = ['SECOPS']\n", {}, "'SECOPS' is not a Slack user"),
        ("[access]\nchannels = ['GENERAL']\n", {}, "'GENERAL' is not a Slack channel ID"),
        (
            "[run_policy]\nhost_path_readonly_trees = ['/proc']\n",
            {},
            "/proc/1/root is the host's root",
        ),
        ("[run_policy]\nhost_path_allowlist = ['/var/run']\n", {}, "is or holds an engine socket"),
        ("[run_policy]\nallow_mount_options = ['rslave']\n", {}, "allow_mount_options"),
        # [[freeze]] (issue 20): a window that ends before it starts, unknown keys and actions.
        (
            "[[freeze]]\nreason = 'r'\nstart = 2026-12-20T18:00:00Z\nend = 2026-12-20T08:00:00Z\n",
            {},
            "freeze 'r' ends (2026-12-20 08:00:00+00:00) before it starts",
        ),
        ("[[freeze]]\nreason = 'r'\nschedule = '0 18 * * 5'\nduraton = '1h'\n", {}, "duraton"),
        (
            "[[freeze]]\nreason = 'r'\nschedule = '0 18 * * 5'\nduration = '1h'\n"
            "actions = ['stopp', 'ps']\n",
            {},
            "unknown actions ps, stopp: a freeze holds changes",
        ),
        ("[[freeze]]\nreason = 'r'\nschedule = '0 18 * *'\nduration = '1h'\n", {}, "five fields"),
        ("[[freeze]]\nreason = 'r'\nstart = 2026-12-20T18:00:00Z\n", {}, "start and end"),
        (
            "[[freeze]]\nreason = 'r'\nstart = 2026-12-20T18:00:00\nend = 2026-12-21T18:00:00\n"
            "timezone = 'Mars/Olympus'\n",
            {},
            "is not a time zone name",
        ),
    ],
)
def test_wrong_settings_give_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, env: dict[str, str], fragment: str
) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(toml)
    monkeypatch.setenv("CHATOPS_CONFIG", str(config))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_named_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHATOPS_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match=r"absent\.toml"):
        load_settings(_env_file=None)


def test_default_config_file_in_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chatops.toml").write_text("logs_max_lines = 7\n")
    assert load_settings(_env_file=None).logs_max_lines == 7


def test_shipped_examples_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("CHATOPS_CONFIG", str(repo / "chatops.example.toml"))
    settings = load_settings(_env_file=repo / ".env.example")
    # No engine table outranks DOCKER_HOST (compose's proxy), and .env sets no default.
    assert settings.engines == {}
    assert settings.docker_host is None
    assert settings.slack_bot_token is None  # blank in the example means unset


def test_channel_ids_accepted_where_settings_hold_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(
        "[approvals]\nchannel = 'C0APPROVALS'\n[cleanup]\nnotify_channel = 'G0PRIVATE'\n"
        "[audit]\nchannel = 'C0AUDIT'\n[access]\nchannels = ['C0OPS', 'G0OPS']\n"
    )
    monkeypatch.setenv("CHATOPS_CONFIG", str(config))
    settings = load_settings(_env_file=None)
    assert settings.approvals.channel == "C0APPROVALS"
    assert settings.cleanup.notify_channel == "G0PRIVATE"
    assert settings.audit.channel == "C0AUDIT"


def test_the_example_configuration_asks_approval_for_every_destructive_action() -> None:
    # An operator copies chatops.example.toml: an action left out of its required_for would
    # run without an approval there, whatever the default says.
    example = tomllib.loads(
        (Path(__file__).resolve().parents[2] / "chatops.example.toml").read_text()
    )
    assert set(example["approvals"]["required_for"]) == set(DESTRUCTIVE_ACTIONS)


def test_old_names_are_read_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8080")
    monkeypatch.setenv("CHATOPS_LOG_FORMAT", "json")  # control: a new name warns of nothing
    settings = load_settings(_env_file=None)
    assert settings.port == 8080 and settings.log_format == "json"
    assert settings.renamed_variables == (
        "PORT (in the environment) is read as CHATOPS_PORT: rename it.",
    )


def test_an_old_name_in_dotenv_warns_too(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("ENGINE_CONCURRENCY=7\n")
    settings = load_settings(_env_file=env)
    assert settings.engine_concurrency == 7
    assert settings.renamed_variables == (
        "ENGINE_CONCURRENCY (in .env) is read as CHATOPS_ENGINE_CONCURRENCY: rename it.",
    )


def test_an_old_and_a_new_name_that_disagree_stop_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PORT", "8080")
    monkeypatch.setenv("CHATOPS_PORT", "8081")
    with pytest.raises(ConfigError, match="PORT and CHATOPS_PORT in the environment disagree"):
        load_settings(_env_file=None)
    monkeypatch.setenv("CHATOPS_PORT", "8080")  # agreeing: read, with the warning
    assert load_settings(_env_file=None).port == 8080


def test_secrets_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token, key = tmp_path / "token", tmp_path / "key"
    token.write_text("xoxb-from-a-file\n")
    key.write_text("k" * 64)
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(token))
    monkeypatch.setenv("CHATOPS_AUDIT_KEY_FILE", str(key))
    settings = load_settings(_env_file=None)
    assert settings.slack_bot_token is not None and settings.chatops_audit_key is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-a-file"
    assert settings.chatops_audit_key.get_secret_value() == "k" * 64
    assert "xoxb-from-a-file" in settings.secret_values()  # kept out of logs like the rest


@pytest.mark.parametrize(
    ("content", "variable", "fragment"),
    [
        (None, "", "SLACK_BOT_TOKEN_FILE names {path}, which cannot be read (No such file"),
        ("\n", "", "SLACK_BOT_TOKEN_FILE names {path}, which is empty"),
        (
            "xoxb-one",
            "xoxb-two",
            "SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE in the environment disagree",
        ),
    ],
)
def test_a_secret_file_that_cannot_be_used_stops_start_up(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: str | None,
    variable: str,
    fragment: str,
) -> None:
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(path))
    if variable:
        monkeypatch.setenv("SLACK_BOT_TOKEN", variable)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert fragment.format(path=path) in str(caught.value)
