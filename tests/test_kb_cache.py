"""The built knowledge base kept between processes (flows/kb_cache.py): the same table, never a stale one."""

from __future__ import annotations

import dataclasses
import os
import shutil

import pytest

from core.settings import get_settings
from flows import intake, kb_cache


def fields(table) -> dict:
    return {f.name: getattr(table, f.name) for f in dataclasses.fields(table) if f.name not in ("cache", "derived")}


@pytest.fixture
def fresh(monkeypatch):
    """No table of this process's: every load reads the cache or builds."""
    monkeypatch.setattr(intake, "_knowledge_bases", {})
    builds = []
    import transforms.kb as kb

    build = kb.knowledge_base

    def counting(*args, **kwargs):
        builds.append(1)
        return build(*args, **kwargs)

    monkeypatch.setattr(kb, "knowledge_base", counting)
    return builds


def test_a_new_process_reads_the_same_table_and_builds_nothing(tmp_path, fresh):
    settings = get_settings(cache_dir=tmp_path)
    built = intake.load_knowledge_base(settings)
    assert len(fresh) == 1 and len(list((tmp_path / "kb").glob("*.pickle"))) == 1
    intake._knowledge_bases.clear()  # as in a new process
    read = intake.load_knowledge_base(settings)
    assert len(fresh) == 1 and read is not built
    assert fields(read) == fields(built)
    assert len(read.entities) > 10_000 and read.cache == {}
    # The indexes every run asks for are built before the copy is written, and come back with it.
    assert set(read.derived) == {"name_index", "skeletons"} and read.derived == built.derived


def test_a_changed_file_or_builder_makes_a_new_table(tmp_path, fresh, monkeypatch):
    aliases = tmp_path / "entity_aliases.csv"
    shutil.copy(get_settings().entity_aliases, aliases)
    settings = get_settings(cache_dir=tmp_path / "cache", entity_aliases=aliases)
    intake.load_knowledge_base(settings)
    intake._knowledge_bases.clear()
    with aliases.open("a", encoding="utf-8") as file:
        file.write("\n")
    os.utime(aliases, ns=(10**18, 10**18))
    intake.load_knowledge_base(settings)
    assert len(fresh) == 2
    intake._knowledge_bases.clear()
    monkeypatch.setattr(kb_cache, "code_fingerprint", lambda: "another version of transforms/")
    intake.load_knowledge_base(settings)
    assert len(fresh) == 3
    assert len(list((tmp_path / "cache" / "kb").glob("*.pickle"))) == 1  # only the current one is kept


def test_a_damaged_copy_is_built_again_and_no_cache_means_none(tmp_path, fresh):
    settings = get_settings(cache_dir=tmp_path)
    intake.load_knowledge_base(settings)
    (copy,) = (tmp_path / "kb").glob("*.pickle")
    copy.write_bytes(b"not a pickle")
    intake._knowledge_bases.clear()
    assert len(intake.load_knowledge_base(settings).entities) > 10_000 and len(fresh) == 2
    intake._knowledge_bases.clear()
    intake.load_knowledge_base(get_settings(cache_dir=""))
    assert len(fresh) == 3 and get_settings(cache_dir="").kb_cache_dir is None


def test_warehouses_without_imports_of_their_own_share_this_process_s_table(tmp_path, fresh):
    one = intake.load_knowledge_base(get_settings(cache_dir=tmp_path, warehouse=tmp_path / "a" / "akhbar.duckdb"))
    other = intake.load_knowledge_base(get_settings(cache_dir=tmp_path, warehouse=tmp_path / "b" / "akhbar.duckdb"))
    assert other is one and len(fresh) == 1
