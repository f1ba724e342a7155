"""Imported before Great Expectations: it then loads without what this project's suites never run.

Great Expectations' core expectation modules import, at their top, ``scipy.stats`` (KL divergence, about
0.65 s of a new process's first gate, a third of the whole import) and ``altair`` (that expectation's
charts, 0.1 s), for functions akhbar's suites never call. Both are registered to load on first use instead
(``core/lazy_import.py``).

Only ``expectations/suites.py`` imports this, and the gate imports the suites before anything of Great
Expectations. Not earlier: torch's import reads ``__file__`` of every module in ``sys.modules``.
"""

from __future__ import annotations

import sys

from core.lazy_import import load_on_first_use

DEFERRED = ("scipy.stats", "altair")

if "great_expectations" not in sys.modules:
    for _name in DEFERRED:
        load_on_first_use(_name)
