"""``python -m bot config check``: the configuration as ``serve`` would meet it, every
problem at once.

Offline, it reads ``.env``, the environment and the TOML file as ``serve`` does and builds
what ``serve`` builds from them (access rules, notification rules, engines), naming each
problem with its file and line. Online, it also asks Slack who each configured ID is
(``U0ADMIN -> @dana``) and whether the bot is in each channel, and pings each engine (its
version, whether it is a swarm manager). Every online call is bounded (``timeout`` seconds,
no retries): something that cannot be reached is a problem, said at once.
"""

from __future__ import annotations

import json
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.chat_ids import is_channel_id, is_principal_id
from bot.composition.slack import preflight
from bot.config import engine_directory
from bot.errors import ChatOpsError, ConfigError
from bot.settings import Settings, config_file, read_settings, toml_key_problems
from bot.slack.web import make_probe_client
from bot.toml_lines import line_of

PROBLEM, WARNING, OK = "problem", "warning", "ok"


_LABELS = {PROBLEM: "PROBLEM", WARNING: "warning", OK: "ok"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Finding:
    """One thing checked: ``problem``, ``warning`` or ``ok``; what (a file and line, a
    variable, an engine, a Slack ID); and what was found."""

    status: str
    subject: str
    text: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckReport:
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """Nothing is a problem (a warning is not one)."""
        return all(finding.status != PROBLEM for finding in self.findings)

    def as_text(self) -> str:
        width = max((len(finding.subject) for finding in self.findings), default=0)
        lines = [f"{_LABELS[f.status]:8} {f.subject:{width}}  {f.text}" for f in self.findings]
        problems = sum(finding.status == PROBLEM for finding in self.findings)
        lines.append(
            "All is well." if not problems else f"{problems} problem{'s' * (problems != 1)}."
        )
        return "\n".join(lines)

    def as_json(self) -> str:
        return json.dumps(
            {"ok": self.ok, "findings": [asdict(finding) for finding in self.findings]},
            indent=2,
        )


def check_configuration(
    *,
    offline: bool,
    timeout: float = 5.0,
    read: Callable[..., Settings] = read_settings,
    slack: Callable[[Settings, float], WebClient] | None = None,
) -> CheckReport:
    """Check the configuration ``read`` gives (``serve``'s sources); online unless
    ``offline``. ``slack`` makes the Web API client (tests point it elsewhere)."""
    findings: list[Finding] = []
    path = _quietly(config_file)
    text = _text_of(path)
    try:
        settings = read()
    except ValidationError as err:
        findings.extend(_validation_findings(err, path=path, text=text))
        return CheckReport(findings=tuple(findings))
    except ConfigError as err:
        toml = _toml_findings(path, text)
        findings.extend(toml or [_problem("configuration", str(err))])
        # The settings stop at the file's top level; the rest of it is checked without the
        # keys already found wrong, so that every problem is told at once.
        findings.extend(_without_wrong_keys(read, path=path, text=text) if toml else ())
        return CheckReport(findings=tuple(findings))
    where = str(path) if path else "no TOML file (defaults)"
    dotenv = ".env, " if Path(".env").is_file() else "no .env, "
    findings.append(
        Finding(status=OK, subject="settings", text=f"read: {dotenv}environment, {where}")
    )
    findings.extend(
        Finding(status=WARNING, subject="renamed", text=line) for line in settings.renamed_variables
    )
    findings.extend(_built(settings))
    if not offline:
        findings.extend(_engines(settings, timeout=timeout))
        client = (slack or _probe_client)(settings, timeout)
        findings.extend(_slack(settings, client))
    return CheckReport(findings=tuple(findings))


# --- offline ---------------------------------------------------------------------------------


def _validation_findings(
    err: ValidationError, *, path: Path | None, text: str | None
) -> Iterator[Finding]:
    in_file = _toml_keys(text)
    for error in err.errors():
        loc = [part for part in error["loc"] if isinstance(part, str | int)]
        message = str(error["msg"]).removeprefix("Value error, ").rstrip(".")
        top = str(loc[0]) if loc else ""
        if len(loc) == 1 and top not in in_file:
            # A top-level setting not in the file came from the environment (or .env).
            yield _problem(top.upper(), message)
            continue
        line = line_of(text, loc) if text is not None else None
        dotted = ".".join(str(part) for part in loc) or "settings"
        where = f"{path}:{line}" if path is not None and line is not None else str(path or "")
        yield _problem(where or dotted, f"{dotted}: {message}")


def _toml_findings(path: Path | None, text: str | None) -> list[Finding]:
    """Every top-level problem of the TOML file (the settings stop at the first)."""
    if path is None or text is None:
        return []
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        return [_problem(str(path), f"not valid TOML: {err}")]
    return [
        _problem(_at(path, text, (key,)), message.removeprefix(f"{path}: "))
        for key, message in toml_key_problems(path, data, Settings)
    ]


def _without_wrong_keys(
    read: Callable[..., Settings], *, path: Path | None, text: str | None
) -> list[Finding]:
    if path is None or text is None:
        return []
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return []
    wrong = {key for key, _ in toml_key_problems(path, data, Settings)}
    with tempfile.TemporaryDirectory() as empty:
        blank = Path(empty) / "none.toml"
        blank.write_text("")
        kept = {key: value for key, value in data.items() if key not in wrong}
        try:
            read(chatops_config=blank, **kept)
        except ValidationError as err:
            return list(_validation_findings(err, path=path, text=text))
        except ConfigError as err:
            return [_problem(str(path), str(err))]
    return []


def _built(settings: Settings) -> Iterator[Finding]:
    """What ``serve`` builds from the settings before it starts, each step on its own."""
    for subject, step in preflight(settings):
        try:
            step()
        except ChatOpsError as err:
            yield _problem(subject, str(err))
        else:
            yield Finding(status=OK, subject=subject, text="ok")


# --- online ----------------------------------------------------------------------------------


def _engines(settings: Settings, *, timeout: float) -> Iterator[Finding]:
    directory = engine_directory(settings)
    pool = ThreadPoolExecutor(max_workers=max(1, len(directory.names())))
    try:
        futures = {name: pool.submit(_describe, directory.get(name)) for name in directory.names()}
        wait(futures.values(), timeout=timeout)
        for name, future in futures.items():
            engine = directory.get(name)
            subject = f"engine {name}"
            if not future.done():
                yield _problem(subject, f"{engine.location} did not answer within {timeout:g} s")
                continue
            error = future.exception()
            if error is not None:
                yield _problem(subject, str(error))
                continue
            version, manager = future.result()
            role = "a swarm manager" if manager else "not a swarm manager"
            yield Finding(
                status=OK, subject=subject, text=f"{engine.location}: Docker {version}, {role}"
            )
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        directory.close()


def _describe(engine: Any) -> tuple[str, bool]:
    return engine.version(), engine.swarm_manager()


def _probe_client(settings: Settings, timeout: float) -> WebClient:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return make_probe_client(
        token=token, base_url=settings.slack_api_url, timeout=max(1, round(timeout))
    )


def _slack(settings: Settings, client: WebClient) -> Iterator[Finding]:
    if settings.slack_bot_token is None:
        yield _problem("Slack", "SLACK_BOT_TOKEN is not set: the IDs cannot be looked up")
        return
    try:
        me = client.auth_test()
    except (SlackClientError, OSError) as err:
        yield _problem("Slack", f"auth.test failed: {_slack_error(err)}")
        return
    yield Finding(
        status=OK,
        subject="Slack",
        text=f"the bot is @{me.get('user', '?')} in workspace {me.get('team', '?')}",
    )
    ids = sorted(set(_configured_ids(settings.model_dump(mode="json"))))
    groups: dict[str, dict[str, Any]] | None = None
    for value in ids:
        try:
            if value.startswith("S"):
                if groups is None:
                    listed = client.usergroups_list(include_count=True)
                    groups = {str(g.get("id")): g for g in listed.get("usergroups") or ()}
                group = groups.get(value)
                if group is None:
                    yield _problem(value, "no such user group in this workspace")
                    continue
                count = group.get("user_count", "?")
                yield Finding(
                    status=OK,
                    subject=value,
                    text=f"-> @{group.get('handle', '?')} ({count} members)",
                )
            elif value[0] in "UW":
                user = client.users_info(user=value).get("user") or {}
                yield Finding(status=OK, subject=value, text=f"-> @{user.get('name', '?')}")
            else:
                channel = client.conversations_info(channel=value).get("channel") or {}
                name = f"-> #{channel.get('name', '?')}"
                if channel.get("is_member") is False:
                    yield _problem(
                        value, f"{name}: the bot is not a member (invite it: /invite @bot)"
                    )
                else:
                    yield Finding(status=OK, subject=value, text=name)
        except (SlackClientError, OSError) as err:
            yield _problem(value, _slack_error(err))


# Tables whose strings are names of Docker objects, images or paths, never Slack IDs (a
# network allowlisted as "C0FFEE1" must not be looked up as a channel).
_NOT_SLACK = frozenset({"run_policy", "exclude", "url", "tls"})


def _configured_ids(value: object) -> Iterator[str]:
    """Every Slack user, group and channel ID in the settings (outside ``_NOT_SLACK``)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in _NOT_SLACK:
                yield from _configured_ids(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _configured_ids(item)
    elif isinstance(value, str) and (is_principal_id(value) or is_channel_id(value)):
        yield value


def _slack_error(err: Exception) -> str:
    if isinstance(err, SlackApiError):
        code = str(err.response.get("error") or err)
        if code == "missing_scope":
            needed = err.response.get("needed")
            scope = f"the {needed} scope" if needed else "a scope this check needs"
            return (
                f"the app lacks {scope}: slack/manifest.*.yml lists every scope; add it and "
                "reinstall the app"
            )
        return code
    # urllib's errors (URLError, a timeout) when Slack cannot be reached at all.
    reason = getattr(err, "reason", None) or err
    return f"Slack cannot be reached at the configured SLACK_API_URL ({reason})"


# --- helpers ---------------------------------------------------------------------------------


def _problem(subject: str, text: str) -> Finding:
    return Finding(status=PROBLEM, subject=subject, text=text)


def _at(path: Path, text: str, loc: tuple[str | int, ...]) -> str:
    line = line_of(text, loc)
    return f"{path}:{line}" if line is not None else str(path)


def _text_of(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # the settings say why, in their own words


def _toml_keys(text: str | None) -> set[str]:
    if text is None:
        return set()
    try:
        return set(tomllib.loads(text))
    except tomllib.TOMLDecodeError:
        return set()


def _quietly(find: Callable[[], Path | None]) -> Path | None:
    try:
        return find()
    except (ValidationError, OSError):
        return None
