"""Crash stress: SIGKILL `akhbar run` at random moments, then check nothing is lost or duplicated.

`python -m bench.stress --trials 20 --write` runs the full version and
writes docs/reliability.md; tests/test_crash.py runs a reduced one in CI.
Each trial: a fresh warehouse and inbox; one run killed after a random
delay (uniform over a normal run's duration); then runs until one completes.
Afterwards every inbox article must be published exactly once (or
quarantined), no staging may be left, and the last run must have passed the gate.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from bench.corpus import SAMPLES
from core.settings import PROJECT_ROOT, get_settings, offline_model_environment

HAND_NOTES = "## Beyond random kills"  # the hand-written part of docs/reliability.md, kept on --write


@dataclass
class Trial:
    delay: float
    killed: bool  # False when the run had already finished
    published: int
    quarantined: int
    lost: int
    duplicated: int
    leftover_staging: int
    last_status: str


def run_command(inbox: Path, warehouse: Path) -> list[str]:
    return [str(Path(sys.executable).parent / "akhbar"), "run", "--inbox", str(inbox), "--warehouse", str(warehouse)]


def check(inbox: Path, warehouse: Path) -> tuple[int, int, int, int, int, str]:
    expected = {str(p) for p in inbox.glob("*.txt")}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        published = [r[0] for r in con.execute("SELECT source_path FROM articles").fetchall()]
        quarantined = {r[0] for r in con.execute(
            "SELECT source_path FROM quarantine WHERE status = 'open'").fetchall()}
        status = con.execute("SELECT status FROM runs ORDER BY started_at DESC LIMIT 1").fetchall()[0][0]
    lost = len(expected - set(published) - quarantined)
    duplicated = len(published) - len(set(published))
    staging = get_settings(warehouse=warehouse).staging_dir
    leftover = len(list(staging.iterdir())) if staging.exists() else 0
    return len(set(published)), len(quarantined), lost, duplicated, leftover, status


def trial(work: Path, articles: list[Path], delay: float, env: dict) -> Trial:
    inbox = work / "inbox"
    inbox.mkdir(parents=True)
    for path in articles:
        shutil.copy(path, inbox / path.name)
    warehouse = work / "wh" / "akhbar.duckdb"
    victim = subprocess.Popen(run_command(inbox, warehouse), env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(delay)
    killed = victim.poll() is None
    if killed:
        os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    for _ in range(3):  # the next run completes (a retry covers a kill that left the Prefect server slow)
        done = subprocess.run(run_command(inbox, warehouse), env=env, capture_output=True, text=True, timeout=600)
        if done.returncode == 0:
            break
    else:
        raise RuntimeError(f"no run completed after a kill at {delay:.1f}s: {done.stderr[-2000:]}")
    return Trial(delay, killed, *check(inbox, warehouse))


def stress(trials: int, max_delay: float, seed: int = 0, env: dict | None = None) -> list[Trial]:
    env = offline_model_environment(dict(env or os.environ))
    env["AKHBAR_NER_BATCH_ARTICLES"] = "1"  # more stages to land in
    rng = random.Random(seed)
    articles = sorted(SAMPLES.glob("*.txt"))
    results = []
    for number in range(trials):
        with tempfile.TemporaryDirectory(prefix="akhbar-crash-") as work:
            result = trial(Path(work), articles, rng.uniform(0.5, max_delay), env)
        results.append(result)
        print(f"trial {number + 1:>2}: killed at {result.delay:5.1f}s ({'killed' if result.killed else 'had finished'})"
              f" → published {result.published}, quarantined {result.quarantined}, lost {result.lost}, "
              f"duplicated {result.duplicated}, leftover staging {result.leftover_staging}, last run "
              f"{result.last_status}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stress")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--max-delay", type=float, default=40.0, help="seconds; about one normal run")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    results = stress(args.trials, args.max_delay)
    killed = sum(r.killed for r in results)
    lost = sum(r.lost for r in results)
    duplicated = sum(r.duplicated for r in results)
    leftover = sum(r.leftover_staging for r in results)
    failed = sum(r.last_status != "succeeded" for r in results)
    summary = (f"{len(results)} trials ({killed} killed mid-run), articles lost {lost}, duplicated {duplicated}, "
               f"leftover staging {leftover}, final runs not passing the gate {failed}")
    print(summary)
    if args.write:
        rows = "\n".join(
            f"| {i + 1} | {r.delay:.1f} | {'yes' if r.killed else 'finished first'} | {r.published} | "
            f"{r.quarantined} | {r.lost} | {r.duplicated} | {r.leftover_staging} | {r.last_status} |"
            for i, r in enumerate(results))
        target = PROJECT_ROOT / "docs" / "reliability.md"
        previous = target.read_text(encoding="utf-8") if target.exists() else ""
        hand = "\n" + previous[previous.index(HAND_NOTES):] if HAND_NOTES in previous else ""
        target.write_text(
            "# Reliability\n\nWritten by `python -m bench.stress --trials "
            f"{args.trials} --write`: `akhbar run` over the five samples, killed with SIGKILL after a random delay "
            f"(0.5–{args.max_delay:.0f} s, a whole run's span, so kills land in intake, model loading, NER, staging, "
            "validation and publishing), then run again until a run completes.\n\n"
            f"**{summary}.**\n\n"
            "| trial | kill after (s) | killed | published | quarantined | lost | duplicated | leftover staging | last run |\n"
            "|---|---|---|---|---|---|---|---|---|\n" + rows + "\n" + hand, encoding="utf-8")
        print("wrote docs/reliability.md")


if __name__ == "__main__":
    main()
