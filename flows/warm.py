"""Warm scheduled runs: ``akhbar serve`` runs every scheduled flow run in one long-lived worker process that
keeps the model, the knowledge base and the Great Expectations context loaded from one run to the next.

Why not Prefect's own serving. Prefect 3's ``flow.serve()`` (its ``Runner``) starts a new interpreter for
every flow run (``run_flow_in_subprocess``, a spawned process), so each scheduled run pays again for the
imports, the model and the gate's context (about 15 s of a 20-article run, 7 s of a run with nothing new).
Its other ways keep no flow warm either: a process work pool's worker also starts a process per flow run,
and task workers (``serve(tasks)`` with ``task.delay()``) keep a process warm for *tasks* while the flow run
itself still starts cold and ships its articles across. So akhbar does what the Runner does, minus the new
process:

- it registers the deployment with its cron schedule (``RunnerDeployment.apply``), as ``serve()`` does;
- it polls the API for that deployment's scheduled runs and proposes ``Pending``, as the Runner does;
- it hands each run to the warm worker, which executes it with Prefect's own engine (``run_flow`` with the
  scheduled flow run): the run's states, logs and artifacts are in the UI as for any flow run;
- a run that fails is ``Failed`` like any flow run and the worker goes on to the next; a worker that dies
  (a crash, an out-of-memory kill) is replaced and its run reported ``Crashed``, so no run can leave the
  next one a broken process;
- on stop (Ctrl-C, SIGTERM) the deployment's schedule is paused, as the Runner does.

One run at a time: the warehouse has one writer anyway (``warehouse/lock.py``).
"""

from __future__ import annotations

import datetime
import gc
import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

log = logging.getLogger(__name__)

# Variables the worker must see before it imports Prefect (the parent sets them in temporary settings only).
_PREFECT_API_URL = "PREFECT_API_URL"


@dataclass
class RunReport:
    """What the worker says of one flow run it executed."""

    flow_run_id: str
    state: str  # COMPLETED, FAILED, CRASHED...
    pid: int
    pipelines_built: int  # Stanza pipelines the worker (and its NER workers) built in its life
    rss_mb: float  # the worker's resident memory after the run, its gate helper's and NER workers' included
    seconds: float
    message: str = ""
    n_new: int | None = None  # from the run's summary, when it returned one
    timings: dict[str, float] = field(default_factory=dict)  # the run's seconds per stage (ner, gate...)


# ------------------------------------------------------------------ the worker process


def _rss_mb() -> float:
    """The worker's resident memory, its gate helper's and NER workers' included (``expectations/gate_helper.py``,
    ``flows/ner_workers.py``)."""
    from expectations import gate_helper
    from flows import ner_workers

    helper, workers = gate_helper.helping(), ner_workers.working()
    pids = ([helper.process.pid] if helper is not None else []) + (workers.pids() if workers is not None else [])
    return _process_rss_mb("self") + sum(_process_rss_mb(str(pid)) for pid in pids)


def _pipelines_built() -> int:
    """Stanza pipelines built by the worker and its NER workers."""
    from flows import ner_workers, nlp

    workers = ner_workers.working()
    return nlp.pipelines_built + (workers.pipelines_built() if workers is not None else 0)


def _process_rss_mb(pid: str) -> float:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError):
        if pid != "self":
            return 0.0
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def warm_up(parameters: dict[str, Any]) -> dict[str, float]:
    """Load what every run needs, once: the flow's modules, the model, the knowledge base and gazetteer, the
    gate's context. Seconds per part."""
    from core.settings import get_settings

    seconds, started = {}, time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        seconds[name] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()

    import flows.ingest  # noqa: F401  (Prefect, the flow and its tasks)
    lap("imports")
    settings = get_settings(**{k: v for k, v in parameters.items() if k in ("inbox", "warehouse") and v})
    from expectations import gate_helper

    # The gate's helper loads beside the model (expectations/gate_helper.py): the worker checks half the tables.
    helper = gate_helper.start_for(settings)
    from flows import intake, ner_workers

    # So do the NER workers (flows/ner_workers.py), which tag every run's chunks; without them, the model is here.
    tagging_here = not _ner_workers_loaded(ner_workers.start_for(settings))
    lap("model")
    if tagging_here:  # else the workers link the mentions, and send the entities' entries with their rows
        intake.load_knowledge_base(settings)
    intake.load_places(settings)
    intake.load_agency_rules(settings.agencies)
    lap("knowledge base")
    rehearse(settings, with_ner=tagging_here)
    lap("rehearsal")
    from expectations.gate import prepare

    settings.gx_dir.mkdir(parents=True, exist_ok=True)
    prepare(settings.gx_dir, settings.data_docs_dir)
    if helper is not None:
        try:
            helper.columns()  # ready
        except gate_helper.HelperGone as gone:
            log.warning("the gate's helper process did not start (%s): the worker gates alone", gone)
            gate_helper.give_up()
    lap("gate")
    # What was loaded stays for the worker's life: moved out of the cyclic collector's sight, it is not rescanned
    # by every full collection of every run (the first run's alone took 0.3 s over it).
    gc.collect()
    gc.freeze()
    lap("freeze")
    return seconds


def _ner_workers_loaded(workers) -> bool:
    """Whether NER workers are there with their models loaded (a worker that could not load one: none are)."""
    from flows import ner_workers

    if workers is None:
        return False
    try:
        workers.wait_loaded()
    except ner_workers.HelperGone as gone:
        log.warning("the NER worker processes did not start (%s): the worker tags alone", gone)
        ner_workers.give_up()
        return False
    return True


def rehearse(settings, with_ner: bool = True) -> None:
    """One sample article through a run's steps in memory, nothing written: what they load or build on first use
    (the fingerprints' hashing library, compiled patterns, the stop words of story grouping...) is then loaded
    before the first scheduled run instead of inside it. ``with_ner``: its NER and rows too, in this process."""
    from flows import annotate, intake
    from transforms.dedup import band_keys, band_layout, signature, to_bytes
    from transforms.stories import terms

    article = intake.sample_article(settings)
    if article is None:
        return
    band_keys(to_bytes(signature(article.body)), band_layout(settings.near_duplicate_threshold))
    terms(article.meta.title, article.body)
    if with_ner:
        annotate.rehearse(settings, article)


def _run_one(flow_run_id: str) -> RunReport:
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow

    from flows.ingest import ingest
    from core.prefect_env import without_heartbeats

    started = time.perf_counter()
    try:
        with get_client(sync_client=True) as client:
            flow_run = client.read_flow_run(UUID(flow_run_id))
        # No heartbeats: the serving process watches this one and reports its runs Crashed if it dies.
        with without_heartbeats():
            state = run_flow(ingest, flow_run=flow_run, parameters=flow_run.parameters, return_type="state")
        kind, message = state.type.value, state.message or ""
        summary = _summary_of(state)
    except BaseException as error:  # the engine reports the run's failure itself; this is what escaped it
        kind, message, summary = "FAILED", f"{type(error).__name__}: {error}"[:500], None
    seconds = round(time.perf_counter() - started, 2)
    return RunReport(flow_run_id, kind, os.getpid(), _pipelines_built(), round(_rss_mb(), 1), seconds, message,
                     summary.n_new if summary else None, dict(summary.timings) if summary else {})


def _summary_of(state):
    """The run's summary (``flows.summary.RunSummary``), from its state: its result, or the gate's failure."""
    from flows.summary import GateFailed, RunSummary

    try:
        result = state.result(raise_on_failure=False)
    except Exception:  # noqa: BLE001  (no result kept: nothing to report beyond the state)
        return None
    if isinstance(result, GateFailed):
        return result.summary
    return result if isinstance(result, RunSummary) else None


def _worker_main(connection, environ: dict[str, str], parameters: dict[str, Any]) -> None:
    """The worker: warm up, then run each flow run it is sent until told to stop (None) or orphaned."""
    os.environ.update(environ)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops us cleanly
    import core.prefect_env  # noqa: F401  (Prefect defaults, before prefect is imported)

    try:
        connection.send({"ready": warm_up(parameters), "pid": os.getpid()})
    except Exception as error:  # a worker that cannot warm up still runs flows: each run then says why
        connection.send({"ready": {}, "pid": os.getpid(), "error": f"{type(error).__name__}: {error}"[:500]})
    while True:
        try:
            flow_run_id = connection.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if flow_run_id is None:
            return
        connection.send(_run_one(flow_run_id))


class WarmWorker:
    """The long-lived process that runs flow runs in turn."""

    def __init__(self, api_url: str | None, parameters: dict[str, Any]):
        self.api_url, self.parameters = api_url, parameters
        self.process: multiprocessing.process.BaseProcess | None = None
        self.connection = None
        self.warm_up: dict[str, float] = {}
        self.warm_up_error: str | None = None
        self.started = 0  # processes started in this worker's life (1 + replacements)

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")  # a clean interpreter: nothing inherited from the parent
        parent_end, child_end = context.Pipe()
        environ = {_PREFECT_API_URL: self.api_url} if self.api_url else {}
        self.process = context.Process(target=_worker_main, args=(child_end, environ, self.parameters),
                                       name="akhbar-warm-worker", daemon=True)
        self.process.start()
        child_end.close()
        self.connection = parent_end
        self.started += 1
        self.warm_up, self.warm_up_error = {}, None

    def wait_ready(self, timeout: float = 600.0) -> bool:
        """Wait for the worker's warm-up; False if it died first."""
        message = self._receive(timeout)
        if not isinstance(message, dict):
            return False
        self.warm_up, self.warm_up_error = message.get("ready", {}), message.get("error")
        return True

    def run(self, flow_run_id: str, timeout: float | None = None) -> RunReport | None:
        """Execute one flow run; None if the worker died meanwhile (it is replaced at once)."""
        if self.process is None or not self.process.is_alive():
            self.start()
            self.wait_ready()
        try:
            self.connection.send(flow_run_id)
        except (BrokenPipeError, OSError):
            self._replace()
            return None
        report = self._receive(timeout)
        if isinstance(report, RunReport):
            return report
        self._replace()
        return None

    def _receive(self, timeout: float | None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                if self.connection.poll(1.0):
                    return self.connection.recv()
            except (EOFError, OSError):
                return None
            if not self.process.is_alive() or (deadline is not None and time.monotonic() > deadline):
                return None

    def _replace(self) -> None:
        self.stop(wait=5)
        self.start()
        self.wait_ready()

    def stop(self, wait: float = 30.0) -> None:
        if self.process is None:
            return
        try:
            self.connection.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(wait)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.connection.close()
        self.process = None


# ------------------------------------------------------------------ the serving loop


@dataclass
class WarmServer:
    """Registers the deployment, then runs its scheduled flow runs in the warm worker until stopped."""

    deployment: str
    cron: str | None
    parameters: dict[str, Any] = field(default_factory=dict)
    api_url: str | None = None
    poll_seconds: float = 5.0
    worker: WarmWorker | None = None
    reports: list[RunReport] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    deployment_id: UUID | None = None

    def register(self) -> UUID:
        """The deployment as ``serve()`` registers it: the flow, its cron schedule (active), its parameters."""
        from prefect.flows import EntrypointType

        from flows.ingest import ingest

        deployment = ingest.to_deployment(
            name=self.deployment, cron=self.cron, paused=False, parameters=self.parameters,
            description="Take in every new article from every source, on a schedule (run warm by akhbar serve).",
            tags=["akhbar"], entrypoint_type=EntrypointType.MODULE_PATH)
        self.deployment_id = deployment.apply()
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:  # paused by the last stop: serving resumes it
            client.resume_deployment(self.deployment_id)
        return self.deployment_id

    def serve(self) -> None:
        """Until :meth:`stop`: poll, propose Pending, run in the warm worker, report crashes."""
        from prefect.settings import PREFECT_API_URL, temporary_settings

        # Settings are per context, and a thread starts with none of its parent's: the API is set here.
        with temporary_settings(updates={PREFECT_API_URL: self.api_url} if self.api_url else {}):
            self._serve()

    def _serve(self) -> None:
        from prefect.client.orchestration import get_client

        self.register()
        self.worker = self.worker or WarmWorker(self.api_url, self.parameters)
        self.worker.start()
        if self.worker.wait_ready():
            log.info("warm worker ready (pid %s): %s", self.worker.process.pid, self.worker.warm_up)
        with get_client(sync_client=True) as client:
            try:
                while not self.stopping.is_set():
                    for flow_run in self._due(client):
                        if self.stopping.is_set():
                            break
                        self._execute(client, flow_run)
                    self.stopping.wait(self.poll_seconds)
            finally:
                self._pause(client)
                self.worker.stop()

    def stop(self) -> None:
        self.stopping.set()

    def _due(self, client) -> list:
        now = datetime.datetime.now(datetime.timezone.utc)
        runs = client.get_scheduled_flow_runs_for_deployments(deployment_ids=[self.deployment_id],
                                                              scheduled_before=now)
        return sorted(runs, key=lambda run: run.next_scheduled_start_time or now)

    def _execute(self, client, flow_run) -> None:
        from prefect.exceptions import Abort
        from prefect.states import Crashed, Pending
        from prefect.utilities.engine import propose_state_sync

        try:
            state = propose_state_sync(client, Pending(), flow_run_id=flow_run.id)
        except Abort:  # another runner took it, or it was cancelled
            return
        if not state.is_pending():
            return
        report = self.worker.run(str(flow_run.id))
        if report is None:
            message = "the warm worker process died during this run; a new one takes the next runs"
            log.error("flow run %s crashed: %s", flow_run.id, message)
            try:
                propose_state_sync(client, Crashed(message=message), flow_run_id=flow_run.id)
            except Exception as error:  # noqa: BLE001  (the API may be gone too: the next poll says so)
                log.error("could not report the crash of flow run %s: %s", flow_run.id, error)
            report = RunReport(str(flow_run.id), "CRASHED", -1, 0, 0.0, 0.0, message)
        self.reports.append(report)
        log.info("flow run %s: %s in %.1f s (worker %s, %.0f MB)", flow_run.id, report.state, report.seconds,
                 report.pid, report.rss_mb)

    def _pause(self, client) -> None:
        if self.deployment_id is None:
            return
        try:
            client.pause_deployment(self.deployment_id)
        except Exception as error:  # noqa: BLE001  (a server already gone has nothing to pause)
            log.warning("could not pause the schedule: %s", error)
