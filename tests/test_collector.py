"""The collector around what a process keeps (core/collector.py): paused while it is built, then frozen out."""

from __future__ import annotations

import gc

import pytest

from core.collector import kept_for_the_process


@pytest.fixture
def collector():
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    (gc.enable if enabled else gc.disable)()


def test_what_is_built_inside_is_frozen_out_of_later_collections(collector):
    gc.enable()
    before = gc.get_freeze_count()
    with kept_for_the_process():
        assert not gc.isenabled()
        kept = [[n] for n in range(10_000)]  # tracked objects, as a model's are
        with kept_for_the_process():  # nested: still paused inside, and the outer block freezes
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(kept)
    assert not any(o is kept for o in gc.get_objects())  # no generation a collection scans holds it


def test_a_paused_collector_stays_paused_and_an_error_still_restores_it(collector):
    gc.disable()
    with kept_for_the_process():
        pass
    assert not gc.isenabled()
    gc.enable()
    with pytest.raises(RuntimeError), kept_for_the_process():
        raise RuntimeError("a model that failed to load")
    assert gc.isenabled()
