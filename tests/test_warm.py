"""Warm scheduled runs (``flows/warm.py``): the runs of one ``akhbar serve`` share one worker process that
loads the model once; a failing run does not stop the next, and a worker that dies is replaced."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import duckdb
import pytest

from core import helper_process
from tests.conftest import copy_samples, require_model

DEV_ARTICLES = Path(__file__).resolve().parent.parent / "seeds" / "dev" / "articles"


@pytest.fixture
def warm_server(prefect_api):
    from flows.warm import WarmServer

    made = []

    def start(name: str, parameters: dict) -> WarmServer:
        server = WarmServer(name, None, parameters, api_url=prefect_api, poll_seconds=0.5)
        thread = threading.Thread(target=server.serve, daemon=True)
        thread.start()
        made.append((server, thread))
        deadline = time.monotonic() + 120
        while server.deployment_id is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.deployment_id is not None
        return server

    yield start
    for server, thread in made:
        server.stop()
        thread.join(120)


def schedule_run(server, **parameters) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return str(client.create_flow_run_from_deployment(server.deployment_id, parameters=parameters).id)


def wait_for(condition, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


def flow_run_state(flow_run_id: str) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).state.type.value


@pytest.mark.parametrize("ner_processes", [1, 2])  # the model in the worker, or one in each of its NER workers
def test_scheduled_runs_share_one_warm_model_and_a_failing_run_does_not_stop_the_next(warm_server, tmp_path,
                                                                                     monkeypatch, ner_processes):
    require_model()
    monkeypatch.setenv("AKHBAR_NER_PROCESSES", str(ner_processes))
    warehouse = tmp_path / "wh" / "akhbar.duckdb"
    samples = copy_samples(tmp_path / "samples")
    later = tmp_path / "later"
    later.mkdir()
    for name in ("gulf04.txt", "wire02.txt"):
        shutil.copy(DEV_ARTICLES / name, later / name)
    server = warm_server("akhbar-warm-test", {"inbox": str(samples), "warehouse": str(warehouse)})

    first = schedule_run(server)
    failing = schedule_run(server, inbox=str(tmp_path / "no-such-folder"))
    third = schedule_run(server, inbox=str(later))
    wait_for(lambda: len(server.reports) >= 3)

    reports = {r.flow_run_id: r for r in server.reports}
    assert [reports[i].state for i in (first, failing, third)] == ["COMPLETED", "FAILED", "COMPLETED"]
    assert "inbox folder not found" in reports[failing].message
    assert len({r.pid for r in server.reports}) == 1  # one worker process for every run
    # the model, built once (in the first NER worker; on Linux the other is forked from it and shares it)
    built = 1 if helper_process.can_fork() else ner_processes
    assert [reports[i].pipelines_built for i in (first, failing, third)] == [built] * 3
    # real flow runs, their states in the Prefect API
    assert [flow_run_state(i) for i in (first, failing, third)] == ["COMPLETED", "FAILED", "COMPLETED"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        runs = con.execute("SELECT status, n_new FROM runs ORDER BY started_at").fetchall()
    assert runs == [("succeeded", 5), ("error", 0), ("succeeded", 2)]


def test_a_worker_that_dies_is_replaced_and_its_run_reported_crashed(warm_server, tmp_path):
    require_model()
    many = tmp_path / "many"
    shutil.copytree(DEV_ARTICLES, many)  # 75 articles: NER long enough to be interrupted
    server = warm_server("akhbar-warm-crash-test", {"inbox": str(many), "warehouse": str(tmp_path / "wh" / "a.duckdb")})
    wait_for(lambda: server.worker is not None and server.worker.process is not None and server.worker.warm_up)
    doomed = schedule_run(server)
    wait_for(lambda: flow_run_state(doomed) == "RUNNING", timeout=120)
    # Into the run: its first NER chunk staged, two more to go (a fixed sleep raced the run once NER got faster).
    wait_for(lambda: any((tmp_path / "wh").rglob("staging/**/part-*.parquet")), timeout=120)
    os.kill(server.worker.process.pid, signal.SIGKILL)  # an out-of-memory kill, say
    wait_for(lambda: len(server.reports) >= 1)
    assert server.reports[0].state == "CRASHED" and flow_run_state(doomed) == "CRASHED"

    samples = copy_samples(tmp_path / "samples")
    after = schedule_run(server, inbox=str(samples), warehouse=str(tmp_path / "wh2" / "b.duckdb"))
    wait_for(lambda: len(server.reports) >= 2)
    assert server.reports[1].state == "COMPLETED" and flow_run_state(after) == "COMPLETED"
    assert server.worker.started == 2


@pytest.mark.model
def test_the_warm_up_rehearses_a_run_in_memory_and_leaves_no_trace(tmp_path):
    """What a run loads on first use is loaded by the warm-up, which writes nothing to the warehouse, and what
    it loaded is kept out of the cyclic collector's later passes."""
    require_model()
    import subprocess
    import sys
    import textwrap

    warehouse = tmp_path / "wh" / "akhbar.duckdb"
    code = textwrap.dedent(f"""
        import gc, sys
        import core.prefect_env
        from flows.warm import warm_up
        parts = warm_up({{"warehouse": {str(warehouse)!r}}})
        from transforms.stories import _stop_words
        from flows import intake, ner_workers
        print(sorted(parts), "datasketch" in sys.modules, _stop_words.cache_info().currsize, gc.get_freeze_count() > 0)
        # The knowledge base is read here only when the NER is here: NER workers link and send the entries.
        print(ner_workers.working() is None, bool(intake._knowledge_bases))
        ner_workers.stop()
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parent.parent,
                          env={**os.environ, "AKHBAR_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr[-3000:]
    *_, parts, knowledge_base = done.stdout.strip().splitlines()
    assert parts == "['freeze', 'gate', 'imports', 'knowledge base', 'model', 'rehearsal'] True 1 True"
    tagging_here, read_here = knowledge_base.split()
    assert tagging_here == read_here
    assert not warehouse.exists()
