"""The Stanza Arabic NER model: where it lives, what it is, one pipeline per process.

Nothing here imports stanza or torch until a pipeline is really needed, so a
run with nothing new never pays for the model.
"""

from __future__ import annotations

import json
import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from core.collector import kept_for_the_process, young_garbage_only
from core.settings import DownloadPolicy, Settings
from transforms import segment
from transforms.entities import ENTITY_TYPES
from transforms.ner import TaggedDocument, tagged_document

LANG = "ar"
# Official Arabic models split clitics with an MWT step; our offline model keeps
# clitics attached and has no MWT. Either way the NER spans index the raw text.
WANTED = ("tokenize", "mwt", "ner")
ENV_VAR = "STANZA_RESOURCES_DIR"

log = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """No usable Arabic model, and none could be downloaded."""


@dataclass(frozen=True)
class ModelInfo:
    resources_dir: Path
    processors: tuple[str, ...]
    packages: dict[str, str]
    name: str
    version: str
    labels: tuple[str, ...] = ENTITY_TYPES
    segmenter: str = "stanza"  # who splits sentences and tokens: "rules" (transforms.segment) or "stanza"


def default_resources_dir() -> Path:
    # Stanza's own default, without importing stanza (and torch with it).
    return Path.home() / "stanza_resources"


def resources_dir(settings: Settings) -> Path:
    return Path(settings.stanza_resources_dir or default_resources_dir()).expanduser()


def _read_arabic_index(folder: Path) -> dict[str, Any] | None:
    index = folder / "resources.json"
    if not index.is_file():
        return None
    try:
        resources = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    arabic = resources.get(LANG)
    if not isinstance(arabic, dict):
        return None
    arabic = dict(arabic)
    arabic["_stanza_version"] = resources.get("stanza_version", "")
    return arabic


def _installed_package(folder: Path, arabic: dict[str, Any], processor: str) -> str | None:
    package = (arabic.get("default_processors") or {}).get(processor)
    if isinstance(package, dict):  # some official entries map to {"package": ...}
        package = package.get("package")
    if not package or not (folder / LANG / processor / f"{package}.pt").is_file():
        return None
    return package


def choose_segmenter(setting: str, processors: Sequence[str]) -> str:
    """``auto``: our rules for a model whose tokens keep clitics attached (no MWT step), Stanza's otherwise.

    The offline model's Stanza tokenizer learned whitespace-and-punctuation
    tokens, which the rules give at a fraction of its cost (bench/segmentation.py
    compares the two); an official model splits clitics in its own way.
    """
    if setting != "auto":
        return setting
    return "stanza" if "mwt" in processors else "rules"


def inspect_model(folder: Path, segmenter: str = "auto") -> ModelInfo | None:
    """What the folder holds for Arabic NER, read from files only (no torch).

    The name and version say what produces the NER output: the segmenter, and
    every model file used. They key the NER cache, so a change to any of them
    recomputes NER.
    """
    arabic = _read_arabic_index(folder)
    if arabic is None:
        return None
    packages = {
        proc: pkg
        for proc in WANTED
        if (pkg := _installed_package(folder, arabic, proc)) is not None
    }
    if "tokenize" not in packages or "ner" not in packages:
        return None
    ner_md5 = str(arabic.get("ner", {}).get(packages["ner"], {}).get("md5", ""))[:12]
    processors = tuple(p for p in WANTED if p in packages)
    chosen = choose_segmenter(segmenter, processors)
    used = {"segment": segment.VERSION} if chosen == "rules" else {p: packages[p] for p in ("tokenize", "mwt")
                                                                    if p in packages}
    used["ner"] = packages["ner"]
    return ModelInfo(
        resources_dir=folder,
        processors=processors,
        packages=packages,
        name="stanza-ar/" + "+".join(f"{p}={package}" for p, package in used.items()),
        version=f"stanza {arabic['_stanza_version'] or 'unknown'}; ner md5 {ner_md5 or 'unknown'}",
        segmenter=chosen,
    )


def import_stanza():
    """``stanza``, without loading ``networkx``: its document module imports it at its top for dependency
    graphs, which an NER pipeline never builds (0.2 s of every new process that tags text). Torch first (see
    ``core/lazy_import.py``)."""
    import torch  # noqa: F401

    from core.lazy_import import load_on_first_use

    load_on_first_use("networkx")
    import stanza

    return stanza


def _download_official(folder: Path) -> None:
    stanza = import_stanza()

    log.warning("No Arabic Stanza model in %s; downloading Stanza's official one.", folder)
    try:
        stanza.download(LANG, model_dir=str(folder), processors=",".join(WANTED), logging_level="WARN")
    except Exception as err:  # requests, HTTP and file errors all mean the same thing here
        raise ModelUnavailable(
            f"No Arabic Stanza model in {folder}, and downloading Stanza's official model "
            f"failed ({type(err).__name__}: {err}). Set {ENV_VAR} to a folder that holds "
            f"Stanza's Arabic tokenize and ner models (for this project's offline model: "
            f"{ENV_VAR}=../shared/stanza_resources)."
        ) from err


def ensure_model(settings: Settings) -> ModelInfo:
    """The model to use, downloading the official one only if allowed and needed."""
    folder = resources_dir(settings)
    info = inspect_model(folder, settings.segmenter)
    if info is not None:
        return info
    if settings.stanza_download is DownloadPolicy.never:
        raise ModelUnavailable(
            f"No Arabic Stanza model (tokenize + ner) in {folder}. Set {ENV_VAR} to a folder "
            f"that holds one (for this project's offline model: {ENV_VAR}=../shared/stanza_resources), "
            f"or set AKHBAR_STANZA_DOWNLOAD=auto on a machine with network access."
        )
    _download_official(folder)
    info = inspect_model(folder, settings.segmenter)
    if info is None:
        raise ModelUnavailable(
            f"Stanza's download into {folder} finished, but no Arabic tokenize + ner model is there. "
            f"Set {ENV_VAR} to a folder that holds one."
        )
    return info


@dataclass(frozen=True)
class NerPipeline:
    """A Stanza pipeline, who splits the text into sentences and tokens before its NER runs, and where it runs."""

    stanza: Any
    segmenter: str
    device: str = "cpu"  # cpu | cuda


def resolve_device(setting: str) -> str:
    """``cpu`` or ``cuda``: the GPU when one is asked for (``cuda``) or welcome (``auto``) and torch sees one."""
    if setting == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if setting == "cuda":
        log.warning("AKHBAR_DEVICE=cuda, but torch sees no GPU: Stanza runs on the CPU")
    return "cpu"


_pipelines: dict[tuple[Any, ...], NerPipeline] = {}
_lock = threading.Lock()
pipelines_built = 0  # how many stanza.Pipeline objects this process has constructed


def devices_used() -> tuple[str, ...]:
    """Where this process's pipelines run (``cpu``, ``cuda``)."""
    return tuple(sorted({pipeline.device for pipeline in _pipelines.values()}))


def use_torch_threads(n: int | None) -> None:
    """Torch's threads from now on (None or 0: as they are, torch's default)."""
    if n:
        import torch

        torch.set_num_threads(n)


def get_pipeline(info: ModelInfo, settings: Settings) -> NerPipeline:
    """The process-wide pipeline for this model, built on first use."""
    if not _pipelines:  # the process's first: torch, Stanza and the model are kept for its life
        with kept_for_the_process():
            return _get_pipeline(info, settings)
    return _get_pipeline(info, settings)


def _get_pipeline(info: ModelInfo, settings: Settings) -> NerPipeline:
    global pipelines_built
    device = resolve_device(settings.device)
    key = (str(info.resources_dir), info.processors, info.segmenter, settings.ner_batch_size, device)
    with _lock:
        if key not in _pipelines:
            from flows.model_load import fast_model_loading

            stanza = import_stanza()

            use_torch_threads(settings.torch_threads)
            with fast_model_loading(settings.model_cache_dir, info.resources_dir):
                pipeline = stanza.Pipeline(
                    LANG,
                    dir=str(info.resources_dir),
                    processors=",".join(info.processors),
                    download_method=None,
                    ner_batch_size=settings.ner_batch_size,
                    # With our own sentences and tokens, Stanza's tokenizer model is not even loaded.
                    tokenize_pretokenized=info.segmenter == "rules",
                    logging_level="WARN",
                    use_gpu=device == "cuda",
                    device=device,
                )
            _pipelines[key] = NerPipeline(pipeline, info.segmenter, device)
            pipelines_built += 1
        return _pipelines[key]


def annotate(pipeline: NerPipeline, texts: Sequence[str]) -> list[TaggedDocument]:
    """Sentences, tokens and entities of several texts, with offsets into each text.

    NER sees the sentences of all the texts at once, shortest first: Stanza
    batches sentences in the order it gets them and pads each batch to its
    longest sentence, so batches of like lengths waste less (the entities are
    the same; tests/test_segment.py compares).
    """
    from stanza import Document

    with young_garbage_only():
        if pipeline.segmenter == "rules":
            splits = [segment.sentences(text) for text in texts]
        else:
            # Stanza's NER reads tokens, not MWT-expanded words: tokenizing is all it needs first.
            docs = pipeline.stanza.bulk_process([Document([], text=t) for t in texts], processors="tokenize")
            splits = [[[(t.start_char, t.end_char) for t in s.tokens] for s in doc.sentences] for doc in docs]
        tags = iter(tag_shortest_first(pipeline.stanza, [[text[start:end] for start, end in spans]
                                                         for text, split in zip(texts, splits) for spans in split]))
        return [tagged_document(text, split, [next(tags) for _ in split]) for text, split in zip(texts, splits)]


def annotate_tokens(pipeline: NerPipeline, text: str, sentences: Sequence[Sequence[tuple[int, int]]]) -> TaggedDocument:
    """NER over given sentences and tokens ((start, end) offsets into ``text``): a gold-tokenized corpus."""
    with young_garbage_only():
        tags = tag_shortest_first(pipeline.stanza, [[text[start:end] for start, end in spans] for spans in sentences])
    return tagged_document(text, sentences, tags)


def tag_shortest_first(stanza_pipeline: Any, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
    """Each sentence's NER tags, one per token; the sentences (their tokens' texts) go to NER in order of length."""
    from stanza import Document

    if not sentences:
        return []
    order = sorted(range(len(sentences)), key=lambda k: len(sentences[k]))
    tagged = stanza_pipeline.process(
        Document([[{"id": (n,), "text": token} for n, token in enumerate(sentences[k], 1)] for k in order]),
        processors="ner",
    )
    tags: list[list[str]] = [[] for _ in sentences]
    for k, result in zip(order, tagged.sentences):
        tags[k] = [token.ner for token in result.tokens]
    return tags
