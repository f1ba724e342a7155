"""Sentences and tokens of news text by rule, for a NER model trained on whitespace-and-punctuation tokens.

The offline Arabic model's tokens follow ANERcorp: text is split at
whitespace and punctuation, and clitics stay attached (``والصين`` is one
token). Its Stanza tokenizer learned exactly that convention, with a neural
character model that takes half of the pipeline's time; these rules give the
same tokens and sentences (measured in ``bench/segmentation.py``) at a
fraction of the cost.

A token is a word (letters, digits, Arabic marks and tatweel, with inner
apostrophes, and inner dots or commas between digits and between single
letters: ``People’s``, ``23.7``, ``ج.ت``) or one punctuation character. A
sentence ends after ``.``, ``!``, ``?``, ``؟`` or ``…`` (with the closing
quotes and brackets that follow), and at every line break.

Offsets are Python code point offsets into the text given.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# Letters, digits and the marks that belong to a word (tashkeel, superscript alef, Quranic marks, tatweel).
_WORD_CHAR = r"[^\W_]|[\u064B-\u065F\u0670\u06D6-\u06ED\u0640]"
_WORD = rf"(?:{_WORD_CHAR})+"
TOKEN = re.compile(
    rf"""
      \d+(?:[.,\u066B\u066C]\d+)+             # 23.7  1,000  ٣٫٥
    | [^\W\d_](?:\.[^\W\d_])+(?![^\W\d_])    # ج.ت  U.S (single letters joined by dots)
    | {_WORD}(?:['’]{_WORD})*                 # words, People’s
    | \S                                      # any other character is a token of its own
    """,
    re.VERBOSE,
)
VERSION = "rules-1"  # part of the NER model's name: bump it when a rule changes, and NER is recomputed
SENTENCE_END = frozenset(".!?؟…")
CLOSING = frozenset("\"'»”’)]}")


class Span(NamedTuple):
    start: int
    end: int


def tokens(text: str) -> list[Span]:
    return [Span(m.start(), m.end()) for m in TOKEN.finditer(text)]


def sentences(text: str) -> list[list[Span]]:
    """The text's sentences, each a list of token spans; no sentence is empty."""
    found: list[list[Span]] = []
    current: list[Span] = []
    ended = False  # the sentence's terminal punctuation has been seen; closing marks may follow it
    for token in tokens(text):
        piece = text[token.start : token.end]
        if current and (ended and piece not in CLOSING and piece not in SENTENCE_END
                        or "\n" in text[current[-1].end : token.start]):
            found.append(current)
            current, ended = [], False
        current.append(token)
        if piece in SENTENCE_END:
            ended = True
    if current:
        found.append(current)
    return found
