"""Adapter from a processed Stanza document to akhbar's sentence and mention rows.

Offsets are taken from Stanza's character offsets into the text it was given,
which is the article text as received, so ``text[start:end] == surface`` holds
by construction; :func:`document_rows` checks it anyway and refuses a
document that breaks it, because every downstream join relies on it.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, Sequence

from transforms.normalize import normalize_key


class StanzaToken(Protocol):
    start_char: int
    end_char: int


class StanzaSentence(Protocol):
    tokens: Sequence[StanzaToken]


class StanzaSpan(Protocol):
    start_char: int
    end_char: int
    type: str


class StanzaDocument(Protocol):
    text: str
    sentences: Sequence[StanzaSentence]
    ents: Sequence[StanzaSpan]


class TokenSpan(NamedTuple):
    start_char: int
    end_char: int


@dataclass
class TaggedSentence:
    tokens: list[TokenSpan]


class EntitySpan(NamedTuple):
    start_char: int
    end_char: int
    type: str
    text: str


@dataclass
class TaggedDocument:
    """A text's sentences, tokens and entities once NER has tagged its tokens: what :func:`document_rows` reads,
    without the Stanza objects (a token of Stanza's own costs a Token and a Word, and NER needs neither
    here)."""

    text: str
    sentences: list[TaggedSentence]
    ents: list[EntitySpan]


def bioes_entities(tags: Sequence[str | None]) -> list[tuple[int, int, str]]:
    """(first token, last token, type) of the entities in one sentence's BIOES tags, decoded as Stanza decodes
    them (``stanza.models.ner.utils.decode_from_bioes``: an I- or E- without its B- still makes an entity, and
    the type is the last tag's)."""
    found, first, last, kind = [], None, None, None

    def flush() -> None:
        if first is not None:
            found.append((first, last, kind))

    for index, tag in enumerate(tags):
        prefix = tag[:2] if tag else "O"
        if prefix == "B-" or prefix == "S-":
            flush()
            first, last, kind = index, index, tag[2:]
            if prefix == "S-":
                flush()
                first = None
        elif prefix == "I-" or prefix == "E-":
            first = index if first is None else first
            last, kind = index, tag[2:]
            if prefix == "E-":
                flush()
                first = None
        elif tag is None or tag == "O":
            flush()
            first = None
    flush()
    return found


def tagged_document(text: str, sentences: Sequence[Sequence[tuple[int, int]]],
                    tags: Sequence[Sequence[str | None]]) -> TaggedDocument:
    """The document of ``text`` split into ``sentences`` of (start, end) tokens, with each token's NER tag."""
    tagged, ents = [], []
    for spans, sentence_tags in zip(sentences, tags, strict=True):
        tokens = [TokenSpan(start, end) for start, end in spans]
        tagged.append(TaggedSentence(tokens))
        for first, last, kind in bioes_entities(sentence_tags):
            start, end = tokens[first].start_char, tokens[last].end_char
            ents.append(EntitySpan(start, end, kind, text[start:end]))
    return TaggedDocument(text, tagged, ents)


class OffsetMismatch(ValueError):
    """A span whose offsets do not reproduce its text: the document is unusable."""


@dataclass
class DocumentRows:
    sentences: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[dict[str, Any]] = field(default_factory=list)
    n_tokens: int = 0


def sentence_spans(doc: StanzaDocument, offset: int = 0) -> list[tuple[int, int, int]]:
    """(start_char, end_char, n_tokens) of each non-empty sentence, in order."""
    return [
        (s.tokens[0].start_char + offset, s.tokens[-1].end_char + offset, len(s.tokens))
        for s in doc.sentences
        if s.tokens
    ]


def document_rows(doc: StanzaDocument, article_id: str, text: str, offset: int = 0) -> DocumentRows:
    """Sentence and mention rows of one article; offsets index ``text``.

    ``doc`` may cover a slice of ``text`` (the body) that starts at ``offset``:
    rows are shifted so that they always point into the whole article text.
    """
    spans = sentence_spans(doc, offset)
    rows = DocumentRows(n_tokens=sum(n for _, _, n in spans))
    for index, (start, end, n_tokens) in enumerate(spans):
        rows.sentences.append(
            {
                "article_id": article_id,
                "sentence_index": index,
                "start_char": start,
                "end_char": end,
                "n_tokens": n_tokens,
            }
        )
    starts = [start for start, _, _ in spans]
    for mention_index, ent in enumerate(doc.ents):
        start, end = ent.start_char + offset, ent.end_char + offset
        surface = text[start:end]
        if not surface or surface != getattr(ent, "text", surface):
            raise OffsetMismatch(
                f"entity {getattr(ent, 'text', '')!r} at [{start}, {end}) reads {surface!r} in the article"
            )
        rows.mentions.append(
            {
                "article_id": article_id,
                "mention_index": mention_index,
                "sentence_index": max(bisect_right(starts, start) - 1, 0),
                "start_char": start,
                "end_char": end,
                "surface": surface,
                "label": ent.type,
                "norm_key": normalize_key(surface),
            }
        )
    return rows
