"""Great Expectations loaded in a helper process while a new process takes in and tags its first batch.

A new process pays for Great Expectations once, before its first gate: the import, the gate's context, the
suites' pages and a first validation, about 1.2 s of a cold 65-article ``akhbar run`` on 2 CPUs, spent while
its other CPU is idle. None of it needs the batch. So a run with new articles, in a process that has not
loaded Great Expectations, starts a helper process (:func:`start`) that loads all of it beside the import of
Stanza, the model's load and NER. At the gate, this process builds the audit frames (they read the
warehouse, which only the writer opens) and hands them to the helper, which runs the same checkpoints,
stores the same results and writes the same Data Docs as the gate in process (``expectations/gate.py``).

A helper that cannot gate (it failed to start, died, or failed on a batch) costs time, never a run: the gate
runs in this process instead. A warm process (``akhbar serve``'s worker) has loaded everything already and
starts none; ``AKHBAR_GATE_HELPER=false`` turns helpers off.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.util  # before the atexit below, which must run before its handler (see stop_all)
import os
import signal
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from core.stopwatch import Stopwatch
from expectations import gate
from expectations.gate import GateResult
from warehouse.store import Staging, Warehouse

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.5  # how often a wait for the helper checks that it is still alive

_helpers: dict[tuple[Path, Path], "GateHelper"] = {}


class HelperGone(RuntimeError):
    """The helper cannot gate: it did not start, it died, or it failed on this batch."""


def _key(context_dir: Path, data_docs_dir: Path) -> tuple[Path, Path]:
    return Path(context_dir).resolve(), Path(data_docs_dir).resolve()


def start(context_dir: Path, data_docs_dir: Path) -> "GateHelper | None":
    """This warehouse's helper, started now if it is :func:`worthwhile`; None when the gate had better run in
    this process."""
    key = _key(context_dir, data_docs_dir)
    if key in _helpers:
        return _helpers[key]
    if not worthwhile():
        return None
    _helpers[key] = GateHelper(*key)
    return _helpers[key]


def run_gate(staging: Staging, published: Warehouse, context_dir: Path, data_docs_dir: Path,
             expected: dict[str, int], labels: Sequence[str], now: datetime | None = None) -> GateResult:
    """``expectations.gate.run_gate``, its checkpoints run by this warehouse's helper if one was started."""
    helper = helping(context_dir, data_docs_dir)
    if helper is None:
        return gate.run_gate(staging, published, context_dir, data_docs_dir, expected, labels, now)
    refused, schema_seconds = gate.refused_schema(staging)
    if refused is not None:
        return refused
    try:
        result = helper.validate(staging, published, expected, labels, now)
    except HelperGone as gone:
        log.warning("the gate's helper process cannot gate (%s): gating in this process", gone)
        forget(context_dir, data_docs_dir)
        return gate.run_gate(staging, published, context_dir, data_docs_dir, expected, labels, now)
    result.seconds = {"schema": schema_seconds, **result.seconds}
    return result


def worthwhile() -> bool:
    """Whether a helper can save this process time: Great Expectations is not loaded, and a second CPU can."""
    return "great_expectations" not in sys.modules and (os.cpu_count() or 1) >= 2


def helping(context_dir: Path, data_docs_dir: Path) -> "GateHelper | None":
    """The helper started for this warehouse's gate, if any."""
    return _helpers.get(_key(context_dir, data_docs_dir))


def forget(context_dir: Path, data_docs_dir: Path) -> None:
    """Stop using this warehouse's helper (it could not gate); the gate runs in this process from now on."""
    helper = _helpers.pop(_key(context_dir, data_docs_dir), None)
    if helper is not None:
        helper.stop()


def stop_all() -> None:
    """Let every helper end on its own (at this process's exit): multiprocessing's exit handler, which runs
    after this one, would kill them, leaving what they hold for its resource tracker to complain about."""
    while _helpers:
        _helpers.popitem()[1].stop()


atexit.register(stop_all)


@dataclass
class RemoteDataDocs:
    """The Data Docs pages the helper is writing from a gate's results (``DataDocsBuild``'s interface)."""

    helper: "GateHelper"
    _index: Path | None = None
    _asked: bool = False

    def join(self) -> None:
        self.wait()

    def wait(self) -> Path | None:
        if not self._asked:
            self._asked = True
            try:
                self._index = self.helper.call("docs")
            except HelperGone as gone:  # pages are not worth a run, as in process
                log.error("Data Docs were not updated: the gate's helper process: %s", gone)
        return self._index


@dataclass
class GateHelper:
    """One helper process and the pipe to it; requests are answered in order, one at a time."""

    context_dir: Path
    data_docs_dir: Path
    process: Any = field(init=False)
    _conn: Any = field(init=False)
    _columns: dict[str, list[str]] | None = field(init=False, default=None)

    def __post_init__(self):
        # spawn, not fork: this process has threads (Prefect's) that a forked child would inherit locked.
        context = multiprocessing.get_context("spawn")
        self._conn, child_end = context.Pipe()
        self.process = context.Process(target=serve, args=(child_end, self.context_dir, self.data_docs_dir),
                                       name="akhbar-gate-helper", daemon=True)
        self.process.start()
        child_end.close()

    def _receive(self) -> Any:
        try:
            while not self._conn.poll(_POLL_SECONDS):
                if not self.process.is_alive():
                    raise HelperGone(f"it ended with exit code {self.process.exitcode}")
            kind, value = self._conn.recv()
        except (EOFError, OSError) as error:
            raise HelperGone(f"{type(error).__name__}: {error}") from error
        if kind == "error":
            raise HelperGone(value)
        return value

    def call(self, *request: Any) -> Any:
        self.columns()  # its answer to starting comes first
        try:
            self._conn.send(request)
        except (OSError, ValueError) as error:
            raise HelperGone(f"{type(error).__name__}: {error}") from error
        return self._receive()

    def columns(self) -> dict[str, list[str]]:
        """The columns of each table's audit frame, once the helper has loaded the gate (waits for it)."""
        if self._columns is None:
            self._columns = self._receive()
        return self._columns

    def validate(self, staging: Staging, published: Warehouse, expected: dict[str, int],
                 labels: Sequence[str], now: datetime | None) -> GateResult:
        """``run_gate``'s verdict, its checkpoints run by the helper over audit frames built here."""
        from expectations.audit import audit_frames  # pandas: only when a batch is gated

        clock = Stopwatch()
        columns = self.columns()
        clock.lap("helper wait")
        with published.connection() as con:
            frames = audit_frames(con, staging, columns)
        clock.lap("audit frames")
        result = self.call("validate", frames, staging.run_id, expected, tuple(labels), now)
        clock.lap("helper")
        result.seconds = {**clock.laps, **result.seconds}  # "checkpoints": the helper's own seconds
        result.data_docs = RemoteDataDocs(self)
        return result

    def stop(self) -> None:
        self._conn.close()  # a helper waiting for requests ends at the end of its pipe, once its pages are written
        if self._columns is None:  # still loading (a run with nothing new), or never asked: not worth waiting for
            self.process.terminate()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()


def serve(conn, context_dir: Path, data_docs_dir: Path) -> None:
    """The helper process: load the gate, then answer requests until the pipe closes."""
    signal.signal(signal.SIGTERM, lambda signum, frame: _leave())
    try:
        # The suites' pages are written with the first results' pages, after the verdict.
        conn.send(("ready", gate.prepare(context_dir, data_docs_dir, write_pages=False)))
    except Exception as error:  # noqa: BLE001 (told to the run, which gates in its own process)
        conn.send(("error", f"loading the gate: {type(error).__name__}: {error}"))
        return
    docs = None
    while True:
        try:
            kind, *arguments = conn.recv()
        except (EOFError, OSError):
            if docs is not None:
                docs.join()  # pages being written when the run ended
            _leave()
        try:
            if kind == "validate":
                result = gate.validate_frames(context_dir, data_docs_dir, *arguments)
                docs, result.data_docs = result.data_docs, None  # the pages are written here
                conn.send(("ok", result))
            elif kind == "docs":
                conn.send(("ok", docs.wait() if docs is not None else None))
            else:
                conn.send(("error", f"unknown request {kind!r}"))
        except Exception as error:  # noqa: BLE001 (the run gates in its own process instead)
            conn.send(("error", f"{kind}: {type(error).__name__}: {error}"))


def _leave() -> None:
    """End the helper without tearing Great Expectations down object by object (as ``akhbar/cli.py`` ends):
    the exit handlers run (multiprocessing's releases the semaphores the helper made), nothing else."""
    atexit._run_exitfuncs()
    os._exit(0)
