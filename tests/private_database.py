"""A PostgreSQL database of one test process's own, beside the one the tests were given.

Parallel workers (``pytest -n``) and two runs at once share one server; each empties its tables
before a test, so one database shared would have them empty each other's. Each process makes
``<given>_p<pid>`` and drops it at the end; one a killed run left behind is dropped by the next
run on the same machine (its process is gone).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

_OWN = re.compile(r"^(?P<given>.+)_p(?P<pid>[0-9]+)$")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@contextlib.contextmanager
def private_database(url: str) -> Iterator[str]:
    """The URL of a new database named after ``url``'s and this process; dropped after."""
    given = make_url(url)
    name = f"{given.database}_p{os.getpid()}"
    # CREATE/DROP DATABASE cannot run in a transaction: an autocommit connection to the given
    # database (it exists: scripts/sandbox-postgres makes it).
    server = create_engine(given, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            if given.host in _LOOPBACK:  # a pid means something on this machine only
                _drop_left_behind(connection, given=str(given.database))
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield given.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def _drop_left_behind(connection: Connection, *, given: str) -> None:
    rows = connection.execute(text("SELECT datname FROM pg_database"))
    for (database,) in rows:
        own = _OWN.match(database)
        if own is None or own["given"] != given or _alive(int(own["pid"])):
            continue
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: asks whether the process exists, sends nothing
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
