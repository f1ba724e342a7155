"""Cold and warm runs: what a run costs beyond its NER, from the command line and under ``akhbar serve``.

`python -m bench.warm` prints the figures; `python -m bench` adds them to docs/performance.md.

- **Cold CLI**: ``akhbar run`` in a new process (what a user types, and what Prefect's own runner does for
  every scheduled run): the 65-article corpus on a new warehouse, then again with nothing new, with and
  without the shared local Prefect API a previous command left up (flows/local_api.py).
- **Warm scheduled**: the same runs under ``akhbar serve``'s warm worker (``flows/warm.py``) on a local
  Prefect server: the worker's one-time warm-up (per part); on a warehouse that has had one earlier run (as
  a scheduled pipeline's has, and as the end-to-end figures' warehouses have), three runs of 65 new articles
  each (wall seconds against each run's own NER seconds: one run moves by ±0.3 s between bench runs, so the
  figure is their median), no-op runs; then many scheduled runs, each with one new article, and the worker's
  memory after the 10th and the last.

Every run of new articles, cold or warm, goes to a warehouse that has had one earlier run of 3 other articles.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import cpu
from bench.corpus import SAMPLES, synthetic_articles, write_corpus
from core import helper_process
from core.settings import PROJECT_ROOT, get_settings
from flows import ner_workers

AKHBAR = Path(sys.executable).parent / "akhbar"


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PREFECT_API_URL", "AKHBAR_INBOX", "AKHBAR_LOCAL_API", "AKHBAR_CACHE_DIR"))}
    env.update(PREFECT_HOME=str(home), PYTHONUNBUFFERED="1")
    return env


def cold_cli(corpus: Path, earlier: Path, work: Path) -> dict[str, float]:
    """Wall seconds of ``akhbar run`` in a new process: the corpus on a new warehouse when no local Prefect API
    is up (the command starts akhbar's shared one, flows/local_api.py), again with nothing new (using it),
    the corpus on three other new warehouses with it up (one run varies by a tenth or more here); and a no-op
    whose command starts and stops its own server (``AKHBAR_LOCAL_API_IDLE_SECONDS=0``)."""
    from flows.local_api import stop_local_api

    home = work / "prefect-cold"
    env = _environment(home)
    seconds: dict = {"new, API up CPU": []}

    def run(name: str, warehouse: str, inbox: Path = corpus, **extra: str) -> None:
        baseline = cpu.prefect_apis(str(home))  # the command's shared API so far, if it is up
        started = time.perf_counter()
        command = subprocess.Popen([str(AKHBAR), "run", "--inbox", str(inbox), "--warehouse",
                                    str(work / warehouse / "akhbar.duckdb")],
                                   env={**env, **extra}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   cwd=PROJECT_ROOT)
        sampler = cpu.Sampler().start(command.pid, baseline)
        _, stderr = command.communicate()
        seconds[name] = time.perf_counter() - started
        used = sampler.stop()
        if name == "new, API up":
            seconds["new, API up CPU"].append(used)
        if command.returncode != 0:
            raise RuntimeError(f"akhbar run failed: {stderr[-2000:]}")

    try:
        # A machine's first command creates Prefect's database (several seconds, once): not measured.
        run("setup", "cold", earlier, AKHBAR_LOCAL_API_IDLE_SECONDS="600")
        api_up = [f"cold-{i}" for i in (2, 3, 4)]
        for warehouse in api_up:
            run("earlier run", warehouse, earlier, AKHBAR_LOCAL_API_IDLE_SECONDS="600")
        stop_local_api(home)
        run("new", "cold", AKHBAR_LOCAL_API_IDLE_SECONDS="600")
        noops = []
        for _ in range(3):
            run("no-op", "cold", AKHBAR_LOCAL_API_IDLE_SECONDS="600")
            noops.append(seconds["no-op"])
        seconds["no-op"], seconds["no-op runs"] = statistics.median(noops), noops
        ups = []
        for warehouse in api_up:
            run("new, API up", warehouse, AKHBAR_LOCAL_API_IDLE_SECONDS="600")
            ups.append(seconds["new, API up"])
        seconds["new, API up"], seconds["new, API up runs"] = statistics.median(ups), ups
    finally:
        stop_local_api(home)
    run("no-op, own server", "cold", AKHBAR_LOCAL_API_IDLE_SECONDS="0")
    return seconds


def warm_runs(corpora: list[Path], earlier: Path, work: Path, runs: int) -> dict:
    """The earlier run, then each corpus, no-op runs and ``runs`` one-article runs through the warm worker."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows import schedule
    from flows.warm import WarmServer

    import threading

    home = work / "prefect-warm"
    os.environ["PREFECT_HOME"] = str(home)
    result: dict = {}
    with schedule.local_server(home=home, log=work / "prefect-server.log") as api_url:
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            warehouse = work / "warm" / "akhbar.duckdb"
            server = WarmServer("akhbar-bench-warm", None, {"warehouse": str(warehouse)}, api_url=api_url,
                                poll_seconds=0.1)
            thread = threading.Thread(target=server.serve, daemon=True)
            thread.start()
            while server.deployment_id is None or server.worker is None or not server.worker.warm_up:
                time.sleep(0.1)
            result["warm_up"] = dict(server.worker.warm_up)

            def run(**parameters):
                with get_client(sync_client=True) as client:
                    client.create_flow_run_from_deployment(server.deployment_id, parameters=parameters)
                count = len(server.reports)
                while len(server.reports) == count:
                    time.sleep(0.05)
                report = server.reports[-1]
                if report.state != "COMPLETED":
                    raise RuntimeError(f"warm run {report.state}: {report.message}")
                return report

            run(inbox=str(earlier))
            result["new"] = [run(inbox=str(corpus)) for corpus in corpora]
            for corpus, report in zip(corpora, result["new"]):
                if report.n_new != len(list(corpus.glob("*.txt"))):
                    raise RuntimeError(f"the warm run published {report.n_new} new articles of {corpus}: not comparable")
            result["no-op"] = [run(inbox=str(corpora[0])).seconds for _ in range(5)]
            trickle = work / "trickle"
            trickle.mkdir()
            memory = {}
            for number, (name, text) in enumerate(synthetic_articles(runs, SAMPLES, seed=4242), start=1):
                (trickle / name).write_text(text, encoding="utf-8")
                report = run(inbox=str(trickle))
                if number in (10, runs):
                    memory[number] = report.rss_mb
            result["memory"] = memory
            result["pipelines_built"] = server.reports[-1].pipelines_built
            result["pids"] = len({r.pid for r in server.reports})
            server.stop()
            thread.join(120)
    return result


def figures(articles: int = 60, runs: int = 200) -> list[tuple[str, str, str, bool | None]]:
    """(name, value, target, met) rows for the benchmark table."""
    with tempfile.TemporaryDirectory(prefix="akhbar-bench-warm-") as folder:
        work = Path(folder)
        corpus, earlier = work / "corpus", work / "earlier"
        write_corpus(corpus, articles, SAMPLES, seed=11)
        write_corpus(earlier, 3, SAMPLES, seed=99, with_samples=False)
        n = len(list(corpus.glob("*.txt")))
        more = [work / f"corpus-{seed}" for seed in (12, 13)]
        for folder, seed in zip(more, (12, 13)):
            write_corpus(folder, n, SAMPLES, seed=seed, with_samples=False)
        cold = cold_cli(corpus, earlier, work)
        warm = warm_runs([corpus, *more], earlier, work, runs)
    full = warm["new"]
    beyond_ner = statistics.median(r.seconds - r.timings.get("ner", 0.0) for r in full)
    wall = statistics.median(r.seconds for r in full)
    median_run = sorted(full, key=lambda r: r.seconds)[len(full) // 2]
    noop = statistics.median(warm["no-op"])
    growth = warm["memory"][runs] / warm["memory"][10]
    cold_cpu = cold["new, API up CPU"]
    cold_cpu_mean = {role: statistics.mean(run[role] for run in cold_cpu) for role in cold_cpu[0]}
    cpus = os.cpu_count() or 1
    cold_least = sum(cold_cpu_mean.values()) / cpus
    # NER in its workers: one model, loaded by the first and shared by those forked from it (Linux), else one
    # each; or in the worker itself.
    workers = ner_workers.wanted(get_settings())
    pipelines = 1 if not workers or helper_process.can_fork() else workers
    return [
        ("warm worker's one-time warm-up (seconds per part)",
         ", ".join(f"{k} {v:.1f}" for k, v in warm["warm_up"].items()), "", None),
        (f"warm scheduled run, {n} new articles, 3 runs: wall / its NER stage",
         "; ".join(f"{r.seconds:.2f} s / {r.timings.get('ner', 0.0):.2f} s" for r in full), "", None),
        (f"warm scheduled run, {n} new articles: wall beyond its NER stage, median of 3", f"{beyond_ner:.2f} s",
         "≤ 1.5 s (wall ≤ its NER + 1.5 s)", beyond_ner <= 1.5),
        ("warm scheduled run, stage seconds (the median run)",
         ", ".join(f"{k} {v:.2f}" for k, v in median_run.timings.items()), "", None),
        ("warm scheduled no-op run (median of 5)", f"{noop:.2f} s", "≤ 1.2 s", noop <= 1.2),
        (f"cold CLI run, {n} new articles, no local API up (the command starts the shared one)",
         f"{cold['new']:.2f} s ({cold['new'] / wall:.2f}× the warm run's median)", "≤ 2× warm",
         cold["new"] <= 2 * wall),
        ("cold CLI run, 3 new articles, a machine's very first command (Prefect's database made too)",
         f"{cold['setup']:.2f} s", "", None),
        (f"cold CLI run, {n} new articles, the shared local API up, median of 3", f"{cold['new, API up']:.2f} s "
         f"({', '.join(f'{s:.2f}' for s in cold['new, API up runs'])}; "
         f"{cold['new, API up'] / wall:.2f}× the warm run's median)", "≤ 2× warm",
         cold["new, API up"] <= 2 * wall),
        (f"CPU-seconds of that cold command, by process (mean of {len(cold_cpu)})",
         ", ".join(f"{role} {used:.2f}" for role, used in cold_cpu_mean.items())
         + f": {sum(cold_cpu_mean.values()):.2f} on {cpus} CPUs", "", None),
        (f"the least that cold command could take with those CPU-seconds (all {cpus} CPUs busy from start to end)",
         f"{cold_least:.2f} s ({cold_least / wall:.2f}× the warm run's median)",
         "≤ 2× warm for the target to be reachable", cold_least <= 2 * wall),
        ("cold CLI no-op run (new process, nothing new, the shared local API up), median of 3",
         f"{cold['no-op']:.2f} s ({', '.join(f'{s:.2f}' for s in cold['no-op runs'])})", "≤ 3 s",
         cold["no-op"] <= 3.0),
        ("cold CLI no-op run, its own Prefect server (AKHBAR_LOCAL_API_IDLE_SECONDS=0)",
         f"{cold['no-op, own server']:.2f} s", "≤ 3 s", cold["no-op, own server"] <= 3.0),
        (f"warm worker memory after 10 / {runs} scheduled runs (one new article each; its helpers included)",
         f"{warm['memory'][10]:.0f} / {warm['memory'][runs]:.0f} MB ({growth:.3f}×)", "within 10%",
         growth <= 1.10),
        ("warm worker: processes / Stanza pipelines built over all runs (its NER workers' one model)",
         f"{warm['pids']} / {warm['pipelines_built']}", f"1 / {pipelines}",
         warm["pids"] == 1 and warm["pipelines_built"] == pipelines),
    ]


def main() -> None:
    from core.settings import offline_model_environment

    offline_model_environment(os.environ)
    import core.prefect_env  # noqa: F401

    parser = argparse.ArgumentParser(prog="python -m bench.warm")
    parser.add_argument("--articles", type=int, default=60, help="synthetic articles added to the 5 samples")
    parser.add_argument("--runs", type=int, default=200, help="one-article scheduled runs for the memory figure")
    args = parser.parse_args()
    for name, value, target, met in figures(args.articles, args.runs):
        mark = "" if met is None else ("  OK" if met else "  MISSED")
        print(f"{name:<80} {value:>44}   {target}{mark}", flush=True)


if __name__ == "__main__":
    main()
