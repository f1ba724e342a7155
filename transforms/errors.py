"""The one error type transforms raise for input that cannot become an article."""

from __future__ import annotations


class ArticleRejected(ValueError):
    """An item that cannot be processed; ``reason`` is a short, readable code.

    The reason is what the quarantine shows and what the README lists, so it is
    a stable snake_case word; ``detail`` says what exactly was wrong.
    """

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
