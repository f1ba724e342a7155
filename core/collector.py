"""Python's cyclic garbage collector, paused where a pass would only rescan objects that are not garbage.

A full pass scans every tracked object in the process, and passes come as allocations grow, so bursts of
allocation set them off. Two kinds of burst are paused here, sharing one count so that the collector
resumes when the last pause in any thread ends:

- :func:`young_garbage_only`: a Stanza call, or the rows made from its output. It allocates hundreds of
  thousands of small objects (documents, sentences, tokens, with parent links); the full passes they set
  off rescanned the model, Prefect and Great Expectations, 7–12% of a NER run (measured with
  ``gc.callbacks``). Collecting only the youngest generation when the call ends frees the same cycles for
  a fraction of that.
- :func:`kept_for_the_process`: what a process builds once and keeps (the flow layer's imports, the model,
  the gate's context). None of it is garbage, and eight full passes over it cost 0.8 s of a cold
  65-article ``akhbar run``. Once built, everything alive is moved out of the collector's reach
  (``gc.freeze``), so later passes scan only what runs make. A cycle that happened to be garbage at that
  moment is kept for the life of the process: a one-time, bounded cost, as for the warm worker's freeze
  after its warm-up (``flows/warm.py``).
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_depth = 0
_was_enabled = True


@contextmanager
def _paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


@contextmanager
def young_garbage_only() -> Iterator[None]:
    """No collections during the block; the youngest generation collected when it ends."""
    try:
        with _paused():
            yield
    finally:
        gc.collect(0)


@contextmanager
def kept_for_the_process() -> Iterator[None]:
    """No collections while the block builds what the process keeps; then all of it frozen out of later
    passes (not when the block fails: what it built may be garbage then)."""
    with _paused():
        yield
        gc.freeze()
