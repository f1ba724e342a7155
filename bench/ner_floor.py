"""The NER floor as akhbar runs NER: the same chunks of pre-split sentences, tagged by as many worker processes
as ``flows/ner_workers.py`` starts, each with as many torch threads, the first free worker taking the next
chunk. NER alone: no reading, rows, staging, gate or publishing (bench/__main__.py's ``ner_floor`` is the same
in one process)."""

from __future__ import annotations

import os
import sys
import threading
import time

from core import helper_process
from core.helper_process import HelperProcess
from core.settings import Settings


def in_workers(documents: list[list[list[str]]], batch_articles: int, workers: int, settings: Settings) -> float:
    """Seconds to tag ``documents`` (each a list of sentences, each a list of tokens) in ``workers`` processes."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    settings = settings.model_copy(update={"torch_threads": settings.torch_threads or threads})
    helpers = [HelperProcess(__name__, env={"OMP_NUM_THREADS": str(settings.torch_threads)}) for _ in range(workers)]
    try:
        for helper in helpers:
            helper.send("load", settings)
        for helper in helpers:
            helper.receive()
        chunks = [[s for doc in documents[start:start + batch_articles] for s in doc]
                  for start in range(0, len(documents), batch_articles)]
        lock = threading.Lock()

        def feed(helper: HelperProcess) -> None:
            while True:
                with lock:
                    if not chunks:
                        return
                    chunk = chunks.pop(0)
                helper.call("tag", chunk)

        feeders = [threading.Thread(target=feed, args=(helper,)) for helper in helpers]
        started = time.perf_counter()
        for feeder in feeders:
            feeder.start()
        for feeder in feeders:
            feeder.join()
        return time.perf_counter() - started
    finally:
        for helper in helpers:
            helper.stop()


def serve(conn) -> None:
    helper_process.answer(conn, ("ready", os.getpid()))
    from core.collector import young_garbage_only
    from flows import nlp

    pipeline = None
    for kind, (argument,) in helper_process.requests(conn):
        if kind == "load":
            pipeline = nlp.get_pipeline(nlp.ensure_model(argument), argument)
            nlp.tag_shortest_first(pipeline.stanza, [["بكين", "و", "أستانا"]])  # warm-up
        else:
            with young_garbage_only():  # as akhbar's NER runs
                nlp.tag_shortest_first(pipeline.stanza, argument)
        helper_process.answer(conn, ("ok", None))
    helper_process.leave()


if __name__ == "__main__":
    serve(helper_process.pipe_from(sys.argv))
