"""Near copies looked for among the published signatures that share an LSH band key, not among all of them.

The lookup (``Warehouse.fingerprints_near``) must return every published
signature that datasketch's LSH index over all of them would return for a
new one, and the selection made from it must be the one made from all of
them. Signatures published without band keys in the current layout (another
threshold, or an older warehouse) are read whole.
"""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from transforms import dedup
from transforms.articles import build_article
from transforms.formats import parse_text
from transforms.selection import Selection, set_aside_near_copies
from warehouse.rows import fingerprint_band_rows, fingerprint_rows
from warehouse.store import Warehouse
from warehouse.tables import TABLES

THRESHOLD = dedup.NEAR_THRESHOLD
WORDS = [f"كلمة{i}" for i in range(3000)]


def story(rng: random.Random, n_words: int = 120) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n_words))


def edited(text: str, rng: random.Random, changes: int) -> str:
    words = text.split()
    for _ in range(changes):
        words[rng.randrange(len(words))] = rng.choice(WORDS)
    return " ".join(words)


def article(name: str, body: str):
    return build_article(parse_text(f"عنوان الخبر رقم {name}\n\n{body}\n".encode("utf-8"), f"{name}.txt"),
                         source_id="test")


@pytest.fixture
def published(tmp_path):
    """A warehouse of 120 published signatures: 100 with band keys in the threshold's layout, 10 without any,
    10 with keys in another threshold's only. Returns (warehouse, {article id: story}, unkeyed ids)."""
    rng = random.Random(7)
    stories = {f"p{i:03d}": story(rng) for i in range(120)}
    signatures = {i: dedup.to_bytes(dedup.signature(text)) for i, text in stories.items()}
    ids = sorted(signatures)
    keyed, other_layout = ids[:100], ids[110:]
    warehouse = Warehouse(tmp_path / "akhbar.duckdb")
    with warehouse.connection() as con:
        for table, rows in (
            ("fingerprints", fingerprint_rows(signatures, set(ids))),
            ("fingerprint_bands", fingerprint_band_rows({i: signatures[i] for i in keyed}, dedup.band_layout(THRESHOLD))
             + fingerprint_band_rows({i: signatures[i] for i in other_layout}, dedup.band_layout(0.9))),
        ):
            data = pa.Table.from_pylist(rows, schema=TABLES[table])  # noqa: F841  (read by DuckDB below)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM data")
    return warehouse, stories, set(ids[100:])


def candidates_of(stories: dict[str, str]) -> list:
    """Close edits of 9 keyed and 3 unkeyed published stories, looser edits of 4 more, and 6 new stories."""
    rng = random.Random(11)
    ids = sorted(stories)
    texts = [edited(stories[i], rng, 3) for i in ids[0:100:12] + ids[100:115:5]]
    texts += [edited(stories[i], rng, 25) for i in ids[3:100:25]]
    texts += [story(rng) for _ in range(6)]
    return [article(f"c{n:02d}", text) for n, text in enumerate(texts)]


@pytest.fixture
def looked_up(published):
    """The candidates of ``candidates_of``, their signatures, and what the lookup returned for them."""
    warehouse, stories, _ = published
    candidates = candidates_of(stories)
    signatures = {a.article_id: dedup.signature(a.body) for a in candidates}
    near = warehouse.fingerprints_near([dedup.to_bytes(s) for s in signatures.values()],
                                       dedup.band_layout(THRESHOLD))
    return candidates, signatures, near


def test_the_lookup_returns_what_an_index_of_every_published_signature_would(published, looked_up):
    _, stories, unkeyed = published
    _, signatures, near = looked_up
    assert {i for i, _ in near.unbanded} == unkeyed
    everything = dedup.NearDuplicateIndex(THRESHOLD)
    for i, text in stories.items():
        everything.add(i, dedup.signature(text))
    expected = {i for s in signatures.values() for i in everything._lsh.query(s)} - unkeyed
    assert {i for i, _ in near.banded} == expected
    assert 8 <= len(expected) < 40  # the near copies' originals, and few others: not the 100 keyed signatures


def test_the_selection_from_the_lookup_is_the_selection_from_every_signature(published, looked_up):
    _, stories, unkeyed = published
    candidates, signatures, near = looked_up
    every = [(i, dedup.to_bytes(dedup.signature(text))) for i, text in sorted(stories.items())]

    looked_up = set_aside_near_copies(Selection(), candidates, near.all, THRESHOLD, signatures)
    from_all = set_aside_near_copies(Selection(), candidates, every, THRESHOLD)
    assert [a.article_id for a in looked_up.to_annotate] == [a.article_id for a in from_all.to_annotate]
    assert looked_up.near_copies == from_all.near_copies
    assert len(from_all.near_copies) >= 10  # the close edits, keyed or not
    assert any(match.duplicate_of in unkeyed for _, match in looked_up.near_copies)
    assert looked_up.fingerprints == from_all.fingerprints


def test_nothing_published_or_nothing_asked_reads_nothing(tmp_path, published):
    layout = dedup.band_layout(THRESHOLD)
    assert Warehouse(tmp_path / "none" / "akhbar.duckdb").fingerprints_near([b"\0" * 512], layout).all == []
    warehouse, _, _ = published
    assert warehouse.fingerprints_near([], layout).all == []


def test_band_keys_agree_where_datasketch_puts_two_signatures_in_one_bucket():
    rng = random.Random(3)
    text = story(rng)
    layout = dedup.band_layout(THRESHOLD)
    first, second = (dedup.to_bytes(dedup.signature(t)) for t in (text, edited(text, rng, 4)))
    index = dedup.NearDuplicateIndex(THRESHOLD)
    index.add("first", dedup.from_bytes(first))
    shared = [a == b for a, b in zip(dedup.band_keys(first, layout), dedup.band_keys(second, layout))]
    assert len(shared) == layout[0]
    assert any(shared) == ("first" in index._lsh.query(dedup.from_bytes(second)))
    width = 4 * layout[1]
    assert shared == [first[b * width:(b + 1) * width] == second[b * width:(b + 1) * width]
                      for b in range(layout[0])]
