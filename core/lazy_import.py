"""Modules that load on first use: a dependency's import of a module it needs only for features akhbar never
calls costs every new process that time for nothing.

A stand-in goes into ``sys.modules`` in the module's place. An import of it (``import networkx as nx``,
``from scipy import stats``) gets the stand-in and runs nothing; the first read of one of the module's own
attributes imports the real module, which every later read goes to, so code that does use it works as before.
The standard library's ``importlib.util.LazyLoader`` is not enough on Python 3.11: the import statement
itself reads the module's ``__spec__``, which loads it.

Register a module only after ``torch`` is imported, if torch is imported at all: torch's import reads
attributes of every module in ``sys.modules``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types

_loading = threading.RLock()  # the module's own import may read a stand-in of itself


class _OnFirstUse(types.ModuleType):
    """Stands in for a module until one of the module's own attributes is read."""

    def __getattr__(self, attribute: str):
        # Only for what the stand-in lacks: __name__, __spec__, __file__ and __loader__ are its own.
        return getattr(_real(self), attribute)


def load_on_first_use(name: str) -> None:
    """Put a stand-in for ``name`` in ``sys.modules``, unless it is imported already or not installed."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return
    stand_in = _OnFirstUse(name)
    stand_in.__spec__, stand_in.__loader__, stand_in.__file__ = spec, spec.loader, spec.origin
    sys.modules[name] = stand_in
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, stand_in)


def _real(stand_in: _OnFirstUse) -> types.ModuleType:
    name = stand_in.__name__
    parent, _, child = name.rpartition(".")
    with _loading:
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]
            if parent and getattr(sys.modules[parent], child, None) is stand_in:
                delattr(sys.modules[parent], child)  # the import binds the real module there
            try:
                importlib.import_module(name)
            except BaseException:
                sys.modules[name] = stand_in
                if parent:
                    setattr(sys.modules[parent], child, stand_in)
                raise
    return sys.modules[name]
