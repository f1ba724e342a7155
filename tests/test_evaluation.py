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
