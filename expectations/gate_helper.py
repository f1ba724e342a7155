"""The quality gate's checkpoints in a helper process, beside the work of the process that runs the flow.

A new process pays for Great Expectations once, before its first gate: the import, the gate's context and a
first validation, about 1.2 s of a cold 65-article ``akhbar run`` on 2 CPUs, spent while its other CPU is
idle. None of it needs the batch. So ``akhbar run`` starts a helper process as it begins (and a flow run with
new articles starts one if its process has none, :func:`start`); the helper loads all of it beside Prefect's
import, intake, the model's load and NER. At the gate, this process builds the audit frames (they read the
warehouse, which only the writer opens) and hands them to the helper, which runs the same checkpoints,
stores the same results and writes the same Data Docs as the gate in process (``expectations/gate.py``); the
pages no longer take the interpreter from publishing, either.

A process that has loaded Great Expectations itself (``akhbar serve``'s warm worker, which keeps a helper
for its whole life) checks about half the tables while its helper checks the others, so a gate's checkpoints
take about half as long; the helper then writes every result's pages.

One helper per process serves every warehouse it gates. A helper that cannot gate (it failed to start, died,
or failed on a batch) costs time, never a run: the gate runs in this process, and no helper is started again
in it. ``AKHBAR_GATE_HELPER=false`` turns helpers off; so does a machine with one CPU. A helper holds Great
Expectations in its own memory (about 230 MB).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Sequence

from core import helper_process
from core.helper_process import HelperGone, HelperProcess
from core.stopwatch import Stopwatch
from expectations import gate
from expectations.gate import GateResult
from warehouse.store import Staging, Warehouse

log = logging.getLogger(__name__)

_slot = helper_process.OnePerProcess()  # its GateHelper, for every warehouse it gates
_pages: dict[Path, gate.DataDocsBuild] = {}  # in the helper: each warehouse's latest pages, being written


def start(context_dir: Path, data_docs_dir: Path) -> "GateHelper | None":
    """This process's helper, started now (loading the gate of this warehouse first) if it is
    :func:`worthwhile`; None when the gate had better run in this process."""
    if _slot.current is None and worthwhile():
        _slot.current = GateHelper(Path(context_dir).resolve(), Path(data_docs_dir).resolve())
    return _slot.current


def start_for(settings) -> "GateHelper | None":
    """:func:`start` for a run with these settings (``AKHBAR_GATE_HELPER``), for its warehouse."""
    return start(settings.gx_dir, settings.data_docs_dir) if settings.gate_helper else None


def run_gate(staging: Staging, published: Warehouse, context_dir: Path, data_docs_dir: Path,
             expected: dict[str, int], labels: Sequence[str], now: datetime | None = None) -> GateResult:
    """``expectations.gate.run_gate``, its checkpoints run by this process's helper if one was started."""
    helper = _slot.current
    if helper is None:
        return gate.run_gate(staging, published, context_dir, data_docs_dir, expected, labels, now)
    refused, schema_seconds = gate.refused_schema(staging)
    if refused is not None:
        return refused
    try:
        result = helper.validate(staging, published, Path(context_dir).resolve(), Path(data_docs_dir).resolve(),
                                  expected, labels, now)
    except HelperGone as gone:
        log.warning("the gate's helper process cannot gate (%s): gating in this process from now on", gone)
        give_up()
        return gate.run_gate(staging, published, context_dir, data_docs_dir, expected, labels, now)
    result.seconds = {"schema": schema_seconds, **result.seconds}
    return result


def worthwhile() -> bool:
    """Whether a helper can save this process time: it has a second CPU, and no helper failed in it."""
    return not _slot.gave_up and (os.cpu_count() or 1) >= 2


def checks_here() -> bool:
    """Whether this process checks half the tables beside its helper: it has loaded Great Expectations."""
    return "great_expectations" in sys.modules


def helping() -> "GateHelper | None":
    """This process's helper, if one was started."""
    return _slot.current


# stop(): a helper waiting for requests ends on its own, one still loading is stopped; give_up(): for good.
stop, give_up = _slot.stop, _slot.give_up


@dataclass
class RemoteDataDocs:
    """The Data Docs pages the helper is writing from a gate's results (``DataDocsBuild``'s interface)."""

    helper: "GateHelper"
    data_docs_dir: Path
    _index: Path | None = None
    _asked: bool = False

    def join(self) -> None:
        self.wait()

    def wait(self) -> Path | None:
        if not self._asked:
            self._asked = True
            try:
                with self.helper.lock:
                    self._index = self.helper.call("docs", self.data_docs_dir)
            except HelperGone as gone:  # pages are not worth a run, as in process
                log.error("Data Docs were not updated: the gate's helper process: %s", gone)
        return self._index


@dataclass
class GateHelper:
    """One helper process and the pipe to it; requests are answered in order, one at a time."""

    context_dir: Path
    data_docs_dir: Path
    helper: HelperProcess = field(init=False)
    lock: threading.Lock = field(init=False, default_factory=threading.Lock)  # one caller's requests at a time

    def __post_init__(self):
        self.helper = HelperProcess(__name__, str(self.context_dir), str(self.data_docs_dir))
        self.process = self.helper.process
        self.send, self.call = self.helper.send, self.helper.call

    def columns(self) -> dict[str, list[str]]:
        """The columns of each table's audit frame, once the helper has loaded the gate (waits for it)."""
        return self.helper.ready()

    def validate(self, staging: Staging, published: Warehouse, context_dir: Path, data_docs_dir: Path,
                 expected: dict[str, int], labels: Sequence[str], now: datetime | None) -> GateResult:
        """``run_gate``'s verdict over audit frames built here. The helper checks them; in a process that has
        loaded Great Expectations too (a warm worker), the helper checks half the tables while this process
        checks the others, and the helper then writes every result's pages."""
        with self.lock:
            return self._validate(staging, published, context_dir, data_docs_dir, expected, labels, now)

    def _validate(self, staging: Staging, published: Warehouse, context_dir: Path, data_docs_dir: Path,
                  expected: dict[str, int], labels: Sequence[str], now: datetime | None) -> GateResult:
        from expectations.audit import audit_frames  # pandas: only when a batch is gated

        clock = Stopwatch()
        columns = self.columns()
        clock.lap("helper wait")
        frames = audit_frames(published, staging, columns)
        clock.lap("audit frames")
        request = (staging.run_id, expected, tuple(labels), now)
        if not checks_here():
            result = self.call("validate", context_dir, data_docs_dir, frames, *request, True)
            clock.lap("helper")
        else:
            ours, theirs = gate.split_tables(context_dir, data_docs_dir, list(frames))
            self.send("validate", context_dir, data_docs_dir, {t: frames[t] for t in theirs}, *request, False)
            mine = gate.validate_frames(context_dir, data_docs_dir, {t: frames[t] for t in ours}, *request,
                                        build_docs=False)
            clock.lap("checkpoints here")
            helped = self.helper.receive()
            clock.lap("helper")
            result = gate.merged([mine, helped])
            self.call("pages", context_dir, data_docs_dir, result.result_ids)
        result.seconds = {**clock.laps, **result.seconds}  # "checkpoints": the helper's own seconds
        result.data_docs = RemoteDataDocs(self, data_docs_dir)
        return result

    def stop(self) -> None:
        self.helper.stop()  # a helper waiting for requests ends at the end of its pipe, once its pages are written


def serve(conn: Connection, context_dir: Path, data_docs_dir: Path) -> None:
    """The helper process: load the gate, then answer requests until the pipe closes."""
    signal.signal(signal.SIGTERM, lambda signum, frame: _leave())
    try:
        ready = ("ready", gate.prepare(context_dir, data_docs_dir, write_pages=False))
    except Exception as error:  # noqa: BLE001 (told to the run, which gates in its own process)
        ready = ("error", f"loading the gate: {type(error).__name__}: {error}")
    answer(conn, ready)
    if ready[0] != "ready":
        _leave()
    # The suites' pages, unless they are those of these suites already, once the run knows it can count on the
    # helper (a gate waits for them).
    _pages[data_docs_dir] = gate.build_pages(context_dir, data_docs_dir, [])
    for kind, arguments in helper_process.requests(conn):
        try:
            if kind == "validate":
                result = gate.validate_frames(*arguments)
                if result.data_docs is not None:  # written here, so their results' ids are not needed there,
                    _pages[result.data_docs.index.parent] = result.data_docs  # where unpickling them would load GX
                    result.result_ids = []
                result.data_docs = None
                answer(conn, ("ok", result))
            elif kind == "pages":
                built = gate.build_pages(*arguments)
                _pages[built.index.parent] = built
                answer(conn, ("ok", None))
            elif kind == "docs":
                built = _pages.get(arguments[0])
                answer(conn, ("ok", built.wait() if built is not None else None))
            else:
                answer(conn, ("error", f"unknown request {kind!r}"))
        except Exception as error:  # noqa: BLE001 (the run gates in its own process instead)
            answer(conn, ("error", f"{kind}: {type(error).__name__}: {error}"))
    _leave()


def answer(conn: Connection, message: tuple) -> None:
    helper_process.answer(conn, message, [_finish_pages])


def _leave() -> None:
    helper_process.leave([_finish_pages])


def _finish_pages() -> None:
    """The pages being written are finished before the helper ends, stopped or not."""
    for built in _pages.values():
        built.join()


if __name__ == "__main__":
    serve(helper_process.pipe_from(sys.argv), Path(sys.argv[2]), Path(sys.argv[3]))
