"""The page archive: every story page taken from the web, kept as fetched, for replay.

A page is stored once, by the SHA-256 of its bytes (``articles.raw_sha256``): ``pages/<aa>/<sha256>.html.gz``.
Written before the batch is published, so a run that dies after it leaves a page nobody points to (it is
written again, unchanged, by the run that takes the story in), never an article without its page.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path


class PageArchive:
    def __init__(self, root: Path):
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.html.gz"

    def put(self, raw: bytes) -> Path:
        """Keep a page's bytes (once); returns where."""
        target = self.path(hashlib.sha256(raw).hexdigest())
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(gzip.compress(raw, mtime=0))
            os.replace(tmp, target)
        return target

    def get(self, sha256: str) -> bytes:
        """A page's bytes exactly as fetched."""
        return gzip.decompress(self.path(sha256).read_bytes())
