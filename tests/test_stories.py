"""Stories across outlets (transforms/stories.py, warehouse/stories.py): the rule on articles made for it, and on
real articles of seeds/stories through two runs."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest

from tests.conftest import ROOT, require_model
from transforms.stories import (StoryArticle, StoryRule, assign, entity_counts, pair_scores, purity, story_row,
                                terms)

VISIT = "وصل الرئيس الصيني شي جين بينغ إلى أستانا في زيارة دولة إلى كازاخستان يلتقي خلالها الرئيس توكاييف"
VISIT_AGAIN = "الرئيس الصيني شي جين بينغ يصل أستانا في زيارة دولة لكازاخستان ويلتقي نظيره توكاييف"
FLOODS = "أمطار غزيرة وفيضانات تجتاح مدينة ألماتي وتغلق الطرق وتقطع الكهرباء عن آلاف المنازل"
FLOODS_AGAIN = "فيضانات في ألماتي بعد أمطار غزيرة تغلق الطرق وتقطع الكهرباء عن آلاف المنازل"


def article(article_id: str, text: str, day: date | None, source: str = "a.example", entities=(),
            duplicate_of: str | None = None) -> StoryArticle:
    return StoryArticle(article_id, day, source, None, terms(None, text), Counter(entities), duplicate_of)


def test_the_same_happening_told_in_other_words_is_one_story_and_another_is_not():
    day = date(2024, 7, 2)
    articles = [article("a", VISIT, day, "xinhua", ["xi", "kazakhstan", "astana"]),
                article("b", FLOODS, day, "tass", ["almaty"]),
                article("c", VISIT_AGAIN, day, "rt", ["xi", "kazakhstan", "astana", "tokayev"]),
                article("d", FLOODS_AGAIN, day, "aa", ["almaty"])]
    memberships, stories = assign(articles, [])
    story = {m.article_id: m.story_id for m in memberships}
    assert story["a"] == story["c"] != story["b"] == story["d"]
    rows = {s.story_id: story_row(s.story_id, [(m.article_id, m.day, m.source, m.title) for m in s.members])
            for s in stories}
    assert rows[story["a"]]["n_articles"] == 2 and rows[story["a"]]["n_sources"] == 2
    assert {m.similarity for m in memberships if m.article_id in ("a", "b")} == {1.0}  # they opened their stories
    assert 0 < next(m.similarity for m in memberships if m.article_id == "c") < 1


def test_the_same_words_years_apart_are_two_stories():
    first = article("a", VISIT, date(2022, 9, 14), entities=["xi", "kazakhstan"])
    later = article("b", VISIT, date(2024, 7, 2), entities=["xi", "kazakhstan"])
    memberships, _ = assign([first, later], [], StoryRule(window_days=3))
    assert len({m.story_id for m in memberships}) == 2


def test_a_new_article_joins_a_published_story_and_a_near_copy_joins_its_original():
    day = date(2024, 7, 2)
    published = [(article("a", VISIT, day, "xinhua", ["xi"]), "s_a"), (article("b", FLOODS, day, "tass"), "s_b")]
    new = [article("c", VISIT_AGAIN, date(2024, 7, 3), "rt", ["xi"]),
           article("d", "نص آخر مختلف تماما", day, "copy.example", duplicate_of="b")]
    memberships, stories = assign(new, published)
    assert {(m.article_id, m.story_id) for m in memberships} == {("c", "s_a"), ("d", "s_b")}
    assert {s.story_id: len(s.members) for s in stories} == {"s_a": 2, "s_b": 2}


def test_stories_are_grouped_in_day_order_whatever_the_batch_order():
    day = date(2024, 7, 2)
    articles = [article("c", VISIT_AGAIN, date(2024, 7, 3)), article("a", VISIT, day), article("b", FLOODS, day)]
    forward, _ = assign(articles, [])
    backward, _ = assign(list(reversed(articles)), [])
    assert {(m.article_id, m.story_id) for m in forward} == {(m.article_id, m.story_id) for m in backward}
    assert {m.article_id: m.story_id for m in forward}["c"] == "s_a"  # named after the article that opened it


def test_the_credited_agency_is_not_an_entity_of_the_happening():
    mentions = [{"entity_id": "xinhua", "label": "ORG", "source": "metadata"},
                {"entity_id": "astana", "label": "LOC", "source": "metadata"},  # the dateline: the place of it
                {"entity_id": "xi", "label": "PER", "source": "model"}, {"entity_id": "xi", "label": "PER"}]
    assert entity_counts(mentions) == Counter({"xi": 2, "astana": 1})


def test_terms_fold_spellings_and_leave_stop_words_out():
    counts = terms("قمة الرئيس", "وصل الرئيس إلى أستانا في قمة")
    assert counts["الرئيس"] == 3 and counts["قمة"] == 3  # the headline counts twice
    assert "في" not in counts and "الى" not in counts
    assert counts["استانا"] == 1  # alef forms folded


def test_purity_completeness_and_pairs():
    gold = {"a": "x", "b": "x", "c": "y", "d": "y"}
    assert purity({"a": 1, "b": 1, "c": 2, "d": 2}, gold) == (1.0, 1.0)
    assert purity({"a": 1, "b": 2, "c": 3, "d": 4}, gold) == (1.0, 0.5)  # all alone: pure, not complete
    assert purity({"a": 1, "b": 1, "c": 1, "d": 1}, gold) == (0.5, 1.0)
    assert pair_scores({"a": 1, "b": 1, "c": 1, "d": 2}, gold) == (1 / 3, 0.5)


def _feed_line(name: str) -> str:
    record = next(json.loads(line) for line in (ROOT / "seeds" / "stories" / "gold" / "stories.jsonl")
                  .read_text(encoding="utf-8").splitlines() if json.loads(line)["file"] == name)
    text = (ROOT / "seeds" / "stories" / "articles" / name).read_text(encoding="utf-8")
    return json.dumps({"text": text, "url": record["url"], "published": record["published_date"]},
                      ensure_ascii=False)


@pytest.mark.slow
def test_two_outlets_on_the_sco_summit_make_one_story_across_two_runs(prefect_api, tmp_path):
    """st17 and st24 (seeds/stories) report the SCO summit in Astana on 4 July 2024, st64 Xi meeting Tokayev in
    Tianjin in 2025: the second run extends the first run's story and opens another."""
    from flows.ingest import ingest
    from warehouse.query import run_query

    require_model()
    warehouse = tmp_path / "akhbar.duckdb"
    for run, names in enumerate((["st17.txt"], ["st24.txt", "st64.txt"])):
        inbox = tmp_path / f"inbox{run}"
        inbox.mkdir()
        (inbox / "items.jsonl").write_text("\n".join(_feed_line(n) for n in names) + "\n", encoding="utf-8")
        summary = ingest(inbox=str(inbox), warehouse=str(warehouse))
        assert summary.status == "succeeded" and summary.n_new == len(names)
    stories = run_query(warehouse, "SELECT n_articles, n_sources, first_seen, outlets FROM stories_with_outlets "
                                   "ORDER BY n_articles DESC").rows
    assert [row[:2] for row in stories] == [(2, 2), (1, 1)]
    assert stories[0][2] == date(2024, 7, 4)  # the undated Tianjin story has the day it was taken in
    assert sorted(stories[0][3]) == ["aajeg.com", "alalam.ir"]
    members = run_query(warehouse, "SELECT count(*), count(DISTINCT story_id) FROM article_stories").rows
    assert members == [(3, 2)]


def test_one_published_day_helps_and_a_day_that_is_only_the_intake_day_does_not():
    from dataclasses import replace

    from transforms.stories import Similarity

    day = date(2024, 7, 2)
    a, b = article("a", VISIT, day, "xinhua"), article("b", VISIT_AGAIN, day, "rt")
    rule = StoryRule()
    rule = replace(rule, threshold=Similarity([a, b], rule)(a, b) + 0.05)  # words alone fall just short
    together, _ = assign([a, b], [], rule)
    assert len({m.story_id for m in together}) == 1  # published the same day: the bonus carries them
    archive = [replace(a, dated=False), replace(b, dated=False)]  # an archive taken in today, one intake day
    apart, _ = assign(archive, [], rule)
    assert len({m.story_id for m in apart}) == 2


def test_a_batch_of_two_distant_days_reads_the_published_stories_near_each_day_and_none_between():
    import duckdb

    from warehouse.stories import published_within

    with duckdb.connect() as con:
        con.execute("CREATE TABLE articles AS SELECT 'a' || i AS article_id, DATE '2024-01-01' + i::INTEGER AS published_date, "
                    "TIMESTAMP '2025-01-01' AS ingested_at, NULL::VARCHAR AS url, 'Xinhua' AS agency, "
                    "'test' AS source_id, 'عنوان' AS title, 'نص' AS body, NULL::VARCHAR AS duplicate_of "
                    "FROM range(365) t(i)")
        con.execute("CREATE TABLE article_stories AS SELECT article_id, 's' || article_id AS story_id FROM articles")
        found = published_within(con, [date(2024, 1, 11), date(2024, 11, 30)], 3)
    assert sorted(r["day"] for r in found) == (
        [date(2024, 1, d) for d in range(8, 15)] + [date(2024, 11, d) for d in range(27, 31)]
        + [date(2024, 12, d) for d in range(1, 4)])



def _pairwise_assign(new, published, rule):
    """The rule as the module's docstring states it, one pair at a time: the reference for ``assign``."""
    import math

    def unit(counts, idf):
        weighted = {k: (1 + math.log(v)) * idf[k] for k, v in counts.items() if v > 0}
        norm = math.sqrt(sum(w * w for w in weighted.values()))
        return {k: w / norm for k, w in weighted.items()} if norm else {}

    pool = [a for a, _ in published] + list(new)
    vectors = {}
    for part in ("terms", "entities"):
        df = Counter(k for a in pool for k in getattr(a, part))
        idf = {k: math.log((len(pool) + 1) / (n + 0.5)) for k, n in df.items()}
        vectors[part] = {a.article_id: unit(getattr(a, part), idf) for a in pool}

    def similarity(a, b):
        cos = {p: sum(w * vectors[p][b.article_id].get(k, 0.0) for k, w in vectors[p][a.article_id].items())
               for p in vectors}
        return rule.entity_weight * cos["entities"] + (1 - rule.entity_weight) * cos["terms"]

    def dates(a, b):
        if a.day is None or b.day is None or not (a.dated and b.dated):
            return -rule.undated_margin
        return rule.same_day_bonus if a.day == b.day else 0.0

    stories, story_of, chosen_of = {}, {}, {}
    for a, story_id in published:
        stories.setdefault(story_id, []).append(a)
        story_of[a.article_id] = story_id
    for a in sorted(new, key=lambda a: (a.day or date.min, a.duplicate_of is not None, a.article_id)):
        chosen, score = (story_of[a.duplicate_of], 1.0) if a.duplicate_of in story_of else (None, rule.threshold)
        if chosen is None:
            for story_id, members in stories.items():
                near = [m for m in members if m.duplicate_of is None
                        and (a.day is None or m.day is None or abs((a.day - m.day).days) <= rule.window_days)]
                mean = sum(similarity(a, m) + dates(a, m) for m in near) / len(near) if near else -1
                if mean >= score:
                    chosen, score = story_id, mean
        chosen = chosen or f"s_{a.article_id[:24]}"
        stories.setdefault(chosen, []).append(a)
        story_of[a.article_id] = chosen
        chosen_of[a.article_id] = (chosen, round(min(score, 1.0), 6))
    return chosen_of


def test_grouping_against_the_whole_pool_at_once_follows_the_rule_pair_by_pair():
    import random
    from dataclasses import replace

    rng = random.Random(7)
    texts, places = [VISIT, VISIT_AGAIN, FLOODS, FLOODS_AGAIN], ["xi", "kazakhstan", "astana", "almaty", "tokayev"]
    words = sorted({w for t in texts for w in t.split()})

    def made(n):
        text = " ".join(rng.sample(texts, 1) + rng.sample(words, rng.randint(0, 6)))
        day = None if rng.random() < 0.1 else date(2024, 7, rng.randint(1, 12))
        made_article = article(f"{n:04d}", text, day, rng.choice(["a", "b", "c"]), rng.sample(places, rng.randint(0, 3)))
        return replace(made_article, dated=rng.random() > 0.15)

    rule = StoryRule()
    for trial in range(5):
        published_articles = [made(n) for n in range(120)]
        published_ids, _ = assign(published_articles, [], rule)
        story = {m.article_id: m.story_id for m in published_ids}
        published = [(a, story[a.article_id]) for a in published_articles]
        new = [made(1000 + n) for n in range(40)]
        new += [replace(made(2000 + n), duplicate_of=rng.choice(new).article_id) for n in range(5)]
        memberships, _ = assign(new, published, rule)
        assert {m.article_id: (m.story_id, m.similarity) for m in memberships} == _pairwise_assign(new, published, rule)
