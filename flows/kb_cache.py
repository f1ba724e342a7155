"""The built knowledge base, kept between processes.

Building it from its tables (``flows/intake.load_knowledge_base``: about 88,000 names normalized and indexed)
takes about 2.3 s, in every new process: most of what a cold run pays beyond the model. The built table is
written once to ``AKHBAR_CACHE_DIR/kb/`` and read back in about 0.3 s.

The copy is keyed by everything the table is made from: each source file's name, size and modification time,
the code that builds it (the contents of
``transforms/`` and of this module's neighbours that read the files), and the Python version. A change to
any of them makes a new copy; nothing stale is ever read.

It is a pickle of akhbar's own objects, written by akhbar into the user's own cache folder: as trusted as
the code beside it (whoever can write there can write the code too). Unlike the model's files, which may
come from a download and are read without pickle (``flows/model_load.py``), nothing from outside goes in.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import pickle
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parent.parent
_BUILDERS = ("flows/intake.py", "flows/kb_places.py", "flows/kb_import.py", "flows/kb_cache.py")


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted((_ROOT / "transforms").glob("*.py")) + [_ROOT / name for name in _BUILDERS]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key(stamp: tuple) -> str:
    """Each file by name, size and modification time, not by folder: two warehouses without imports of
    their own (``<warehouse folder>/kb/``) share a table."""
    files = []
    for path, modified in stamp:
        path = Path(path)
        files.append((path.name, path.stat().st_size if modified is not None else None, modified))
    identity = repr((files, code_fingerprint(), sys.version_info[:3], pickle.HIGHEST_PROTOCOL))
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


def read_table(folder: Path | None, stamp: tuple) -> Any | None:
    """The table built from ``stamp``'s files, when a copy of it is in ``folder``."""
    if folder is None:
        return None
    path = folder / f"{cache_key(stamp)}.pickle"
    was_enabled = gc.isenabled()
    gc.disable()  # a graph of this many small objects sets the collector off many times over, for nothing
    try:
        with open(path, "rb") as file:
            return pickle.load(file)
    except FileNotFoundError:
        return None
    except Exception as error:  # noqa: BLE001  (a damaged copy is built again)
        log.warning("knowledge base copy %s unreadable (%s); building it again", path, error)
        return None
    finally:
        if was_enabled:
            gc.enable()


def write_table(folder: Path | None, stamp: tuple, table: Any) -> None:
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.pickle"):  # one table is current; older ones only take room
            old.unlink(missing_ok=True)
        handle, staging = tempfile.mkstemp(prefix=".kb-", dir=folder)
        with os.fdopen(handle, "wb") as file:
            pickle.dump(table, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(staging, folder / f"{cache_key(stamp)}.pickle")
    except OSError as error:  # a read-only or full cache only costs speed
        log.warning("could not keep the knowledge base in %s: %s", folder, error)
