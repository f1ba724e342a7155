"""A helper for tests/test_helper_process.py: it "loads" (a marker of which process loaded), then starts its
siblings, optionally with a thread of its own running; each answers who loaded what it holds."""

from __future__ import annotations

import os
import sys
import threading

from core import helper_process

loaded_by: int | None = None


def serve(conn, siblings: list[int]) -> None:
    global loaded_by
    helper_process.answer(conn, ("ready", os.getpid()))
    while conn is not None:
        current, conn = conn, None
        for kind, arguments in helper_process.requests(current):
            if kind == "load":
                if loaded_by is None:
                    loaded_by = os.getpid()
                if siblings:
                    stop = threading.Event()
                    if arguments[0]:  # a thread of its own running: no fork
                        threading.Thread(target=stop.wait, daemon=True).start()
                    own = helper_process.start_siblings(current, siblings)
                    stop.set()
                    siblings = []
                    if own is not current:
                        conn = own
                        break
                helper_process.answer(current, ("ok", (os.getpid(), os.getppid(), loaded_by)))
    helper_process.leave()


if __name__ == "__main__":
    serve(helper_process.pipe_from(sys.argv), helper_process.sibling_pipes(sys.argv))
