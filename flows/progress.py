"""Progress of a long run: articles done of total, rate, ETA.

Every update is a plain log line (Prefect stores it with the flow run, and a
log file or CI sees it); on a terminal, a live progress bar is drawn as well.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta


class Progress:
    def __init__(self, total: int, logger, what: str = "articles", tty: bool | None = None):
        self.total, self.done, self.what, self.logger = total, 0, what, logger
        self.started = time.monotonic()
        self._bar = None
        if (sys.stderr.isatty() if tty is None else tty) and total:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeRemainingColumn

            self._bar = Bar(TextColumn("NER"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            transient=True)
            self._task = self._bar.add_task("ner", total=total)
            self._bar.start()

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = timedelta(seconds=round((self.total - self.done) / rate)) if rate else None
        return (f"NER {self.done}/{self.total} {self.what}, {rate:.1f} {self.what}/s"
                + (f", ETA {eta}" if eta is not None and self.done < self.total else ""))

    def advance(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
        self.logger.info(self.line())

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
