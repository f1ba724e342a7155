"""A reduced crash stress test: SIGKILL at random moments loses and duplicates nothing (bench.stress is the full one)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest

from tests.conftest import require_model, sample_paths


@pytest.mark.slow  # kills real runs in subprocesses
def test_killed_runs_lose_and_duplicate_nothing(tmp_path):
    from bench.stress import stress

    require_model()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "AKHBAR_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    # A killed command leaves the shared local API it started; one a kill orphaned would idle on for ten minutes.
    env["AKHBAR_LOCAL_API_IDLE_SECONDS"] = "30"
    results = stress(trials=3, max_delay=25.0, seed=int(os.environ.get("AKHBAR_STRESS_SEED", "7")), env=env)
    assert [r.published + r.quarantined for r in results] == [5, 5, 5]
    assert sum(r.lost for r in results) == 0
    assert sum(r.duplicated for r in results) == 0
    assert sum(r.leftover_staging for r in results) == 0
    assert {r.last_status for r in results} == {"succeeded"}


STAGES = ("intake", "ner", "staged", "validation", "publish", "published")


@pytest.mark.parametrize("stage", STAGES)
def test_kill_at_each_stage_then_the_next_run_completes(prefect_api, tmp_path, stage):
    """SIGKILL at a named stage (AKHBAR_FAULT=<stage>:kill), run again: all published once, invariants hold."""
    from bench.stress import check, run_command

    require_model()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in sample_paths():
        shutil.copy(path, inbox / path.name)
    warehouse = tmp_path / "wh" / "akhbar.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKHBAR_")}
    env.update(PREFECT_API_URL=prefect_api, AKHBAR_STANZA_DOWNLOAD="never")

    killed = subprocess.run(run_command(inbox, warehouse), env={**env, "AKHBAR_FAULT": f"{stage}:kill"},
                            capture_output=True, text=True, timeout=900)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    staging = warehouse.parent / "staging" / warehouse.stem
    if stage in ("staged", "validation", "publish", "published"):
        assert any(staging.iterdir()), "the kill should have left this run's staging behind"

    again = subprocess.run(run_command(inbox, warehouse), env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    published, quarantined, lost, duplicated, leftover, status = check(inbox, warehouse)
    assert (published, quarantined, lost, duplicated, leftover, status) == (5, 0, 0, 0, 0, "succeeded")
    assert broken_invariants(warehouse) == {}
    assert runs_in_the_lake(warehouse) == published_runs(warehouse), "every published run's files are in the lake"


def published_runs(warehouse) -> set[str]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {r for (r,) in con.execute("SELECT DISTINCT run_id FROM articles").fetchall()}


def runs_in_the_lake(warehouse) -> set[str]:
    lake = warehouse.parent / "lake" / "articles"
    return {p.name.removeprefix("run=") for p in lake.iterdir()} if lake.exists() else set()


INVARIANTS = {
    "article key unique": "SELECT count(*) - count(DISTINCT article_id) FROM articles",
    "mention surface is its slice": """SELECT count(*) FROM mentions m JOIN articles a USING (article_id)
        WHERE substring(a.text, m.start_char + 1, m.end_char - m.start_char) <> m.surface""",
    "mention without article": "SELECT count(*) FROM mentions WHERE article_id NOT IN (SELECT article_id FROM articles)",
    "sentence without article": "SELECT count(*) FROM sentences WHERE article_id NOT IN (SELECT article_id FROM articles)",
    "sentence repeated": "SELECT count(*) - count(DISTINCT (article_id, sentence_index)) FROM sentences",
    "mention repeated": """SELECT count(*) - count(DISTINCT (article_id, start_char, end_char, label))
        FROM mentions""",
    "entity counts disagree with mentions": """SELECT count(*) FROM entities e
        WHERE mention_count <> (SELECT count(*) FROM mentions m WHERE m.entity_id = e.entity_id)""",
    "runs do not add up": """SELECT abs((SELECT sum(n_new) FROM runs WHERE status = 'succeeded')
        - (SELECT count(*) FROM articles WHERE duplicate_of IS NULL))""",
}


def broken_invariants(warehouse) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = {name: con.execute(sql).fetchone()[0] for name, sql in INVARIANTS.items()}
    return {name: n for name, n in found.items() if n}
