"""One writer per warehouse: an advisory lock held for the whole run.

``fcntl.flock`` belongs to the open file, so the kernel releases it when the
process ends, however it ends: a run killed with SIGKILL leaves no stale lock
to clean up, and the next run takes the lock over at once. The file keeps the
holder's pid and start time, only to say who holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path


def writer_lock_path(warehouse: Path) -> Path:
    """The lock file of a warehouse's writer: ``akhbar.duckdb`` → ``akhbar.duckdb.lock`` beside it."""
    return warehouse.parent / f"{warehouse.name}.lock"


class WarehouseBusy(RuntimeError):
    """Another process is writing to this warehouse."""


class WriterLock:
    def __init__(self, path: Path, wait_seconds: float = 0.0):
        self.path = path
        self.wait_seconds = wait_seconds
        self._handle = None

    def holder(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def held(self) -> bool:
        """Whether a writer holds the lock now (asked without taking it, and without writing to the file)."""
        try:
            handle = open(self.path, "rb")
        except OSError:
            return False
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    def acquire(self) -> "WriterLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        deadline = time.monotonic() + self.wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self.holder()
                    handle.close()
                    raise WarehouseBusy(
                        f"another akhbar run (pid {holder.get('pid', '?')}, started {holder.get('started', '?')}) "
                        f"is writing to {self.path.parent}; try again when it ends "
                        f"(or set AKHBAR_LOCK_WAIT_SECONDS to wait for it)"
                    ) from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "started": datetime.now(timezone.utc).isoformat()}))
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> "WriterLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
