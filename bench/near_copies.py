"""Near copies of a batch looked for in a warehouse that has published for a long time.

A run compares each new article's MinHash signature with the published ones.
Reading every published signature into an LSH index costs a run time in
proportion to the warehouse, not to the batch; the band keys the warehouse
keeps (``transforms/dedup.py``) let DuckDB hand over only those that can
match. This times both, for one batch of the bench corpus, against
warehouses of 10,000 and 100,000 published signatures, and checks that they
select the same.

`python -m bench.near_copies` prints the figures; `python -m bench` adds them to docs/performance.md.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from bench.corpus import SAMPLES, write_corpus
from transforms import dedup
from transforms.articles import build_article
from transforms.formats import parse_text
from transforms.selection import Selection, set_aside_near_copies
from warehouse.rows import fingerprint_band_rows
from warehouse.store import Warehouse
from warehouse.tables import TABLES

THRESHOLD = dedup.NEAR_THRESHOLD


def random_signatures(article_ids, seed: int = 0) -> dict[str, bytes]:
    """Stored signatures (``dedup.to_bytes``) of random values, one per article id."""
    rng = np.random.default_rng(seed)
    return {i: rng.integers(0, 2**32, dedup.NUM_PERM, dtype=np.uint32).astype("<u4").tobytes() for i in article_ids}


def publish_signatures(con, signatures: dict[str, bytes]) -> None:
    """Insert ``signatures`` and their band keys as published, through an open warehouse connection."""
    con.register("signature_rows", pa.table({"article_id": list(signatures),
                                              "minhash": pa.array(list(signatures.values()), pa.binary())}))
    con.execute("INSERT INTO fingerprints BY NAME SELECT * FROM signature_rows")
    con.register("band_rows", pa.Table.from_pylist(fingerprint_band_rows(signatures, dedup.band_layout(THRESHOLD)),
                                                   schema=TABLES["fingerprint_bands"]))
    con.execute("INSERT INTO fingerprint_bands BY NAME SELECT * FROM band_rows")


def published_warehouse(path: Path, n: int, near: dict[str, bytes], seed: int = 0) -> None:
    """``n`` published signatures with their band keys: random ones, and ``near`` (signatures the batch has near
    copies of) among them."""
    with Warehouse(path).connection() as con:
        publish_signatures(con, random_signatures((f"published-{i:07d}" for i in range(n - len(near))), seed) | near)
        con.execute("CHECKPOINT")


def batch(folder: Path, articles: int) -> tuple[list, dict[str, bytes]]:
    """The bench corpus's articles, and the signatures of an earlier version of every fifth one."""
    write_corpus(folder, articles, SAMPLES, seed=23)
    built = [build_article(parse_text(p.read_bytes(), p.name), source_id="bench") for p in sorted(folder.glob("*.txt"))]
    earlier = {f"earlier-{a.article_id}": dedup.to_bytes(dedup.signature(a.body.replace("،", " ،", 3)))
               for a in built[::5]}
    return built, earlier


def figures(articles: int = 60, sizes: tuple[int, ...] = (10_000, 100_000)) -> list[tuple[str, str, str, bool | None]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="akhbar-bench-near-") as folder:
        work = Path(folder)
        candidates, earlier = batch(work / "corpus", articles)
        for n in sizes:
            warehouse = Warehouse(work / f"published-{n}" / "akhbar.duckdb")
            published_warehouse(warehouse.path, n, earlier)

            started = time.perf_counter()
            signatures = {a.article_id: dedup.signature(a.body) for a in candidates}
            near = warehouse.fingerprints_near([dedup.to_bytes(s) for s in signatures.values()],
                                               dedup.band_layout(THRESHOLD))
            looked_up = set_aside_near_copies(Selection(), candidates, near.all, THRESHOLD, signatures)
            lookup = time.perf_counter() - started

            started = time.perf_counter()
            with warehouse.connection() as con:
                every = [(i, bytes(b)) for i, b in con.execute("SELECT article_id, minhash FROM fingerprints").fetchall()]
            from_all = set_aside_near_copies(Selection(), candidates, every, THRESHOLD)
            reading_all = time.perf_counter() - started

            same = (looked_up.near_copies == from_all.near_copies and len(looked_up.near_copies) == len(earlier)
                    and [a.article_id for a in looked_up.to_annotate] == [a.article_id for a in from_all.to_annotate])
            rows.append((f"near copies of {len(candidates)} new articles among {n:,} published signatures: "
                         f"by band keys / reading every signature (same selection: {'yes' if same else 'NO'})",
                         f"{lookup:.3f} s ({len(near.all)} signatures read) / {reading_all:.2f} s "
                         f"({reading_all / lookup:.0f}×)", "", None))
    return rows


if __name__ == "__main__":
    for name, value, _, _ in figures():
        print(f"{name:<130} {value}")
