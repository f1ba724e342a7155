"""Finding the Stanza model: the offline folder, and a clear stop when there is none."""

from __future__ import annotations

import pytest

from core.collector import young_garbage_only
from core.settings import get_settings
from flows import nlp
from tests.conftest import OFFLINE_MODEL


def test_offline_model_is_described_from_its_files():
    info = nlp.inspect_model(OFFLINE_MODEL)
    assert info is not None
    assert info.processors == ("tokenize", "ner")  # no MWT: clitics stay attached
    assert info.packages == {"tokenize": "newstok", "ner": "anercorp"}
    assert info.name == "stanza-ar/segment=rules-1+ner=anercorp"  # auto: our rules, Stanza's NER
    assert info.version.startswith("stanza 1.15.0; ner md5 a3276318")


def test_missing_model_stops_with_a_message_naming_the_variable(tmp_path):
    settings = get_settings(stanza_resources_dir=tmp_path / "empty", stanza_download="never")
    with pytest.raises(nlp.ModelUnavailable) as err:
        nlp.ensure_model(settings)
    assert "STANZA_RESOURCES_DIR" in str(err.value)
    assert str(tmp_path / "empty") in str(err.value)


def test_a_folder_without_the_ner_model_is_not_usable(tmp_path):
    (tmp_path / "ar" / "tokenize").mkdir(parents=True)
    (tmp_path / "ar" / "tokenize" / "newstok.pt").write_bytes(b"")
    (tmp_path / "resources.json").write_text(
        (OFFLINE_MODEL / "resources.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    assert nlp.inspect_model(tmp_path) is None


def test_resources_dir_defaults_to_stanzas_own(monkeypatch, tmp_path):
    monkeypatch.delenv("STANZA_RESOURCES_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert nlp.resources_dir(get_settings()) == tmp_path / "stanza_resources"


def test_download_failure_is_reported_clearly(monkeypatch, tmp_path):
    """With the network unavailable, the official download fails: the error says what to set."""
    import stanza

    def offline(*args, **kwargs):
        raise ConnectionError("network is unreachable")

    monkeypatch.setattr(stanza, "download", offline)
    settings = get_settings(stanza_resources_dir=tmp_path, stanza_download="auto")
    with pytest.raises(nlp.ModelUnavailable) as err:
        nlp.ensure_model(settings)
    assert "STANZA_RESOURCES_DIR" in str(err.value) and "network is unreachable" in str(err.value)


class _Cycle:
    def __init__(self):
        self.me = self


def test_garbage_collector_is_paused_during_stanza_calls_and_their_cycles_are_freed_after():
    import gc
    import weakref

    assert gc.isenabled()
    with young_garbage_only():
        assert not gc.isenabled()
        with young_garbage_only():  # nested (or another thread's) call: still paused when it ends
            pass
        assert not gc.isenabled()
        garbage = _Cycle()
        alive = weakref.ref(garbage)
        del garbage
        assert alive() is not None  # a cycle: nothing but the collector frees it
    assert gc.isenabled()
    assert alive() is None


def test_garbage_collector_comes_back_when_a_stanza_call_fails():
    import gc

    with pytest.raises(RuntimeError):
        with young_garbage_only():
            raise RuntimeError("model error")
    assert gc.isenabled()


def test_the_device_is_the_cpu_unless_a_gpu_is_asked_for_and_there(monkeypatch, caplog):
    import torch

    assert nlp.resolve_device("cpu") == "cpu"
    assert nlp.resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a machine without a GPU
    assert nlp.resolve_device("cuda") == "cpu" and "torch sees no GPU" in caplog.text
    with pytest.raises(Exception):
        get_settings(device="tpu")


@pytest.mark.model
def test_a_pipeline_built_for_the_cpu_runs_there(monkeypatch):
    from tests.conftest import require_model

    info = require_model()
    settings = get_settings(device="cpu", ner_batch_size=7)  # its own pipeline, not the session's shared one
    pipeline = nlp.get_pipeline(info, settings)
    assert pipeline.device == "cpu" and "cpu" in nlp.devices_used()
    assert str(pipeline.stanza.device) == "cpu"
