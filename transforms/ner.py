"""Adapter from a processed Stanza document to akhbar's sentence and mention rows.

Offsets are taken from Stanza's character offsets into the text it was given,
which is the article text as received, so ``text[start:end] == surface`` holds
by construction; :func:`document_rows` checks it anyway and refuses a
document that breaks it, because every downstream join relies on it.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

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
