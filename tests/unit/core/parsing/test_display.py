"""What is shown and stored is rendered from the parsed operation: no spelling leaks a secret."""

from __future__ import annotations

import dataclasses
import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.command import ParsedCommand
from bot.core.operations import RunContainer
from bot.core.parsing.parser import parse_command
from bot.errors import ParseError

# Every spelling of an environment value the parser accepts (pflag's rules, plus the bot's
# kindness to `-env` and to options typed after the image).
SPELLINGS = (
    "run -e {k}={v} img",
    "run -e={k}={v} img",
    "run -e{k}={v} img",
    "run --env {k}={v} img",
    "run --env={k}={v} img",
    "run -de {k}={v} img",
    "run -de{k}={v} img",
    "run -de={k}={v} img",
    "run -d -e {k}={v} img",
    "run -env {k}={v} img",
    "run -env={k}={v} img",
    "run --rm -e '{k}={v}' img echo hi",
    'run -e "{k}={v}" img',
    "run -e “{k}={v}” img",
    "run img -e {k}={v}",
    "run img -d -e {k}={v} sh",
    "run img --env={k}={v} -- sh",
    "docker run -e {k}={v} img",
    "/docker -c prod run -e {k}={v} img",
    "container run -e {k}={v} img",
    "run --name web -p 8080:80 -e A=1 -e {k}={v} -l x=y img",
)


def _everything_shown(command: ParsedCommand) -> str:
    return "\n".join([command.shown, *command.warnings])


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_is_redacted(spelling: str) -> None:
    command = parse_command(spelling.format(k="DB_PASSWORD", v="hunter2"))
    assert isinstance(command.operation, RunContainer)
    assert ("DB_PASSWORD", "hunter2") in command.operation.env  # the engine still gets it
    shown = _everything_shown(command)
    assert "hunter2" not in shown
    assert "-e 'DB_PASSWORD=<redacted>'" in shown


_secret = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="'\"\\“”‘’"),
    min_size=1,
    max_size=40,
).map(lambda text: "Zq9" + text.replace(" ", "_") + "Xw7")


@given(
    spelling=st.sampled_from(SPELLINGS),
    secret=_secret,
    key=st.from_regex(r"[A-Z][A-Z0-9_]{0,12}", fullmatch=True),
)
def test_no_accepted_spelling_shows_the_value(spelling: str, secret: str, key: str) -> None:
    text = spelling.format(k=key, v=secret)
    try:
        command = parse_command(text)
    except ParseError as err:
        assert secret not in str(err)  # a refusal does not echo it either
        return
    assert secret not in _everything_shown(command)


@pytest.mark.parametrize(
    "text",
    [
        "run -e 'BAD KEY=hunter2' img",
        "run -e =hunter2 img",
        "run -xe K=hunter2 img",
        "run -dxeK=hunter2 img",
        "run --bogus -e K=hunter2 img",
    ],
)
def test_refusals_do_not_echo_values(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_command(text)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "ps -a -n 3 --no-trunc --filter status=exited --filter label=a=b",
        "images -a --digests --filter dangling=true",
        "pull -q --platform linux/arm64 registry.example.com:5000/team/app:v1",
        "run -d --name web --rm -l team=web -p 127.0.0.1:8080:80 -p 53:53/udp -v /srv:/srv:ro "
        "-v data:/data -w /app -u 1000:1000 --entrypoint '' --memory 64m --cpus 0.5 "
        "-h box --network backend --cap-drop ALL --security-opt no-new-privileges "
        "nginx:1.27 sh -c 'echo hi; sleep 1'",
        "run --restart on-failure:3 busybox",
        "rm -f -v web db",
        "stop -t 5 web",
        "rmi -f --no-prune nginx:1.27",
        "volume rm -f web-data old.cache",
        "logs -n 20 -t web",
        "inspect --type image nginx",
        "container prune --filter until=24h",
        "image prune -a --filter label=x",
        "cleanup --dry-run",
        "cleanup status",
        "cancel 12",
        "audit 5",
        "approvals",
        "-c prod ps",
        "silence web 1h30m",
        "silence ci-* 2d",
        "-c prod silence api-[12] 90s",
        "silences",
        "unsilence 3",
    ],
)
def test_what_is_shown_parses_back_to_the_same_operation(text: str) -> None:
    command = parse_command(text)
    again = parse_command(command.shown)
    assert again.operation == command.operation
    assert again.engine == command.engine


def test_misplaced_options_are_explained_in_dockers_spelling() -> None:
    command = parse_command("run img --name web -e TOKEN=s3cret")
    [warning] = command.warnings
    assert "Docker's spelling is `run --name web -e 'TOKEN=<redacted>' img:latest`" in warning
    assert "s3cret" not in warning


@pytest.mark.parametrize(
    "text",
    [
        "run busybox -d -eK=S3CRETVAL",
        "run busybox -deK=S3CRETVAL",
        "run busybox -de K=S3CRETVAL",
        "run busybox -de=K=S3CRETVAL sh",
    ],
)
def test_environment_bundles_after_the_image_are_environment(text: str) -> None:
    command = parse_command(text)
    assert isinstance(command.operation, RunContainer)
    assert command.operation.env == (("K", "S3CRETVAL"),)
    assert "S3CRETVAL" not in _everything_shown(command)


@pytest.mark.parametrize(
    "text",
    [
        "run busybox --network -d -- --rm /a:/b",
        "run n -h 80 --pid -u -- --help",
        "run --cpus 1.23456789 busybox",
        "run busybox -- -x",
        "run busybox -la",
    ],
)
def test_tricky_commands_round_trip(text: str) -> None:
    command = parse_command(text)
    assert parse_command(command.shown).operation == command.operation


def _without_env_values(operation: object) -> object:
    if isinstance(operation, RunContainer):
        return dataclasses.replace(
            operation, env=tuple((key, "<redacted>") for key, _ in operation.env)
        )
    return operation


_WORDS = st.sampled_from(
    [
        "-d",
        "--rm",
        "-e",
        "K=v",
        "-eK=v",
        "-deA=b",
        "-l",
        "a=b",
        "-p",
        "80",
        "8080:80/udp",
        "-v",
        "/a:/b",
        "--name",
        "web",
        "-h",
        "--pid",
        "-u",
        "--network",
        "--",
        "--help",
        "-w",
        "/w",
        "--cpus",
        "0.5",
        "--entrypoint",
        "",
        "sh",
        "-c",
        "echo hi",
        "-la",
        "x",
        "--restart",
        "on-failure:2",
        "-t",
        "-i",
        "--security-opt",
        "no-new-privileges",
    ]
)


@given(before=st.lists(_WORDS, max_size=6), after=st.lists(_WORDS, max_size=6))
def test_what_is_shown_always_parses_back(before: list[str], after: list[str]) -> None:
    text = shlex.join(["run", *before, "busybox", *after])
    try:
        command = parse_command(text)
    except ParseError:
        return
    again = parse_command(command.shown)
    assert _without_env_values(again.operation) == _without_env_values(command.operation)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (
            "run busybox sh -c 'curl -H \"Authorization: Bearer abcdef0123456789abcdef\" x'",
            "abcdef0123456789abcdef",
        ),
        ("run busybox wget https://deploy:hunter2hunter2@git.example.com/x", "hunter2hunter2"),
        ("run busybox echo xoxb-1234567890-abcdefghijkl", "xoxb-1234567890-abcdefghijkl"),
        (
            "run busybox --token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        ),
    ],
)
def test_secrets_typed_as_arguments_are_not_shown(text: str, secret: str) -> None:
    """What is shown is stored too (approval requests, the audit log)."""
    command = parse_command(text)
    assert secret not in command.shown and "<redacted>" in command.shown
    assert secret in repr(command.operation)  # the operation itself runs as typed
