"""Rule-made sentences and tokens (transforms/segment.py), and NER over them with the real model."""

from __future__ import annotations

import pytest

from tests.conftest import require_model, sample_paths, sample_text
from transforms.segment import sentences, tokens


def texts_of(text: str) -> list[list[str]]:
    return [[text[a:b] for a, b in sentence] for sentence in sentences(text)]


def test_words_keep_their_marks_clitics_and_inner_joins():
    text = "أَشاد وTokayev بـ«People’s Daily» الـ24 بنسبة 23.7 و1,000 ج.ت ٣٫٥"
    assert [text[a:b] for a, b in tokens(text)] == [
        "أَشاد", "وTokayev", "بـ", "«", "People’s", "Daily", "»", "الـ24", "بنسبة", "23.7", "و1", ",", "000",
        "ج.ت", "٣٫٥"]


def test_punctuation_is_a_token_of_its_own():
    text = "بكين, 5 يوليو، 2024 /PRNewswire/ — وكالة ((شينخوا))"
    assert [text[a:b] for a, b in tokens(text)] == [
        "بكين", ",", "5", "يوليو", "،", "2024", "/", "PRNewswire", "/", "—", "وكالة", "(", "(", "شينخوا", ")", ")"]


def test_sentences_end_at_terminal_punctuation_with_their_closing_quotes():
    text = 'قال توكاييف: "نتطلع إلى الزيارة." وأضاف أن التعاون مهم؟ نعم! والصين شريك.'
    assert [" ".join(s) for s in texts_of(text)] == [
        'قال توكاييف : " نتطلع إلى الزيارة . "', "وأضاف أن التعاون مهم ؟", "نعم !", "والصين شريك ."]


def test_a_line_break_ends_a_sentence_and_a_decimal_point_does_not():
    text = "صور ساخنة\nارتفع النمو 8.7 بالمئة. وقال\n\nالمتحدث"
    assert texts_of(text) == [["صور", "ساخنة"], ["ارتفع", "النمو", "8.7", "بالمئة", "."], ["وقال"], ["المتحدث"]]


@pytest.mark.parametrize("text", ["", "   \n\t ", "...", "!!!؟", "\u200f\u200e", "a" * 5000])
def test_odd_texts_give_no_empty_sentence(text):
    found = sentences(text)
    assert all(found) and sum(map(len, found)) == len(tokens(text))


def test_offsets_slice_every_sample_exactly_and_cover_all_but_whitespace():
    for path in sample_paths():
        text = path.read_text(encoding="utf-8")
        spans = [span for sentence in sentences(text) for span in sentence]
        assert all(0 <= a < b <= len(text) for a, b in spans)
        assert all(b <= c for (_, b), (c, _) in zip(spans, spans[1:]))  # in order, never overlapping
        covered = "".join(text[a:b] for a, b in spans)
        assert covered == "".join(text.split())


@pytest.mark.model
def test_rules_and_stanzas_tokenizer_find_nearly_the_same_entities():
    """The same NER model over either segmentation; entity offsets always slice the text."""
    require_model()
    from core.settings import get_settings
    from flows import nlp

    bodies = [sample_text(p.name[:3]) for p in sample_paths()]
    found = {}
    for segmenter in ("rules", "stanza"):
        settings = get_settings(segmenter=segmenter)
        docs = nlp.annotate(nlp.get_pipeline(nlp.ensure_model(settings), settings), bodies)
        found[segmenter] = {(i, e.start_char, e.end_char, e.type) for i, doc in enumerate(docs) for e in doc.ents}
        assert all(bodies[i][a:b] == e.text for i, doc in enumerate(docs) for e in doc.ents
                   for a, b in [(e.start_char, e.end_char)])
    both = found["rules"] & found["stanza"]
    assert len(found["rules"]) > 100
    assert len(both) >= 0.95 * max(len(found["rules"]), len(found["stanza"]))


@pytest.mark.model
def test_ner_in_order_of_length_tags_exactly_as_stanza_itself():
    """Sorting sentences by length only changes how Stanza batches them, not what it finds."""
    require_model()
    from stanza import Document

    from core.settings import get_settings
    from flows import nlp

    settings = get_settings(segmenter="stanza")
    pipeline = nlp.get_pipeline(nlp.ensure_model(settings), settings)
    bodies = [sample_text(p.name[:3]) for p in sample_paths()]
    ours = nlp.annotate(pipeline, bodies)
    stanzas = pipeline.stanza.bulk_process([Document([], text=t) for t in bodies])
    assert [[(e.start_char, e.end_char, e.type) for e in d.ents] for d in ours] == \
        [[(e.start_char, e.end_char, e.type) for e in d.ents] for d in stanzas]
    assert sum(len(d.ents) for d in ours) > 100


def test_the_segmenter_is_part_of_the_models_name(monkeypatch):
    from flows import nlp
    from tests.conftest import OFFLINE_MODEL

    rules, stanza = nlp.inspect_model(OFFLINE_MODEL, "rules"), nlp.inspect_model(OFFLINE_MODEL, "stanza")
    assert rules.name == "stanza-ar/segment=rules-1+ner=anercorp" and rules.segmenter == "rules"
    assert stanza.name == "stanza-ar/tokenize=newstok+ner=anercorp" and stanza.segmenter == "stanza"
    assert nlp.inspect_model(OFFLINE_MODEL).segmenter == "rules"  # auto: no MWT, clitics attached
    assert nlp.choose_segmenter("auto", ("tokenize", "mwt", "ner")) == "stanza"


def test_entities_decode_from_bioes_tags_as_stanza_decodes_them():
    import random

    from stanza.models.ner.utils import decode_from_bioes

    from transforms.ner import bioes_entities

    alphabet = ["O", None, "", "X", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-ORG", "I-ORG"]
    rng = random.Random(7)
    for _ in range(3000):
        tags = [rng.choice(alphabet) for _ in range(rng.randint(0, 12))]
        assert bioes_entities(tags) == [(e["start"], e["end"], e["type"]) for e in decode_from_bioes(tags)], tags


@pytest.mark.model
def test_akhbars_tagged_documents_hold_what_stanzas_own_documents_hold():
    """The same sentences tagged through Stanza's Document and build_ents: the same entities, offsets and
    sentences as akhbar's lighter documents (flows.nlp.annotate)."""
    require_model()
    from stanza import Document

    from core.settings import get_settings
    from flows import nlp

    settings = get_settings(segmenter="rules")
    pipeline = nlp.get_pipeline(nlp.ensure_model(settings), settings)
    bodies = [sample_text(p.name[:3]) for p in sample_paths()]
    ours = nlp.annotate(pipeline, bodies)
    for body, doc in zip(bodies, ours):
        stanzas = pipeline.stanza.process(Document(
            [[{"id": (n,), "text": body[a:b], "start_char": a, "end_char": b} for n, (a, b) in enumerate(spans, 1)]
             for spans in sentences(body)], text=body), processors="ner")
        stanzas.build_ents()
        assert [(e.start_char, e.end_char, e.type, e.text) for e in doc.ents] == \
            [(e.start_char, e.end_char, e.type, e.text) for e in stanzas.ents]
        assert [[(t.start_char, t.end_char) for t in s.tokens] for s in doc.sentences] == \
            [[(t.start_char, t.end_char) for t in s.tokens] for s in stanzas.sentences]
    assert sum(len(doc.ents) for doc in ours) > 100
