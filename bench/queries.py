"""`python -m bench.queries WAREHOUSE`: the documented queries' latencies on a warehouse, as JSON (seconds).

Run by `python -m bench` in a process of its own, as an analyst's `akhbar query` or DuckDB session is.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from pathlib import Path

from core.settings import PROJECT_ROOT
from warehouse.query import run_query


def latencies(path: Path) -> dict[str, float]:
    """Median seconds of 3 runs of each query of docs/queries.md (after one to warm up), on the warehouse at
    ``path``, with the names of the synthetic warehouse's entities put in."""
    doc = (PROJECT_ROOT / "docs" / "queries.md").read_text(encoding="utf-8")
    queries = dict(re.findall(r"^### (.+?)\n\n```sql\n(.*?)```", doc, flags=re.S | re.M))
    substitutions = {"'kassym_jomart_tokayev'": "'e1'", "'xi_jinping'": "'e2'", "'sco'": "'e3'",
                     "'kazakhstan'": "'e4'", "'china'": "'e5'"}
    seconds = {}
    for title, sql in queries.items():
        for old, new in substitutions.items():
            sql = sql.replace(old, new)
        run_query(path, sql)  # warm
        samples = []
        for _ in range(3):
            started = time.perf_counter()
            run_query(path, sql)
            samples.append(time.perf_counter() - started)
        seconds[title] = statistics.median(samples)
    return seconds


if __name__ == "__main__":
    print(json.dumps(latencies(Path(sys.argv[1]))))
