"""Table-driven tests of the /docker language: every supported form, and precise errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.operations import (
    ChangeContainers,
    ContainerAction,
    Help,
    Inspect,
    InspectType,
    ListContainers,
    ListImages,
    MountKind,
    PortMapping,
    PortProtocol,
    PruneContainers,
    PruneImages,
    Pull,
    RemoveImages,
    RestartName,
    RestartPolicy,
    RunContainer,
    ShowLogs,
    VolumeMount,
)
from bot.core.parsing.parser import parse_command
from bot.core.references import ImageReference, parse_image_reference
from bot.errors import ParseError


def op(text: str) -> object:
    return parse_command(text).operation


def ref(text: str) -> ImageReference:
    return parse_image_reference(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pull nginx", Pull(image=ref("nginx:latest"))),
        ("pull nginx:1.27", Pull(image=ref("nginx:1.27"))),
        ("pull -q nginx:1.27", Pull(image=ref("nginx:1.27"), quiet=True)),
        (
            "pull --all-tags nginx",
            Pull(image=parse_image_reference("nginx", default_tag=False), all_tags=True),
        ),
        (
            "pull -a library/nginx",
            Pull(image=parse_image_reference("nginx", default_tag=False), all_tags=True),
        ),
        ("pull --platform linux/arm64 nginx", Pull(image=ref("nginx"), platform="linux/arm64")),
        ("pull bitnami/redis:7", Pull(image=ref("bitnami/redis:7"))),
        ("pull 127.0.0.1:5000/team/app:v2", Pull(image=ref("127.0.0.1:5000/team/app:v2"))),
        ("image pull localhost/app", Pull(image=ref("localhost/app"))),
        (
            "pull nginx@sha256:" + "a" * 64,
            Pull(image=parse_image_reference("nginx@sha256:" + "a" * 64)),
        ),
    ],
)
def test_pull_forms(text: str, expected: object) -> None:
    assert op(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("images", ListImages()),
        ("image ls -a", ListImages(all=True)),
        ("image list -q", ListImages(quiet=True)),
        ("images --digests", ListImages(digests=True)),
        ("images --filter dangling=true", ListImages(filters=(("dangling", "true"),))),
        ("images -f label=team=web", ListImages(filters=(("label", "team=web"),))),
        ("images --filter=reference=nginx*", ListImages(filters=(("reference", "nginx*"),))),
        ("images nginx", ListImages(filters=(("reference", "nginx"),))),
        ("images -aq", ListImages(all=True, quiet=True)),
    ],
)
def test_images_forms(text: str, expected: object) -> None:
    assert op(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rmi nginx", RemoveImages(images=("nginx",))),
        ("image rm -f a b", RemoveImages(images=("a", "b"), force=True)),
        ("image remove --no-prune a", RemoveImages(images=("a",), no_prune=True)),
        ("rmi a a b", RemoveImages(images=("a", "b"))),
    ],
)
def test_rmi_forms(text: str, expected: object) -> None:
    assert op(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ps", ListContainers()),
        ("ps -a", ListContainers(all=True)),
        ("ps --all", ListContainers(all=True)),
        ("ps -all", ListContainers(all=True)),
        ("container ls -q", ListContainers(quiet=True)),
        ("container list -n 3", ListContainers(last=3)),
        ("container ps -n=-1", ListContainers()),
        ("ps -l", ListContainers(latest=True)),
        ("ps -aq", ListContainers(all=True, quiet=True)),
        ("ps --filter status=exited", ListContainers(filters=(("status", "exited"),))),
        (
            "ps -f name=web -f label=a=b -f ancestor=nginx",
            ListContainers(filters=(("name", "web"), ("label", "a=b"), ("ancestor", "nginx"))),
        ),
        ("ps --all=false", ListContainers()),
        ("ps --no-trunc", ListContainers(no_trunc=True)),
    ],
)
def test_ps_forms(text: str, expected: object) -> None:
    assert op(text) == expected


@pytest.mark.parametrize(
    ("text", "action", "extra"),
    [
        ("rm web", ContainerAction.REMOVE, {}),
        ("container rm -f web db", ContainerAction.REMOVE, {"force": True}),
        ("container remove -v web", ContainerAction.REMOVE, {"volumes": True}),
        ("rm -fv web", ContainerAction.REMOVE, {"force": True, "volumes": True}),
        ("start web", ContainerAction.START, {}),
        ("container start web db", ContainerAction.START, {}),
        ("stop web", ContainerAction.STOP, {}),
        ("stop -t 3 web", ContainerAction.STOP, {"timeout": 3}),
        ("stop --time=0 web", ContainerAction.STOP, {"timeout": 0}),
        ("restart -t 1 web", ContainerAction.RESTART, {"timeout": 1}),
        ("pause web", ContainerAction.PAUSE, {}),
        ("unpause web", ContainerAction.UNPAUSE, {}),
    ],
)
def test_container_actions(text: str, action: ContainerAction, extra: dict[str, object]) -> None:
    parsed = op(text)
    assert isinstance(parsed, ChangeContainers)
    assert parsed.action is action
    assert parsed.containers == tuple(
        w
        for w in text.split()
        if not w.startswith("-")
        and w
        not in (
            "rm",
            "container",
            "remove",
            "start",
            "stop",
            "restart",
            "pause",
            "unpause",
            "3",
            "1",
        )
    )
    for key, value in extra.items():
        assert getattr(parsed, key) == value


def test_logs_forms() -> None:
    assert op("logs web") == ShowLogs(container="web")
    assert op("logs --tail 20 web") == ShowLogs(container="web", tail=20)
    assert op("logs -n 5 -t web") == ShowLogs(container="web", tail=5, timestamps=True)
    assert op("logs --tail all web") == ShowLogs(container="web")
    since = op("logs --since 10m web")
    assert isinstance(since, ShowLogs) and since.since is not None
    assert abs(datetime.now(UTC) - timedelta(minutes=10) - since.since) < timedelta(seconds=5)
    exact = op("logs --since 2026-11-29T10:00:00Z web")
    assert isinstance(exact, ShowLogs)
    assert exact.since == datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def test_inspect_forms() -> None:
    assert op("inspect web") == Inspect(targets=("web",))
    assert op("inspect --type image nginx") == Inspect(targets=("nginx",), type=InspectType.IMAGE)
    assert op("container inspect a b") == Inspect(targets=("a", "b"), type=InspectType.CONTAINER)
    assert op("image inspect nginx") == Inspect(targets=("nginx",), type=InspectType.IMAGE)


def test_prune_forms() -> None:
    assert op("container prune") == PruneContainers()
    assert op("container prune -f --filter until=24h") == PruneContainers(
        filters=(("until", "24h"),)
    )
    assert op("container prune --filter label!=keep") == PruneContainers(
        filters=(("label!", "keep"),)
    )
    assert op("image prune") == PruneImages()
    assert op("image prune -a -f") == PruneImages(all=True)
    assert op("image prune --filter label=x=y") == PruneImages(filters=(("label", "x=y"),))


def test_help_forms() -> None:
    assert op("") == Help()
    assert op("help") == Help()
    assert op("--help") == Help()
    assert op("help run") == Help(topic="run")
    assert op("run --help") == Help(topic="run")
    assert op("help container ls") == Help(topic="ps")
    assert op("ps --help") == Help(topic="ps")


def test_engine_selection() -> None:
    assert parse_command("-c prod ps").engine == "prod"
    assert parse_command("--context prod ps -a").engine == "prod"
    assert parse_command("--context=prod ps").engine == "prod"
    assert parse_command("-cprod ps").engine == "prod"
    assert parse_command("ps").engine is None
    assert parse_command("docker ps").operation == ListContainers()


def run_op(text: str) -> RunContainer:
    parsed = op(text)
    assert isinstance(parsed, RunContainer)
    return parsed


def test_run_basic() -> None:
    assert run_op("run nginx") == RunContainer(image=ref("nginx"))
    parsed = run_op("run -d --name web -p 127.0.0.1:8080:80 nginx")
    assert parsed.detach and parsed.name == "web"
    assert parsed.ports == (PortMapping(container_port=80, host_ip="127.0.0.1", host_port=8080),)
    assert run_op("run --rm busybox echo hi there").command == ("echo", "hi", "there")
    assert run_op("run busybox ls -la /").command == ("ls", "-la", "/")
    assert run_op("run busybox sh -c 'echo $HOME && exit 3'").command == (
        "sh",
        "-c",
        "echo $HOME && exit 3",
    )


def test_run_all_options() -> None:
    parsed = run_op(
        "run -d --name api --rm -e A=1 --env B=two=2 -l team=web --label solo "
        "-p 8080:80 -v /srv/data:/data:ro -v cache:/cache -v /scratch -w /app -u 1000:1000 "
        "--entrypoint /bin/sh -m 512m --cpus 1.5 -h api-host --network backend "
        "registry.local:5000/team/api:v3 -c 'run it'"
    )
    assert parsed == RunContainer(
        image=ref("registry.local:5000/team/api:v3"),
        command=("-c", "run it"),
        detach=True,
        name="api",
        auto_remove=True,
        env=(("A", "1"), ("B", "two=2")),
        labels=(("team", "web"), ("solo", "")),
        ports=(PortMapping(container_port=80, host_port=8080),),
        volumes=(
            VolumeMount(kind=MountKind.BIND, source="/srv/data", target="/data", options=("ro",)),
            VolumeMount(kind=MountKind.VOLUME, source="cache", target="/cache"),
            VolumeMount(kind=MountKind.ANONYMOUS, target="/scratch"),
        ),
        workdir="/app",
        user="1000:1000",
        entrypoint="/bin/sh",
        memory_bytes=512 * 1024 * 1024,
        nano_cpus=1_500_000_000,
        hostname="api-host",
        network="backend",
    )


@pytest.mark.parametrize(
    ("text", "restart"),
    [
        ("run --restart always nginx", RestartPolicy(name=RestartName.ALWAYS)),
        ("run --restart=unless-stopped nginx", RestartPolicy(name=RestartName.UNLESS_STOPPED)),
        (
            "run --restart on-failure:5 nginx",
            RestartPolicy(name=RestartName.ON_FAILURE, maximum_retry_count=5),
        ),
        ("run --restart no nginx", RestartPolicy(name=RestartName.NO)),
    ],
)
def test_run_restart(text: str, restart: RestartPolicy) -> None:
    assert run_op(text).restart == restart


def test_run_entrypoint_can_be_cleared() -> None:
    assert run_op("run --entrypoint '' busybox").entrypoint == ""
    assert run_op("run busybox").entrypoint is None


def test_run_network_alias() -> None:
    assert run_op("run --net host busybox").network == "host"


def test_option_after_image_is_read_as_option_with_a_warning() -> None:
    parsed = parse_command("run centos:latest --name mylinux /bin/bash")
    assert isinstance(parsed.operation, RunContainer)
    assert parsed.operation.name == "mylinux"
    assert parsed.operation.command == ("/bin/bash",)
    assert len(parsed.warnings) == 1
    warning = parsed.warnings[0]
    assert "--name mylinux" in warning
    assert "run --name mylinux centos:latest /bin/bash" in warning


def test_misplaced_flags_after_image() -> None:
    parsed = parse_command("run nginx -d -p 8080:80")
    assert isinstance(parsed.operation, RunContainer)
    assert parsed.operation.detach
    assert parsed.operation.ports == (PortMapping(container_port=80, host_port=8080),)
    assert parsed.operation.command == ()
    assert "run -d -p 8080:80 nginx:latest" in parsed.warnings[0]


def test_words_after_the_command_stay_with_the_container() -> None:
    parsed = parse_command("run busybox ls --name -d")
    assert isinstance(parsed.operation, RunContainer)
    assert parsed.operation.command == ("ls", "--name", "-d")
    assert parsed.operation.name is None and not parsed.operation.detach
    assert parsed.warnings == ()


def test_ambiguous_short_bundle_after_image_stays_with_the_container() -> None:
    parsed = parse_command("run busybox -la")
    assert isinstance(parsed.operation, RunContainer)
    assert parsed.operation.command == ("-la",)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("psx", ["Unknown command `psx`", "Did you mean `ps`?"]),
        ("imagse", ["Did you mean `images`?"]),
        ("container lst", ["Unknown command `container lst`", "Did you mean `container l"]),
        ("container", ["`container` needs a subcommand"]),
        ("exec web sh", ["`exec` is not available", "interactive terminal"]),
        ("ps --alll", ["Unknown option `--alll`", "Did you mean `--all`?"]),
        ("ps -x", ["Unknown option `-x`"]),
        ("ps -n", ["`--last` needs a value"]),
        ("ps -n abc", ["--last takes a whole number"]),
        ("ps extra", ["takes no arguments", "extra"]),
        ("ps --filter status=zombie", ["Invalid status filter 'zombie'"]),
        ("ps --filter colour=red", ["Invalid filter 'colour=red'", "status"]),
        ("ps --format '{{.ID}}'", ["`--format` cannot be used"]),
        ("rm", ["`rm` needs one argument (CONTAINER)"]),
        ("pull", ["needs one argument"]),
        ("pull a b", ["at most one argument"]),
        ("pull Nginx", ["must be lowercase"]),
        ("pull nginx:bad/tag:x", ["Invalid image reference"]),
        ("pull -a nginx:1.0", ["cannot be combined with `--all-tags`"]),
        ("pull nginx@sha256:123", ["is not a digest"]),
        ("run", ["needs one argument (IMAGE)"]),
        ("run -it ubuntu bash", ["`--interactive` cannot be used here", "-d"]),
        ("run -t ubuntu", ["`--tty` cannot be used here"]),
        ("run ubuntu -it bash", ["`--interactive` cannot be used here"]),
        ("run -e FOO busybox", ["has no value", "FOO=VALUE"]),
        ("run -e =x busybox", ["Invalid environment variable"]),
        ("run --name x busybox", ["Invalid container name 'x'"]),
        ("run --name 'a b' busybox", ["Invalid container name"]),
        ("run -p 99999:80 busybox", ["port 99999 is outside 1-65535"]),
        ("run -p 80/icmp busybox", ["unknown protocol"]),
        ("run -p 1.2.3:80:80 busybox", ["is not an IP address"]),
        ("run -p 8000-8001:80-82 busybox", ["ranges differ in size"]),
        ("run -v data:/d:rx busybox", ["unknown option 'rx'"]),
        ("run -v ./data:/d busybox", ["relative", "absolute"]),
        ("run -v /data:rel busybox", ["must be absolute"]),
        ("run -m 1k busybox", ["at least 6m"]),
        ("run -m lots busybox", ["Invalid size 'lots'"]),
        ("run --cpus 0 busybox", ["--cpus must be at least 0.01"]),
        ("run --cpus 1e-10 busybox", ["--cpus must be at least 0.01"]),
        ("run --cpus many busybox", ["--cpus takes a number"]),
        ("run --restart sometimes busybox", ["Invalid --restart"]),
        ("run --restart always:3 busybox", ["only on-failure takes a retry count"]),
        ("run --rm --restart always busybox", ["conflict"]),
        ("run -w relative busybox", ["--workdir must be an absolute path"]),
        ("run --env-file x busybox", ["`--env-file` cannot be used"]),
        ("run --nmae web busybox", ["Did you mean `--name`?"]),
        ("logs", ["needs one argument"]),
        ("logs -f web", ["`--follow` cannot be used"]),
        ("logs --since yesterday web", ["Invalid time 'yesterday'"]),
        ("inspect --type volume x", ["Invalid --type 'volume'"]),
        ("container prune --filter until=soon", ["Invalid time 'soon'"]),
        ("image prune --filter reference=x", ["Invalid filter"]),
        ("stop -t -5 web", ["--time must be between 0"]),
        ("run 'unclosed", ["No closing quotation"]),
        ("-x ps", ["Unknown option `-x` before the command"]),
        ("-c", ["`-c` needs an engine name"]),
        ("help nothing", ["No help for `nothing`"]),
        ("ps --all=maybe", ["is a flag"]),
    ],
)
def test_errors_are_precise(text: str, fragments: list[str]) -> None:
    with pytest.raises(ParseError) as caught:
        parse_command(text)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message


def test_errors_carry_the_usage_line() -> None:
    with pytest.raises(ParseError) as caught:
        parse_command("ps --alll")
    assert caught.value.usage == "/docker ps [OPTIONS]"
    with pytest.raises(ParseError) as caught:
        parse_command("container ls --bogus")
    assert caught.value.usage == "/docker container ls [OPTIONS]"


def test_chat_typography_is_straightened() -> None:
    assert op("ps —all") == ListContainers(all=True)
    assert run_op("run -e “GREETING=hello world” busybox").env == (("GREETING", "hello world"),)


def test_port_protocols_and_ranges() -> None:
    ports = run_op("run -p 8080:80/udp -p 127.0.0.1::53 -p 9000-9001:9000-9001 busybox").ports
    assert ports == (
        PortMapping(container_port=80, protocol=PortProtocol.UDP, host_port=8080),
        PortMapping(container_port=53, host_ip="127.0.0.1"),
        PortMapping(
            container_port=9000, container_port_end=9001, host_port=9000, host_port_end=9001
        ),
    )
