"""No-op run against a trivial flow run, both timed in one fresh process.

`python -m bench.noop INBOX WAREHOUSE` prints JSON. The main benchmark runs
this in a subprocess so that what it measured before (model pipelines,
hundreds of Stanza documents, a second warehouse) does not weigh on either side.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

from core.settings import offline_model_environment

offline_model_environment(os.environ)  # before anything reads the model's folder

import core.prefect_env  # noqa: E402,F401  (before prefect)


def trivial_flow_seconds(repeats: int = 5) -> float | None:
    """Median seconds of a flow that does nothing, after a first run that starts Prefect's local server."""
    from prefect import flow  # heavy: `python -m bench` imports this module long before its first flow

    @flow(name="bench-trivial")
    def trivial() -> int:
        return 1

    trivial()  # starts Prefect's local server: a cost of any flow, not of akhbar
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        trivial()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) if samples else None


def main(inbox: str, warehouse: str) -> dict:
    from flows.ingest import ingest  # prefect: kept out of `python -m bench`, which imports this module

    trivial = trivial_flow_seconds()
    noop_runs, summaries = [], []
    for _ in range(3):
        started = time.perf_counter()
        summaries.append(ingest(inbox=inbox, warehouse=warehouse))
        noop_runs.append(time.perf_counter() - started)
    return {
        "trivial": trivial,
        "noop": statistics.median(noop_runs),
        "noop_runs": noop_runs,
        "new": sum(s.n_new for s in summaries),
        "model_loaded": any(s.model_loaded for s in summaries),
        "stages": {k: round(v, 3) for k, v in summaries[-1].timings.items()},
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
