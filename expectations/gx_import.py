"""Imported before Great Expectations: it then loads without what this project's suites never run.

One of Great Expectations' core expectation modules (KL divergence) imports
``scipy.stats`` at its top for a function akhbar's suites never call: about
0.65 s of every new process's first gate, a third of the whole import. Before
Great Expectations is imported, ``scipy.stats`` is registered to load on first
use instead (the standard library's lazy-import recipe,
``importlib.util.LazyLoader``): code that does use it gets the whole module
then, as before.

Only ``expectations/suites.py`` imports this, and the gate imports the suites
before anything of Great Expectations. Not earlier: a module waiting in
``sys.modules`` is loaded by anything that reads one of its attributes, and
torch's import reads ``__file__`` of every module there.
"""

from __future__ import annotations

import importlib.util
import sys

DEFERRED = ("scipy.stats",)


def load_on_first_use(name: str) -> None:
    """``name`` in ``sys.modules`` as a module that runs its code when an attribute is first read."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)


if "great_expectations" not in sys.modules:
    for _name in DEFERRED:
        load_on_first_use(_name)
