"""Fault injection at named points of a run, for the reliability tests.

``AKHBAR_FAULT=<point>:<fault>`` makes a run fail at one place, the way a
crash or a storage error would make it fail there. Unset (the normal case),
every call is a dictionary lookup and nothing else.

Points, in the order a run reaches them:

- ``intake``: sources read, articles not yet built;
- ``ner``: a chunk annotated (and its NER cached), its rows not yet staged;
- ``staged``: the whole batch staged, not yet validated;
- ``validation``: the checkpoints have run, their results not yet used;
- ``stage_write``: any Parquet write into the staging area;
- ``publish``: inside the publishing transaction, after the first table;
- ``published``: committed, before the replica copy, the lake move and the staging clean-up.

Faults:

- ``kill``: SIGKILL this process, which no handler can catch or tidy after;
- ``enospc``: the write fails as on a full disk;
- ``erofs``: the write fails as in a read-only folder.
"""

from __future__ import annotations

import errno
import os
import signal

ENV = "AKHBAR_FAULT"
POINTS = ("intake", "ner", "staged", "validation", "stage_write", "publish", "published")
FAULTS = {"kill": None, "enospc": errno.ENOSPC, "erofs": errno.EROFS}


def at(point: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    where, _, fault = spec.partition(":")
    if fault not in FAULTS or where not in POINTS:  # a misspelt fault must not pass silently as "no fault"
        raise ValueError(f"{ENV}={spec!r}: expected <point>:<fault> with point in {POINTS}, fault in {tuple(FAULTS)}")
    if where != point:
        return
    if fault == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    code = FAULTS[fault]
    raise OSError(code, f"{os.strerror(code)} (injected by {ENV} at {point})")
