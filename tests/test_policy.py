"""The write–audit–publish policy and the selection of what is new: pure units, no Prefect, no Stanza.

A fake gate stands in for Great Expectations: it fails an article whose
title says so, and the whole batch when a poisoned article is staged or when
the staged rows differ from what the caller expected (as the real gate's
row-count rule does).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from expectations.gate import Failure, GateResult
from expectations.policy import gate_batch, staged_counts
from transforms import dedup
from transforms.articles import build_article
from transforms.formats import parse_text
from transforms.rejection import Rejection
from transforms.selection import (orphan_rejections, set_aside_near_copies, set_aside_orphans,
                                  set_aside_repeats)
from warehouse.rows import article_row
from warehouse.store import StagingArea

NOW = datetime(2024, 7, 5, tzinfo=timezone.utc)
STORY = ("أستانا 4 يوليو 2024 (شينخوا) -- التقى الرئيس الكازاخستاني قاسم جومارت توكاييف في أستانا "
         "نظيره الصيني لبحث التعاون في مجالات الطاقة والنقل والتجارة بين البلدين وتطوير الممر الأوسط. {}")


def make_article(name: str, extra: str = "", title: str | None = None):
    # a headline of three words or more: one or two words above a story are a section label
    text = (f"{title}\n\n" if title else "") + STORY.format(extra)
    return build_article(parse_text(text.encode("utf-8"), name), source_id="test")


def distinct_article(name: str, n: int, title: str | None = None):
    words = " ".join(f"كلمة{n}{i}" for i in range(40))  # far from every other story's shingles
    return make_article(name, words, title)


class FakeGate:
    def __init__(self, bad_titles=("خبر مرفوض للتجربة",), poison_titles=()):
        self.bad, self.poison = set(bad_titles), set(poison_titles)
        self.validated: list[dict[str, int]] = []
        self.totals_staged = 0

    def stage_totals(self, staging) -> None:
        self.totals_staged += 1

    def validate(self, staging, expected):
        self.validated.append(dict(expected))
        titles = dict(zip(staging.column("articles", "article_id"), staging.column("articles", "title")))
        failures = [Failure("articles", "expect_title_not_rejected", "title", "title is not rejected", "article",
                            "bad_title", 1, article_ids=[i]) for i, t in titles.items() if t in self.bad]
        if any(t in self.poison for t in titles.values()):
            failures.append(Failure("articles", "expect_no_poison", None, "no poison", "batch", None, 1))
        if expected != staged_counts(staging):
            failures.append(Failure("articles", "expect_table_row_count_to_equal", None, "counts", "batch", None, 1))
        article_failures = {i: f.reason for f in failures if f.level == "article" for i in f.article_ids}
        success = not failures
        return GateResult(success, failures, article_failures, seconds={"checkpoints": 0.01})


def stage_batch(tmp_path, first_copies, near_copies=()):
    """Articles staged as the flow stages them: NER rows for first copies, bare rows for near copies."""
    staging = StagingArea(tmp_path / "staging").for_run("run-1")
    rows, sentences = [], []
    for a in first_copies:
        rows.append(article_row(a, "run-1", NOW, n_sentences=1))
        sentences.append({"article_id": a.article_id, "sentence_index": 0, "start_char": 0,
                          "end_char": len(a.text), "n_tokens": 3})
    staging.write_rows("articles", 0, rows)
    staging.write_rows("sentences", 0, sentences)
    staging.write_rows("mentions", 0, [])
    staging.write_rows("articles", 90_000, [article_row(a, "run-1", NOW, near=m) for a, m in near_copies])
    return staging


def selection_of(first_copies, near_copies=()):
    selection, candidates = set_aside_repeats(first_copies, {}, set())
    selection = set_aside_near_copies(selection, candidates, [], dedup.NEAR_THRESHOLD)
    selection.near_copies = list(near_copies)
    return selection


def test_a_clean_batch_is_published_whole(tmp_path):
    firsts = [distinct_article(f"{n}.txt", n) for n in range(3)]
    staging = stage_batch(tmp_path, firsts)
    gate = FakeGate()
    outcome = gate_batch(staging, gate, selection_of(firsts), {a.article_id for a in firsts},
                         staged_counts(staging), tmp_path / "held")
    assert outcome.status == "succeeded" and outcome.rejected == [] and outcome.held_back is None
    assert outcome.published == {"articles": 3, "sentences": 3, "mentions": 0}
    assert len(gate.validated) == 1 and gate.totals_staged == 1
    assert outcome.seconds == {"checkpoints": 0.01}


def test_an_article_that_fails_alone_is_rejected_and_the_rest_validated_again(tmp_path):
    good = [distinct_article(f"{n}.txt", n) for n in range(2)]
    bad = distinct_article("bad.txt", 9, title="خبر مرفوض للتجربة")
    near = make_article("near.txt", " ".join(f"كلمة9{i}" for i in range(40)) + " زيادة", title="عنوان آخر للخبر")
    match = dedup.NearMatch(bad.article_id, 0.9)
    staging = stage_batch(tmp_path, good + [bad], [(near, match)])
    selection = selection_of(good + [bad], [(near, match)])
    gate = FakeGate()
    outcome = gate_batch(staging, gate, selection, {a.article_id for a in good + [bad]},
                         staged_counts(staging), tmp_path / "held")

    assert outcome.status == "succeeded"
    reasons = sorted((r.reason, r.source_path) for r in outcome.rejected)
    assert reasons == [("bad_title", "bad.txt"), ("first_copy_rejected", "near.txt")]
    rejected_bad = next(r for r in outcome.rejected if r.reason == "bad_title")
    assert rejected_bad.raw == bad.raw and rejected_bad.validation["failed"][0]["rule"] == "title is not rejected"
    # Dropped from staging, recounted, totals staged again, validated again with the new counts.
    assert sorted(staging.column("articles", "article_id")) == sorted(a.article_id for a in good)
    assert outcome.published == {"articles": 2, "sentences": 2, "mentions": 0}
    assert gate.validated[-1] == outcome.published and len(gate.validated) == 2 and gate.totals_staged == 2
    assert selection.near_copies == []
    assert outcome.seconds == {"checkpoints": 0.02}


def test_when_every_article_fails_alone_nothing_is_validated_again(tmp_path):
    bad = distinct_article("bad.txt", 1, title="خبر مرفوض للتجربة")
    staging = stage_batch(tmp_path, [bad])
    gate = FakeGate()
    outcome = gate_batch(staging, gate, selection_of([bad]), {bad.article_id}, staged_counts(staging),
                         tmp_path / "held")
    assert [r.reason for r in outcome.rejected] == ["bad_title"]
    assert outcome.published["articles"] == 0 and len(gate.validated) == 1
    assert outcome.status == "succeeded" and outcome.held_back is None


def test_a_batch_level_failure_holds_the_whole_batch_back(tmp_path):
    firsts = [distinct_article("a.txt", 1), distinct_article("poison.txt", 2, title="خبر فيه سم")]
    staging = stage_batch(tmp_path, firsts)
    outcome = gate_batch(staging, FakeGate(poison_titles=("خبر فيه سم",)), selection_of(firsts),
                         {a.article_id for a in firsts}, staged_counts(staging), tmp_path / "held")
    assert outcome.status == "gate_failed" and outcome.held_back == tmp_path / "held"
    assert sorted(r.source_path for r in outcome.rejected) == ["a.txt", "poison.txt"]
    assert {r.reason for r in outcome.rejected} == {"batch_failed_gate"}
    assert {r.level for r in outcome.rejected} == {"batch"}
    assert [f["expectation"] for f in outcome.failures] == ["expect_no_poison"]
    assert outcome.published == {"articles": 0, "sentences": 0, "mentions": 0}
    assert staging.files("articles") == [] and (tmp_path / "held" / "articles").is_dir()


def test_rows_lost_between_ner_and_the_gate_hold_the_batch_back(tmp_path):
    firsts = [distinct_article("a.txt", 1)]
    staging = stage_batch(tmp_path, firsts)
    expected = staged_counts(staging) | {"sentences": 5}
    outcome = gate_batch(staging, FakeGate(), selection_of(firsts), {firsts[0].article_id}, expected,
                         tmp_path / "held")
    assert outcome.status == "gate_failed"
    assert [f["expectation"] for f in outcome.failures] == ["expect_table_row_count_to_equal"]


def test_repeats_are_set_aside_and_recorded_once():
    first = distinct_article("first.txt", 1)
    copy = make_article("copy.txt", " ".join(f"كلمة1{i}" for i in range(40)))
    assert copy.article_id == first.article_id
    published = distinct_article("old.txt", 2)
    again = distinct_article("old.txt", 2)  # the published first copy read again: skipped, not a copy
    elsewhere = distinct_article("old-copy.txt", 2)

    selection, candidates = set_aside_repeats([first, copy, again, elsewhere],
                                              {published.article_id: "old.txt"}, set())
    assert candidates == [first]
    assert selection.n_skipped == 3
    assert [(a.source_path, i) for a, i in selection.exact_copies] == [("copy.txt", first.article_id),
                                                                      ("old-copy.txt", published.article_id)]
    recorded = {("old-copy.txt", published.article_id)}
    selection, _ = set_aside_repeats([elsewhere], {published.article_id: "old.txt"}, recorded)
    assert selection.exact_copies == [] and selection.n_skipped == 1


def test_near_copies_match_published_and_earlier_first_copies():
    published = distinct_article("old.txt", 1)
    first = distinct_article("first.txt", 2)
    near_old = make_article("near-old.txt", " ".join(f"كلمة1{i}" for i in range(40)) + " تحديث",
                            title="عنوان جديد")
    near_first = make_article("near-first.txt", " ".join(f"كلمة2{i}" for i in range(40)) + " تعديل")
    selection, candidates = set_aside_repeats([first, near_old, near_first], {}, set())
    old_signature = dedup.to_bytes(dedup.signature(published.body))
    selection = set_aside_near_copies(selection, candidates, [(published.article_id, old_signature)], 0.7)

    assert [a.source_path for a in selection.to_annotate] == ["first.txt"]
    assert {a.source_path: m.duplicate_of for a, m in selection.near_copies} == {
        "near-old.txt": published.article_id, "near-first.txt": first.article_id}
    assert set(selection.fingerprints) == {first.article_id}

    orphans = set_aside_orphans(selection, kept_ids=set())  # first.txt was rejected: its copy waits with it
    assert [a.source_path for a, _ in orphans] == ["near-first.txt"]
    assert [a.source_path for a, _ in selection.near_copies] == ["near-old.txt"]
    (rejection,) = orphan_rejections(orphans)
    assert rejection.reason == "first_copy_rejected" and first.article_id in rejection.detail


def test_a_rejection_is_completed_by_who_knows_the_item_and_keeps_what_the_raiser_said():
    with pytest.raises(Rejection) as raised:
        raise Rejection("bad_json_line", "Expecting value")
    done = raised.value.about(source_path="a.jsonl#L2", raw=b"{", format="jsonl")
    assert (done.source_path, done.raw, done.format, str(done)) == ("a.jsonl#L2", b"{", "jsonl",
                                                                     "bad_json_line: Expecting value")
    entry = Rejection("feed_item_no_text", "", source_path="feed#entry-1", raw=b"{}")
    assert entry.about(source_path="feed", format="feed").source_path == "feed#entry-1"
    assert done.item_id != Rejection("x", source_path="a.jsonl#L2").item_id  # by bytes, else by label
    assert Rejection("x", source_path="a").item_id == Rejection("y", source_path="a").item_id
