"""What of a batch is new: published stories and repeats set aside, the first copy winning.

Pure: what the warehouse already holds is passed in (known ids, recorded
copies, published fingerprints). Exact copies share a content id; near copies
are found by MinHash (``transforms.dedup``). Copies are recorded, never
NER-processed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping

from transforms import dedup
from transforms.articles import Article
from transforms.rejection import Rejection

if TYPE_CHECKING:
    from datasketch import MinHash


@dataclass
class Selection:
    """What a batch holds once published stories and repeats are set aside."""

    to_annotate: list[Article] = field(default_factory=list)
    near_copies: list[tuple[Article, dedup.NearMatch]] = field(default_factory=list)
    exact_copies: list[tuple[Article, str]] = field(default_factory=list)  # (copy, first copy's id)
    fingerprints: dict[str, bytes] = field(default_factory=dict)  # first copies' MinHash signatures
    n_skipped: int = 0
    # The LSH layout the near copies were looked for in, and the published signatures that had no band keys in
    # it (read whole this time): both staged with the batch, so that later runs find them by their keys.
    band_layout: tuple[int, int] | None = None
    unbanded: dict[str, bytes] = field(default_factory=dict)


def set_aside_repeats(
    articles: Iterable[Article], known: Mapping[str, str], recorded: set[tuple[str, str]]
) -> tuple[Selection, list[Article]]:
    """Exact repeats set aside; returns the selection so far and the first copies still to compare.

    ``known``: published article id → the source path of its first copy;
    ``recorded``: (source_path, article_id) copies already in ``duplicates``.
    A repeat is counted as skipped, and recorded as a copy once, unless it is
    the first copy itself read again.
    """
    selection, first_path, recorded = Selection(), dict(known), set(recorded)
    candidates: list[Article] = []
    for article in articles:
        first = first_path.get(article.article_id)
        if first is None:
            first_path[article.article_id] = article.source_path
            candidates.append(article)
            continue
        selection.n_skipped += 1
        if first != article.source_path and (article.source_path, article.article_id) not in recorded:
            recorded.add((article.source_path, article.article_id))
            selection.exact_copies.append((article, article.article_id))
    return selection, candidates


def set_aside_near_copies(
    selection: Selection, candidates: Iterable[Article], published: Iterable[tuple[str, bytes]], threshold: float,
    signatures: Mapping[str, "MinHash"] | None = None,
) -> Selection:
    """Near copies of a published or an earlier first copy set aside; the rest is to annotate.

    ``published``: every published signature, or only those an LSH index of all of them could return for the
    candidates (``Warehouse.fingerprints_near``): the outcome is the same. ``signatures``: the candidates'
    own, when already made.
    """
    index = dedup.NearDuplicateIndex(threshold)
    for article_id, blob in published:
        index.add(article_id, dedup.from_bytes(blob))
    for article in candidates:
        signature = signatures.get(article.article_id) if signatures else None
        if signature is None:
            signature = dedup.signature(article.body)
        match = index.match(signature)
        if match:
            selection.near_copies.append((article, match))
        else:
            index.add(article.article_id, signature)
            selection.fingerprints[article.article_id] = dedup.to_bytes(signature)
            selection.to_annotate.append(article)
    return selection


def set_aside_orphans(selection: Selection, kept_ids: set[str]) -> list[tuple[Article, dedup.NearMatch]]:
    """Remove near copies whose first copy, new in this batch, was not kept; they go to quarantine with it."""
    orphans = [(a, m) for a, m in selection.near_copies
               if m.duplicate_of in selection.fingerprints and m.duplicate_of not in kept_ids]
    selection.near_copies = [pair for pair in selection.near_copies if pair not in orphans]
    return orphans


def orphan_rejections(orphans: Iterable[tuple[Article, dedup.NearMatch]]) -> list[Rejection]:
    return [Rejection.of_article(article, "first_copy_rejected",
                                 f"near copy ({match.similarity:.2f}) of {match.duplicate_of}, which was quarantined "
                                 "in this run; retry them together")
            for article, match in orphans]
