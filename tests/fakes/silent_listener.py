"""An engine address that accepts connections and never answers: a hung engine.

Closing it resets every connection it holds (the kernel resets those never accepted, on TCP
and Unix sockets alike), so calls stuck on it fail at once instead of at their timeout: a test
closes it before stopping its bot, whose stop would otherwise wait for them (up to the engine
timeout, or the 10 s a periodic task's stop waits for a run under way).
"""

from __future__ import annotations

import socket
from pathlib import Path
from types import TracebackType


class SilentListener:
    """On 127.0.0.1 (TCP), or on the Unix socket ``path``."""

    def __init__(self, *, path: Path | None = None) -> None:
        if path is None:
            self._socket = socket.socket()
            self._socket.bind(("127.0.0.1", 0))
            self.url = f"tcp://127.0.0.1:{self._socket.getsockname()[1]}"
        else:
            self._socket = socket.socket(socket.AF_UNIX)
            self._socket.bind(str(path))
            self.url = f"unix://{path}"
        self._socket.listen(64)  # every connection waits in the backlog, never accepted

    def waiting(self) -> int:
        """How many connections wait on it (TCP only): someone is stuck on the engine."""
        port = self._socket.getsockname()[1]
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
        # Fields: sl, local address:port (hex), remote address:port, state (01: established).
        fields = (line.split() for line in lines)
        return sum(1 for f in fields if int(f[1].split(":")[1], 16) == port and f[3] == "01")

    def close(self) -> None:
        """Reset the connections waiting on it, and refuse new ones."""
        self._socket.close()

    def __enter__(self) -> SilentListener:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
