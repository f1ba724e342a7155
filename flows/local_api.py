"""akhbar's own local Prefect API, kept up for a while between commands.

A command that runs a flow needs a Prefect API. With none configured, Prefect's answer is a temporary server
per process, and booting one costs about 4 s here (2.2 s of it importing Prefect's server): most of an
``akhbar run`` with nothing new. So, like a build daemon, the first command starts one server for this
``PREFECT_HOME`` (uvicorn over Prefect's server app, the same as Prefect's temporary server: 127.0.0.1, no UI,
no background services) and leaves it up; the commands after it use it, and it stops by itself once it
has been idle for ``AKHBAR_LOCAL_API_IDLE_SECONDS`` (0: each command's server stops with the command).

``$PREFECT_HOME/akhbar-local-api.json`` says where it is: its pid, port, Prefect version and Python. A server
is used only when it answers and matches this Python and Prefect; a lock file keeps two commands from
starting two. A request or an open websocket (a client's events) counts as activity.

Run as ``python -m flows.local_api --port P --idle S --state FILE`` by :func:`shared_local_api`.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

STATE = "akhbar-local-api.json"


class ServerUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_api(api_url: str, timeout: float = 180.0, process: subprocess.Popen | None = None,
                 interval: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServerUnavailable(f"prefect server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(interval)
    raise ServerUnavailable(f"no Prefect API answered at {api_url} within {timeout:.0f}s")


def _identity() -> dict[str, str]:
    import prefect

    # The environment, not the interpreter's name: `python` and `python3` of one virtualenv are the same.
    return {"prefect": prefect.__version__, "python": f"{sys.prefix} {sys.version.split()[0]}"}


def _answers(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def running_api(home: Path) -> str | None:
    """The API URL of this home's local server, when one is up and fits this Python and Prefect."""
    try:
        state = json.loads((home / STATE).read_text())
    except (OSError, ValueError):
        return None
    if {k: state.get(k) for k in _identity()} != _identity():
        return None
    try:
        os.kill(int(state["pid"]), 0)
    except (OSError, KeyError, ValueError):
        return None
    return state["url"] if _answers(state["url"]) else None


@contextmanager
def _start_lock(home: Path) -> Iterator[None]:
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "akhbar-local-api.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def shared_local_api(home: Path, idle_seconds: float, environment: dict[str, str], timeout: float,
                     while_starting=lambda: None) -> str:
    """The URL of this home's local API: the running one, or one started now (``while_starting`` runs while
    it boots) that stays up until idle for ``idle_seconds``."""
    with _start_lock(home):
        url = running_api(home)
        if url is not None:
            while_starting()
            return url
        port = free_port()
        url = f"http://127.0.0.1:{port}/api"
        with open(home / "akhbar-local-api.log", "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "flows.local_api", "--port", str(port), "--idle", str(idle_seconds),
                 "--state", str(home / STATE)],
                env=environment, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # outlives this command, and a Ctrl-C in its terminal
                cwd=Path(__file__).resolve().parent.parent,
            )
        while_starting()
        try:
            wait_for_api(url, timeout, process, interval=0.1)
        except BaseException:
            process.kill()
            raise
        (home / STATE).write_text(json.dumps({"pid": process.pid, "url": url, "port": port, **_identity()}))
        return url


def stop_local_api(home: Path, timeout: float = 30) -> bool:
    """Stop this home's local API, if one is up; whether one was."""
    import signal

    try:
        pid = int(json.loads((home / STATE).read_text())["pid"])
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError, KeyError):
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True


class IdleWatch:
    """ASGI middleware: how many requests and websockets are open, and when the last one ended."""

    def __init__(self, app):
        self.app, self.open, self.last = app, 0, time.monotonic()

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        self.open += 1
        try:
            return await self.app(scope, receive, send)
        finally:
            self.open -= 1
            self.last = time.monotonic()

    def idle_for(self) -> float:
        return 0.0 if self.open else time.monotonic() - self.last


def serve(port: int, idle_seconds: float, state: Path) -> None:
    import uvicorn
    from prefect.server.api.server import create_app

    watch = IdleWatch(create_app(ephemeral=True, final=True))
    server = uvicorn.Server(uvicorn.Config(watch, host="127.0.0.1", port=port, log_level="error", lifespan="on"))

    async def stop_when_idle():
        while not server.started:  # the first boot of a home migrates its database, which takes a while
            await asyncio.sleep(0.05)
        watch.last = time.monotonic()
        while not server.should_exit:
            await asyncio.sleep(min(1.0, max(idle_seconds / 4, 0.05)))
            if watch.idle_for() > idle_seconds:
                server.should_exit = True

    async def main():
        watcher = asyncio.create_task(stop_when_idle())
        try:
            await server.serve()
        finally:
            watcher.cancel()

    try:
        asyncio.run(main())
    finally:
        try:  # only this server's own state: a newer one may have replaced it
            if json.loads(state.read_text()).get("pid") == os.getpid():
                state.unlink()
        except (OSError, ValueError):
            pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m flows.local_api")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idle", type=float, required=True, help="seconds without a request before it stops")
    parser.add_argument("--state", type=Path, required=True)
    arguments = parser.parse_args()
    serve(arguments.port, arguments.idle, arguments.state)
