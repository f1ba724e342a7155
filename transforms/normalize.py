"""Arabic orthographic normalization for keys and matching.

Each function does one thing and takes and returns a ``str``, so they compose
(see :func:`normalize_text` and :func:`normalize_key`). None of them is ever
applied to the stored article text: offsets always point into the original
text, and normalized forms live in their own columns.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from dataclasses import dataclass
from typing import Sequence

# Harakat, tanween, shadda, sukun, dagger alef, Quranic annotation marks.
_TASHKEEL = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
_TATWEEL = "\u0640"
# Bidi embedding/override/isolate controls and marks (incl. the Arabic letter mark).
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Zero-width space/non-joiner/joiner, word joiner, BOM used as ZWNBSP.
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLES = re.compile(f"[{_BIDI_CONTROLS}{_ZERO_WIDTH}]")

_ALEF_VARIANTS = "أإآٱ"
_ALEF_FORMS = str.maketrans(dict.fromkeys(_ALEF_VARIANTS, "ا"))
_ALEF_MAQSURA = str.maketrans({"ى": "ي"})
_NON_ASCII_DIGITS = "٠١٢٣٤٥٦٧٨٩" "۰۱۲۳۴۵۶۷۸۹"  # Eastern Arabic, then Persian
_DIGITS = str.maketrans(_NON_ASCII_DIGITS, "0123456789" "0123456789")
_NON_ASCII_DIGIT = re.compile(f"[{_NON_ASCII_DIGITS}]")


def nfkc(text: str) -> str:
    """Unicode NFKC: folds presentation forms (e.g. the lam-alef ligature) and width variants."""
    return unicodedata.normalize("NFKC", text)


def strip_tashkeel(text: str) -> str:
    return _TASHKEEL.sub("", text)


def strip_tatweel(text: str) -> str:
    return text.replace(_TATWEEL, "")


# str.translate with a table of non-ASCII letters walks the text in Python-level steps (0.6 ms for
# a 4,000-character article); str.replace runs in C, and digits are rarer than letters.
def unify_alef(text: str) -> str:
    """أ إ آ ٱ → ا: writers and OCR use these interchangeably in names."""
    for variant in _ALEF_VARIANTS:
        text = text.replace(variant, "ا")
    return text


def unify_alef_maqsura(text: str) -> str:
    """ى → ي: Egyptian orthography writes final yeh without dots (شى / شي)."""
    return text.replace("ى", "ي")


def ascii_digits(text: str) -> str:
    """Eastern Arabic (٠-٩) and Persian (۰-۹) digits → 0-9."""
    return text.translate(_DIGITS) if _NON_ASCII_DIGIT.search(text) else text


def drop_invisibles(text: str) -> str:
    """Remove bidi controls and zero-width characters, which split otherwise equal strings."""
    return _INVISIBLES.sub("", text)


def collapse_whitespace(text: str) -> str:
    return " ".join(text.split())  # the same runs as the regex \s+, split in C


def normalize_text(text: str) -> str:
    """The article-level normal form: the basis of the content hash (article id).

    Whitespace runs collapse so that re-wrapped copies of the same story hash
    the same; the letters themselves keep their case.
    """
    for step in (
        nfkc,
        drop_invisibles,
        strip_tashkeel,
        strip_tatweel,
        unify_alef,
        unify_alef_maqsura,
        ascii_digits,
        collapse_whitespace,
    ):
        text = step(text)
    return text


def normalize_key(text: str) -> str:
    """The matching key for a name: :func:`normalize_text` plus case folding.

    ``"Xi Jinping"`` and ``"XI  JINPING"`` share a key; so do ``"كازاخستان"``
    with and without tashkeel.
    """
    return normalize_text(text).casefold()


_FOLD_DROP = re.compile(f"[{_BIDI_CONTROLS}{_ZERO_WIDTH}{_TATWEEL}]|{_TASHKEEL.pattern}")
_FOLD_TABLE = {**_ALEF_FORMS, **_ALEF_MAQSURA, **_DIGITS}


class _FoldedChars(dict):
    """Each code point's folded form, worked out on first sight; a ``str.translate`` table.

    ``irregular`` finds the characters seen so far that fold to anything but
    exactly one character: dropped marks, and NFKC expansions such as ﻻ → لا.
    """

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()  # a character missed from `irregular` would shift every offset after it
        self._irregular = ""
        self.irregular = re.compile(r"(?!)")

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = "".join(
            piece.translate(_FOLD_TABLE)
            for piece in unicodedata.normalize("NFKC", char)
            if not _FOLD_DROP.fullmatch(piece)
        )
        with self._lock:
            if len(folded) != 1 and char not in self._irregular:
                self._irregular += char
                self.irregular = re.compile(f"[{re.escape(self._irregular)}]")
            self[code] = folded
        return folded


_FOLDED_CHARS = _FoldedChars()


@dataclass(frozen=True)
class Folded:
    """Text folded for pattern matching, with the way back to the original.

    ``origin[i]`` is the index in the original text of folded character ``i``,
    so a match found in the folded text is reported as a span of the original,
    which stays untouched.
    """

    text: str
    origin: Sequence[int]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        if start >= end:
            at = self.origin[start] if start < len(self.origin) else (self.origin[-1] + 1 if self.origin else 0)
            return at, at
        return self.origin[start], self.origin[end - 1] + 1


@lru_cache(maxsize=8)  # one article's text is folded by several passes in a row (dates, names, amounts, quotes)
def fold(text: str) -> Folded:
    """NFKC, invisibles, tashkeel and tatweel dropped, alef/yeh/digits unified; whitespace kept.

    The same letters as :func:`normalize_text`, character by character, so that
    patterns written once (month names, agency markers) match every spelling.
    """
    folded = text.translate(_FOLDED_CHARS)
    if not _FOLDED_CHARS.irregular.search(text):  # one character for one: the common case
        return Folded(folded, range(len(text)))
    origin: list[int] = []
    kept_from = 0
    for mark in _FOLDED_CHARS.irregular.finditer(text):
        at = mark.start()
        origin.extend(range(kept_from, at))
        origin.extend([at] * len(_FOLDED_CHARS[ord(text[at])]))
        kept_from = at + 1
    origin.extend(range(kept_from, len(text)))
    return Folded(folded, tuple(origin))


def fold_text(text: str) -> str:
    """:func:`fold` without the way back."""
    return text.translate(_FOLDED_CHARS)


def word_starts(text: str, words: Sequence[str]) -> list[int]:
    """Where each of ``words`` (a pattern's ``findall`` over ``text``, in order) begins in ``text``.

    Each word is at the first place it occurs after the one before, when the characters the pattern skipped
    cannot be part of a word. (``findall`` and ``str.find`` are about twice as fast as a match object per word.)
    """
    starts, at, find = [], 0, text.find
    for word in words:
        at = find(word, at)
        starts.append(at)
        at += len(word)
    return starts
