"""NER in worker processes: a run's chunks tagged and staged by several processes at once.

On a CPU, Stanza's NER does not keep a second core busy: two torch threads in
one process tag about 1.2× as fast as one, while two processes of one thread
each tag 1.6× as fast (2 CPUs; the benchmark's two NER floors, one process and
as the run tags, show it on each machine). So a run with new articles hands its
NER chunks (``flows/annotate.py``'s ``stage_chunk``: NER or the NER cache,
linking, rows, the staged Parquet) to worker processes, one per CPU up to four;
this process only waits for them, and does not load torch.

The workers are this process's for its life (a warm ``akhbar serve`` worker
keeps them across scheduled runs; a command stops them as it ends). The first
is a new interpreter (``core/helper_process.py``) that loads the model and the
knowledge base (about 620 MB) and rehearses a sample article; on Linux it then
forks the others, which share those pages and load nothing: a second load would
cost as much CPU as the first (about 3 s, on a cold run's critical path). Until
the fork it runs on one thread, Arrow's and torch's pools unstarted (a fork
copies no thread but the caller). Elsewhere each worker is a new interpreter
that loads its own. A worker that dies or cannot
load the model costs time, never a run: the other workers take its chunks, and
with none left the run tags in its own process from then on. A chunk that
fails in a worker (a full disk, say) raises here as it would have in process.
``AKHBAR_NER_PROCESSES=1`` keeps NER in the run's own process; so do one CPU,
``AKHBAR_DEVICE=cuda`` (one model on the GPU) and the Dask task runner.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from core import helper_process
from core.helper_process import HelperGone, HelperProcess
from core.settings import Settings

log = logging.getLogger(__name__)

MAX_AUTO_WORKERS = 4  # memory: each worker holds the model and the knowledge base (about 670 MB)

_slot = helper_process.OnePerProcess()  # its NerWorkers, for every run it makes


def wanted(settings: Settings) -> int:
    """How many NER worker processes these settings ask for on this machine (0 or 1: none)."""
    if _slot.gave_up or settings.task_runner != "local" or settings.device == "cuda":  # one model on the GPU
        return 0
    if settings.ner_processes:
        return settings.ner_processes if settings.ner_processes > 1 else 0
    cpus = os.cpu_count() or 1
    return min(cpus, MAX_AUTO_WORKERS) if cpus >= 2 else 0


def torch_threads_each(settings: Settings, size: int) -> int:
    """Torch threads of each of ``size`` worker processes: the settings' number, else the CPUs shared out (one
    each on up to 4 CPUs): the processes are the parallelism, and torch's own threads scale worse."""
    return settings.torch_threads or max(1, (os.cpu_count() or 1) // size)


def start_for(settings: Settings) -> "NerWorkers | None":
    """This process's NER workers, started now (each loading the model) if these settings want them."""
    n = wanted(settings)
    if not n:
        return None
    if _slot.current is not None and _slot.current.size != n:
        _slot.stop()
    if _slot.current is None:
        _slot.current = NerWorkers(n, settings)
    return _slot.current


def start_early(settings: Settings) -> "NerWorkers | None":
    """The workers started with a command, before its run knows whether it has text to tag: when its sources
    hold a file its warehouse has neither settled nor quarantined. Their first seconds, loading the model, then
    pass beside the command's own start, intake and selection, not after them. A guess (the file may hold only
    copies of published articles): a wrong one costs a load beside the run."""
    from flows import intake
    from warehouse.store import Warehouse

    if not wanted(settings) or _slot.current is not None:
        return _slot.current
    try:
        specs = intake.sources_of(settings)
        settled, quarantined = Warehouse(settings.warehouse).files_seen()
    except Exception:  # noqa: BLE001 (a writer holds the warehouse, or the run will report what is wrong)
        return None
    return start_for(settings) if intake.any_unseen_file(specs, settled, quarantined) else None


def working() -> "NerWorkers | None":
    """This process's NER workers, if they were started."""
    return _slot.current


stop, give_up = _slot.stop, _slot.give_up  # for a later run to start others; for good


@dataclass
class _Job:
    request: tuple
    future: Future
    requeued: bool = False  # its future already running: taken by a worker that died with it


class NerWorkers:
    """``size`` worker processes, and one thread here per worker handing it chunks from a shared queue."""

    def __init__(self, size: int, settings: Settings):
        self.size = size
        self.settings = settings.model_copy(update={"torch_threads": torch_threads_each(settings, size)})
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._lock, self._alive = threading.Lock(), size
        env = {"OMP_NUM_THREADS": str(self.settings.torch_threads)}
        if helper_process.can_fork() and size > 1:
            env["OMP_NUM_THREADS"] = "1"  # until its siblings are forked: see _answer
            first = HelperProcess(__name__, env=env, siblings=size - 1)
            self._helpers = [first, *first.siblings]
        else:
            self._helpers = [HelperProcess(__name__, env=env) for _ in range(size)]
        self.loaded: list[Future] = [Future() for _ in range(size)]  # each worker's model, once it is loaded
        self._built = [0] * size  # each worker's Stanza pipelines, as last heard
        self._reported = 0  # the pipelines built in all of them, as told with the chunks answered so far
        self.chunks_done = [0] * size  # each worker's chunks answered, staged or raised
        self._threads = [threading.Thread(target=self._feed, args=(n, helper, loaded), daemon=True,
                                          name=f"akhbar-ner-worker-{n}")
                         for n, (helper, loaded) in enumerate(zip(self._helpers, self.loaded))]
        for thread in self._threads:
            thread.start()

    def submit(self, *chunk: Any) -> Future:
        """A future of ``stage_chunk(*chunk)`` run by the first free worker (its model loaded first)."""
        future: Future = Future()
        with self._lock:
            if not self._alive:
                future.set_exception(HelperGone("no NER worker is left"))
                return future
            self._jobs.put(_Job(chunk, future))
        return future

    def wait_loaded(self) -> None:
        """Wait until every worker has loaded the model or failed to; raises :class:`HelperGone` if none could."""
        failures = [loaded.exception() for loaded in self.loaded]
        if all(failures):
            raise failures[0]

    def pipelines_built(self) -> int:
        """Stanza pipelines the workers have built, as last heard from each."""
        return sum(self._built)

    def pids(self) -> list[int | None]:
        """Each worker's pid (None for a sibling that has not said it yet)."""
        return [helper.process.pid for helper in self._helpers]

    def _feed(self, n: int, helper: HelperProcess, loaded: Future) -> None:
        try:
            self._built[n] = helper.call("load", self.settings)
            loaded.set_result(self._built[n])
        except HelperGone as gone:
            loaded.set_exception(gone)
            return self._lost(helper, gone)
        if n:  # a sibling's chunks wait for the first worker's answer, which counts the model they share
            self.loaded[0].exception()
        while (job := self._jobs.get()) is not None:
            if not (job.requeued or job.future.set_running_or_notify_cancel()):  # its run failed meanwhile
                continue
            try:
                kind, value = helper.call("chunk", *job.request)
            except HelperGone as gone:
                self._jobs.put(_Job(job.request, job.future, requeued=True))  # for another worker
                return self._lost(helper, gone)
            self.chunks_done[n] += 1
            if kind == "raised":
                job.future.set_exception(value)
                continue
            with self._lock:  # what was built since the last chunk answered (a model's load: with the next one)
                self._built[n] = value.pipelines_in_worker
                built = self.pipelines_built()
                value.new_pipelines, self._reported = built - self._reported, built
            job.future.set_result(value)

    def _lost(self, helper: HelperProcess, gone: HelperGone) -> None:
        """A worker that cannot tag: the others take its chunks; with none left, every chunk waiting fails."""
        log.warning("an NER worker process cannot tag (%s)", gone)
        with self._lock:
            self._alive -= 1
            last = self._alive <= 0
        if last:
            self._fail_waiting(gone)

    def _fail_waiting(self, gone: HelperGone) -> None:
        """Every chunk still queued fails with ``gone`` (its task then tags it in the run's own process)."""
        sentinels = 0
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is None:
                sentinels += 1
            elif job.requeued or job.future.set_running_or_notify_cancel():
                job.future.set_exception(gone)
        for _ in range(sentinels):  # still owed to the threads that have not seen theirs
            self._jobs.put(None)

    def stop(self) -> None:
        with self._lock:
            self._alive = 0  # nothing is queued from now on
        for _ in self._threads:
            self._jobs.put(None)
        for helper in self._helpers:
            helper.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self._fail_waiting(HelperGone("the NER workers were stopped"))


# ------------------------------------------------------------------ in the worker


def serve(conn, siblings: list[int]) -> None:
    """The worker: load the model when told which, then stage chunks until the pipe closes. ``siblings``: the
    pipes of the workers to start once the model is loaded (``core/helper_process.py``)."""
    helper_process.answer(conn, ("ready", os.getpid()))
    while conn is not None:
        conn, siblings = _answer(conn, siblings), []
    helper_process.leave()


def _answer(conn, siblings: list[int]):
    """Answer requests until the pipe closes (None), or until this process is a sibling just forked from the
    first worker: then its own pipe, on which its requests wait."""
    from flows import annotate, nlp

    for kind, arguments in helper_process.requests(conn):
        try:
            if kind == "load":
                (settings,) = arguments
                # Loaded and rehearsed before the siblings are forked, so that they share what that loads and
                # compiles; on one torch thread until then, as torch's pool would be threads a fork refuses.
                before_fork = settings.model_copy(update={"torch_threads": 1}) if siblings else settings
                _load(before_fork)
                _rehearse(before_fork)
                if siblings:
                    siblings, forked = [], helper_process.start_siblings(conn, siblings)
                    if forked is not conn:
                        nlp.pipelines_built = 0  # it built none: its model is the first worker's, shared
                        return forked
                nlp.use_torch_threads(settings.torch_threads)
                helper_process.answer(conn, ("ok", nlp.pipelines_built))
            elif kind == "chunk":
                try:
                    helper_process.answer(conn, ("ok", ("done", annotate.stage_chunk(*arguments))))
                except Exception as error:  # noqa: BLE001 (raised in the run, as in process)
                    helper_process.answer(conn, ("ok", ("raised", _picklable(error))))
            else:
                helper_process.answer(conn, ("error", f"unknown request {kind!r}"))
        except Exception as error:  # noqa: BLE001 (the run tags in its own process instead)
            if siblings:  # none will be forked: their pipes' end tells the run
                helper_process.close_pipes(siblings)
                siblings = []
            helper_process.answer(conn, ("error", f"{kind}: {type(error).__name__}: {error}"))
    return None


_rehearsed = False


def _load(settings) -> None:
    """The model and the knowledge base (a forked worker finds them loaded)."""
    from flows import intake, nlp

    nlp.get_pipeline(nlp.ensure_model(settings), settings)
    intake.load_knowledge_base(settings)


def _rehearse(settings) -> None:
    """Once, a sample article through the model and the rows: what they compile or build on first use is then
    ready before a run needs it."""
    global _rehearsed
    from flows import annotate, intake

    article = None if _rehearsed else intake.sample_article(settings)
    if article is not None:
        annotate.rehearse(settings, article)
    _rehearsed = True


def _picklable(error: Exception) -> Exception:
    import pickle

    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(error).__name__}: {error}")


if __name__ == "__main__":
    serve(helper_process.pipe_from(sys.argv), helper_process.sibling_pipes(sys.argv))
