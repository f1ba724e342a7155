"""Python's cyclic garbage collector around what a process builds once and keeps: imports, the model, the
gate's context.

Building them makes hundreds of thousands of objects, none of them garbage, and the collector's full passes
rescan all of them every time the count has grown by a quarter: about 0.8 s of a cold 65-article
``akhbar run`` went to eight such passes. While such a thing is built, the collector waits; once it is
built, everything alive is moved out of its reach (``gc.freeze``), so later passes scan only what runs make.
A cycle that happened to be garbage at that moment is kept for the life of the process: a one-time,
bounded cost, as for the warm worker's freeze after its warm-up (``flows/warm.py``).
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_depth = 0
_lock = threading.Lock()
_was_enabled = True


@contextmanager
def kept_for_the_process() -> Iterator[None]:
    """No collections while the block builds what the process keeps; then all of it frozen out of later ones.
    Nested blocks freeze once, at the outermost."""
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
            if _depth == 0:
                gc.freeze()
                if _was_enabled:
                    gc.enable()
