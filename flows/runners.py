"""Where NER chunks run: in this process (default) or on Dask, chosen by configuration, not code.

With ``AKHBAR_TASK_RUNNER=dask`` the same flow submits its chunks to a Dask
cluster: an existing scheduler (``AKHBAR_DASK_ADDRESS``) or a local one with
``AKHBAR_DASK_WORKERS`` worker processes. Each worker builds its Stanza
pipeline once (the pipeline cache is per process) and writes its staged
Parquet itself, so the staging folder must be shared storage on a real cluster.
"""

from __future__ import annotations

from core.settings import Settings


def task_runner(settings: Settings):
    if settings.task_runner != "dask":
        return None
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": settings.dask_workers, "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None})


def ingest_flow(settings: Settings):
    """The ingest flow, with the configured task runner."""
    from flows.ingest import ingest

    runner = task_runner(settings)
    return ingest if runner is None else ingest.with_options(task_runner=runner)
