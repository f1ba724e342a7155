"""Precision and recall of entity sets: the arithmetic the README's figures rest on."""

from transforms.evaluation import gold_pairs, misses, score


def test_scores_per_type_and_overall():
    gold = {("a", "china"): "LOC", ("a", "xi"): "PER", ("b", "sco"): "ORG", ("b", "china"): "LOC"}
    predicted = {("a", "china"): "LOC", ("a", "asia"): "LOC", ("b", "sco"): "ORG", ("c", "other"): "LOC"}
    by_type = {s.type: s for s in score(gold, predicted)}
    assert (by_type["LOC"].gold, by_type["LOC"].predicted, by_type["LOC"].correct) == (2, 2, 1)
    assert by_type["PER"].recall == 0.0 and by_type["PER"].precision == 0.0
    assert (by_type["ALL"].precision, by_type["ALL"].recall) == (2 / 3, 2 / 4)  # article c is unjudged
    assert misses(gold, predicted) == ([("a", "xi"), ("b", "china")], [("a", "asia")])


def test_gold_rows_name_unknown_entities_by_name():
    rows = [{"article": "a", "type": "PER", "entity_id": "xi", "name": ""},
            {"article": "a", "type": "PER", "entity_id": "", "name": "أليكس"}]
    pairs = gold_pairs(rows, lambda name, type_: f"{type_.lower()}:{name}")
    assert pairs == {("a", "xi"): "PER", ("a", "per:أليكس"): "PER"}


# ---------------------------------------------------------------- canonical entities of a gold corpus


def _table():
    from transforms.entities import alias_table

    def row(entity_id, type_, name_ar, name_en, aliases=""):
        return {"entity_id": entity_id, "type": type_, "name_ar": name_ar, "name_en": name_en, "wikidata_qid": "",
                "aliases": aliases, "valid_from": "", "valid_to": "", "note": ""}

    return alias_table([row("kazakhstan", "LOC", "كازاخستان", "Kazakhstan", "Qazaqstan"),
                        row("mofa_qa", "ORG", "وزارة الخارجية القطرية", "Ministry of Foreign Affairs of Qatar",
                            "Ministry of Foreign Affairs (Qatar)"),
                        row("kazakhstan_tv", "ORG", "قناة كازاخستان", "Kazakhstan", "")])


def test_gold_names_resolve_through_the_knowledge_bases_english_names():
    from transforms.evaluation import gold_entity_id, gold_entity_pairs

    table = _table()
    assert gold_entity_id("Kazakhstan", "LOC", table) == "kazakhstan"
    assert gold_entity_id("Kazakhstan", "ORG", table) == "kazakhstan_tv"  # the gold's type decides a shared name
    assert gold_entity_id("qazaqstan", "LOC", table) == "kazakhstan"
    assert gold_entity_id("Ministry of Foreign Affairs (Qatar)", "ORG", table) == "mofa_qa"
    assert gold_entity_id("Jens Stoltenberg", "PER", table) is None
    pairs = gold_entity_pairs("a1", [{"type": "LOC", "name_en": "Kazakhstan"},
                                     {"type": "PER", "name_en": "Jens Stoltenberg"}], table)
    assert pairs == {("a1", "kazakhstan"): "LOC", ("a1", "?Jens Stoltenberg"): "PER"}


def test_entities_that_differ_only_by_a_proclitic():
    from transforms.evaluation import proclitic_pairs

    keys = {"loc:1": {"بغداد"}, "loc:2": {"وبغداد"}, "beijing": {"بكين"}, "per:3": {"كين"},
            "loc:4": {"للعاصمة"}, "loc:5": {"العاصمة"}}
    pairs = proclitic_pairs(keys, names={"بكين"})
    assert [(a, b) for a, _, b, _ in pairs] == [("loc:2", "loc:1"), ("loc:4", "loc:5")]


def test_exact_span_scores_and_bio():
    from transforms.evaluation import bio_spans, span_scores

    assert bio_spans(["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "B-ORG"]) == [
        (0, 2, "PER"), (3, 4, "LOC"), (4, 5, "LOC"), (5, 6, "ORG")]
    scores = {s.type: s for s in span_scores({(0, 5, "PER"), (7, 9, "LOC")}, {(0, 5, "PER"), (7, 9, "ORG")})}
    assert (scores["ALL"].precision, scores["ALL"].recall) == (0.5, 0.5)
    assert (scores["LOC"].recall, scores["ORG"].precision) == (0.0, 0.0)
