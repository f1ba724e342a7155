"""A helper process of this one: a new interpreter running one of akhbar's modules, and the pipe to it.

A new interpreter, not multiprocessing's spawn: spawn would first run this process's main script again, and
a user's script that runs a flow without an ``if __name__ == "__main__"`` guard would run it twice. The
helper runs ``python -m <module> <fd> <args...>`` with one end of a socket pair as ``fd``; messages are
pickled tuples ``(kind, value)``, answered in order. Its first message says it is ready (or why it is not).
Used by the gate's helper (``expectations/gate_helper.py``) and the NER workers (``flows/ner_workers.py``).
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

_POLL_SECONDS = 0.5  # how often a wait for the helper checks that it is still alive


class HelperGone(RuntimeError):
    """The helper cannot do its work: it did not start, it died, or it failed on this request."""


class HelperProcess:
    """One helper process and the pipe to it."""

    def __init__(self, module: str, *args: str, env: dict[str, str] | None = None):
        ours, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module, str(theirs.fileno()), *args], pass_fds=[theirs.fileno()],
                env={**os.environ, **(env or {}), "PYTHONPATH": _import_path()})
        self._conn = Connection(ours.detach())
        self._ready: Any = None
        self.is_ready = False

    def ready(self) -> Any:
        """The helper's answer to starting (waits for it); raises :class:`HelperGone` if it could not start."""
        if not self.is_ready:
            self._ready = self.receive()
            self.is_ready = True
        return self._ready

    def receive(self) -> Any:
        try:
            while not self._conn.poll(_POLL_SECONDS):
                if self.process.poll() is not None:
                    raise HelperGone(f"it ended with exit code {self.process.returncode}")
            kind, value = self._conn.recv()
        except (EOFError, OSError) as error:
            raise HelperGone(f"{type(error).__name__}: {error}") from error
        if kind == "error":
            raise HelperGone(value)
        return value

    def send(self, *request: Any) -> None:
        self.ready()  # its answer to starting comes first
        try:
            self._conn.send(request)
        except (OSError, ValueError) as error:
            raise HelperGone(f"{type(error).__name__}: {error}") from error

    def call(self, *request: Any) -> Any:
        self.send(*request)
        return self.receive()

    def stop(self) -> None:
        """Close the pipe (a helper waiting for requests then ends on its own); one still loading is stopped."""
        self._conn.close()
        if not self.is_ready and self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class OnePerProcess:
    """The helper this process keeps for its life, stopped as the process exits; after one has failed, the work
    is done in process and no helper is started again."""

    def __init__(self) -> None:
        self.current: Any = None
        self.gave_up = False
        atexit.register(self.stop)

    def stop(self) -> None:
        """Stop the current helper, if any (a later run may start another)."""
        current, self.current = self.current, None
        if current is not None:
            current.stop()

    def give_up(self) -> None:
        """Stop the current helper for good: it could not do its work."""
        self.gave_up = True
        self.stop()


def _import_path() -> str:
    """This process's import path, for the helper to import the same akhbar and packages."""
    project = str(Path(__file__).resolve().parents[1])
    return os.pathsep.join([project, *(p for p in sys.path if p and p != project)])


# ------------------------------------------------------------------ in the helper


def pipe_from(argv: list[str]) -> Connection:
    """The helper's end of the pipe, from its command line."""
    return Connection(int(argv[1]))


def requests(conn: Connection) -> Iterator[tuple[str, list]]:
    """Each request, ``(kind, arguments)``, until the pipe closes."""
    while True:
        try:
            kind, *arguments = conn.recv()
        except (EOFError, OSError):
            return
        yield kind, arguments


def answer(conn: Connection, message: tuple, before_leaving: Iterable[Callable[[], None]] = ()) -> None:
    try:
        conn.send(message)
    except OSError:  # the process it helps is gone
        leave(before_leaving)


def leave(before_leaving: Iterable[Callable[[], None]] = ()) -> None:
    """End the helper without tearing its libraries down object by object (as ``akhbar/cli.py`` ends): what it
    must finish first, then the exit handlers (multiprocessing's releases the semaphores it made), nothing else."""
    for finish in before_leaving:
        finish()
    atexit._run_exitfuncs()
    os._exit(0)
