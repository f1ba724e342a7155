"""NER in worker processes (flows/ner_workers.py): the same tables as in process; a worker that dies costs
time, never the run; a chunk that fails in a worker fails the run as in process; `akhbar run` leaves none."""

from __future__ import annotations

import os
import signal
import uuid

import duckdb
import psutil
import pytest

from core import helper_process
from core.helper_process import HelperGone
from flows import ner_workers
from tests.conftest import require_model
from tests.test_dask import tables
from tests.test_gate_helper import _processes_marked, akhbar


@pytest.fixture
def two_workers(monkeypatch):
    """Two NER worker processes for the flows of this test (stopped after it), five chunks to share."""
    require_model()
    monkeypatch.setenv("AKHBAR_NER_PROCESSES", "2")
    monkeypatch.setenv("AKHBAR_NER_BATCH_ARTICLES", "1")
    monkeypatch.setattr(ner_workers._slot, "gave_up", False)
    ner_workers.stop()
    yield
    ner_workers.stop()


def _ingest(inbox, warehouse):
    from core.settings import get_settings
    from flows.runners import ingest_flow

    return ingest_flow(get_settings())(inbox=str(inbox), warehouse=str(warehouse))


def test_workers_publish_the_same_tables_as_the_run_s_own_process(prefect_api, inbox, tmp_path, two_workers,
                                                                   monkeypatch):
    from core.settings import get_settings
    from flows import intake

    monkeypatch.setattr(intake, "_knowledge_bases", {})
    in_workers = tmp_path / "workers" / "akhbar.duckdb"  # separate folders: separate NER caches, so both compute
    summary = _ingest(inbox, in_workers)
    pool = ner_workers.working()
    assert pool is not None and pool.size == 2
    # The workers linked the mentions and sent the knowledge base's entries along: this process read none.
    assert intake._knowledge_bases == {}
    with duckdb.connect(str(in_workers), read_only=True) as con:
        entities = dict(con.execute("SELECT entity_id, in_alias_table FROM entities").fetchall())
    known = intake.load_knowledge_base(get_settings()).entities
    assert any(entities.values()) and entities == {entity_id: entity_id in known for entity_id in entities}

    monkeypatch.setenv("AKHBAR_NER_PROCESSES", "1")
    in_process = tmp_path / "in-process" / "akhbar.duckdb"
    alone = _ingest(inbox, in_process)

    assert summary.status == "succeeded" and summary.n_new == 5 and summary.ner_cached == 0
    assert tables(in_workers) == tables(in_process)
    pids = {int(worker.rsplit(":", 1)[1]) for worker in summary.ner_workers}
    assert pids and pids <= set(pool.pids()) and os.getpid() not in pids
    assert summary.model_loaded and alone.status == "succeeded"  # the workers loaded theirs; this process's may be


def test_the_workers_stay_loaded_for_the_next_run(prefect_api, inbox, tmp_path, two_workers):
    first = _ingest(inbox, tmp_path / "a" / "akhbar.duckdb")
    pids = ner_workers.working().pids()
    second = _ingest(inbox, tmp_path / "b" / "akhbar.duckdb")
    assert first.model_loaded and not second.model_loaded  # the workers' models, loaded once
    assert ner_workers.working().pids() == pids
    assert {int(w.rsplit(":", 1)[1]) for w in second.ner_workers} <= set(pids)


def test_a_killed_worker_leaves_its_chunks_to_the_other(prefect_api, inbox, tmp_path, two_workers, caplog):
    from core.settings import get_settings

    pool = ner_workers.start_for(get_settings())
    pool.wait_loaded()
    os.kill(pool.pids()[0], signal.SIGKILL)
    summary = _ingest(inbox, tmp_path / "wh" / "akhbar.duckdb")
    assert summary.status == "succeeded" and summary.n_new == 5
    assert {int(w.rsplit(":", 1)[1]) for w in summary.ner_workers} == {pool.pids()[1]}
    assert "cannot tag" in caplog.text


def test_with_every_worker_gone_the_run_tags_in_its_own_process(prefect_api, inbox, tmp_path, two_workers,
                                                                 caplog):
    from core.settings import get_settings

    pool = ner_workers.start_for(get_settings())
    pool.wait_loaded()
    for pid in pool.pids():
        os.kill(pid, signal.SIGKILL)
    summary = _ingest(inbox, tmp_path / "wh" / "akhbar.duckdb")
    assert summary.status == "succeeded" and summary.n_new == 5
    assert {int(w.rsplit(":", 1)[1]) for w in summary.ner_workers} == {os.getpid()}
    assert "NER runs in this process from now on" in caplog.text
    assert ner_workers._slot.gave_up and ner_workers.start_for(get_settings()) is None


def test_a_chunk_that_fails_in_a_worker_fails_the_run_as_in_process(prefect_api, inbox, warehouse_path,
                                                                     two_workers, monkeypatch):
    from warehouse.query import WarehouseMissing, run_query

    monkeypatch.setenv("AKHBAR_FAULT", "ner:enospc")  # the workers start with it: each chunk's write fails
    with pytest.raises(OSError, match="No space left"):
        _ingest(inbox, warehouse_path)
    try:
        assert run_query(warehouse_path, "SELECT count(*) FROM articles").rows == [(0,)]
    except WarehouseMissing:
        pass  # nothing published, not even a first file


def test_akhbar_run_tags_in_workers_and_leaves_no_process(prefect_api, inbox, warehouse_path):
    require_model()
    mark = uuid.uuid4().hex
    env = dict(os.environ, PREFECT_API_URL=prefect_api, AKHBAR_INBOX=str(inbox), AKHBAR_WAREHOUSE=str(warehouse_path),
               AKHBAR_NER_PROCESSES="2", AKHBAR_NER_BATCH_ARTICLES="2", AKHBAR_TEST_MARK=mark)
    run = akhbar("run", env=env)
    assert run.returncode == 0, run.stderr
    assert "5 seen, 5 new, 0 skipped, 0 failed" in run.stdout
    assert "NER in 2 worker processes" in run.stderr + run.stdout
    assert "loaded this run: yes" in run.stdout  # by the first worker, whichever tagged
    assert "cannot tag" not in run.stderr + run.stdout and "leaked" not in run.stderr
    assert _processes_marked(mark) == []


def test_a_batch_all_in_the_ner_cache_starts_no_worker(prefect_api, inbox, tmp_path, two_workers, monkeypatch):
    warehouse = tmp_path / "wh" / "akhbar.duckdb"
    monkeypatch.setenv("AKHBAR_NER_PROCESSES", "1")
    _ingest(inbox, warehouse)  # NER in process: every body now in this warehouse's NER cache
    again = tmp_path / "again" / "akhbar.duckdb"
    again.parent.mkdir()
    (again.parent / "ner_cache").symlink_to(warehouse.parent / "ner_cache")
    monkeypatch.setenv("AKHBAR_NER_PROCESSES", "2")
    summary = _ingest(inbox, again)
    assert summary.n_new == 5 and summary.ner_cached == 5 and not summary.model_loaded
    assert ner_workers.working() is None



def test_a_chunk_cancelled_before_a_worker_takes_it_is_never_tagged(tmp_path):
    """What a failed run does with its chunks not yet begun (``flows/tasks.py``)."""
    from datetime import datetime, timezone

    from core.settings import get_settings
    from flows import intake
    from warehouse.store import StagingArea

    require_model()
    settings = get_settings(warehouse=tmp_path / "wh" / "akhbar.duckdb")
    article = intake.sample_article(settings)
    staging = StagingArea(tmp_path / "staging").for_run("run-1")
    pool = ner_workers.NerWorkers(1, settings)  # its one worker loads the model for seconds: every chunk waits
    try:
        first, second, third = (pool.submit(part, [article], settings, staging, datetime.now(timezone.utc))
                                for part in range(3))
        assert second.cancel() and third.cancel()
        assert first.result(timeout=300).n_articles == 1
        assert pool.submit(3, [article], settings, staging, datetime.now(timezone.utc)).result(timeout=300)
    finally:
        pool.stop()
    assert pool.chunks_done == [2]  # the first and the last: the cancelled ones were never sent
    assert sorted(p.name for p in (staging.root / "articles").iterdir()) == ["part-00000.parquet",
                                                                            "part-00003.parquet"]


@pytest.mark.skipif(not helper_process.can_fork(), reason="NER workers are forked from the first on Linux only")
@pytest.mark.parametrize("torch_threads", ["1", "2"])  # several torch threads each: a machine of 8 CPUs or more
def test_the_other_workers_are_forked_from_the_first_and_share_its_model(two_workers, monkeypatch, torch_threads):
    from core.settings import get_settings

    monkeypatch.setenv("AKHBAR_TORCH_THREADS", torch_threads)
    pool = ner_workers.start_for(get_settings())
    pool.wait_loaded()
    first, second = pool.pids()
    assert psutil.Process(second).ppid() == first
    assert pool.pipelines_built() == 1  # one model loaded for both


@pytest.mark.skipif(not helper_process.can_fork(), reason="NER workers are forked from the first on Linux only")
def test_the_others_are_forked_too_when_the_first_builds_the_knowledge_base(two_workers, monkeypatch, tmp_path):
    """A machine's first run, or the first after an upgrade: the first worker builds the knowledge base from its
    files and the model's load copies (its caches are empty), which starts no thread that would make the fork
    refused."""
    from core.settings import get_settings

    monkeypatch.setenv("AKHBAR_CACHE_DIR", str(tmp_path / "cache"))
    pool = ner_workers.start_for(get_settings())
    pool.wait_loaded()
    first, second = pool.pids()
    assert psutil.Process(second).ppid() == first
    assert pool.pipelines_built() == 1
    assert any((tmp_path / "cache" / "kb").iterdir()) and any((tmp_path / "cache" / "stanza").iterdir())


@pytest.mark.skipif(not helper_process.can_fork(), reason="NER workers are forked from the first on Linux only")
def test_a_first_worker_that_dies_before_forking_leaves_nothing_waiting(two_workers):
    from core.settings import get_settings

    pool = ner_workers.start_for(get_settings())
    os.kill(pool.pids()[0], signal.SIGKILL)  # still loading the model: its sibling does not exist yet
    with pytest.raises(HelperGone):
        pool.wait_loaded()
    assert all(loaded.exception(timeout=30) for loaded in pool.loaded)
    with pytest.raises(HelperGone):  # a chunk given to them now fails at once, and is tagged in process
        pool.submit().result(timeout=30)


def test_a_model_the_workers_cannot_load_fails_every_worker(tmp_path, two_workers):
    from core.settings import get_settings

    settings = get_settings(stanza_resources_dir=tmp_path / "no-model", stanza_download="never")
    pool = ner_workers.NerWorkers(2, settings)
    try:
        with pytest.raises(HelperGone, match="No Arabic Stanza model"):
            pool.wait_loaded()
        assert all(loaded.exception(timeout=30) for loaded in pool.loaded)
    finally:
        pool.stop()


def test_a_command_starts_the_workers_early_only_for_files_its_warehouse_has_not_seen(prefect_api, inbox, tmp_path,
                                                                                    two_workers):
    from core.settings import get_settings

    warehouse = tmp_path / "wh" / "akhbar.duckdb"
    settings = get_settings(inbox=inbox, warehouse=warehouse)
    assert ner_workers.start_early(settings) is not None  # no warehouse yet: every file is new
    _ingest(inbox, warehouse)
    ner_workers.stop()
    assert ner_workers.start_early(settings) is None  # every file settled by that run
    (inbox / "broken.txt").write_bytes(b"\x00\x01 not an article")
    summary = _ingest(inbox, warehouse)
    assert summary.n_new == 0 and ner_workers.working() is None  # the run itself needed no model
    assert ner_workers.start_early(settings) is None  # a quarantined file is not new either
    sample = next(p for p in sorted(inbox.glob("*.txt")) if p.name != "broken.txt")
    (inbox / "later.txt").write_text(sample.read_text(encoding="utf-8") + "\nفقرة أخرى.\n", encoding="utf-8")
    assert ner_workers.start_early(settings) is not None


def test_a_file_is_unseen_unless_settled_as_it_is_or_quarantined_whole_or_by_an_item(tmp_path):
    from flows import intake

    folder = tmp_path / "inbox"
    folder.mkdir()
    settled_file, changed, lines, broken = (folder / name for name in ("a.txt", "b.txt", "c.jsonl", "d.html"))
    for path in (settled_file, changed, lines, broken):
        path.write_text("نص", encoding="utf-8")
    stamp = {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in (settled_file, changed)}
    settled = {(path, size, mtime) for path, (size, mtime) in stamp.items()}
    quarantined = {f"{lines}#L3", str(broken)}
    specs = [intake.folder_source(folder)]
    assert not intake.any_unseen_file(specs, settled, quarantined)
    changed.write_text("نص أطول", encoding="utf-8")  # its size no longer the settled one
    assert intake.any_unseen_file(specs, settled, quarantined)
    assert intake.any_unseen_file([intake.folder_source(tmp_path / "elsewhere")], settled, quarantined) is False


def test_the_model_s_load_counts_once_with_the_first_chunk_whichever_worker_tags_it(tmp_path, two_workers):
    from datetime import datetime, timezone

    from core.settings import get_settings
    from flows import intake
    from warehouse.store import StagingArea

    settings = get_settings(warehouse=tmp_path / "wh" / "akhbar.duckdb")
    article = intake.sample_article(settings)
    staging = StagingArea(tmp_path / "staging").for_run("run-1")
    pool = ner_workers.NerWorkers(2, settings)
    try:
        pool.wait_loaded()
        chunks = [pool.submit(part, [article], settings, staging, datetime.now(timezone.utc)).result(timeout=300)
                  for part in range(4)]
    finally:
        pool.stop()
    assert [chunk.new_pipelines for chunk in chunks] == [pool.pipelines_built(), 0, 0, 0]
    assert pool.pipelines_built() == (1 if helper_process.can_fork() else 2)
