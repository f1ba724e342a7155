"""NER output is cached by (body text, model): reprocessing reuses it, a model change does not."""

from __future__ import annotations

import pytest

import duckdb

from flows.ner_cache import NerCache, from_entry, to_entry
from tests.conftest import require_model


def _mentions(path):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT r.source_path, m.start_char, m.end_char, m.label, m.entity_id "
                           "FROM mentions m JOIN articles r USING (article_id) ORDER BY ALL").fetchall()


def test_a_second_warehouse_beside_the_first_reuses_ner_and_gets_the_same_rows(prefect_api, inbox, tmp_path):
    from flows import nlp
    from flows.ingest import ingest

    require_model()
    first = tmp_path / "wh" / "akhbar.duckdb"
    summary = ingest(inbox=str(inbox), warehouse=str(first))
    assert (summary.n_new, summary.ner_cached) == (5, 0)

    # Same folder (same cache), another database: everything is new to it, nothing is new to the cache.
    second = tmp_path / "wh" / "rebuilt.duckdb"
    built = nlp.pipelines_built
    again = ingest(inbox=str(inbox), warehouse=str(second))
    assert (again.n_new, again.ner_cached) == (5, 5)
    assert nlp.pipelines_built == built  # Stanza was not even asked for a pipeline
    assert _mentions(second) == _mentions(first)


def test_a_model_change_invalidates_the_cache(tmp_path):
    class Token:
        def __init__(self, start, end):
            self.start_char, self.end_char = start, end

    class Sentence:
        def __init__(self, *tokens):
            self.tokens = list(tokens)

    class Span:
        def __init__(self, start, end, type_):
            self.start_char, self.end_char, self.type = start, end, type_

    class Doc:
        sentences = [Sentence(Token(0, 6), Token(7, 11))]
        ents = [Span(0, 6, "LOC")]

    text = "أستانا تستضيف القمة"
    old = NerCache(tmp_path, "stanza-ar/ner", "1.0")
    old.put(text, Doc())
    cached = old.get(text)
    assert cached is not None and [(e.text, e.type) for e in cached.ents] == [("أستانا", "LOC")]
    assert to_entry(from_entry(text, to_entry(Doc()))) == to_entry(Doc())
    assert NerCache(tmp_path, "stanza-ar/ner", "1.1").get(text) is None
    assert old.get(text + " ") is None  # another text, another entry


@pytest.mark.parametrize("entry", ["{}", "null", "[]", '{"sentences": [[0, 999, 1]], "ents": []}',
                                   '{"sentences": [], "ents": [[0, 3, 7]]}', '{"sentences": "x", "ents": []}'])
def test_an_entry_of_the_wrong_shape_is_a_miss_and_is_replaced(tmp_path, entry):
    text = "أستانا تستضيف القمة"
    cache = NerCache(tmp_path, "stanza-ar/ner", "1.0")
    path = cache._path(text)
    path.parent.mkdir(parents=True)
    path.write_text(entry, encoding="utf-8")
    assert cache.get(text) is None and cache.misses == 1
