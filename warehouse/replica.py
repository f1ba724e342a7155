"""The readers' copy of the warehouse, and how the writer keeps it current.

DuckDB lets one process write a file, and a reader in another process holding
it open would block that writer (and vice versa). Readers therefore open a
replica, ``akhbar.read.duckdb``, which the writer swaps in with a rename after
each publish: readers never wait, never make the writer wait, and see the last
published state; a reader that has an old copy open keeps it until it closes
(the rename leaves its inode alone).

A publish changes a few megabytes of a file that grows with every run, so the
writer does not copy the whole file each time. The replica it swapped out is
kept under a hidden name (the spare); at the next publish, if no reader holds
the spare any more, only the blocks that differ from the main file are
written into it, and it is swapped in. A spare still held by a reader is left
to that reader, and a full copy is made instead.
"""

from __future__ import annotations

import errno
import os
import shutil
import struct
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: the replica is copied whole at every publish
    fcntl = None

# DuckDB's default storage block; a changed DuckDB block touches at most two of these.
_CHUNK = 256 * 1024


def replica_path(path: Path) -> Path:
    """The readers' copy of the warehouse: ``akhbar.duckdb`` → ``akhbar.read.duckdb``."""
    return path.with_name(f"{path.stem}.read{path.suffix or '.duckdb'}")


def spare_path(path: Path) -> Path:
    """The replica swapped out by the last publish, rewritten in place by the next one."""
    replica = replica_path(path)
    # Hidden, and never "<replica>.tmp": that is DuckDB's default spill folder for a reader of the replica.
    return replica.with_name(f".{replica.name}.spare")


def refresh_replica(path: Path) -> Path:
    """Make the replica byte for byte the (checkpointed, closed) main file, and swap it in atomically."""
    replica = replica_path(path)
    spare = spare_path(path)
    copy = replica.with_name(f".{replica.name}.swap")
    kept = replica.with_name(f".{replica.name}.keep")
    for leftover in (copy, kept):
        _remove(leftover)  # from a writer killed mid-refresh
    if spare.exists() and not spare.is_file():
        _remove(spare)  # not a file this code wrote: it would stop the swap below
    fresh = spare if _rewrite_unheld(path, spare) else None
    if fresh is None:
        shutil.copyfile(path, copy)
        fresh = copy
    keep_old = replica.is_file() and _hard_link(replica, kept)
    os.replace(fresh, replica)
    # A spare held by a reader leaves the folder here (that reader keeps its inode) and is never
    # probed again: closing the probe's descriptor dropped the lock of any reader in this process.
    if keep_old:
        os.replace(kept, spare)
    else:
        spare.unlink(missing_ok=True)
    return replica


def _rewrite_unheld(source: Path, target: Path) -> bool:
    """Rewrite ``target`` into a copy of ``source`` if no reader holds it; False if it is held or missing.

    DuckDB readers hold their file with a POSIX lock. An open-file-description
    lock conflicts with those, including ones held by this very process, and
    is kept while the blocks are written, so a reader cannot open the file
    half rewritten. Where such locks do not exist, the caller copies instead.
    """
    if not hasattr(fcntl, "F_OFD_SETLK") or not target.is_file():
        return False
    fd = os.open(target, os.O_RDWR)
    try:
        if not _lock_exclusively(fd):
            return False
        _write_differences(source, fd)
        os.fsync(fd)  # written in place: the rename below must not expose blocks still in flight
        return True
    finally:
        os.close(fd)


def _write_differences(source: Path, fd: int) -> int:
    """Overwrite the chunks of ``fd`` that differ from ``source``, and cut it to its length; bytes written."""
    ours, theirs = bytearray(_CHUNK), bytearray(_CHUNK)
    written = offset = 0
    with open(source, "rb", buffering=0) as src:
        while n := src.readinto(ours):
            # Whole buffers compared: past a short last chunk they may differ, costing one needless write.
            if os.preadv(fd, [theirs], offset) != n or ours != theirs:
                os.pwrite(fd, memoryview(ours)[:n], offset)
                written += n
            offset += n
    os.ftruncate(fd, offset)
    return written


def _lock_exclusively(fd: int) -> bool:
    # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for an open-file-description lock).
    request = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, request)
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _hard_link(existing: Path, new: Path) -> bool:
    try:
        os.link(existing, new)
    except OSError:
        return False  # a filesystem without hard links: the next publish copies the whole file
    return True


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
