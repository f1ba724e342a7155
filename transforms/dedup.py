"""Near-duplicate detection: MinHash signatures over word shingles of the body.

Exact copies share a content id (the hash of the normalized text) and never
get here. Near copies, the same wire story republished with a new headline,
extra site furniture or a few edited words, share most of their word
3-grams: their estimated Jaccard similarity is high where two different
stories on the same visit stay far below the threshold. Signatures are
compared against each other in memory with datasketch's LSH index; the
warehouse keeps them as 512-byte blobs, so earlier articles are matched too.

A run must not load every published signature to find the few that can
match (15 s at 100,000 articles). The warehouse also keeps each signature's
LSH band keys (:func:`band_keys`), one per band of the index's layout
(:func:`band_layout`): the published signatures that share a key with a new
one are the only ones the index could return for it, and DuckDB finds them
by a join.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from datasketch import MinHash

from transforms.normalize import normalize_key

NUM_PERM = 128
SHINGLE_WORDS = 3
NEAR_THRESHOLD = 0.7
# Fixed: signatures stored in the warehouse must stay comparable across runs and versions.
_SEED = 20240705
_SCHEME = "affine32"  # datasketch 2's 32-bit scheme: unbiased, 4 bytes per value
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class NearMatch:
    duplicate_of: str
    similarity: float


def shingles(text: str, width: int = SHINGLE_WORDS) -> set[bytes]:
    """Word n-grams of the normalized text; punctuation and spacing do not count."""
    tokens = _TOKEN.findall(normalize_key(text))
    if len(tokens) < width:
        return {" ".join(tokens).encode()} if tokens else set()
    return {" ".join(tokens[i : i + width]).encode() for i in range(len(tokens) - width + 1)}


# datasketch is imported where a signature is made: importing it loads scipy's integrators (0.4 s), which a
# run with nothing new never needs.


def signature(text: str) -> MinHash:
    from datasketch import MinHash

    sig = MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME)
    sig.update_batch(list(shingles(text)))
    return sig


def to_bytes(sig: MinHash) -> bytes:
    return sig.hashvalues.astype("<u4").tobytes()


def from_bytes(blob: bytes) -> MinHash:
    from datasketch import MinHash

    values = np.frombuffer(blob, dtype="<u4").astype(np.uint32)
    return MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME, hashvalues=values)


class NearDuplicateIndex:
    """Signatures of articles seen so far; :meth:`match` finds the most similar earlier one."""

    def __init__(self, threshold: float = NEAR_THRESHOLD):
        from datasketch import MinHashLSH

        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._signatures: dict[str, MinHash] = {}

    def __len__(self) -> int:
        return len(self._signatures)

    def add(self, article_id: str, sig: MinHash) -> None:
        if article_id not in self._signatures:
            self._lsh.insert(article_id, sig)
            self._signatures[article_id] = sig

    def match(self, sig: MinHash) -> NearMatch | None:
        scored = [(float(sig.jaccard(self._signatures[c])), c) for c in self._lsh.query(sig)]
        scored = [(s, c) for s, c in scored if s >= self.threshold]
        if not scored:
            return None
        similarity, candidate = min(scored, key=lambda sc: (-sc[0], sc[1]))  # most similar, then stable
        return NearMatch(candidate, round(similarity, 4))


@lru_cache(maxsize=8)
def band_layout(threshold: float) -> tuple[int, int]:
    """(bands, rows per band) of datasketch's LSH index for ``threshold``: its own optimum, as
    :class:`NearDuplicateIndex` uses it."""
    from datasketch import MinHashLSH

    index = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    return index.b, index.r


def band_keys(blob: bytes, layout: tuple[int, int]) -> list[int]:
    """One signed 64-bit key per band of a stored signature (:func:`to_bytes`): BLAKE2b over the band's bytes.

    Two signatures share a band's key where datasketch's index puts them in one bucket (their values in that
    band are equal). A 64-bit collision would only add a candidate, which the similarity check drops.
    """
    bands, rows = layout
    width = 4 * rows
    return [int.from_bytes(hashlib.blake2b(blob[band * width:(band + 1) * width], digest_size=8).digest(),
                           "little", signed=True) for band in range(bands)]
