"""Seconds per stage, for run summaries and the benchmark."""

from __future__ import annotations

import time


class Stopwatch:
    """Seconds spent per stage (a stage may be timed in several laps)."""

    def __init__(self):
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = self.laps.get(stage, 0.0) + now - self._last
        self._last = now
