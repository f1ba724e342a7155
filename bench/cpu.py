"""CPU-seconds of a run, process by process: the run's own, its NER workers', its gate helper's and the
Prefect API's (Linux ``/proc``, as ``bench/peak.py`` reads memory).

They bound how close a run can come to a target stated against wall time. A run of T CPU-seconds on n CPUs
takes at least T / n seconds however well its processes share the CPUs: end to end / the NER floor as the run
tags (which keeps every CPU busy with NER alone) is at most floor seconds × n / T, and a cold command is at
least its T / n.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Iterable

# A helper process runs as ``python -m <module>`` (core/helper_process.py); a forked NER worker keeps its
# parent's command line. The Prefect API is akhbar's shared one, or the temporary server Prefect starts itself
# (as in the bench's own process).
ROLES = {"NER workers": ("flows.ner_workers",), "gate helper": ("expectations.gate_helper",),
         "Prefect API": ("flows.local_api", "prefect.server.api.server:create_app")}
OTHER = "other"
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100  # /proc is Linux's: elsewhere nothing is read


def _cpu(pid: int) -> float | None:
    """CPU-seconds a process has used so far (user + system), None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _role(command: str) -> str:
    return next((role for role, markers in ROLES.items() if any(m in command for m in markers)), OTHER)


def _tree(root: int) -> list[int]:
    """``root`` and its descendants, found through each thread's ``/proc/PID/task/TID/children`` (only the tree
    is read, so a sampler takes little of the CPU it measures)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                todo += map(int, Path(f"/proc/{pid}/task/{task}/children").read_text().split())
            except OSError:
                pass
    return found


def processes(root: int) -> dict[int, tuple[str, float]]:
    """``root`` (role ``run``), its descendants and the Prefect API wherever it was started (a shared one
    outlives the command that started it): pid → (role, CPU-seconds so far)."""
    found: dict[int, tuple[str, float]] = {}
    for pid in _tree(root):
        if (used := _cpu(pid)) is not None:
            found[pid] = ("run" if pid == root else _role(_command(pid)), used)
    others = (int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and int(p.name) not in found)
    for pid in others:
        if _role(_command(pid)) == "Prefect API" and (used := _cpu(pid)) is not None:
            found[pid] = ("Prefect API", used)
    return found


def prefect_apis(marker: str) -> dict[int, tuple[str, float]]:
    """The Prefect API processes whose command line holds ``marker`` (an akhbar local API names its state file,
    under its ``PREFECT_HOME``): pid → (role, CPU-seconds so far), a baseline for :class:`Sampler`."""
    return {pid: reading for pid, reading in processes(os.getpid()).items()
            if reading[0] == "Prefect API" and marker in _command(pid)}


def _by_role(readings: Iterable[tuple[str, float]]) -> dict[str, float]:
    """CPU-seconds summed by role, every role present."""
    totals = {"run": 0.0, **{role: 0.0 for role in ROLES}, OTHER: 0.0}
    for role, used in readings:
        totals[role] += used
    return totals


def snapshot(root: int | None = None) -> dict[str, float]:
    """CPU-seconds so far, by role, of ``root`` (this process by default) and the processes of :func:`processes`."""
    return _by_role(processes(root or os.getpid()).values())


def used_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU-seconds each role used between two snapshots of long-lived processes (one that ended in between is
    not counted: see :class:`Sampler` for a command's)."""
    return {role: max(0.0, after[role] - before.get(role, 0.0)) for role in after}


class Sampler:
    """CPU-seconds by role of a command's process tree while it runs, read every ``interval`` seconds: each
    process's last reading counts, so helpers that end before the command does are counted too (but for their
    last ``interval``). Processes already running when sampling starts count from there."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self._first: dict[int, float] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._api: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._root = 0

    def start(self, root: int, baseline: dict[int, tuple[str, float]] | None = None) -> "Sampler":
        """Sample ``root``'s tree; ``baseline``: processes read before ``root`` started, its Prefect API's
        among them (:func:`prefect_apis`), which are sampled too."""
        self._root = root
        for pid, (role, used) in (baseline or {}).items():
            self._first[pid] = used
            if role == "Prefect API":
                self._api.append(pid)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while True:
            for pid in _tree(self._root) + self._api:
                used = _cpu(pid)
                if used is None:
                    continue
                self._first.setdefault(pid, 0.0)
                # A process's role is its command line's, read until it has one: before its exec it has its
                # parent's, and once it has ended (unreaped), none.
                role = self._last[pid][0] if pid in self._last and self._last[pid][0] != OTHER else \
                    "run" if pid == self._root else _role(_command(pid))
                self._last[pid] = (role, used)
            if self._stop.wait(self.interval):
                return

    def stop(self) -> dict[str, float]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return _by_role((role, max(0.0, used - self._first[pid])) for pid, (role, used) in self._last.items())


def floor_bound(floor_seconds: float, cpu_seconds: float, cpus: int) -> float:
    """The most end to end / floor can be for a run of ``cpu_seconds`` on ``cpus`` CPUs."""
    return floor_seconds * cpus / cpu_seconds if cpu_seconds else float("inf")
