"""`python -m bot audit verify [--head HASH]`, run as an operator would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import delete, select

from bot.state.audit import SqlAuditLog, entry_hash
from bot.state.database import open_database
from bot.state.tables import audit_entries
from tests.conftest import AUDIT_KEY, REPO
from tests.database.state.test_audit import legacy_database, move_head, rewrite_from

KEY = AUDIT_KEY.encode()


def audit_verify(
    *args: str, database_url: str, cwd: Path, key: str | None = AUDIT_KEY
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "CHATOPS_", "SLACK_"))
    }
    env |= {"PYTHONPATH": str(REPO), "CHATOPS_DATABASE_URL": database_url}
    if key is not None:
        env["CHATOPS_AUDIT_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "bot", "audit", "verify", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def one_line(text: str) -> str:
    """The one line the command printed (the log's lines aside: an old database is upgraded
    first, and says so)."""
    lines = [line for line in text.strip().splitlines() if " bot.state.schema: " not in line]
    assert len(lines) == 1, text
    return lines[0]


def keyed_log(url: str, entries: int) -> SqlAuditLog:
    audit = SqlAuditLog(engine=open_database(url), key=KEY)
    for index in range(entries):
        audit.record(event="executed", actor=f"U{index}", command=f"rm c{index}")
    return audit


def test_an_intact_chain_and_a_published_head_in_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    audit = keyed_log(url, 3)
    done = audit_verify(database_url=url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert one_line(done.stdout) == "Audit log intact: 3 entries."
    held = audit_verify("--head", audit.head().hash, database_url=url, cwd=tmp_path)
    assert held.returncode == 0, held.stderr
    assert "published head among them" in held.stdout


def test_truncation_with_the_head_moved_fails_against_the_published_head(
    database_url: str, tmp_path: Path
) -> None:
    audit = keyed_log(database_url, 3)
    published = audit.head().hash
    audit.record(event="executed", actor="U9", command="rm evidence")
    engine = open_database(database_url)
    with engine.begin() as connection:
        second = select(audit_entries.c.hash).where(audit_entries.c.id == 2)
        second_hash = connection.execute(second).scalar_one()
        connection.execute(delete(audit_entries).where(audit_entries.c.id >= 3))
    move_head(engine, second_hash)
    # Control: without the published head the database cannot tell.
    assert audit_verify(database_url=database_url, cwd=tmp_path).returncode == 0
    done = audit_verify("--head", published, database_url=database_url, cwd=tmp_path)
    assert done.returncode == 1
    assert one_line(done.stderr) == (
        f"Audit log broken: the published head {published} is not in the chain: entries were "
        "removed or rewritten."
    )


def test_a_chain_recomputed_without_the_key_fails(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    keyed_log(url, 4)
    rewrite_from(open_database(url), 2, entry_hash)
    done = audit_verify(database_url=url, cwd=tmp_path)
    assert done.returncode == 1
    assert one_line(done.stderr) == (
        "Audit log broken: entry 2 is unkeyed but follows a keyed entry (a downgrade)."
    )


def test_another_key_fails(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    keyed_log(url, 2)
    done = audit_verify(database_url=url, cwd=tmp_path, key="x" * 64)
    assert done.returncode == 1
    assert "entry 1 " in one_line(done.stderr) and "another CHATOPS_AUDIT_KEY" in done.stderr


def test_keyed_entries_need_the_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    keyed_log(url, 1)
    done = audit_verify(database_url=url, cwd=tmp_path, key=None)
    assert done.returncode == 2
    assert one_line(done.stderr).startswith("Configuration error: CHATOPS_AUDIT_KEY is not set")
    assert "Traceback" not in done.stderr


def test_a_short_key_stops_with_how_to_make_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    done = audit_verify(database_url=url, cwd=tmp_path, key="short")
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "CHATOPS_AUDIT_KEY is too short" in line
    assert "python -c 'import secrets; print(secrets.token_hex(32))'" in line


def test_an_unkeyed_chain_verifies_without_the_key_with_a_note(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    legacy_database(url, 3)
    done = audit_verify(database_url=url, cwd=tmp_path, key=None)
    assert done.returncode == 0, done.stderr
    assert one_line(done.stdout) == "Audit log intact: 3 entries."
    assert one_line(done.stderr).startswith("Note: the audit log is unkeyed")


def test_an_unkeyed_chain_continued_with_the_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    legacy_database(url, 3)
    keyed_log(url, 2)
    done = audit_verify(database_url=url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert one_line(done.stdout) == (
        "Audit log intact: 5 entries (3 unkeyed, from before CHATOPS_AUDIT_KEY)."
    )
