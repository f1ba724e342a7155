"""Mentions from the model and from the knowledge base, merged into one list of spans.

(Interface first; the knowledge-base pass and the drop rules land next.)
"""

from __future__ import annotations

from dataclasses import dataclass

from transforms.entities import AliasTable

SOURCES = ("model", "gazetteer")


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    label: str
    source: str = "model"


def merged_spans(text: str, model: list[Span], table: AliasTable | None, *, gazetteer: bool = True) -> list[Span]:
    """The model's spans, and (``gazetteer``) the known names it missed; sorted by start."""
    return sorted(model)
