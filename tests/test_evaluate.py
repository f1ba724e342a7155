"""`akhbar evaluate` over a gold corpus of pages: per-field accuracy, nulls kept, furniture, every miss."""

from __future__ import annotations

import json

import pytest

from typer.testing import CliRunner

from akhbar.cli import app
from tests.conftest import ROOT

STORY = ("أكد الوزير خلال لقائه نظيره أهمية تعزيز التعاون الثنائي في مجالات الطاقة والتجارة والاستثمار "
         "والنقل، مشيرا إلى أن البلدين يعملان على توسيع الشراكة بينهما في السنوات المقبلة.")


def write_case(folder, case_id, text, **gold):
    (folder / "articles").mkdir(parents=True, exist_ok=True)
    (folder / "gold").mkdir(parents=True, exist_ok=True)
    (folder / "articles" / f"{case_id}.txt").write_text(text, encoding="utf-8")
    record = {"id": case_id, "url": None, "published_date": None, "dateline_city": None, "agency": None,
              "title": None, "furniture_lines": [], "entities": [], **gold}
    (folder / "gold" / f"{case_id}.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")


def test_evaluate_scores_each_field_and_lists_the_misses(tmp_path):
    corpus = tmp_path / "corpus"
    text = f"عنوان الخبر هنا للتجربة\nدمشق-سانا\n{STORY}\nشارك\n"
    write_case(corpus, "a1", text, dateline_city="دمشق", agency="SANA", title="عنوان الخبر هنا للتجربة",
               furniture_lines=[0, 3])
    # a gold that disagrees: the date is wrong on purpose, and line 2 is called furniture
    write_case(corpus, "a2", f" date 2025-09-24 {STORY}\n", published_date="2024-01-01", furniture_lines=[0])

    result = CliRunner().invoke(app, ["evaluate", "--metadata-only", "--corpus", str(corpus), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["metadata"][0]
    fields = {f["field"]: f for f in report["fields"]}
    assert (fields["published_date"]["correct"], fields["published_date"]["total"]) == (1, 2)
    assert fields["agency"]["accuracy"] == 1.0 and fields["dateline_city"]["accuracy"] == 1.0
    assert fields["title"]["null_rate"] == 1.0 and fields["agency"]["gold_null"] == 1
    assert report["furniture"]["articles_with_furniture_in_body"] == 1
    misses = {(m["article"], m["field"]) for m in report["misses"]}
    assert misses == {("a2", "published_date"), ("a2", "furniture")}
    date_miss = next(m for m in report["misses"] if m["field"] == "published_date")
    assert (date_miss["gold"], date_miss["predicted"]) == ("2024-01-01", "2025-09-24")


def test_evaluate_prints_a_table_with_the_misses_and_refuses_a_folder_without_gold(tmp_path):
    table = CliRunner().invoke(app, ["evaluate", "--metadata-only", "--corpus", str(ROOT / "seeds" / "dev")])
    assert table.exit_code == 0, table.output
    assert "published_date" in table.stdout and "no furniture in body" in table.stdout
    assert "75" in table.stdout  # the development corpus's texts

    missing = CliRunner().invoke(app, ["evaluate", "--metadata-only", "--corpus", str(tmp_path)])
    assert missing.exit_code == 1 and "no gold/ folder" in missing.output


@pytest.mark.model
def test_evaluate_scores_canonical_entities_and_ner_with_the_model(tmp_path):
    corpus = tmp_path / "corpus"
    write_case(corpus, "e1", f"أستانا 3 يوليو 2024 (شينخوا) بحث الرئيس قاسم جومارت توكاييف مع وانغ يي العلاقات بين "
                             f"كازاخستان والصين ومنظمة شنغهاي للتعاون. {STORY}\n",
               entities=[{"type": "PER", "name_en": "Kassym-Jomart Tokayev", "surface": "قاسم جومارت توكاييف"},
                         {"type": "PER", "name_en": "Wang Yi", "surface": "وانغ يي"},
                         {"type": "LOC", "name_en": "Kazakhstan", "surface": "كازاخستان"},
                         {"type": "LOC", "name_en": "China", "surface": "الصين"},
                         {"type": "LOC", "name_en": "Astana", "surface": "أستانا"},
                         {"type": "ORG", "name_en": "Shanghai Cooperation Organisation", "surface": "منظمة شنغهاي للتعاون"},
                         {"type": "ORG", "name_en": "Xinhua News Agency", "surface": "شينخوا"},
                         {"type": "PER", "name_en": "Zagro Bulatov", "surface": "زاغرو بولاتوف"}])
    ner_test = tmp_path / "ner.bio"
    ner_test.write_text("زار\tO\nالرئيس\tO\nبوتين\tB-PER\nبكين\tB-LOC\n\nوقال\tO\nوانغ\tB-PER\nيي\tI-PER\n",
                        encoding="utf-8")
    result = CliRunner().invoke(app, ["evaluate", "--corpus", str(corpus), "--ner-test", str(ner_test),
                                      "--no-samples", "--format", "json",
                                      "--warehouse", str(tmp_path / "wh" / "akhbar.duckdb")])  # its NER cache
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    (report,) = payload["corpus_entities"]
    overall = report["scores"][-1]
    assert overall["type"] == "ALL" and overall["gold"] == 8
    assert overall["correct"] >= 6 and overall["precision"] >= 0.85
    assert ["e1", "PER", "Zagro Bulatov"] in report["missed"]  # unknown to the knowledge base: a miss
    assert report["proclitic_pairs"] == [] and report["linked"] <= report["mentions"]
    assert report["countries_and_capitals"]["gold"] == 3  # Kazakhstan, China, Astana
    runs = payload["ner"]["runs"]
    assert set(runs) >= {"model", "model + gazetteer pass"}
    assert runs["model"][-1]["gold"] == 3
