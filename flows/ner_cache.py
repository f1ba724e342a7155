"""NER output cached by (text hash, model name and version): NER is never computed twice.

A batch held back by the gate, a quarantine retry, or a change to parsing,
metadata or entity rules reprocesses articles whose NER output is already
known; with the same body text and the same model it is read back here
instead of running Stanza again. A different model (name or version) has a
folder of its own, so a model change recomputes everything.

Entries are small JSON files written atomically (``os.replace``), one per
body text, under ``<warehouse folder>/ner_cache/<model key>/``: safe with
concurrent writers, and a crash never leaves half an entry.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence


@dataclass(frozen=True)
class CachedToken:
    start_char: int
    end_char: int


class CachedTokens(Sequence):
    """Stands in for a sentence's tokens: its first and last offsets and its length are all that is used."""

    def __init__(self, start: int, end: int, count: int):
        self._first, self._last, self._count = CachedToken(start, start), CachedToken(end, end), count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        if isinstance(index, slice):
            raise TypeError("cached sentences keep their first and last token only")
        if index in (0, -self._count):
            return self._first
        if index in (-1, self._count - 1):
            return self._last
        raise IndexError(index)


@dataclass(frozen=True)
class CachedSentence:
    tokens: CachedTokens


@dataclass(frozen=True)
class CachedSpan:
    start_char: int
    end_char: int
    type: str
    text: str


@dataclass(frozen=True)
class CachedDocument:
    """The parts of a Stanza document that ``transforms.ner.document_rows`` reads."""

    text: str
    sentences: list[CachedSentence]
    ents: list[CachedSpan]


def model_key(name: str, version: str) -> str:
    return hashlib.sha256(f"{name}\x1f{version}".encode()).hexdigest()[:16]


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def to_entry(doc) -> dict:
    sentences = [[s.tokens[0].start_char, s.tokens[-1].end_char, len(s.tokens)] for s in doc.sentences if s.tokens]
    ents = [[e.start_char, e.end_char, e.type] for e in doc.ents]
    return {"sentences": sentences, "ents": ents}


def _span(value: object, length: int, last_type: type) -> bool:
    return (isinstance(value, list) and len(value) == 3 and all(type(v) is int for v in value[:2])
            and 0 <= value[0] <= value[1] <= length and isinstance(value[2], last_type))


def well_formed(entry: object, length: int) -> bool:
    """Whether ``entry`` is what :func:`to_entry` writes, for a text of ``length`` characters."""
    return (isinstance(entry, dict) and isinstance(entry.get("sentences"), list) and isinstance(entry.get("ents"), list)
            and all(_span(s, length, int) for s in entry["sentences"])
            and all(_span(e, length, str) for e in entry["ents"]))


def from_entry(text: str, entry: dict) -> CachedDocument:
    return CachedDocument(
        text=text,
        sentences=[CachedSentence(CachedTokens(start, end, n)) for start, end, n in entry["sentences"]],
        ents=[CachedSpan(start, end, label, text[start:end]) for start, end, label in entry["ents"]],
    )


class NerCache:
    def __init__(self, root: Path, model_name: str, model_version: str):
        self.folder = root / model_key(model_name, model_version)
        self.model = (model_name, model_version)
        self.hits = 0
        self.misses = 0

    def _path(self, text: str) -> Path:
        key = text_key(text)
        return self.folder / key[:2] / f"{key}.json"

    def get(self, text: str) -> CachedDocument | None:
        """The cached document, or None: never cached, unreadable, or not the shape ``put`` writes.

        An entry of the wrong shape (valid JSON, but ``{}``, ``null``, offsets
        outside the text) is a miss: NER runs again and ``put`` replaces it.
        """
        try:
            entry = json.loads(self._path(text).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            entry = None
        if not well_formed(entry, len(text)):
            self.misses += 1
            return None
        self.hits += 1
        return from_entry(text, entry)

    def holds(self, text: str) -> bool:
        """Whether an entry is there for this text (``get`` may still find it unreadable)."""
        return self._path(text).is_file()

    def put(self, text: str, doc) -> None:
        path = self._path(text)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(to_entry(doc), separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)

    def entries(self) -> Iterator[Path]:
        return self.folder.rglob("*.json")
