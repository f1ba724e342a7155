"""`python -m bench.peak ARGS...`: runs `akhbar ARGS` in this process, then prints its peak resident memory.

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


def peak_resident_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def main(args: list[str]) -> int:
    try:
        app(args, standalone_mode=False)
        code = 0
    except SystemExit as stop:
        code = stop.code or 0
    print(f"peak_resident_kb {peak_resident_kb()}", flush=True)
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
