"""From mention rows to entity links, article × entity counts and a review list.

Pure: the knowledge base comes in, rows come out. Each mention keeps how it was
linked (``link_method``: one of :data:`transforms.entities.LINK_METHODS`, with
``link_score``), so that a questionable merge can always be traced and undone.

An article is linked in two passes: first every mention on its own; then the
article's own country is found (its dateline's, else its credited agency's,
else the one most of its place mentions name) and read into the names that
depend on it: a place several share (عمان: Amman in a Jordanian story, else
Oman), a country's generic body named bare (``وزارة الخارجية``, ``مجلس النواب``).
A place in the dateline is read as a city (``row["dateline"]``); in a story
about national teams (``row["sport"]``) a country is its team. The names the
whole batch shows (and ``seen``: names already published) tell a glued
conjunction from the first letter of an unknown name: ``وفلان`` is ``فلان``
only if ``فلان`` occurs.
A name two entities held in turn is the one of the article's day (``row["day"]``).
A span the knowledge base does not know is linked by the one known name the
gazetteer pass found inside it (``row["hint"]``: ``الرئيس بوتين`` by ``بوتين``).
An unknown Latin-script name that transliterates to an unknown Arabic name of
the same article (``Tokayev``, ``توكاييف``) joins that name's entity.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from transforms import translit
from transforms.entities import (COMPATIBLE_TYPES, AliasTable, Resolution, entity_key, generic_body, resolve,
                                 script_of)


# Keys of a mention row that only linking reads: never stored.
LINKING_ONLY = ("dateline", "hint", "day", "sport")


@dataclass
class Linked:
    mentions: list[dict[str, Any]] = field(default_factory=list)
    article_entities: list[dict[str, Any]] = field(default_factory=list)
    review: list[dict[str, Any]] = field(default_factory=list)


def _countries(resolutions: Iterable[Resolution], table: AliasTable) -> list[str]:
    """The countries an article's unambiguous place mentions name or lie in, one per mention, in text order."""
    codes = []
    for resolution in resolutions:
        entity = table.entities.get(resolution.entity_id)
        if entity is not None and entity.type == "LOC" and entity.country_code and not resolution.ambiguous:
            codes.append(entity.country_code)
    return codes


def _home(rows: list[dict[str, Any]], resolutions: list[Resolution], countries: list[str],
          table: AliasTable) -> str | None:
    """The article's own country: its dateline's; else its credited agency's (a KUNA story's ``الديوان الأميري``
    is Kuwait's); else the country most of its place mentions name, if more than half do. None otherwise:
    a bare ``وزارة الخارجية`` stays unlinked rather than guessed."""
    for row, resolution in zip(rows, resolutions):
        entity = table.entities.get(resolution.entity_id)
        if row.get("dateline") and entity is not None and entity.country_code:
            return entity.country_code
    for row, resolution in zip(rows, resolutions):
        entity = table.entities.get(resolution.entity_id)
        if row.get("source") == "metadata" and entity is not None and entity.type == "ORG" and entity.country_code:
            return entity.country_code
    if not countries:
        return None
    code, count = Counter(countries).most_common(1)[0]
    return code if count >= 2 and count * 2 > len(countries) else None


def _team_of(row: dict[str, Any], resolution: Resolution, table: AliasTable) -> Resolution:
    """In a story about national teams (``row["sport"]``), a country named is its football team."""
    entity = table.entities.get(resolution.entity_id)
    if not row.get("sport") or entity is None or entity.kind != "country":
        return resolution
    team = table.bodies.get(("national_football_team", entity.country_code))
    return resolution if team is None else Resolution(team, "ORG", resolution.key, "context", 100.0)


def _by_hint(row: dict[str, Any], resolution: Resolution, table: AliasTable) -> Resolution:
    """A span the knowledge base does not know, linked by the one known name inside it (``partial``)."""
    if resolution.method != "new" or not row.get("hint"):
        return resolution
    inner = resolve(row["hint"], row["label"], table, day=row.get("day"))
    if inner.method not in ("alias", "spacing", "clitic"):
        return resolution
    return Resolution(inner.entity_id, inner.type, inner.key, "partial", 100.0)


def _of_home_country(row: dict[str, Any], resolution: Resolution, home: str | None,
                     table: AliasTable) -> Resolution:
    if resolution.method != "new" or home is None:
        return resolution
    body = generic_body(row["surface"], table)
    entity_id = table.bodies.get((body, home)) if body else None
    if entity_id is None:
        return resolution
    return Resolution(entity_id, table.entities[entity_id].type, resolution.key, "context", 100.0)


def _transliterated(rows: list[dict[str, Any]], resolutions: list[Resolution]) -> list[Resolution]:
    """Unknown Latin-script names joined to the one unknown Arabic name of the article they transliterate."""
    arabic = [(translit.arabic_skeleton(r.key), r) for r in resolutions
              if r.method == "new" and script_of(r.key) == "ar"]
    result = list(resolutions)
    for position, (row, resolution) in enumerate(zip(rows, resolutions)):
        if resolution.method != "new" or script_of(resolution.key) != "latin":
            continue
        if translit.latin_letters(resolution.key) < translit.MIN_LATIN_LETTERS:
            continue
        skeletons = {s for s in translit.latin_skeletons(resolution.key) if translit.plausible(s)}
        matches = {r.entity_id: r for skeleton, r in arabic
                   if skeleton in skeletons and r.type in COMPATIBLE_TYPES[row["label"]]}
        if len(matches) == 1:
            match = next(iter(matches.values()))
            result[position] = replace(resolution, entity_id=match.entity_id, type=match.type, method="translit")
    return result


def link_mentions(mentions: list[dict[str, Any]], table: AliasTable, seen: Iterable[str] = ()) -> Linked:
    """Add entity columns to mention rows; count entities per article; collect uncertain merges."""
    names = frozenset(seen) | {entity_key(row["surface"]) for row in mentions}
    by_article: dict[str, list[dict[str, Any]]] = {}
    for row in mentions:
        by_article.setdefault(row["article_id"], []).append(row)
    linked = Linked()
    for article_id, rows in by_article.items():
        first = [resolve(row["surface"], row["label"], table, day=row.get("day"), seen=names,
                         dateline=bool(row.get("dateline"))) for row in rows]
        countries = _countries(first, table)
        home = _home(rows, first, countries, table)
        context = frozenset({home}) if home else frozenset()
        resolutions = [resolve(row["surface"], row["label"], table, day=row.get("day"), context=context,
                               seen=names, dateline=bool(row.get("dateline")))
                       if resolution.ambiguous and context else resolution
                       for row, resolution in zip(rows, first)]
        resolutions = [_of_home_country(row, r, home, table) for row, r in zip(rows, resolutions)]
        resolutions = [_team_of(row, r, table) for row, r in zip(rows, resolutions)]
        resolutions = [_by_hint(row, r, table) for row, r in zip(rows, resolutions)]
        resolutions = _transliterated(rows, resolutions)
        _add(linked, rows, resolutions)
    return linked


def _add(linked: Linked, rows: list[dict[str, Any]], resolutions: list[Resolution]) -> None:
    per_article: dict[tuple[str, str], dict[str, Any]] = {}
    for row, resolution in zip(rows, resolutions):
        linked.mentions.append({k: v for k, v in row.items() if k not in LINKING_ONLY} | {
            "entity_id": resolution.entity_id,
            "entity_key": resolution.key,
            "link_method": resolution.method,
            "link_score": float(resolution.score),
        })
        key = (row["article_id"], resolution.entity_id)
        if key not in per_article:
            per_article[key] = {"article_id": key[0], "entity_id": key[1], "mention_count": 0,
                                "first_char": row["start_char"]}
        per_article[key]["mention_count"] += 1
        per_article[key]["first_char"] = min(per_article[key]["first_char"], row["start_char"])
        if resolution.review is not None:
            review = resolution.review
            linked.review.append({
                "article_id": row["article_id"], "mention_index": row["mention_index"],
                "surface": row["surface"], "entity_key": resolution.key, "label": row["label"],
                "entity_id": resolution.entity_id, "candidate_id": review.candidate_id,
                "candidate_name": review.candidate_name, "score": float(review.score), "reason": review.reason,
            })
    linked.article_entities += list(per_article.values())
