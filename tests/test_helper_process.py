"""Helper processes' siblings (core/helper_process.py): forked from the first once it has loaded, sharing what
it loaded; new interpreters when a thread of its own would make a fork unsafe; watched by pid either way."""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from core import helper_process
from core.helper_process import HelperGone, HelperProcess

pytestmark = pytest.mark.skipif(not helper_process.can_fork(), reason="siblings are forked on Linux only")


def _family(with_a_thread: bool) -> list[HelperProcess]:
    first = HelperProcess("tests.sibling_helper", siblings=2)
    family = [first, *first.siblings]
    answers = [first.call("load", with_a_thread)] + [sibling.call("load", with_a_thread) for sibling in first.siblings]
    assert [helper.process.pid for helper in family] == [pid for pid, _, _ in answers]
    return family, answers


def test_siblings_are_forked_from_the_first_once_it_has_loaded_and_share_what_it_loaded():
    family, answers = _family(with_a_thread=False)
    try:
        (first_pid, _, loaded), *siblings = answers
        assert loaded == first_pid
        assert all(parent == first_pid and loaded_by == first_pid for _, parent, loaded_by in siblings)
    finally:
        for helper in family:
            helper.stop()
    assert not any(psutil.pid_exists(h.process.pid) and psutil.Process(h.process.pid).status() != "zombie"
                   for h in family)


def test_a_first_helper_running_a_thread_starts_new_interpreters_that_load_their_own():
    family, answers = _family(with_a_thread=True)
    try:
        (first_pid, _, _), *siblings = answers
        assert all(parent == first_pid and loaded_by == pid for pid, parent, loaded_by in siblings)
    finally:
        for helper in family:
            helper.stop()


def test_a_sibling_that_dies_is_seen_gone_by_its_pid():
    family, _ = _family(with_a_thread=False)
    try:
        sibling = family[1]
        os.kill(sibling.process.pid, signal.SIGKILL)
        sibling.process.wait(timeout=10)
        assert sibling.process.poll() is not None
        with pytest.raises(HelperGone):
            sibling.call("load", False)
        assert family[2].call("load", False)[2] == family[0].process.pid  # the others go on
    finally:
        for helper in family:
            helper.stop()
