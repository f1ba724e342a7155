"""Load copies of the model's files (flows/model_load.py): the same checkpoint, weights and entities, faster."""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from flows.model_load import NotCopyable, copy_key, fast_model_loading, load_through_copy, read_copy, write_copy
from tests.conftest import sample_paths


def same(a, b) -> bool:
    """Deep equality, tensors by dtype, shape and values; the container types must match too."""
    if type(a) is not type(b):
        return False
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def checkpoint():
    torch.manual_seed(7)
    return {
        "model": OrderedDict(w=torch.randn(3, 4), ids=torch.arange(5), mask=torch.tensor([True, False]),
                             half=torch.ones(2, dtype=torch.float16)),
        "vocab": {"word": {"_unit2id": {"الصين": 0, "كازاخستان": 1}, "_id2unit": ["الصين", "كازاخستان"]},
                  "tag": {"_unit2id": {0: {"B-LOC": 0}}, "keyed": False, "sep": None}},
        "config": {"lr": 0.1, "shape": (2, 3), "missing": float("nan"), "layers": [1, 2]},
    }


def test_a_copy_gives_back_the_same_checkpoint(tmp_path):
    original = checkpoint()
    write_copy(tmp_path / "copy", original)
    assert same(read_copy(tmp_path / "copy"), original)
    assert not same(read_copy(tmp_path / "copy"), {**original, "config": {}})


def test_what_a_copy_cannot_hold_is_refused_and_loaded_the_usual_way(tmp_path):
    model = tmp_path / "model.pt"
    model.write_bytes(b"x")
    for unusable in ({"w": torch.ones(2, dtype=torch.bfloat16)}, {"f": Path("x")}, {"s": {1, 2}}):
        with pytest.raises(NotCopyable):
            write_copy(tmp_path / "never", unusable)
        assert load_through_copy(model, tmp_path / "cache", lambda: unusable) is unusable
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
    assert not (tmp_path / "never").exists()


def test_a_copy_is_made_once_and_made_again_when_the_file_changes(tmp_path):
    model, cache = tmp_path / "model.pt", tmp_path / "cache"
    model.write_bytes(b"first")
    loads = []

    def load():
        loads.append(1)
        return checkpoint()

    first = load_through_copy(model, cache, load)
    assert same(load_through_copy(model, cache, load), first) and len(loads) == 1
    model.write_bytes(b"second, longer")
    os.utime(model, ns=(1, 1))
    second = load_through_copy(model, cache, load)
    assert len(loads) == 2 and len(list(cache.iterdir())) == 2
    (cache / copy_key(model) / "tensors.npz").write_bytes(b"damaged")
    assert same(load_through_copy(model, cache, load), second) and len(loads) == 3
    assert same(read_copy(cache / copy_key(model)), second)


@pytest.mark.slow
def test_the_real_model_gives_the_same_weights_and_entities(tmp_path):
    import stanza

    folder = Path(os.environ["STANZA_RESOURCES_DIR"])
    texts = [path.read_text(encoding="utf-8") for path in sample_paths()]

    def build():
        return stanza.Pipeline("ar", dir=str(folder), processors="tokenize,ner", download_method=None,
                               logging_level="WARN")

    def entities(pipeline):
        return [[(e.text, e.type, e.start_char, e.end_char) for e in pipeline(text).ents] for text in texts]

    stanza_own = build()
    for _ in range(2):  # the first build writes the copies, the second reads them
        with fast_model_loading(tmp_path / "cache", folder):
            fast = build()
        assert sorted(p.name.split("-")[0] for p in (tmp_path / "cache").iterdir()) == [
            "anercorp", "newstok", "saudinews_w2v100"]
        for name in ("tokenize", "ner"):
            ours, theirs = fast.processors[name]._trainer.model, stanza_own.processors[name]._trainer.model
            assert same(dict(ours.state_dict()), dict(theirs.state_dict()))
        assert same(fast.processors["ner"]._trainer.vocab.state_dict(),
                    stanza_own.processors["ner"]._trainer.vocab.state_dict())
        found = entities(fast)
        assert sum(map(len, found)) > 50
        assert found == entities(stanza_own)
    assert torch.load is not None and torch.load.__module__ == "torch.serialization"
