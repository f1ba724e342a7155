"""Rule-made sentences and tokens against Stanza's neural tokenizer: speed, agreement, and NER quality.

`python -m bench.segmentation` prints the figures; `python -m bench` adds
them to docs/performance.md. Both segmenters feed the same NER model through
akhbar's own path (``flows.nlp.annotate``), so the only difference is who
split the text.

- Agreement: token and sentence-end F1 of the rules against Stanza's
  tokenizer, over the bench corpus and SaudiNewsNet articles (the news the
  tokenizer was trained beside).
- Quality: exact-span entity P/R/F1 on the ANERcorp CAMeL Lab test split
  (925 sentences, the offline model's held-out set), its tokens glued back
  into natural text, ten sentences to a document, so that each segmenter
  finds sentences and tokens from raw text.
"""

from __future__ import annotations

import json
import os
import random
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench.corpus import SAMPLES, corpus_bodies
from core.settings import PROJECT_ROOT, get_settings, offline_model_environment
from flows import nlp
from transforms import segment

SHARED = PROJECT_ROOT.parent / "shared"
ANERCORP_TEST = SHARED / "data" / "ner" / "processed" / "ar_anercorp.test.bio"
SAUDINEWSNET = SHARED / "data" / "raw_text" / "saudinewsnet" / "2015-07-21.zip"
NO_SPACE_BEFORE = set(".,،؛:!?؟)]}»%")
NO_SPACE_AFTER = set("([{«")


@dataclass(frozen=True)
class GoldDocument:
    text: str
    entities: frozenset[tuple[int, int, str]]  # (start, end, type)


def glue(sentences: list[list[tuple[str, str]]]) -> GoldDocument:
    """Tokens (with BIO tags) back into running text, with the character spans of their entities."""
    text, entities, open_entity, previous = "", set(), None, ""
    for sentence in sentences:
        for token, tag in sentence:
            if text and token not in NO_SPACE_BEFORE and previous not in NO_SPACE_AFTER:
                text += " "
            start = len(text)
            text += token
            previous = token
            kind = tag[2:] if tag != "O" else None
            if open_entity and (tag == "O" or tag.startswith("B-") or kind != open_entity[2]):
                entities.add(open_entity)
                open_entity = None
            if kind and open_entity is None:
                open_entity = (start, len(text), kind)
            elif kind:
                open_entity = (open_entity[0], len(text), kind)
        if open_entity:  # an entity never runs across sentences
            entities.add(open_entity)
            open_entity = None
    return GoldDocument(text, frozenset(entities))


def anercorp_documents(path: Path = ANERCORP_TEST, per_document: int = 10) -> list[GoldDocument]:
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        token, tag = line.split("\t")
        current.append((token, tag.replace("PERS", "PER")))
    if current:
        sentences.append(current)
    return [glue(sentences[i : i + per_document]) for i in range(0, len(sentences), per_document)]


def f1(true_positives: int, predicted: int, gold: int) -> tuple[float, float, float]:
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / gold if gold else 0.0
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def pipeline_for(segmenter: str):
    """akhbar's NER pipeline (flows.nlp) with this segmenter, as a run would build it."""
    settings = get_settings(segmenter=segmenter)
    return nlp.get_pipeline(nlp.ensure_model(settings), settings)


def annotate_all(segmenter: str, texts: list[str], batch: int = 32):
    pipeline = pipeline_for(segmenter)
    nlp.annotate(pipeline, texts[:2])  # warm-up
    started = time.perf_counter()
    docs = [doc for i in range(0, len(texts), batch) for doc in nlp.annotate(pipeline, texts[i : i + batch])]
    return docs, time.perf_counter() - started


def ner_quality(documents: list[GoldDocument]) -> dict[str, tuple[float, float, float, float]]:
    """segmenter → (precision, recall, F1, seconds) on the glued documents."""
    scores = {}
    gold = sum(len(d.entities) for d in documents)
    for segmenter in ("stanza", "rules"):
        docs, seconds = annotate_all(segmenter, [d.text for d in documents])
        found = [{(e.start_char, e.end_char, e.type) for e in doc.ents} for doc in docs]
        hits = sum(len(f & d.entities) for f, d in zip(found, documents))
        scores[segmenter] = (*f1(hits, sum(map(len, found)), gold), seconds)
    return scores


def saudinewsnet_texts(n: int, seed: int = 1) -> list[str]:
    with zipfile.ZipFile(SAUDINEWSNET) as archive:
        articles = json.loads(archive.read(archive.namelist()[0]))
    random.Random(seed).shuffle(articles)
    return [a["content"] for a in articles if len(a.get("content") or "") > 200][:n]


def agreement(texts: list[str]) -> tuple[float, float]:
    """Token F1 and sentence-end F1 of the rules against Stanza's tokenizer."""
    token_counts = [0, 0, 0]
    end_counts = [0, 0, 0]
    for text, doc in zip(texts, pipeline_for("stanza").stanza.bulk_process(texts, processors="tokenize")):
        our_sentences = segment.sentences(text)
        theirs = {(t.start_char, t.end_char) for s in doc.sentences for t in s.tokens}
        ours = {tuple(t) for s in our_sentences for t in s}
        their_ends = {s.tokens[-1].end_char for s in doc.sentences}
        our_ends = {s[-1].end for s in our_sentences}
        for counts, a, b in ((token_counts, ours, theirs), (end_counts, our_ends, their_ends)):
            counts[0] += len(a & b)
            counts[1] += len(a)
            counts[2] += len(b)
    return f1(*token_counts)[2], f1(*end_counts)[2]


def figures(corpus_texts: list[str], news_articles: int = 300):
    """(name, value) rows for the benchmark's table."""
    rows = []
    news = saudinewsnet_texts(news_articles) if SAUDINEWSNET.exists() else []
    tokens_f1, ends_f1 = agreement(corpus_texts + news)
    rows.append((f"rules against Stanza's tokenizer ({len(corpus_texts)} bench + {len(news)} SaudiNewsNet texts)",
                 f"tokens F1 {tokens_f1:.4f}, sentence ends F1 {ends_f1:.4f}"))
    _, stanza_seconds = annotate_all("stanza", corpus_texts)
    _, rules_seconds = annotate_all("rules", corpus_texts)
    rows.append(("NER over the bench corpus: Stanza's tokenizer / rules", f"{stanza_seconds:.2f} s / {rules_seconds:.2f} s "
                 f"({stanza_seconds / rules_seconds:.2f}×)"))
    if ANERCORP_TEST.exists():
        documents = anercorp_documents()
        scores = ner_quality(documents)
        gold = sum(len(d.entities) for d in documents)
        for segmenter, (p, r, f, _) in scores.items():
            rows.append((f"ANERcorp test from raw text ({gold} entities), {segmenter} segmentation",
                         f"P {p:.2%} R {r:.2%} F1 {f:.2%}"))
    return rows


if __name__ == "__main__":
    offline_model_environment(os.environ)  # before the pipelines read the model's folder
    for name, value in figures(corpus_bodies(SAMPLES)):
        print(f"{name:<80} {value}")
