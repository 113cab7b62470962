"""`python -m bot exec` and `python -m bot console`, run as a user would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.state.schema import head_revision
from tests.conftest import REPO, TEST_IMAGE, Sandbox


def bot_process(
    args: list[str],
    *,
    docker_host: str,
    stdin: str | None = None,
    cwd: Path | None = None,
    **values: str,
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "CHATOPS_"))}
    env |= values
    env["DOCKER_HOST"] = docker_host
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_exec_runs_one_command(sandbox: Sandbox, tmp_path: Path) -> None:
    done = bot_process(["exec", "images"], docker_host=sandbox.docker_host, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "chatops-test/busybox" in done.stdout
    words = bot_process(
        ["exec", "run", "--rm", *sandbox.label_args().split(), TEST_IMAGE, "echo", "two words"],
        docker_host=sandbox.docker_host,
        cwd=tmp_path,
    )
    assert words.returncode == 0, words.stderr
    assert "two words" in words.stdout


def test_exec_exit_codes(sandbox: Sandbox, tmp_path: Path) -> None:
    bad = bot_process(["exec", "ps --alll"], docker_host=sandbox.docker_host, cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.startswith("Error: Unknown option `--alll`")
    assert "Usage: /docker ps [OPTIONS]" in bad.stderr
    assert "Traceback" not in bad.stderr
    failing = bot_process(
        ["exec", f"run --rm {sandbox.label_args()} {TEST_IMAGE} sh -c 'exit 7'"],
        docker_host=sandbox.docker_host,
        cwd=tmp_path,
    )
    assert failing.returncode == 7


def test_exec_exits_like_docker_run(sandbox: Sandbox, tmp_path: Path) -> None:
    """125: refused before it ran; 126: cannot be run; 127: not found; 1: other errors."""

    def status(*words: str) -> int:
        done = bot_process(["exec", *words], docker_host=sandbox.docker_host, cwd=tmp_path)
        assert "Traceback" not in done.stderr
        return done.returncode

    labels = sandbox.label_args().split()
    missing = f"{sandbox.registry}/chatops-test/nothing-here-{sandbox.session}:1"
    expected = {
        ("run", "--rm", *labels, missing, "true"): 125,  # no such image anywhere
        ("run", "--bogus", TEST_IMAGE, "true"): 125,  # a bad option
        ("-c", "default", "run", "--bogus", TEST_IMAGE): 125,
        ("run", "--rm", *labels, TEST_IMAGE, "/no/such/program"): 127,
        ("run", "--rm", *labels, TEST_IMAGE, "/etc"): 126,  # a directory
        ("run", "--rm", *labels, TEST_IMAGE, "sh", "-c", "exit 0"): 0,
        ("rm", f"nothing-here-{sandbox.session}"): 1,
        ("ps", "--bogus"): 1,
    }
    # Side by side: each is a process of its own that touches nothing the others read (one
    # after another, their start-ups and engine waits added up to about 4.4 s).
    with ThreadPoolExecutor(max_workers=len(expected)) as pool:
        statuses = dict(zip(expected, pool.map(lambda w: status(*w), expected), strict=True))
    assert statuses == expected


def test_exec_takes_the_engine_unquoted(sandbox: Sandbox, tmp_path: Path) -> None:
    done = bot_process(
        ["exec", "-c", "default", "ps", "-a"], docker_host=sandbox.docker_host, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "CONTAINER ID" in done.stdout
    wrong = bot_process(
        ["exec", "-c", "nowhere", "ps"], docker_host=sandbox.docker_host, cwd=tmp_path
    )
    assert wrong.returncode == 1 and "nowhere" in wrong.stderr


def test_exec_without_engine_says_where_it_looked(tmp_path: Path) -> None:
    socket = tmp_path / "absent.sock"
    done = bot_process(["exec", "ps"], docker_host=f"unix://{socket}", cwd=tmp_path)
    assert done.returncode == 1
    assert str(socket) in done.stderr and "DOCKER_HOST" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_setting_stops_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "chatops.toml").write_text('[engines.prod]\nurl = "ftp://nowhere"\n')
    done = bot_process(["exec", "ps"], docker_host="unix:///x.sock", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "engines.prod.url" in lines[0] and "unix://" in lines[0]


def test_console_session(sandbox: Sandbox, tmp_path: Path) -> None:
    name = sandbox.name("console")
    script = "\n".join(
        [
            "help",
            f"/docker run -d --name {name} {sandbox.label_args()} {TEST_IMAGE} sleep 60",
            f"docker ps --filter name={name}",
            "pss",
            f"rm -f {name}",
            "exit",
            "ps",  # never reached
        ]
    )
    done = bot_process(["console"], docker_host=sandbox.docker_host, stdin=script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"Engine: default at {sandbox.docker_host}" in done.stdout
    assert "Commands:" in done.stdout
    assert f"Started container {name}." in done.stdout
    assert done.stdout.count(name) >= 3
    assert "Did you mean `ps`?" in done.stderr


def test_console_warns_when_no_engine(tmp_path: Path) -> None:
    done = bot_process(
        ["console"], docker_host=f"unix://{tmp_path}/none.sock", stdin="exit\n", cwd=tmp_path
    )
    assert done.returncode == 0
    assert "Warning: Cannot reach Docker engine" in done.stdout


def test_db_upgrade_adopts_a_database_from_before_migrations(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    import sqlite3

    from tests.database.state.test_schema import FIXTURES

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.executescript((FIXTURES / "release-0.1-state.sqlite.sql").read_text())
    url = f"sqlite:///{path}"

    def db(action: str) -> subprocess.CompletedProcess[str]:
        return bot_process(
            ["db", action], docker_host=sandbox.docker_host, cwd=tmp_path, CHATOPS_DATABASE_URL=url
        )

    before = db("status")
    assert before.returncode == 1 and "Schema revision: none" in before.stdout
    # A serve configured not to upgrade stops with one line saying what to run.
    refused = bot_process(
        ["serve"],
        docker_host=sandbox.docker_host,
        cwd=tmp_path,
        CHATOPS_DATABASE_URL=url,
        CHATOPS_DB_AUTO_UPGRADE="false",
        SLACK_BOT_TOKEN="xoxb-x",
        SLACK_SIGNING_SECRET="s",
        CHATOPS_AUDIT_KEY="0123456789abcdef" * 4,
        SLACK_API_URL="http://127.0.0.1:9/api/",
    )
    assert refused.returncode == 2
    [line] = [line for line in refused.stderr.splitlines() if "error" in line.lower()]
    assert line.startswith("Configuration error:") and "python -m bot db upgrade" in line
    assert "alembic" not in refused.stderr  # no library narration
    upgraded = db("upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    after = db("status")
    head = head_revision()  # the newest migration: each one added moves it
    assert head >= "0005"
    assert (
        after.returncode == 0 and f"Schema revision: {head}; this release: {head}" in after.stdout
    )


def test_exec_prints_the_answer_and_nothing_else_unless_asked(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Quiet by default: the answer on stdout, nothing on stderr; -v shows the logs there."""
    quiet = bot_process(["exec", "ps"], docker_host=sandbox.docker_host, cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stdout.startswith("CONTAINER ID")
    assert quiet.stderr == ""
    loud = bot_process(["-v", "exec", "ps"], docker_host=sandbox.docker_host, cwd=tmp_path)
    assert loud.returncode == 0 and loud.stdout.startswith("CONTAINER ID")
    assert "request: user=local" in loud.stderr and "command=ps outcome=ok" in loud.stderr
    # The console too: answers only, whatever it is asked.
    console = bot_process(
        ["console"], docker_host=sandbox.docker_host, cwd=tmp_path, stdin="ps\nimages\nexit\n"
    )
    assert console.returncode == 0 and "CONTAINER ID" in console.stdout
    assert console.stderr == ""
