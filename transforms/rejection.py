"""The one shape of a rejected item, from the check that refuses it to the quarantine that keeps it.

A reader, parser or check raises ``Rejection(reason, detail)`` where it
knows only what is wrong; the caller that knows the item completes it with
:meth:`Rejection.about` (its label, its bytes, its format and source). The
flow collects completed rejections, and the quarantine store persists them.

``reason`` is what the quarantine shows and what the README lists, so it is
a stable snake_case word; ``detail`` says what exactly was wrong.
"""

from __future__ import annotations

import dataclasses
import hashlib
import traceback
from dataclasses import dataclass, field
from typing import Any

ARTICLE_LEVEL = "article"  # this item alone
BATCH_LEVEL = "batch"  # held back with its whole batch


@dataclass(eq=True)
class Rejection(ValueError):
    reason: str
    detail: str = ""
    source_path: str | None = None  # the item's label: a file, or ``file#L3`` / ``feed#<link>``
    raw: bytes | None = field(default=None, repr=False)  # the bytes as received; None if none could be read
    format: str | None = None  # how to read the bytes again on retry
    source_id: str | None = None
    level: str = ARTICLE_LEVEL
    validation: dict[str, Any] = field(default_factory=dict, repr=False)  # the gate's findings, if it refused it

    # Raised and caught like any exception, so hashed by identity; compared by value in tests and lists.
    __hash__ = ValueError.__hash__

    def __post_init__(self) -> None:
        super().__init__(f"{self.reason}: {self.detail}" if self.detail else self.reason)

    def __reduce__(self):  # pickled by its fields (Dask workers send rejections back), not by its message
        return type(self), tuple(getattr(self, f.name) for f in dataclasses.fields(self))

    def about(self, **known: Any) -> "Rejection":
        """This rejection with what its caller knows of the item, keeping what the raiser already said."""
        return dataclasses.replace(self, **{k: v for k, v in known.items() if getattr(self, k) is None})

    @classmethod
    def of_article(cls, article: Any, reason: str, detail: str = "", **more: Any) -> "Rejection":
        """A rejection of an article (or anything with its label, bytes, format and source)."""
        return cls(reason, detail, source_path=article.source_path, raw=article.raw, format=article.format,
                   source_id=article.source_id, **more)

    @classmethod
    def internal_error(cls, error: BaseException, **known: Any) -> "Rejection":
        """A bug met on one item: quarantined as ``internal_error`` with its type and traceback, the batch goes on."""
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        return cls("internal_error", f"{type(error).__name__}: {str(error)[:300]}\n{trace[-4000:]}", **known)

    @property
    def item_id(self) -> str:
        """Same bytes, same item: quarantining a file twice keeps one entry (its label when it has no bytes)."""
        key = self.raw if self.raw is not None else (self.source_path or "").encode()
        return hashlib.sha256(key).hexdigest()[:32]
