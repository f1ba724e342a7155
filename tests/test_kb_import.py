"""`akhbar kb import`: Wikidata extracts in their real formats, streamed, idempotent, in the knowledge base.

The fixtures in tests/data/wikidata are written in the formats Wikidata publishes: the JSON dump (one
entity per line inside [ ], gzipped too) and the query service's CSV and JSON results of the README's
SPARQL query. Their QIDs above Q987654300 are made up; Q200881 is Tokayev's, to show the merge.
"""

from __future__ import annotations

import csv
import json
import os

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from akhbar.cli import app
from core.settings import get_settings
from flows import kb_import
from tests.conftest import ROOT
from transforms.entities import resolve

FIXTURES = ROOT / "tests" / "data" / "wikidata"


def imported(folder) -> dict[str, dict]:
    return {row["qid"]: row for row in pq.read_table(kb_import.imports_path(folder)).to_pylist()}


@pytest.mark.parametrize("name", ["dump.json", "dump.json.gz"])
def test_the_json_dump_is_filtered_to_named_typed_items(tmp_path, name):
    summary = kb_import.import_file(FIXTURES / name, tmp_path)
    assert summary.format == "wikidata-json-dump"
    assert (summary.read, summary.kept, summary.skipped, summary.malformed) == (7, 4, 3, 1)
    assert summary.by_type == {"PER": 2, "LOC": 1, "ORG": 1}
    rows = imported(tmp_path)
    assert set(rows) == {"Q987654301", "Q987654302", "Q987654303", "Q200881"}
    person = rows["Q987654301"]
    assert (person["type"], person["name_ar"], person["name_en"]) == ("PER", "زاغرو بولاتوف", "Zagro Bulatov")
    assert person["aliases_ar"] == ["بولاتوف زاغرو"] and person["aliases_latin"] == ["Zagro Bulatov", "Z. Bulatov"]
    assert rows["Q987654302"]["type"] == "LOC" and rows["Q987654303"]["type"] == "ORG"


@pytest.mark.parametrize("name, format", [("result.csv", "sparql-csv"), ("result.json", "sparql-json")])
def test_sparql_results_with_a_type_or_instance_of(tmp_path, name, format):
    summary = kb_import.import_file(FIXTURES / name, tmp_path)
    assert (summary.format, summary.read, summary.kept) == (format, 4, 2)
    rows = imported(tmp_path)
    assert rows["Q987654311"]["type"] == "PER"  # an explicit type column
    organisation = rows["Q987654312"]
    assert organisation["type"] == "ORG"  # from instance_of Q43229, organization
    assert organisation["aliases_ar"] == ["زاغرو للتعاون", "تعاون زاغرو"]


def test_importing_twice_changes_nothing_and_a_new_extract_updates(tmp_path):
    first = kb_import.import_file(FIXTURES / "dump.json", tmp_path)
    before = kb_import.imports_path(tmp_path).read_bytes()
    again = kb_import.import_file(FIXTURES / "dump.json.gz", tmp_path)
    assert (first.added, again.added, again.changed, again.unchanged) == (4, 0, 0, 4)
    assert kb_import.imports_path(tmp_path).read_bytes() == before
    changed = tmp_path / "changed.csv"
    with changed.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item", "type", "label_ar", "label_en", "aliases_ar", "aliases_en"])
        writer.writerow(["Q987654301", "PER", "زاغرو بولاتوف", "Zagro Bulatov", "زاغرو بولاتوفيتش", ""])
    update = kb_import.import_file(changed, tmp_path)
    assert (update.added, update.changed, update.total) == (0, 1, 4)
    assert imported(tmp_path)["Q987654301"]["aliases_ar"] == ["زاغرو بولاتوفيتش"]


def test_a_large_extract_is_written_in_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(kb_import, "BATCH", 1)
    parts = []
    real = kb_import._write_part
    monkeypatch.setattr(kb_import, "_write_part", lambda *a, **k: parts.append(a[1]) or real(*a, **k))
    summary = kb_import.import_file(FIXTURES / "dump.json", tmp_path)
    assert summary.total == 4 and len(parts) >= 4  # one part per entity, merged at the end


def test_refuses_what_it_cannot_read(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    with pytest.raises(kb_import.ImportError_, match="item"):
        kb_import.import_file(tmp_path / "notes.txt", tmp_path / "kb")
    with pytest.raises(kb_import.ImportError_, match="no such file"):
        kb_import.import_file(tmp_path / "missing.json", tmp_path / "kb")
    assert not kb_import.imports_path(tmp_path / "kb").exists()


def test_imported_entities_link_and_merge_by_qid(tmp_path, monkeypatch):
    from flows.intake import load_knowledge_base

    monkeypatch.setenv("AKHBAR_KB_DIR", str(tmp_path))
    kb_import.import_file(FIXTURES / "dump.json", tmp_path)
    table = load_knowledge_base(get_settings())
    found = resolve("زاغرو بولاتوف", "PER", table)
    assert (found.entity_id, found.method) == ("wd_q987654301", "alias")
    assert table.entities["wd_q987654301"].wikidata_qid == "Q987654301"
    assert table.entities["wd_q987654301"].source == "wikidata"
    # the extract's Tokayev is the curated Tokayev: one entity, with the extract's names too
    assert resolve("توكاييف زاغرو", "PER", table).entity_id == "kassym_jomart_tokayev"
    assert "wd_q200881" not in table.entities


def test_the_cli(tmp_path):
    env = {"AKHBAR_KB_DIR": str(tmp_path / "kb")}
    result = CliRunner().invoke(app, ["kb", "import", str(FIXTURES / "result.json")], env=env)
    assert result.exit_code == 0, result.output
    assert "2 kept" in result.stdout and "2 added" in result.stdout
    bad = CliRunner().invoke(app, ["kb", "import", str(tmp_path / "nothing.json")], env=env)
    assert bad.exit_code == 1 and "no such file" in bad.output
