"""`python -m bench.peak ARGS...`: runs `akhbar ARGS` in this process, then prints its peak resident memory,
its gate helper's and its NER workers' (together).

The peak is this process's ``VmHWM`` (Linux ``/proc/self/status``), which
starts afresh at ``exec``. The ``ru_maxrss`` a parent reads from ``wait4``
does not: it keeps the high-water mark of the forked copy of the parent from
before ``exec``, so a benchmark that has loaded the model would be measuring
itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

from akhbar.cli import app


def peak_resident_kb(pid: str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status (Linux only)")


def main(args: list[str]) -> int:
    from expectations import gate_helper
    from flows import ner_workers

    try:
        app(args, standalone_mode=False)
        code = 0
    except SystemExit as stop:
        code = stop.code or 0
    # The run's gate helper and NER workers (expectations/gate_helper.py, flows/ner_workers.py): theirs counts too.
    helper, workers = gate_helper.helping(), ner_workers.working()
    helper_kb = peak_resident_kb(str(helper.process.pid)) if helper is not None else 0
    workers_kb = sum(peak_resident_kb(str(pid)) for pid in workers.pids()) if workers is not None else 0
    print(f"peak_resident_kb {peak_resident_kb()} {helper_kb} {workers_kb}", flush=True)
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
