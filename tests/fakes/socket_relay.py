"""A Unix-socket relay to the real engine that can be cut and resumed, or stopped for good.

The bot is pointed at the relay's socket: ``cut()`` drops every connection through it and
refuses new ones (what the bot sees when its connection to a running engine is lost), and
``resume()`` lets connections through again; ``stall()`` holds every byte (an engine that
hangs) until ``flow()``. The engine itself keeps running throughout.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path


class SocketRelay:
    def __init__(self, *, path: Path, target: str) -> None:
        self.path = path
        self._target = target.removeprefix("unix://")
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._flowing = threading.Event()  # cleared by stall(): bytes are held, not passed
        self._flowing.set()
        self.resume()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def resume(self) -> None:
        """Accept connections (again)."""
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(self.path))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until ``resume()``."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        with self._lock:
            connections, self._open = self._open, []
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    stop = cut

    def stall(self) -> None:
        """Hold every byte in both directions (connections stay open): an engine that hangs."""
        self._flowing.clear()

    def flow(self) -> None:
        """Pass bytes again after ``stall()``."""
        self._flowing.set()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            try:
                upstream.connect(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self._flowing.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_RDWR)
