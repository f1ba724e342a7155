"""The real flow, with the real model, over the five samples into a temporary warehouse."""

from __future__ import annotations

import duckdb
import pytest

from tests.conftest import copy_samples, require_model, sample_paths
from transforms.normalize import normalize_key


@pytest.fixture
def first_run(prefect_api, inbox, warehouse_path):
    """A run of its own, for tests that run again on top of it."""
    from flows.ingest import ingest

    model = require_model()
    summary = ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    return model, summary


@pytest.fixture(scope="module")
def published(prefect_api, tmp_path_factory):
    """One run shared by the tests that only read what it published: (model, summary, inbox, warehouse)."""
    from flows.ingest import ingest

    root = tmp_path_factory.mktemp("published")
    inbox = copy_samples(root / "inbox")
    warehouse_path = root / "wh" / "akhbar.duckdb"
    model = require_model()
    summary = ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    return model, summary, inbox, warehouse_path


def _query(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_five_articles_with_exact_mentions(published):
    model, summary, inbox, warehouse_path = published
    assert summary.status == "succeeded"
    assert (summary.n_seen, summary.n_new, summary.n_failed) == (5, 5, 0)

    articles = _query(warehouse_path, "SELECT article_id, source_path, text, n_mentions FROM articles")
    assert len(articles) == 5
    originals = {str(inbox / p.name): p.read_text(encoding="utf-8") for p in sample_paths()}
    for article_id, source_path, text, _ in articles:
        assert text == originals[source_path], "the text is stored exactly as received"
        assert len(article_id) == 32

    mentions = _query(
        warehouse_path,
        "SELECT a.text, m.start_char, m.end_char, m.surface, m.label, m.norm_key "
        "FROM mentions m JOIN articles a USING (article_id)",
    )
    assert len(mentions) >= 100, "five news articles carry well over a hundred entity mentions"
    for text, start, end, surface, label, norm_key in mentions:
        assert text[start:end] == surface
        assert label in model.labels
        assert norm_key == normalize_key(surface)
    assert sum(a[3] for a in articles) == len(mentions)


def test_well_known_entities_are_found(published):
    warehouse_path = published[3]
    keys = set(_query(warehouse_path, "SELECT DISTINCT norm_key, label FROM mentions"))
    assert (normalize_key("كازاخستان"), "LOC") in keys
    assert (normalize_key("الصين"), "LOC") in keys
    assert (normalize_key("بكين"), "LOC") in keys
    per = {k for k, label in keys if label == "PER"}
    assert normalize_key("توكاييف") in per


def test_sentences_cover_the_mentions(published):
    warehouse_path = published[3]
    bad = _query(
        warehouse_path,
        """
        SELECT count(*) FROM mentions m
        JOIN sentences s USING (article_id, sentence_index)
        WHERE NOT (m.start_char >= s.start_char AND m.end_char <= s.end_char)
        """,
    )
    assert bad == [(0,)]
    orphans = _query(
        warehouse_path,
        "SELECT count(*) FROM mentions m ANTI JOIN sentences s USING (article_id, sentence_index)",
    )
    assert orphans == [(0,)]


def test_run_is_recorded_with_the_model(published):
    model, summary, _, warehouse_path = published
    runs = _query(
        warehouse_path,
        "SELECT run_id, flow_run_id, n_seen, n_new, n_skipped, n_failed, model, model_version, status, "
        "finished_at >= started_at, device FROM runs",
    )
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"  # AKHBAR_DEVICE=auto
    assert runs == [
        (summary.run_id, summary.flow_run_id, 5, 5, 0, 0, model.name, model.version, "succeeded", True, device)
    ]
    assert summary.flow_run_id  # a real Prefect flow run


def test_second_run_adds_nothing_and_never_builds_a_pipeline(first_run, inbox, warehouse_path, monkeypatch):
    import stanza

    from flows import nlp
    from flows.ingest import ingest

    def counts():
        return _query(
            warehouse_path,
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM sentences), "
            "(SELECT count(*) FROM mentions)",
        )[0]

    before = counts()

    def refuse(*args, **kwargs):
        raise AssertionError("a run with nothing new constructed a stanza.Pipeline")

    # Forget the process-wide pipeline so that any NER would have to build one.
    monkeypatch.setattr(nlp, "_pipelines", {})
    monkeypatch.setattr(stanza, "Pipeline", refuse)
    summary = ingest(inbox=str(inbox), warehouse=str(warehouse_path))

    assert (summary.n_new, summary.n_skipped, summary.model_loaded) == (0, 5, False)
    assert "0 new" in summary.line()
    assert counts() == before
    statuses = _query(warehouse_path, "SELECT n_new, status FROM runs ORDER BY started_at")
    assert statuses == [(5, "succeeded"), (0, "succeeded")]


def test_a_copy_under_another_name_is_skipped(first_run, inbox, warehouse_path):
    from flows.ingest import ingest

    original = sample_paths()[1]
    # Same story, re-saved with different line wrapping and a zero-width space.
    text = original.read_text(encoding="utf-8").replace("\n", "\n\n").replace("كازاخستان", "كازا\u200bخستان", 1)
    (inbox / "resaved.txt").write_text(text, encoding="utf-8")
    summary = ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    assert (summary.n_seen, summary.n_new, summary.n_skipped, summary.n_duplicates) == (6, 0, 6, 1)
    copies = _query(warehouse_path, "SELECT source_path, kind, duplicate_of FROM duplicates")
    first = _query(warehouse_path, f"SELECT article_id FROM articles WHERE source_path = '{inbox / original.name}'")
    assert copies == [(str(inbox / "resaved.txt"), "exact", first[0][0])]
    again = ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    assert (again.n_new, again.n_duplicates) == (0, 0)  # a copy is recorded once


def test_an_undecodable_file_fails_alone(prefect_api, inbox, warehouse_path):
    from flows.ingest import ingest

    require_model()
    (inbox / "legacy.txt").write_bytes("بكين".encode("utf-8") + b"\xff\xfe\xfa broken")
    summary = ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    assert (summary.n_new, summary.n_failed) == (5, 1)
    assert [r.reason for r in summary.rejected] == ["unknown_encoding"]


def test_samples_carry_their_city_date_and_agency(published):
    warehouse_path = published[3]
    from tests.test_metadata import SAMPLES

    found = {
        path.rsplit("/", 1)[-1][:3]: rest
        for path, *rest in _query(warehouse_path, "SELECT source_path, dateline_city, published_date, date_source, "
                                                  "agency, agency_source, title FROM articles")
    }
    assert found == {prefix: list(expected) for prefix, expected in SAMPLES.items()}


def test_unchanged_files_are_not_read_again_and_a_changed_one_is(first_run, inbox, warehouse_path, monkeypatch):
    import os

    from flows import intake
    from flows.ingest import ingest

    (inbox / "empty #1.txt").write_bytes(b"")  # quarantined, so never settled: read at every run
    opened = []
    real = intake._read_file
    monkeypatch.setattr(intake, "_read_file", lambda path, *a: opened.append(path.name) or real(path, *a))

    second = ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    assert opened == ["empty #1.txt"]
    assert (second.n_unchanged, second.n_seen, second.n_new, second.n_skipped) == (5, 6, 0, 5)
    assert "5 unchanged files not read again" in second.line()

    # An edited file (new size and mtime) is read again: one added sentence makes it a near copy of itself.
    edited = inbox / sample_paths()[2].name
    edited.write_text(edited.read_text(encoding="utf-8") + "\nوأضاف المتحدث أن الزيارة ستعزز التعاون.\n",
                      encoding="utf-8")
    opened.clear()
    third = ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    assert sorted(opened) == sorted(["empty #1.txt", edited.name])
    assert (third.n_unchanged, third.n_new, third.n_duplicates) == (4, 0, 1)

    # Same size, new mtime: read again (and found already published).
    os.utime(edited, ns=(edited.stat().st_atime_ns, edited.stat().st_mtime_ns + 10**9))
    opened.clear()
    fourth = ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    assert sorted(opened) == sorted(["empty #1.txt", edited.name])
    assert (fourth.n_new, fourth.n_skipped) == (0, 5)

    monkeypatch.setenv("AKHBAR_SKIP_UNCHANGED", "false")
    opened.clear()
    fifth = ingest(inbox=str(inbox), warehouse=str(warehouse_path))
    assert len(opened) == 6 and fifth.n_unchanged == 0


def test_published_tables_staged_again_pass_every_gate_rule(published, tmp_path):
    """What a run published is consistent under the gate's rules, and the bench's gate floor checks all of them."""
    warehouse_path = published[3]
    from bench.gate_floor import measure
    from expectations.suites import GateLimits, all_suites

    floor = measure(warehouse_path, repeats=1, work=tmp_path / "floor")  # raises if the gate fails
    assert floor.articles == 5 and floor.floor_passed
    assert floor.expectations == sum(len(s.expectations) for s in all_suites(GateLimits()).values())


def test_the_run_summary_is_an_artifact_of_its_flow_run(published):
    """The Prefect UI tells what a run did (counts, gate, quarantine) without opening the warehouse."""
    import asyncio
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    _, summary, _, _ = published

    async def artifacts():
        async with get_client() as client:
            flow_runs = ArtifactFilterFlowRunId(any_=[UUID(summary.flow_run_id)])
            return await client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=flow_runs))

    (artifact,) = [a for a in asyncio.run(artifacts()) if a.key == "akhbar-run-summary"]
    assert artifact.type == "markdown"
    assert f"akhbar run `{summary.run_id}`: succeeded" in artifact.data
    assert "| 5 | 5 | 0 | 0 | 0 |" in artifact.data and "Quality gate: passed." in artifact.data
