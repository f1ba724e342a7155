"""The gate on hand-built staged batches: which rule fails, and at which level."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from expectations.gate import run_gate
from tests.conftest import sample_text
from transforms.articles import content_id
from transforms.normalize import normalize_key, normalize_text
from warehouse import store
from warehouse.tables import TABLES, to_arrow

NOW = datetime.now(timezone.utc)
LABELS = ("PER", "LOC", "ORG", "MISC")


def article(text: str, n_mentions: int, n_sentences: int = 1, source: str = "a.txt") -> dict:
    norm = normalize_text(text)
    return {"article_id": content_id(norm), "source_path": source, "text": text, "text_norm": norm,
            "text_chars": len(text), "text_norm_chars": len(norm), "n_sentences": n_sentences,
            "n_tokens": len(text.split()), "n_mentions": n_mentions, "raw_sha256": "0" * 64,
            "run_id": "r", "ingested_at": NOW, "body": text, "body_start": 0, "body_end": len(text),
            "date_source": "none"}


def mention(a: dict, surface: str, index: int, label: str = "LOC", start: int | None = None) -> dict:
    start = a["text"].index(surface) if start is None else start
    return {"article_id": a["article_id"], "mention_index": index, "sentence_index": 0,
            "start_char": start, "end_char": start + len(surface), "surface": surface,
            "label": label, "norm_key": normalize_key(surface), "entity_id": f"{label.lower()}:{surface}"}


def sentence(a: dict) -> dict:
    return {"article_id": a["article_id"], "sentence_index": 0, "start_char": 0,
            "end_char": len(a["text"]), "n_tokens": 1}


@pytest.fixture
def lead():
    return sample_text("001").splitlines()[0]  # Xinhua lead: Astana, Tokayev, Kazakhstan, China


def stage(tmp_path, articles, sentences, mentions) -> store.Staging:
    staging = store.StagingArea(tmp_path / "staging").for_run("r")
    staging.write("articles", 0, to_arrow("articles", articles))
    staging.write("sentences", 0, to_arrow("sentences", sentences))
    staging.write("mentions", 0, to_arrow("mentions", mentions))
    return staging


def gate(tmp_path, staging, expected):
    return run_gate(staging, store.Warehouse(tmp_path / "wh.duckdb"), tmp_path / "gx", tmp_path / "docs",
                    expected, LABELS, now=NOW)


def counts(articles, sentences, mentions):
    return {"articles": len(articles), "sentences": len(sentences), "mentions": len(mentions)}


@pytest.mark.slow  # renders Data Docs
def test_clean_batch_passes_and_writes_data_docs(tmp_path, lead):
    a = article(lead, 2)
    rows = ([a], [sentence(a)], [mention(a, "أستانا", 0), mention(a, "توكاييف", 1, "PER")])
    result = gate(tmp_path, stage(tmp_path, *rows), counts(*rows))
    assert result.success, [f.as_dict() for f in result.failures]
    assert result.data_docs_index == tmp_path / "docs" / "index.html"
    assert result.data_docs_index.read_text(encoding="utf-8").count("articles") >= 1


def test_duplicate_key_fails_the_batch(tmp_path, lead):
    a = article(lead, 2)
    m = mention(a, "أستانا", 0)
    rows = ([a], [sentence(a)], [m, dict(m)])
    result = gate(tmp_path, stage(tmp_path, *rows), counts(*rows))
    assert not result.success and not result.article_failures
    (failure,) = result.batch_failures
    assert (failure.suite, failure.expectation) == ("mentions", "expect_compound_columns_to_be_unique")


def test_surface_that_is_not_its_slice_fails_that_article_only(tmp_path, lead):
    good = article(lead, 1, source="good.txt")
    other_text = sample_text("003").splitlines()[7]
    bad = article(other_text, 1, source="bad.txt")
    shifted = mention(bad, "ألماتي", 0, start=other_text.index("ألماتي") + 1)
    shifted["surface"] = "ألماتي"
    rows = ([good, bad], [sentence(good), sentence(bad)], [mention(good, "أستانا", 0), shifted])
    result = gate(tmp_path, stage(tmp_path, *rows), counts(*rows))
    assert result.article_failures == {bad["article_id"]: "mention_surface_mismatch"}
    assert result.batch_failures == []


def test_non_arabic_article_is_an_article_level_failure(tmp_path, lead):
    good = article(lead, 0, source="good.txt")
    english = article("Astana, 1 July 2024 (Xinhua) -- President Tokayev met Xi Jinping in Astana.", 0,
                      source="en.txt")
    rows = ([good, english], [sentence(good), sentence(english)], [])
    result = gate(tmp_path, stage(tmp_path, *rows), counts(*rows))
    assert result.article_failures == {english["article_id"]: "not_mostly_arabic"}


def test_mojibake_of_arabic_is_an_article_level_failure(tmp_path, lead):
    """UTF-8 published as if it were Windows-1256 is still "mostly Arabic letters"; its own rule catches it."""
    good = article(lead, 0, source="good.txt")
    garbled = article(lead.encode("utf-8").decode("cp1256", errors="replace"), 0, source="mojibake.html")
    rows = ([good, garbled], [sentence(good), sentence(garbled)], [])
    result = gate(tmp_path, stage(tmp_path, *rows), counts(*rows))
    assert result.article_failures == {garbled["article_id"]: "mojibake"}


def test_orphan_mention_fails_the_batch(tmp_path, lead):
    a = article(lead, 1)
    orphan = mention(a, "أستانا", 0) | {"article_id": "f" * 32}
    rows = ([a], [sentence(a)], [orphan])
    result = gate(tmp_path, stage(tmp_path, *rows), counts(*rows))
    failed = {(f.suite, f.column) for f in result.batch_failures}
    assert ("mentions", "has_article") in failed


def test_article_already_published_fails_the_batch(tmp_path, lead):
    a = article(lead, 0)
    with store.connect(tmp_path / "wh.duckdb") as con:
        store.ensure_schema(con)
        con.register("one", to_arrow("articles", [a]))
        con.execute("INSERT INTO articles BY NAME SELECT * FROM one")
    rows = ([a], [sentence(a)], [])
    result = gate(tmp_path, stage(tmp_path, *rows), counts(*rows))
    assert [(f.suite, f.column) for f in result.batch_failures] == [("articles", "already_published")]


def test_counts_must_match_the_run_record(tmp_path, lead):
    a = article(lead, 1)
    rows = ([a], [sentence(a)], [mention(a, "أستانا", 0)])
    result = gate(tmp_path, stage(tmp_path, *rows), {"articles": 1, "sentences": 1, "mentions": 2})
    assert [(f.suite, f.expectation) for f in result.batch_failures] == [
        ("mentions", "expect_table_row_count_to_equal")]


def test_label_outside_the_models_set_fails(tmp_path, lead):
    a = article(lead, 1)
    rows = ([a], [sentence(a)], [mention(a, "أستانا", 0, label="GPE")])
    result = gate(tmp_path, stage(tmp_path, *rows), counts(*rows))
    assert [(f.suite, f.column, f.sample) for f in result.batch_failures] == [("mentions", "label", ["GPE"])]


def test_schema_change_is_refused_before_validation(tmp_path, lead):
    a = article(lead, 0)
    staging = stage(tmp_path, [a], [sentence(a)], [])
    renamed = to_arrow("articles", [a]).rename_columns(
        ["id" if n == "article_id" else n for n in TABLES["articles"].names])
    import pyarrow.parquet as pq

    pq.write_table(renamed, staging.files("articles")[0])
    result = gate(tmp_path, staging, {"articles": 1, "sentences": 1, "mentions": 0})
    (failure,) = result.failures
    assert failure.expectation == "schema_matches_warehouse" and "article_id" in failure.rule


def test_body_that_is_not_its_slice_fails_the_batch(tmp_path, lead):
    a = article(lead, 0) | {"body_start": 5}
    rows = ([a], [sentence(a)], [])
    result = gate(tmp_path, stage(tmp_path, *rows), counts(*rows))
    assert [(f.suite, f.column) for f in result.batch_failures] == [("articles", "body_is_slice")]


def test_a_date_without_its_source_fails_the_batch(tmp_path, lead):
    a = article(lead, 0) | {"published_date": NOW.date()}
    rows = ([a], [sentence(a)], [])
    result = gate(tmp_path, stage(tmp_path, *rows), counts(*rows))
    assert [(f.suite, f.column) for f in result.batch_failures] == [("articles", "date_has_source")]


def test_duplicate_of_must_name_a_first_copy(tmp_path, lead):
    first = article(lead, 0, source="first.txt")
    near = article(lead + " وأضاف.", 0, n_sentences=0, source="near.txt") | {"duplicate_of": first["article_id"]}
    stray = article(lead + " وتابع.", 0, n_sentences=0, source="stray.txt") | {"duplicate_of": "e" * 32}
    ok = ([first, near], [sentence(first)], [])
    assert gate(tmp_path, stage(tmp_path, *ok), counts(*ok)).success
    bad = ([first, stray], [sentence(first)], [])
    result = gate(tmp_path, stage(tmp_path, *bad), counts(*bad))
    assert [(f.suite, f.column) for f in result.batch_failures] == [("articles", "duplicate_of_exists")]


def test_suites_are_built_once_per_process_and_runs_fill_in_their_parameters(tmp_path, lead):
    from expectations import gate as gate_module
    from expectations.suites import GateLimits

    a = article(lead, 2)
    rows = ([a], [sentence(a)], [mention(a, "أستانا", 0), mention(a, "توكاييف", 1, "PER")])
    staging = stage(tmp_path, *rows)
    assert gate(tmp_path, staging, counts(*rows)).success
    built = gate_module._gate_context(tmp_path / "gx", tmp_path / "docs", GateLimits())

    # A second run with other row counts reuses the same checkpoints, with its own parameters.
    too_many = dict(counts(*rows), articles=2)
    result = gate(tmp_path, staging, too_many)
    assert gate_module._gate_context(tmp_path / "gx", tmp_path / "docs", GateLimits()) is built
    assert [(f.suite, f.expectation) for f in result.failures] == [("articles", "expect_table_row_count_to_equal")]
    # Results are kept on disk (the Data Docs read them); the rules themselves are code, stored nowhere.
    assert [p.name for p in (tmp_path / "gx" / "validations" / "articles").iterdir()] == ["r"]
    assert sorted(p.name for p in (tmp_path / "gx").iterdir()) == ["validations"]


@pytest.mark.slow  # renders Data Docs
def test_gates_of_two_warehouses_in_one_process_keep_to_their_own_folders(tmp_path, lead):
    a = article(lead, 2)
    rows = ([a], [sentence(a)], [mention(a, "أستانا", 0), mention(a, "توكاييف", 1, "PER")])
    staging = stage(tmp_path, *rows)
    one, two = tmp_path / "one", tmp_path / "two"
    for root, run_id in ((one, "run-one-a"), (two, "run-two-a"), (one, "run-one-b")):
        result = run_gate(store.Staging(staging.root, run_id), store.Warehouse(root / "wh.duckdb"), root / "gx",
                          root / "docs", counts(*rows), LABELS, now=NOW)
        assert result.success and result.data_docs_index == root / "docs" / "index.html"
    assert sorted(p.name for p in (one / "gx" / "validations" / "articles").iterdir()) == ["run-one-a", "run-one-b"]
    assert sorted(p.name for p in (two / "gx" / "validations" / "articles").iterdir()) == ["run-two-a"]
    index_one = (one / "docs" / "index.html").read_text(encoding="utf-8")
    assert "run-one-b" in index_one and "run-two-a" not in index_one


@pytest.mark.slow  # renders Data Docs
def test_a_new_process_writes_the_suites_pages_only_when_they_are_not_those_of_its_suites(tmp_path, lead,
                                                                                     monkeypatch):
    from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext

    from expectations import gate as gate_module

    rendered, render = [], AbstractDataContext.build_data_docs

    def recorded(self, **kwargs):
        rendered.append(sorted(getattr(r, "name", None) or "result" for r in kwargs["resource_identifiers"]))
        return render(self, **kwargs)

    monkeypatch.setattr(AbstractDataContext, "build_data_docs", recorded)
    a = article(lead, 2)
    rows = ([a], [sentence(a)], [mention(a, "أستانا", 0), mention(a, "توكاييف", 1, "PER")])
    staging = stage(tmp_path, *rows)
    suite_pages = tmp_path / "docs" / "expectations"

    def gate_in_a_new_process(run_id: str):
        monkeypatch.setattr(gate_module, "_contexts", type(gate_module._contexts)())  # what a process builds once
        rendered.clear()
        result = run_gate(store.Staging(staging.root, run_id), store.Warehouse(tmp_path / "wh.duckdb"),
                          tmp_path / "gx", tmp_path / "docs", counts(*rows), LABELS, now=NOW)
        assert result.success and result.data_docs_index is not None
        return [name for call in rendered for name in call if name != "result"]

    every_suite = sorted(gate_module.CHECKED_TABLES)
    assert sorted(gate_in_a_new_process("run-1")) == every_suite  # a new site: every suite's page
    written = (suite_pages / "articles.html").stat().st_mtime_ns
    assert gate_in_a_new_process("run-2") == []  # the same suites: only the results' pages and the index
    assert (suite_pages / "articles.html").stat().st_mtime_ns == written
    assert "run-2" in (tmp_path / "docs" / "index.html").read_text(encoding="utf-8")

    (suite_pages / "quotes.html").unlink()  # a page lost: all written again
    assert sorted(gate_in_a_new_process("run-3")) == every_suite and (suite_pages / "quotes.html").exists()
    (suite_pages / ".akhbar-suites").write_text("other rules")  # other suites (or renderer) than the pages'
    assert sorted(gate_in_a_new_process("run-4")) == every_suite
    assert gate_in_a_new_process("run-5") == []


@pytest.mark.slow  # renders Data Docs
def test_data_docs_index_lists_a_bounded_number_of_results(tmp_path, lead, monkeypatch):
    from expectations import gate as gate_module

    monkeypatch.setattr(gate_module, "INDEXED_RESULTS", 2)  # read when the warehouse's context is built
    a = article(lead, 2)
    rows = ([a], [sentence(a)], [mention(a, "أستانا", 0), mention(a, "توكاييف", 1, "PER")])
    staging = stage(tmp_path, *rows)
    for n in range(3):  # three tables each: nine results stored
        result = run_gate(store.Staging(staging.root, f"run-{n}"), store.Warehouse(tmp_path / "wh.duckdb"),
                          tmp_path / "gx", tmp_path / "docs", counts(*rows), LABELS, now=NOW + timedelta(seconds=n))
    index = result.data_docs_index.read_text(encoding="utf-8")
    assert sum(len(list(p.iterdir())) for p in (tmp_path / "gx" / "validations").iterdir() if p.is_dir()) == 9
    listed = [n for n in range(3) if f"run-{n}" in index]
    assert listed == [2]  # the two latest results are both run-2's


def test_data_docs_failing_to_render_loses_pages_not_the_verdict(tmp_path, lead, monkeypatch, caplog):
    from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext

    def no_room(self, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(AbstractDataContext, "build_data_docs", no_room)
    a = article(lead, 2)
    rows = ([a], [sentence(a)], [mention(a, "أستانا", 0), mention(a, "توكاييف", 1, "PER")])
    result = gate(tmp_path, stage(tmp_path, *rows), counts(*rows))
    assert result.success
    assert result.data_docs_index is None  # no site was ever written here
    assert result.data_docs_index is None
    assert caplog.text.count("Data Docs were not updated") == 1 and "No space left" in caplog.text


@pytest.mark.slow  # renders Data Docs
def test_a_gate_waits_for_the_data_docs_of_the_gate_before_it(tmp_path, lead, monkeypatch):
    """Pages are rendered in the background; the Great Expectations context is never used by two at once."""
    import threading
    import time

    from great_expectations.checkpoint.checkpoint import Checkpoint
    from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext

    events, render, run = [], AbstractDataContext.build_data_docs, Checkpoint.run

    def slow_render(self, **kwargs):
        events.append(("render", "start", threading.current_thread().name))
        time.sleep(0.5)
        render(self, **kwargs)
        events.append(("render", "end", threading.current_thread().name))

    def logged_run(self, *args, **kwargs):
        events.append(("checkpoint", "start", threading.current_thread().name))
        return run(self, *args, **kwargs)

    monkeypatch.setattr(AbstractDataContext, "build_data_docs", slow_render)
    monkeypatch.setattr(Checkpoint, "run", logged_run)
    a = article(lead, 2)
    rows = ([a], [sentence(a)], [mention(a, "أستانا", 0), mention(a, "توكاييف", 1, "PER")])
    staging = stage(tmp_path, *rows)
    first = gate(tmp_path, staging, counts(*rows))
    assert ("render", "end", "akhbar-data-docs") not in events  # the verdict came before the pages
    first_gate_events = len(events)
    second = gate(tmp_path, staging, counts(*rows))
    assert first.success and second.success
    first_render_end = events.index(("render", "end", "akhbar-data-docs"))
    second_gate_checkpoints = [i for i, e in enumerate(events) if e[0] == "checkpoint" and i >= first_gate_events]
    assert second_gate_checkpoints and min(second_gate_checkpoints) > first_render_end
    assert second.data_docs_index.exists()


def test_audit_frames_carry_exactly_the_columns_the_suites_read(tmp_path, lead):
    import great_expectations as gx

    from expectations.audit import audit_frames
    from expectations.gate import INDEX_COLUMNS
    from expectations.suites import GateLimits, all_suites, checked_columns

    gx.get_context(mode="ephemeral")
    a = article(lead, 2)
    staging = stage(tmp_path, [a], [sentence(a)], [mention(a, "أستانا", 0), mention(a, "توكاييف", 1, "PER")])
    columns = {t: checked_columns(s, INDEX_COLUMNS[t]) for t, s in all_suites(GateLimits()).items()}
    published = store.Warehouse(tmp_path / "wh.duckdb")
    full = audit_frames(published, staging)
    narrow = audit_frames(published, staging, columns)
    for table in ("articles", "sentences", "mentions"):
        assert list(narrow[table].columns) == columns[table]
        assert set(columns[table]) <= set(full[table].columns)
        assert narrow[table].equals(full[table][columns[table]])
    assert "text_norm" not in narrow["articles"] and "arabic_ratio" in narrow["articles"]


def amount(a: dict, text: str, index: int = 0, **changes) -> dict:
    start = a["text"].index(text)
    return {"article_id": a["article_id"], "amount_index": index, "sentence_index": 0, "start_char": start,
            "end_char": start + len(text), "text": text, "value": 2.5e9, "unit": "currency", "currency": "USD",
            "scale": 1e9, "qualifier": None, "upper": None, **changes}


def test_amounts_that_are_not_their_slice_or_implausible_fail_their_article_only(tmp_path):
    texts = ["بلغت الاستثمارات 2.5 مليار دولار في كازاخستان", "وقعت الصين عقودا بقيمة 2.5 مليار دولار مع أوزبكستان",
             "ضخت روسيا 2.5 مليار دولار في مشاريع الطاقة في قيرغيزستان"]
    good, shifted, nonsense = (article(t, 0, source=f"{n}.txt") for n, t in enumerate(texts))
    moved = amount(shifted, "2.5 مليار دولار")
    moved["start_char"] += 1
    rows = ([good, shifted, nonsense], [sentence(a) for a in (good, shifted, nonsense)], [])
    staging = stage(tmp_path, *rows)
    staging.write("amounts", 0, to_arrow("amounts", [
        amount(good, "2.5 مليار دولار"), moved, amount(nonsense, "2.5 مليار دولار", value=float("inf"))]))
    result = gate(tmp_path, staging, counts(*rows))
    assert result.article_failures == {shifted["article_id"]: "amount_text_mismatch",
                                       nonsense["article_id"]: "amount_value_implausible"}
    assert result.batch_failures == []


def test_an_amount_in_an_unknown_unit_or_of_no_article_fails_the_batch(tmp_path):
    a = article("بلغت الاستثمارات 2.5 مليار دولار في كازاخستان", 0)
    rows = ([a], [sentence(a)], [])
    staging = stage(tmp_path, *rows)
    orphan = dict(amount(a, "2.5 مليار دولار"), article_id="not-an-article")
    staging.write("amounts", 0, to_arrow("amounts", [amount(a, "2.5 مليار دولار", unit="furlong"), orphan]))
    result = gate(tmp_path, staging, counts(*rows))
    assert {(f.suite, f.column) for f in result.batch_failures} >= {("amounts", "unit"), ("amounts", "has_article")}


def quote(a: dict, said: str, speaker: dict | None, index: int = 0, **changes) -> dict:
    start = a["text"].index(said)
    verb = a["text"].index("قال")
    title = a["text"].index("الوزير")
    return {"article_id": a["article_id"], "quote_index": index, "sentence_index": 0, "start_char": start,
            "end_char": start + len(said), "text": said, "kind": "reported", "verb": "قال", "verb_start": verb,
            "verb_end": verb + 3,
            "speaker_text": speaker["surface"] if speaker else "الوزير",
            "speaker_start": speaker["start_char"] if speaker else title,
            "speaker_end": speaker["end_char"] if speaker else title + len("الوزير"),
            "speaker_via": "name" if speaker else "title",
            "speaker_mention_index": speaker["mention_index"] if speaker else None,
            "speaker_entity_id": speaker["entity_id"] if speaker else None,
            "speaker_label": speaker["label"] if speaker else None, **changes}


def test_quotes_off_their_text_or_with_a_speaker_who_is_not_a_mention_fail_their_article_only(tmp_path):
    texts = ["قال الوزير توكاييف إن التعاون مع الصين يتوسع", "قال الوزير توكاييف إن التجارة مع الصين تنمو",
             "قال الوزير توكاييف إن الممر الأوسط يختصر الطريق", "قال الوزير إن الاستثمارات الصينية في المنطقة تتضاعف كل عام"]
    good, shifted, stranger, titled = (article(t, 1, source=f"{n}.txt") for n, t in enumerate(texts))
    speakers = [mention(a, "توكاييف", 0, "PER") for a in (good, shifted, stranger)]
    moved = quote(shifted, "التجارة مع الصين تنمو", speakers[1])
    moved["start_char"] += 1
    rows = ([good, shifted, stranger, dict(titled, n_mentions=0)],
            [sentence(a) for a in (good, shifted, stranger, titled)], speakers)
    staging = stage(tmp_path, *rows)
    staging.write("quotes", 0, to_arrow("quotes", [
        quote(good, "التعاون مع الصين يتوسع", speakers[0]), moved,
        quote(stranger, "الممر الأوسط يختصر الطريق", speakers[2], speaker_entity_id="per:someone_else"),
        quote(titled, "الاستثمارات الصينية في المنطقة تتضاعف كل عام", None),
        quote(titled, "الاستثمارات الصينية في المنطقة تتضاعف كل عام", None, index=1, speaker_via="pronoun")]))
    result = gate(tmp_path, staging, counts(*rows))
    # (the titled article's second quote continues a title never named: no mention, and that holds)
    assert result.article_failures == {shifted["article_id"]: "quote_text_mismatch",
                                       stranger["article_id"]: "quote_speaker_not_a_mention"}
    assert result.batch_failures == []


def test_a_quote_of_an_unknown_kind_or_of_no_article_fails_the_batch(tmp_path):
    a = article("قال الوزير توكاييف إن التعاون مع الصين يتوسع", 1)
    speaker = mention(a, "توكاييف", 0, "PER")
    rows = ([a], [sentence(a)], [speaker])
    staging = stage(tmp_path, *rows)
    orphan = dict(quote(a, "التعاون مع الصين يتوسع", speaker), article_id="not-an-article", quote_index=1)
    staging.write("quotes", 0, to_arrow("quotes", [quote(a, "التعاون مع الصين يتوسع", speaker, kind="rumour"),
                                                   orphan]))
    result = gate(tmp_path, staging, counts(*rows))
    assert {(f.suite, f.column) for f in result.batch_failures} >= {("quotes", "kind"), ("quotes", "has_article")}


def test_stories_whose_totals_or_members_do_not_hold_fail_the_batch(tmp_path):
    a = article("قال الوزير توكاييف إن التعاون مع الصين يتوسع", 0)
    rows = ([a], [sentence(a)], [])
    staging = stage(tmp_path, *rows)
    staging.write("article_stories", 0, to_arrow("article_stories", [
        {"article_id": a["article_id"], "story_id": "s_1", "similarity": 1.0},
        {"article_id": "not-an-article", "story_id": "s_2", "similarity": 1.5}]))
    staging.write("stories", 0, to_arrow("stories", [
        {"story_id": "s_1", "first_seen": None, "last_seen": None, "n_articles": 3, "n_sources": 1, "title": None},
        {"story_id": "s_empty", "first_seen": None, "last_seen": None, "n_articles": 1, "n_sources": 1,
         "title": None}]))
    result = gate(tmp_path, staging, counts(*rows))
    assert {(f.suite, f.column) for f in result.batch_failures} == {
        ("stories", "article_id"), ("stories", "has_article"), ("stories", "has_story"),
        ("stories", "story_consistent"), ("stories", "similarity")}


def test_a_story_and_its_members_that_hold_pass(tmp_path):
    a = article("قال الوزير توكاييف إن التعاون مع الصين يتوسع", 0)
    b = article("أكد الوزير توكاييف أن التجارة مع الصين تنمو بسرعة", 0, source="b.txt")
    rows = ([a, b], [sentence(a), sentence(b)], [])
    staging = stage(tmp_path, *rows)
    staging.write("article_stories", 0, to_arrow("article_stories", [
        {"article_id": a["article_id"], "story_id": "s_1", "similarity": 1.0},
        {"article_id": b["article_id"], "story_id": "s_1", "similarity": 0.4}]))
    staging.write("stories", 0, to_arrow("stories", [
        {"story_id": "s_1", "first_seen": None, "last_seen": None, "n_articles": 2, "n_sources": 2, "title": None}]))
    result = gate(tmp_path, staging, counts(*rows))
    assert result.batch_failures == [] and result.article_failures == {}


def test_data_docs_views_that_share_their_templates_render_what_great_expectations_renders(tmp_path, lead):
    import re

    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    from expectations.data_docs import PageView
    from expectations.gate import _gate_context, _limits

    a = article(lead, 2)
    rows = ([a], [sentence(a)], [mention(a, "أستانا", 0), mention(a, "توكاييف", 1, "PER")])
    result = gate(tmp_path, stage(tmp_path, *rows), counts(*rows))
    store = _gate_context(tmp_path / "gx", tmp_path / "docs", _limits()).context.validation_results_store
    varying = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{8}T\d{6}\.\d+Z|"
                         r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00)?")
    for result_id in result.result_ids:
        def page(view) -> str:  # a new document each time: rendering escapes it in place
            return varying.sub("…", view.render(ValidationResultsPageRenderer().render(store.get(result_id))))

        ours = [page(PageView()) for _ in range(2)]  # the second view shares the first's templates
        assert ours[0] == ours[1] == page(DefaultJinjaPageView())
