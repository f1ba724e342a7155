"""Where a cold process's seconds go in loading the model, Stanza's own way and akhbar's (flows/model_load.py).

Each figure comes from a new process (imports are once per process); the model's files are in the page cache
(one unmeasured load first). `python -m bench.model_load` prints them; `python -m bench` adds them to
docs/performance.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time


def _child(mode: str, cache: str) -> dict[str, float]:
    seconds = {}
    started = time.perf_counter()
    import torch  # noqa: F401

    seconds["import torch"] = time.perf_counter() - started
    started = time.perf_counter()
    from flows import nlp

    stanza = nlp.import_stanza()
    seconds["import stanza"] = time.perf_counter() - started
    from core.settings import get_settings

    settings = get_settings(cache_dir=cache if mode == "copies" else "")
    info = nlp.ensure_model(settings)
    if mode == "files":  # the two files' checkpoints, the way Stanza reads them
        for name, path in (("vectors file", "pretrain"), ("NER file", "ner")):
            (file,) = (info.resources_dir / "ar" / path).glob("*.pt")
            started = time.perf_counter()
            torch.load(file, lambda storage, location: storage, weights_only=True)
            seconds[f"{name}, torch.load(weights_only)"] = time.perf_counter() - started
        started = time.perf_counter()
        import torch._dynamo  # noqa: F401  (what building any torch optimizer imports)

        seconds["the optimizer Stanza builds to predict (import torch._dynamo)"] = time.perf_counter() - started
        return seconds
    started = time.perf_counter()
    if mode == "stanza":
        stanza.Pipeline(nlp.LANG, dir=str(info.resources_dir), processors=",".join(info.processors),
                        download_method=None, tokenize_pretokenized=info.segmenter == "rules", logging_level="WARN")
    else:
        nlp.get_pipeline(info, settings)
    seconds["pipeline"] = time.perf_counter() - started
    return seconds


def _run(mode: str, cache: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-m", "bench.model_load", "--child", mode, cache],
                          capture_output=True, text=True, check=True, env=os.environ)
    return json.loads(done.stdout.strip().splitlines()[-1])


def figures() -> list[tuple[str, str, str, bool | None]]:
    with tempfile.TemporaryDirectory(prefix="akhbar-bench-model-") as cache:
        _run("copies", cache)  # writes the load copies, and puts every file in the page cache
        files = _run("files", cache)
        own = _run("stanza", cache)
        ours = _run("copies", cache)
    rows = [(f"model load, {name}", f"{value:.2f} s", "", None) for name, value in files.items()
            if not name.startswith("import")]
    rows += [
        ("model load: import torch / import stanza", f"{ours['import torch']:.2f} s / {ours['import stanza']:.2f} s",
         "", None),
        ("model load: the pipeline, Stanza's own loading / akhbar's (load copies, no optimizer)",
         f"{own['pipeline']:.2f} s / {ours['pipeline']:.2f} s ({own['pipeline'] / ours['pipeline']:.1f}× faster)",
         "faster, same entities (tests/test_model_load.py)", ours["pipeline"] < own["pipeline"]),
    ]
    return rows


def main() -> None:
    from core.settings import offline_model_environment

    offline_model_environment(os.environ)
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(_child(sys.argv[2], sys.argv[3])))
        return
    for name, value, target, met in figures():
        mark = "" if met is None else ("  OK" if met else "  MISSED")
        print(f"{name:<90} {value:>36}   {target}{mark}", flush=True)


if __name__ == "__main__":
    main()
