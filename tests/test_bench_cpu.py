"""The benchmark's CPU accounting (bench/cpu.py): a command's CPU-seconds by process, its helpers' included."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from bench import cpu

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# A command that starts a helper (``python -m flows.ner_workers`` in name only: the role comes from the
# command line) which burns CPU and ends before the command does, then burns some itself.
COMMAND = textwrap.dedent("""
    import subprocess, sys, time
    helper = ("import time\\n"
              "while time.process_time() < 0.6: pass\\n")
    subprocess.run([sys.executable, "-c", helper, "flows.ner_workers"], check=True)
    while time.process_time() < 0.4: pass
""")


def test_a_command_and_a_helper_that_ended_before_it_are_both_counted_by_role():
    command = subprocess.Popen([sys.executable, "-c", COMMAND])
    sampler = cpu.Sampler(interval=0.02).start(command.pid)
    assert command.wait(timeout=60) == 0
    used = sampler.stop()
    assert 0.3 <= used["run"] < 1.5
    assert 0.45 <= used["NER workers"] < 1.5  # counted though it had ended, under its own role
    assert used["gate helper"] == 0.0


def test_the_bound_on_end_to_end_against_a_floor():
    # 10 s of a floor that keeps 2 CPUs busy, against a run of 25 CPU-seconds: at least 12.5 s, so at most 0.8.
    assert cpu.floor_bound(10.0, 25.0, 2) == pytest.approx(0.8)
