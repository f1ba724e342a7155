"""`python -m bench.peak ARGS...`: runs `akhbar ARGS` in this process, then prints its peak resident memory,
its gate helper's and its NER workers' (together), and the workers' proportional set size at the end.

The peak is this process's ``VmHWM`` (Linux ``/proc/self/status``), which
starts afresh at ``exec``. The ``ru_maxrss`` a parent reads from ``wait4``
does not: it keeps the high-water mark of the forked copy of the parent from
before ``exec``, so a benchmark that has loaded the model would be measuring
itself.

Resident sizes count a page shared by several processes once in each: NER
workers forked from the first share its model, so their sum overstates what
they hold. Their proportional set size (``Pss`` of ``/proc/PID/smaps_rollup``:
each shared page divided among its sharers) is what they hold together; the
kernel keeps no peak of it, so it is read at the run's end, with the workers
still up and everything they tagged behind them.
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


def proportional_kb(pid: str) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise RuntimeError(f"no Pss in /proc/{pid}/smaps_rollup (Linux only)")


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
    pids = [str(pid) for pid in workers.pids()] if workers is not None else []
    workers_kb = sum(peak_resident_kb(pid) for pid in pids)
    print(f"peak_resident_kb {peak_resident_kb()} {helper_kb} {workers_kb} {sum(proportional_kb(p) for p in pids)}",
          flush=True)
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
