"""A helper process of this one: a new interpreter running one of akhbar's modules, and the pipe to it.

A new interpreter, not multiprocessing's spawn: spawn would first run this process's main script again, and
a user's script that runs a flow without an ``if __name__ == "__main__"`` guard would run it twice. The
helper runs ``python -m <module> <fds> <args...>`` with one end of a socket pair as the first of ``fds``;
messages are pickled tuples ``(kind, value)``, answered in order. Its first message says it is ready (or why it
is not).

Helpers that would each load the same large state (the NER workers' model) can be *siblings*: one new
interpreter loads it, then forks the others (Linux), which share its pages and never load it themselves
(:func:`start_siblings`). Their socket pairs are made here and handed to the first helper with its own (the rest
of ``fds``), so each sibling has a pipe of its own to this process, and is watched by its pid (it is not this
process's child). A sibling's first message is ``("ready", <its pid>)``.

Used by the gate's helper (``expectations/gate_helper.py``) and the NER workers (``flows/ner_workers.py``).
"""

from __future__ import annotations

import atexit
import gc
import os
import select
import signal
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

_POLL_SECONDS = 0.5  # how often a wait for the helper checks that it is still alive


class HelperGone(RuntimeError):
    """The helper cannot do its work: it did not start, it died, or it failed on this request."""


def can_fork() -> bool:
    """Whether helpers here can be forked siblings: Linux only (elsewhere, forking a process that has loaded
    native libraries such as torch is not safe)."""
    return sys.platform == "linux" and hasattr(os, "pidfd_open")


class HelperProcess:
    """One helper process and the pipe to it; ``siblings``: that many more, started by it (:attr:`siblings`)."""

    def __init__(self, module: str, *args: str, env: dict[str, str] | None = None, siblings: int = 0):
        ours, theirs = socket.socketpair()
        pairs = [socket.socketpair() for _ in range(siblings)]
        fds = [theirs.fileno(), *(their.fileno() for _, their in pairs)]
        try:
            self.process: subprocess.Popen | SiblingProcess = subprocess.Popen(
                [sys.executable, "-m", module, ",".join(map(str, fds)), *args], pass_fds=fds,
                env={**os.environ, **(env or {}), "PYTHONPATH": _import_path()})
        finally:
            for sock in [theirs, *(their for _, their in pairs)]:
                sock.close()
        self._conn = Connection(ours.detach())
        self._ready: Any = None
        self.is_ready = False
        self.siblings = [HelperProcess._sibling(own) for own, _ in pairs]

    @classmethod
    def _sibling(cls, own: socket.socket) -> "HelperProcess":
        helper = cls.__new__(cls)
        helper.process, helper._conn = SiblingProcess(), Connection(own.detach())
        helper._ready, helper.is_ready, helper.siblings = None, False, []
        return helper

    def ready(self) -> Any:
        """The helper's answer to starting (waits for it); raises :class:`HelperGone` if it could not start."""
        if not self.is_ready:
            self._ready = self.receive()
            if isinstance(self.process, SiblingProcess):
                self.process.found(self._ready)
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


class SiblingProcess:
    """A sibling helper, started by the first: watched through a pidfd, since it is not this process's child
    (its exit code is not known here: -1 once it has ended). Before it has said its pid, the end of its pipe is
    what tells that it is gone (whoever holds the other end, the first helper or the sibling, has ended)."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.returncode: int | None = None
        self._pidfd: int | None = None

    def found(self, pid: int) -> None:
        self.pid = pid
        try:
            self._pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            self.returncode = -1

    def poll(self) -> int | None:
        if self.returncode is None and self._pidfd is not None and select.select([self._pidfd], [], [], 0)[0]:
            self.returncode = -1
            os.close(self._pidfd)
            self._pidfd = None
        return self.returncode

    def wait(self, timeout: float) -> int:
        if self._pidfd is not None and not select.select([self._pidfd], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
        return self.poll() if self._pidfd is not None else -1

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        if self._pidfd is not None and self.poll() is None:
            signal.pidfd_send_signal(self._pidfd, signum)


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
    return Connection(int(argv[1].split(",")[0]))


def sibling_pipes(argv: list[str]) -> list[int]:
    """The ends of its siblings' pipes, from the helper's command line: one sibling to start for each."""
    return [int(fd) for fd in argv[1].split(",")[1:]]


def start_siblings(conn: Connection, siblings: list[int]) -> Connection:
    """Start a sibling for each of ``siblings`` (pipe ends) once this helper has loaded what they share; the
    pipe this process serves from then on: ``conn`` here, its own in each sibling, which says its pid on it.

    Each sibling is forked, sharing what is loaded, if this process runs no thread but its own (a thread
    holding a lock at the fork would leave it held forever in the copy); otherwise each is a new interpreter
    running this helper's module, which loads its own.
    """
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # siblings that end are reaped, not left as zombies
    threads = _other_threads()
    if threads:
        module = sys.modules["__main__"].__spec__.name  # a helper runs as ``python -m <module>``
        print(f"{module}: siblings started as new interpreters, not forked: other threads running "
              f"({', '.join(threads)})", file=sys.stderr, flush=True)
        for own in siblings:
            subprocess.Popen([sys.executable, "-m", module, str(own)], pass_fds=[own])
        close_pipes(siblings)
        return conn
    gc.collect()
    gc.freeze()  # what is loaded stays in shared pages: a collection would write to every object's header
    for own in siblings:
        if os.fork() == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            conn.close()
            close_pipes([fd for fd in siblings if fd != own])
            mine = Connection(own)
            mine.send(("ready", os.getpid()))
            return mine
    close_pipes(siblings)
    return conn


# Threads a fork may leave behind: jemalloc's (pyarrow's allocator) handles fork itself.
_FORK_SAFE_THREADS = frozenset({"jemalloc_bg_thd"})


def _other_threads() -> list[str]:
    """The names of the threads this process runs besides the calling one, apart from those that handle fork
    (an unreadable thread list counts as one)."""
    try:
        names = [Path(f"/proc/self/task/{task}/comm").read_text().strip() for task in os.listdir("/proc/self/task")]
    except OSError as error:
        return [f"unknown: {error}"]
    names.remove(Path("/proc/thread-self/comm").read_text().strip())
    return [name for name in names if name not in _FORK_SAFE_THREADS]


def close_pipes(fds: Iterable[int]) -> None:
    """Close pipe ends this helper holds for siblings it will not fork (they learn it from the end of it)."""
    for fd in fds:
        os.close(fd)


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
