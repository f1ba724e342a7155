"""Table rows, built in one place: one builder per table that a run writes outside NER.

Sentence and mention rows come from the NER adapter (``transforms.ner``),
link columns from the linker, entity totals from ``warehouse.entities``;
everything else a run stages is shaped here, so a column is named once
beside the schema in ``warehouse.tables``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from transforms import dedup

if TYPE_CHECKING:  # types only: the quarantine store and the CLI import this without datasketch
    from transforms.articles import Article
    from transforms.dedup import NearMatch


def article_row(
    article: Article, run_id: str, ingested_at: datetime, n_sentences: int = 0, n_tokens: int = 0,
    n_mentions: int = 0, near: NearMatch | None = None,
) -> dict[str, Any]:
    """An ``articles`` row: a NER-processed first copy (with its counts) or a near copy (with its match).

    It records the version of the metadata rules that made its fields and what came with the item
    outside its text, so that ``akhbar reprocess`` can derive them again.
    """
    meta = article.meta
    return {
        "article_id": article.article_id,
        "source_path": article.source_path,
        "text": article.text,
        "text_norm": article.text_norm,
        "text_chars": len(article.text),
        "text_norm_chars": len(article.text_norm),
        "n_sentences": n_sentences,
        "n_tokens": n_tokens,
        "n_mentions": n_mentions,
        "raw_sha256": article.raw_sha256,
        "run_id": run_id,
        "ingested_at": ingested_at,
        "source_id": article.source_id,
        "format": article.format,
        "encoding": article.encoding,
        "url": article.url,
        "title": meta.title,
        "title_source": meta.title_source,
        "dateline_city": meta.dateline_city,
        "published_date": meta.published_date,
        "date_source": meta.date_source,
        "agency": meta.agency,
        "agency_source": meta.agency_source,
        "body": article.body,
        "body_start": meta.body_start,
        "body_end": meta.body_end,
        "duplicate_of": near.duplicate_of if near else None,
        "duplicate_similarity": near.similarity if near else None,
        "metadata_rules": article.metadata_rules,
        "item_title": article.known.title,
        "item_published": article.known.published,
        "item_agency": article.known.agency,
        "registry_agency": article.known.default_agency,
        "author": article.known.author,
        "site_name": article.known.site_name,
    }


def duplicate_row(article: Article, duplicate_of: str, kind: str, similarity: float, run_id: str,
                  seen_at: datetime) -> dict[str, Any]:
    """A ``duplicates`` row: a later copy (``exact`` or ``near``) of a first copy."""
    return {"source_path": article.source_path, "article_id": article.article_id, "duplicate_of": duplicate_of,
            "kind": kind, "similarity": similarity, "run_id": run_id, "seen_at": seen_at}


def fingerprint_rows(signatures: dict[str, bytes], kept: set[str]) -> list[dict[str, Any]]:
    """``fingerprints`` rows of the first copies that are published."""
    return [{"article_id": i, "minhash": blob} for i, blob in signatures.items() if i in kept]


def fingerprint_band_rows(signatures: dict[str, bytes], layout: tuple[int, int]) -> list[dict[str, Any]]:
    """``fingerprint_bands`` rows of these signatures in one LSH layout (``transforms.dedup.band_keys``)."""
    bands, rows_per_band = layout
    return [{"article_id": i, "bands": bands, "rows_per_band": rows_per_band, "band": band, "band_key": key}
            for i, blob in signatures.items() for band, key in enumerate(dedup.band_keys(blob, layout))]


def inbox_file_row(source_path: str, size: int, mtime_ns: int, n_items: int, run_id: str) -> dict[str, Any]:
    return {"source_path": source_path, "size": size, "mtime_ns": mtime_ns, "n_items": n_items, "run_id": run_id}


def run_row(
    run_id: str, flow_run_id: str | None, started_at: datetime, finished_at: datetime, status: str, inbox: str,
    message: str | None = None, model: str | None = None, model_version: str | None = None,
    device: str | None = None, **counts: int,
) -> dict[str, Any]:
    """A ``runs`` row; counts not given (a run that failed early) are 0."""
    names = ("n_seen", "n_new", "n_skipped", "n_failed", "n_sentences", "n_mentions", "n_duplicates")
    unknown = set(counts) - set(names)
    if unknown:
        raise TypeError(f"not a run count: {sorted(unknown)}")
    return {"run_id": run_id, "flow_run_id": flow_run_id, "started_at": started_at, "finished_at": finished_at,
            **{name: counts.get(name, 0) for name in names},
            "model": model, "model_version": model_version, "status": status, "inbox": inbox, "message": message,
            "device": device}


def quarantine_row(item_id: str, source_path: str | None, reason: str, detail: str, level: str, run_id: str,
                   at: datetime, stored_path: Path, status: str) -> dict[str, Any]:
    """A ``quarantine`` event: an item put in (``open``) or taken out by a retry (``resolved``)."""
    return {"item_id": item_id, "source_path": source_path, "reason": reason, "detail": detail, "level": level,
            "run_id": run_id, "quarantined_at": at, "stored_path": str(stored_path), "status": status}


def message_of(parts: Iterable[str]) -> str | None:
    """A run's ``message``: what went wrong, in one line, or None."""
    return "; ".join(parts) or None
