"""Storage faults: a Parquet or DuckDB write that fails fails the run cleanly, and the next run recovers.

The write fails with the OS error a full disk (ENOSPC) or a read-only folder
(EROFS) gives, raised at the real write site through AKHBAR_FAULT. Tests run
as root here, which ignores folder permissions, and cannot mount a small
filesystem, so the error is injected rather than provoked.
"""

from __future__ import annotations

import errno
import os
import shutil

import duckdb
import pytest

from tests.conftest import require_model, sample_paths

TABLES = ("articles", "sentences", "mentions", "article_entities", "entities")


def counts(path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def last_run(path) -> tuple[str, str | None]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT status, message FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()


@pytest.fixture(scope="module")
def model():
    return require_model()


@pytest.mark.parametrize(("fault", "code"), [
    ("stage_write:enospc", errno.ENOSPC),  # a staged Parquet part cannot be written
    ("publish:enospc", errno.ENOSPC),  # DuckDB fails inside the publishing transaction
    ("publish:erofs", errno.EROFS),
])
def test_failed_write_publishes_nothing_alerts_and_the_next_run_recovers(
    prefect_api, model, tmp_path, warehouse_path, webhook, monkeypatch, fault, code,
):
    from flows.ingest import ingest
    from warehouse.replica import replica_path

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    first, later = sample_paths()[:2], sample_paths()[2:]
    for path in first:
        shutil.copy(path, inbox / path.name)
    ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    published = counts(warehouse_path)
    assert published["articles"] == 2

    for path in later:
        shutil.copy(path, inbox / path.name)
    monkeypatch.setenv("AKHBAR_FAULT", fault)
    with pytest.raises(OSError) as raised:
        ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    assert raised.value.errno == code
    monkeypatch.delenv("AKHBAR_FAULT")

    # Nothing of the failed batch reached the warehouse or the readers' replica.
    assert counts(warehouse_path) == published
    assert counts(replica_path(warehouse_path)) == published
    status, message = last_run(warehouse_path)
    assert status == "error" and "OSError" in message
    staging = warehouse_path.parent / "staging" / warehouse_path.stem
    assert not staging.exists() or not any(staging.iterdir())
    (alert,) = webhook.received
    payload = alert["json"]["akhbar"]
    assert payload["level"] == "error" and "nothing published" in payload["title"]
    assert any(os.strerror(code) in line for line in payload["lines"])
    assert webhook.url not in str(alert["json"])

    summary = ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    assert summary.status == "succeeded" and summary.n_new == 3
    assert summary.ner_cached == 3  # the failed run's NER was kept, not redone
    after = counts(warehouse_path)
    assert after["articles"] == 5
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT article_id) FROM articles").fetchone()[0] == 5
        assert con.execute("SELECT count(DISTINCT source_path) FROM articles").fetchone()[0] == 5
    assert counts(replica_path(warehouse_path)) == after


def test_unknown_fault_is_refused_not_ignored(monkeypatch):
    from core import faults

    monkeypatch.setenv("AKHBAR_FAULT", "pubish:kill")
    with pytest.raises(ValueError, match="AKHBAR_FAULT"):
        faults.at("publish")
