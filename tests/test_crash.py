"""A reduced crash stress test: SIGKILL at random moments loses and duplicates nothing (bench.stress is the full one)."""

from __future__ import annotations

import os

from tests.conftest import require_model


def test_killed_runs_lose_and_duplicate_nothing(tmp_path):
    from bench.stress import stress

    require_model()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "AKHBAR_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    results = stress(trials=3, max_delay=25.0, seed=int(os.environ.get("AKHBAR_STRESS_SEED", "7")), env=env)
    assert [r.published + r.quarantined for r in results] == [5, 5, 5]
    assert sum(r.lost for r in results) == 0
    assert sum(r.duplicated for r in results) == 0
    assert sum(r.leftover_staging for r in results) == 0
    assert {r.last_status for r in results} == {"succeeded"}
