"""From raw bytes to an article record: decoding, content id, basic checks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from transforms.normalize import normalize_text


class ArticleRejected(ValueError):
    """An article that cannot be processed; ``reason`` is a short, readable code."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Article:
    article_id: str
    source_path: str
    text: str
    text_norm: str
    raw_sha256: str
    raw: bytes = field(repr=False, compare=False, default=b"")

    @property
    def text_chars(self) -> int:
        return len(self.text)


def decode_text(raw: bytes) -> str:
    """UTF-8 with or without a byte-order mark; anything else is rejected, not guessed."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ArticleRejected(
            "undecodable", f"not valid UTF-8 at byte {err.start}"
        ) from None


def content_id(text_norm: str) -> str:
    """A stable id from the normalized text: the same story re-saved keeps its id."""
    return hashlib.sha256(text_norm.encode("utf-8")).hexdigest()[:32]


def parse_article(raw: bytes, source_path: str) -> Article:
    text = decode_text(raw)
    text_norm = normalize_text(text)
    if not text_norm:
        raise ArticleRejected("empty", "no text after normalization")
    return Article(
        article_id=content_id(text_norm),
        source_path=source_path,
        text=text,
        text_norm=text_norm,
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        raw=raw,
    )
