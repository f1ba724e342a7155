"""A development corpus on disk: real page texts with their gold, scored against the current rules.

Layout (seeds/dev/README.md): ``articles/<id>.txt`` and ``gold/<id>.json``.
Each text goes through the same intake as a ``.txt`` file in an inbox, so the
figures are what a run would publish.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterable

from transforms.articles import build_article
from transforms.evaluation import (FieldCheck, FurnitureCheck, body_line_numbers, furniture_check,
                                   metadata_checks)
from transforms.formats import parse_text
from transforms.metadata import AgencyRule


@dataclass(frozen=True)
class GoldText:
    id: str
    text: str
    raw: bytes
    gold: dict


@dataclass(frozen=True)
class CorpusResult:
    fields: list[FieldCheck]
    furniture: list[FurnitureCheck]


class CorpusError(ValueError):
    pass


def load_corpus(folder: Path) -> list[GoldText]:
    gold_dir, text_dir = folder / "gold", folder / "articles"
    if not gold_dir.is_dir():
        raise CorpusError(f"{folder}: no gold/ folder (expected gold/<id>.json beside articles/<id>.txt)")
    cases = []
    for path in sorted(gold_dir.glob("*.json")):
        gold = json.loads(path.read_text(encoding="utf-8"))
        text_path = text_dir / f"{path.stem}.txt"
        if not text_path.is_file():
            raise CorpusError(f"{path}: no text {text_path}")
        raw = text_path.read_bytes()
        cases.append(GoldText(path.stem, raw.decode("utf-8"), raw, gold))
    return cases


def score_corpus(cases: Iterable[GoldText], rules: Iterable[AgencyRule], not_after: date,
                 places: frozenset[str] = frozenset()) -> CorpusResult:
    """Each text as a run would read it: a text file with the page's address (as a crawler knows it)."""
    rules = tuple(rules)
    fields, furniture = [], []
    for case in cases:
        item = dataclasses.replace(parse_text(case.raw, f"{case.id}.txt"), url=case.gold.get("url"))
        article = build_article(item, rules, not_after=not_after, places=places)
        meta = article.meta
        predicted = {
            "published_date": meta.published_date.isoformat() if meta.published_date else None,
            "agency": meta.agency,
            "dateline_city": meta.dateline_city,
            "title": meta.title,
        }
        fields += metadata_checks(case.id, case.gold, predicted)
        body = body_line_numbers(article.text, meta.body_start, meta.body_end, meta.masked)
        furniture.append(furniture_check(case.id, article.text, case.gold.get("furniture_lines", ()), body))
    return CorpusResult(fields, furniture)
