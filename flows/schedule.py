"""Scheduled runs: serve the ingest flow as a Prefect deployment on a cron schedule.

Prefect only schedules runs when a real server is running: against the
temporary server that a plain ``akhbar run`` starts, ``serve()`` registers the
deployment and then nothing ever happens. So ``akhbar serve`` uses the
server in ``PREFECT_API_URL`` when there is one (``prefect server start``:
persistent UI and run history), and otherwise starts a local server of its
own on 127.0.0.1 for as long as it serves.

Prefect's runner stops on SIGTERM but not on SIGINT; Ctrl-C is turned into
the same graceful stop (the schedule is paused, the server child stopped).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from flows.local_api import free_port, wait_for_api

DEPLOYMENT = "akhbar-scheduled"
FLOW = "akhbar-ingest"


@contextmanager
def local_server(home: Path | None = None, log: Path | None = None) -> Iterator[str]:
    """``prefect server start`` on 127.0.0.1, for as long as the block runs; yields its API URL."""
    port = free_port()
    env = dict(os.environ)
    if home is not None:
        env["PREFECT_HOME"] = str(home)
    env.pop("PREFECT_API_URL", None)
    out = open(log, "ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )
    api_url = f"http://127.0.0.1:{port}/api"
    try:
        wait_for_api(api_url, process=process)
        yield api_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        if log:
            out.close()


@contextmanager
def temporary_server() -> Iterator[str | None]:
    """A Prefect API for one command, when no server is configured; yields its API URL (None when one is
    configured, and nothing is started).

    With ``AKHBAR_LOCAL_API_IDLE_SECONDS`` > 0 (the default), akhbar's shared local API
    (``flows/local_api.py``): the one a recent command left up, or one started now that outlives this
    command for that long. With 0, what Prefect's client does on its own (``SubprocessASGIServer``: uvicorn
    over Prefect's server app, no UI, on 127.0.0.1), stopped when the command ends. Either way Prefect's
    server modules are not imported into this process (2.2 s), and a start overlaps this process's own
    imports; the server's health is awaited before the block runs.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, PREFECT_SERVER_EPHEMERAL_ENABLED, \
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, get_current_settings, temporary_settings

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        yield None
        return
    import prefect
    from core.settings import get_settings

    def import_the_flow():
        import flows.ingest  # noqa: F401

    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1",
           **get_current_settings().to_environment_variables(exclude_unset=True)}
    timeout = PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
    idle = get_settings().local_api_idle_seconds
    process = None
    if idle > 0:
        from flows.local_api import shared_local_api

        api_url = shared_local_api(Path(PREFECT_HOME.value()), idle, env, timeout, while_starting=import_the_flow)
    else:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(prefect.__file__).parent.parent), "--factory",
             "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port), "--log-level",
             "error", "--lifespan", "on"], env=env)
        api_url = f"http://127.0.0.1:{port}/api"
    try:
        if process is not None:
            import_the_flow()
            wait_for_api(api_url, timeout, process, interval=0.1)
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            try:
                yield api_url
            finally:
                _drain_queues()
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _drain_queues() -> None:
    """Send the logs and events still queued for the server before it stops."""
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=10)
        EventsWorker.drain_all(timeout=10)
    except Exception:  # noqa: BLE001  (what could not be sent is lost with the server, as with Prefect's own)
        pass


def _sigint_as_sigterm() -> None:
    def forward(signum, frame):
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGINT, forward)


def serve(cron: str, api_url: str | None, parameters: dict | None = None, warm: bool = True,
          poll_seconds: float = 5.0) -> None:
    """Register the deployment with its cron schedule and run scheduled flow runs until stopped: in one warm
    worker process (``flows/warm.py``), or with Prefect's own runner, a new process per run."""
    if warm:
        serve_warm(cron, api_url, parameters, poll_seconds)
    else:
        serve_cold(cron, api_url, parameters)


def serve_warm(cron: str, api_url: str | None, parameters: dict | None = None, poll_seconds: float = 5.0) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.warm import WarmServer

    server = WarmServer(DEPLOYMENT, cron, parameters or {}, api_url=api_url, poll_seconds=poll_seconds)

    def stop(signum, frame):
        server.stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    with temporary_settings(updates={PREFECT_API_URL: api_url} if api_url else {}):
        server.serve()


def serve_cold(cron: str, api_url: str | None, parameters: dict | None = None) -> None:
    """Prefect's own ``flow.serve()``: each scheduled run in a new process."""
    from prefect.flows import EntrypointType
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.ingest import ingest

    _sigint_as_sigterm()
    with temporary_settings(updates={PREFECT_API_URL: api_url} if api_url else {}):
        try:
            ingest.serve(
                name=DEPLOYMENT,
                cron=cron,
                parameters=parameters or {},
                description="Take in every new article from every source, on a schedule.",
                tags=["akhbar"],
                entrypoint_type=EntrypointType.MODULE_PATH,
                print_starting_message=True,
            )
        except SystemExit as stop:  # Prefect's runner exits this way on SIGTERM
            if stop.code not in (0, None):
                raise


async def next_scheduled_run(api_url: str) -> tuple[str, object] | None:
    """(deployment name, expected start) of the next scheduled ingest run, from a Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter, DeploymentFilterName, FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        async with get_client() as client:
            runs = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[DEPLOYMENT])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
                ),
                sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                limit=1,
            )
    return (DEPLOYMENT, runs[0].expected_start_time) if runs else None
