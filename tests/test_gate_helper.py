"""The gate in a helper process (expectations/gate_helper.py): the same verdicts, results and pages as in
process; a helper that cannot gate costs time, never the verdict; `akhbar run` uses one and leaves none."""

from __future__ import annotations

import json
import logging
import os
import uuid

import psutil
import pytest

from expectations import gate_helper
from tests.conftest import require_model, sample_text
from tests.test_cli import akhbar
from tests.test_gate_rules import LABELS, NOW, article, counts, mention, sentence, stage
from warehouse import store


@pytest.fixture(params=["helper checks all", "checks shared"])
def helpers(request, monkeypatch):
    """A helper may start in this test process; it checks every table (as for a new `akhbar run`), or half
    of them while this process checks the rest (as for a warm worker). Stopped after."""
    monkeypatch.setattr(gate_helper, "worthwhile", lambda: True)
    monkeypatch.setattr(gate_helper._slot, "gave_up", False)
    monkeypatch.setattr(gate_helper, "checks_here", lambda: request.param == "checks shared")
    yield request.param
    gate_helper.stop()


def batches(lead: str) -> dict[str, tuple]:
    """A clean batch, and one whose second article's mention is not its slice (an article-level failure)."""
    good = article(lead, 2, source="good.txt")
    other_text = sample_text("003").splitlines()[7]
    bad = article(other_text, 1, source="bad.txt")
    shifted = mention(bad, "ألماتي", 0, start=other_text.index("ألماتي") + 1)
    shifted["surface"] = "ألماتي"
    good_mentions = [mention(good, "أستانا", 0), mention(good, "توكاييف", 1, "PER")]
    return {"clean": ([good], [sentence(good)], good_mentions),
            "one bad article": ([good, bad], [sentence(good), sentence(bad)], good_mentions + [shifted])}


def gate_in(root, rows):
    return gate_helper.run_gate(stage(root, *rows), store.Warehouse(root / "wh.duckdb"), root / "gx", root / "docs",
                    counts(*rows), LABELS, now=NOW)


def verdict(result) -> dict:
    return {"success": result.success, "article_failures": result.article_failures,
            "failures": [f.as_dict() | {"article_ids": f.article_ids} for f in result.failures],
            "statistics": result.statistics}


def stored_results(root) -> list[dict]:
    """The validation results the gate stored, without what differs from one gate to another."""
    found = []
    for path in sorted((root / "gx" / "validations").rglob("*.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        found.append({"suite": result["suite_name"], "success": result["success"], "statistics": result["statistics"],
                      "frame": result["meta"]["batch_markers"]["pandas_data_fingerprint"],
                      "results": [(r["expectation_config"]["type"], r["success"]) for r in result["results"]]})
    return sorted(found, key=lambda r: r["suite"])


@pytest.mark.parametrize("batch", ["clean", "one bad article"])
def test_the_helper_gates_as_the_process_does(tmp_path, helpers, batch):
    lead = sample_text("001").splitlines()[0]
    rows = batches(lead)[batch]
    inline = gate_in(tmp_path / "inline", rows)

    helped_root = tmp_path / "helped"
    helper = gate_helper.start(helped_root / "gx", helped_root / "docs")
    helped = gate_in(helped_root, rows)

    assert "helper" in helped.seconds and "helper" not in inline.seconds  # where each gate ran
    assert ("checkpoints here" in helped.seconds) == (helpers == "checks shared")
    assert helper.process.poll() is None  # still serving
    assert verdict(helped) == verdict(inline)
    assert helped.success == (batch == "clean")
    assert stored_results(helped_root) == stored_results(tmp_path / "inline")
    pages = helped.data_docs_index
    assert pages == helped_root / "docs" / "index.html"
    assert {p.name for p in (helped_root / "docs" / "expectations").iterdir()} == \
        {p.name for p in (tmp_path / "inline" / "docs" / "expectations").iterdir()}
    assert pages.read_text(encoding="utf-8").count("articles") >= 1


def test_a_second_gate_goes_to_the_same_helper(tmp_path, helpers):
    lead = sample_text("001").splitlines()[0]
    helper = gate_helper.start(tmp_path / "gx", tmp_path / "docs")
    first = gate_in(tmp_path, batches(lead)["one bad article"])
    assert not first.success
    second = gate_in(tmp_path, batches(lead)["clean"])
    assert second.success and "helper" in second.seconds
    assert gate_helper.start(tmp_path / "gx", tmp_path / "docs") is helper
    assert second.data_docs_index.exists()


def test_one_helper_gates_every_warehouse_of_its_process(tmp_path, helpers):
    lead = sample_text("001").splitlines()[0]
    helper = gate_helper.start(tmp_path / "a" / "gx", tmp_path / "a" / "docs")
    for name in ("a", "b"):
        result = gate_in(tmp_path / name, batches(lead)["clean"])
        assert result.success and "helper" in result.seconds
        assert result.data_docs_index == tmp_path / name / "docs" / "index.html"
        assert stored_results(tmp_path / name)  # each warehouse's results in its own folder
    assert gate_helper.start(tmp_path / "b" / "gx", tmp_path / "b" / "docs") is helper


def test_a_helper_that_died_costs_time_not_the_verdict(tmp_path, helpers, caplog):
    lead = sample_text("001").splitlines()[0]
    helper = gate_helper.start(tmp_path / "gx", tmp_path / "docs")
    helper.process.kill()
    helper.process.wait()
    with caplog.at_level(logging.WARNING, logger="expectations.gate"):
        result = gate_in(tmp_path, batches(lead)["one bad article"])
    assert "helper" not in result.seconds  # gated in this process
    assert not result.success and list(result.article_failures.values()) == ["mention_surface_mismatch"]
    assert "helper process cannot gate" in caplog.text
    assert gate_helper.helping() is None
    assert result.data_docs_index.exists()
    assert gate_helper._slot.gave_up  # no helper is started again in this process (next test)


def test_no_helper_after_one_failed_or_with_one_cpu(tmp_path, monkeypatch):
    monkeypatch.setattr(gate_helper._slot, "gave_up", True)
    assert not gate_helper.worthwhile()
    assert gate_helper.start(tmp_path / "gx", tmp_path / "docs") is None
    monkeypatch.setattr(gate_helper._slot, "gave_up", False)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert gate_helper.start(tmp_path / "gx", tmp_path / "docs") is None and gate_helper.helping() is None


def _processes_marked(mark: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("AKHBAR_TEST_MARK") == mark:
                found.append(process)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


def test_akhbar_run_gates_in_its_helper_and_leaves_no_process(prefect_api, inbox, warehouse_path):
    require_model()
    mark = uuid.uuid4().hex
    env = dict(os.environ, PREFECT_API_URL=prefect_api, AKHBAR_INBOX=str(inbox),
               AKHBAR_WAREHOUSE=str(warehouse_path), AKHBAR_GATE_HELPER="true", AKHBAR_TEST_MARK=mark)
    first = akhbar("run", env=env)
    assert first.returncode == 0, first.stderr
    assert "5 seen, 5 new, 0 skipped, 0 failed" in first.stdout
    assert "helper process" in first.stderr + first.stdout  # the flow's log line
    assert "cannot gate" not in first.stderr + first.stdout
    assert "leaked" not in first.stderr  # the helper ended on its own: nothing for the resource tracker
    docs = warehouse_path.parent / "data_docs"
    assert (docs / "index.html").exists() and len(list((docs / "expectations").iterdir())) >= 8
    assert _processes_marked(mark) == []

    nothing_new = akhbar("run", env=env)  # its helper is stopped while it still loads
    assert nothing_new.returncode == 0, nothing_new.stderr
    assert "5 seen, 0 new, 5 skipped" in nothing_new.stdout
    assert "leaked" not in nothing_new.stderr
    assert _processes_marked(mark) == []
