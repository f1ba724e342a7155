"""Loading the Stanza model in a fraction of the time, with the same weights.

Measured on the offline Arabic model (2 cores, files in the page cache), building the pipeline took about
2.5 s, of which the model's own work was small:

- about 1.3 s: ``torch.load(..., weights_only=True)``, which Stanza uses for its safety, unpickles in pure
  Python; the word vectors' vocabulary (134,593 words, twice: the vectors file and the NER file) is most of
  it. The same files through the C unpickler take 0.17 s.
- about 1.3 s: the NER trainer builds an SGD optimizer even to predict, and building any torch optimizer
  imports ``torch._dynamo``. Prediction never steps an optimizer.

So, while a pipeline is built (:func:`fast_model_loading`): no optimizer is built, and each model file is
read from a *load copy*: its checkpoint, once loaded the safe way, written as plain data (``tree.json``:
dicts, lists, strings, numbers) beside its tensors (``tensors.npz``, read with ``allow_pickle=False``).
Neither file can run code, so nothing is given up for the speed. A copy is keyed by the file's path, size and
modification time; a changed model file gets a new copy. Anything a copy cannot hold exactly (a tensor dtype
numpy lacks, a key that is not a string, an object) leaves that file to Stanza's own loading.
``tests/test_model_load.py`` checks that every weight and every entity is the same either way.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

log = logging.getLogger(__name__)

FORMAT = 1  # of the copies; a new format makes new copies


class NotCopyable(ValueError):
    """A checkpoint holds something a load copy cannot hold exactly."""


@contextmanager
def fast_model_loading(cache_dir: Path | None, model_dir: Path) -> Iterator[None]:
    """While building a Stanza pipeline from ``model_dir``: no optimizers, and its files read from load copies
    in ``cache_dir`` (made on first use; None: Stanza's own reading)."""
    import torch
    from stanza.models.common import utils as stanza_utils

    stanza_load, stanza_optimizer = torch.load, stanza_utils.get_optimizer
    model_dir = Path(model_dir).resolve()

    def load(source, *args, **kwargs):
        if cache_dir is None or not isinstance(source, (str, os.PathLike)):
            return stanza_load(source, *args, **kwargs)
        path = Path(source).resolve()
        if not path.is_relative_to(model_dir) or kwargs.get("weights_only") is not True:
            return stanza_load(source, *args, **kwargs)
        return load_through_copy(path, cache_dir, lambda: stanza_load(source, *args, **kwargs))

    torch.load = load
    stanza_utils.get_optimizer = lambda *args, **kwargs: None
    try:
        yield
    finally:
        torch.load, stanza_utils.get_optimizer = stanza_load, stanza_optimizer


def load_through_copy(path: Path, cache_dir: Path, load: Callable[[], Any]) -> Any:
    """``path``'s checkpoint from its load copy in ``cache_dir``; on a miss, ``load()`` it and write the copy."""
    folder = cache_dir / copy_key(path)
    try:
        return read_copy(folder)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as error:  # a damaged copy is made again
        log.warning("load copy %s unreadable (%s); making it again", folder, error)
        shutil.rmtree(folder, ignore_errors=True)
    checkpoint = load()
    try:
        write_copy(folder, checkpoint)
    except NotCopyable as error:
        log.info("%s has no load copy: %s", path.name, error)
    except OSError as error:  # a read-only or full cache only costs speed
        log.warning("could not write the load copy of %s: %s", path.name, error)
    return checkpoint


def copy_key(path: Path) -> str:
    stat = path.stat()
    identity = f"{FORMAT}\0{path}\0{stat.st_size}\0{stat.st_mtime_ns}"
    return f"{path.stem}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"


def write_copy(folder: Path, checkpoint: Any) -> None:
    tensors: dict[str, Any] = {}
    tree = _encode(checkpoint, tensors)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        (staging / "tree.json").write_text(json.dumps(tree, ensure_ascii=False), encoding="utf-8")
        import numpy as np

        np.savez(staging / "tensors.npz", **tensors)
        try:
            staging.rename(folder)
        except OSError:  # another process wrote it first
            if not (folder / "tree.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def read_copy(folder: Path) -> Any:
    import numpy as np
    import torch

    tree = json.loads((folder / "tree.json").read_text(encoding="utf-8"))
    with np.load(folder / "tensors.npz", allow_pickle=False) as arrays:
        tensors = {name: torch.from_numpy(arrays[name]) for name in arrays.files}
    return _decode(tree, tensors)


# JSON holds dicts with string keys, lists, strings, numbers, booleans and null; the rest is tagged.
_TENSOR, _TUPLE, _ORDERED, _ITEMS = "__tensor__", "__tuple__", "__ordered__", "__items__"


def _encode(value: Any, tensors: dict[str, Any]) -> Any:
    import torch

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.Tensor):
        if value.is_sparse or value.device.type != "cpu" or value.requires_grad:
            raise NotCopyable(f"a {value.layout} tensor on {value.device}")
        try:
            array = value.numpy()
        except TypeError as error:  # bfloat16 and other dtypes numpy lacks
            raise NotCopyable(str(error)) from error
        name = f"t{len(tensors)}"
        tensors[name] = array
        return {_TENSOR: name}
    if isinstance(value, (list, tuple)):
        items = [_encode(item, tensors) for item in value]
        return {_TUPLE: items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        if type(value) not in (dict, OrderedDict):
            raise NotCopyable(f"a {type(value).__name__}")
        if all(isinstance(key, str) for key in value) and not {_TENSOR, _TUPLE, _ORDERED, _ITEMS} & value.keys():
            items = {key: _encode(item, tensors) for key, item in value.items()}
        else:  # keys that JSON would turn into strings (Stanza's keyed vocabularies use ints)
            items = {_ITEMS: [[_encode(key, tensors), _encode(item, tensors)] for key, item in value.items()]}
        return {_ORDERED: items} if isinstance(value, OrderedDict) else items
    raise NotCopyable(f"a {type(value).__name__}")


def _decode(tree: Any, tensors: dict[str, Any]) -> Any:
    if isinstance(tree, list):
        return [_decode(item, tensors) for item in tree]
    if not isinstance(tree, dict):
        return tree
    if _TENSOR in tree:
        return tensors[tree[_TENSOR]]
    if _TUPLE in tree:
        return tuple(_decode(item, tensors) for item in tree[_TUPLE])
    if _ORDERED in tree:
        return OrderedDict(_decode(tree[_ORDERED], tensors))
    if _ITEMS in tree:
        return {_decode(key, tensors): _decode(item, tensors) for key, item in tree[_ITEMS]}
    return {key: _decode(item, tensors) for key, item in tree.items()}
