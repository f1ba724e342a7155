"""The readers' replica: rewritten in place when no one holds it, copied whole when someone does."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from warehouse.replica import _write_differences, refresh_replica, replica_path, spare_path


def publish_rows(path: Path, first: int, count: int) -> None:
    """A stand-in for a publish: rows committed and checkpointed, the connection closed."""
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE IF NOT EXISTS t (i BIGINT, s VARCHAR)")
        con.execute("INSERT INTO t SELECT i, repeat('x', 200) || i FROM range(?, ?) r(i)", [first, first + count])
        con.execute("CHECKPOINT")


def replica_count(path: Path) -> int:
    with duckdb.connect(str(replica_path(path)), read_only=True) as con:
        return con.execute("SELECT count(*) FROM t").fetchone()[0]


@pytest.fixture
def main_file(tmp_path):
    path = tmp_path / "akhbar.duckdb"
    for n in range(2):  # two publishes: a replica and a spare
        publish_rows(path, n * 50_000, 50_000)
        refresh_replica(path)
    return path


def test_the_spare_is_rewritten_in_place_and_becomes_the_replica(main_file):
    assert spare_path(main_file).is_file()
    spare_inode = spare_path(main_file).stat().st_ino
    replica_inode = replica_path(main_file).stat().st_ino
    publish_rows(main_file, 100_000, 10)
    refresh_replica(main_file)
    assert replica_path(main_file).stat().st_ino == spare_inode  # no new file: the spare was rewritten
    assert spare_path(main_file).stat().st_ino == replica_inode  # the swapped-out replica is the next spare
    assert filecmp.cmp(main_file, replica_path(main_file), shallow=False)
    assert replica_count(main_file) == 100_010
    assert sorted(p.name for p in main_file.parent.iterdir()) == [
        ".akhbar.read.duckdb.spare", "akhbar.duckdb", "akhbar.read.duckdb"]


def test_a_spare_held_by_a_reader_in_another_process_is_left_to_it(main_file):
    # The reader opens the replica, which the next refresh swaps out and makes the spare.
    reader = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys\n"
         f"con = duckdb.connect({str(replica_path(main_file))!r}, read_only=True)\n"
         "print(con.execute('SELECT count(*) FROM t').fetchone()[0], flush=True)\n"
         "sys.stdin.readline()\n"
         "print(con.execute('SELECT count(*), sum(i) FROM t').fetchone(), flush=True)\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "100000"
        held = replica_path(main_file).stat().st_ino
        publish_rows(main_file, 100_000, 10)
        refresh_replica(main_file)
        assert spare_path(main_file).stat().st_ino == held
        publish_rows(main_file, 200_000, 20_000)
        refresh_replica(main_file)  # the spare is held: a whole copy instead, the reader's file untouched
        assert replica_path(main_file).stat().st_ino != held
        assert filecmp.cmp(main_file, replica_path(main_file), shallow=False)
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == f"(100000, {sum(range(100_000))})"
    finally:
        reader.kill()
        reader.wait()
    assert replica_count(main_file) == 120_010


def test_a_spare_held_by_a_reader_in_this_process_is_left_to_it(main_file):
    with duckdb.connect(str(replica_path(main_file)), read_only=True) as reader:
        publish_rows(main_file, 100_000, 10)
        refresh_replica(main_file)  # the reader's file becomes the spare
        publish_rows(main_file, 200_000, 20_000)
        refresh_replica(main_file)
        assert reader.execute("SELECT count(*), sum(i) FROM t").fetchone() == (100_000, sum(range(100_000)))
    assert filecmp.cmp(main_file, replica_path(main_file), shallow=False)
    assert replica_count(main_file) == 120_010


def test_leftovers_of_a_writer_killed_mid_refresh_are_cleared(main_file):
    replica = replica_path(main_file)
    for name in (f".{replica.name}.keep", f".{replica.name}.swap"):
        (main_file.parent / name).write_bytes(b"half written")
    publish_rows(main_file, 100_000, 10)
    refresh_replica(main_file)
    assert replica_count(main_file) == 100_010
    assert not (main_file.parent / f".{replica.name}.keep").exists()
    assert not (main_file.parent / f".{replica.name}.swap").exists()


def test_a_damaged_spare_is_rewritten_whole_and_a_folder_in_its_place_replaced(main_file):
    spare = spare_path(main_file)
    with open(spare, "r+b") as damaged:  # a torn write: garbage over the middle of the file
        damaged.seek(spare.stat().st_size // 2)
        damaged.write(b"\xff" * 300_000)
    publish_rows(main_file, 100_000, 10)
    refresh_replica(main_file)
    assert filecmp.cmp(main_file, replica_path(main_file), shallow=False)
    spare.unlink()
    spare.mkdir()
    (spare / "stray").write_bytes(b"x")
    publish_rows(main_file, 200_000, 10)
    refresh_replica(main_file)
    assert spare.is_file() and replica_count(main_file) == 100_020


@pytest.mark.parametrize("old, new, rewritten", [
    (b"a" * 700_000, b"a" * 300_000 + b"b" + b"a" * 399_999, 256 * 1024),  # only the chunk that differs
    (b"a" * 700_000, b"a" * 100, 100),                                      # shorter
    (b"a" * 100, b"c" * 900_000, 900_000),                                  # longer
    (b"", b"d" * 10, 10),
])
def test_writing_the_differences_leaves_an_exact_copy(tmp_path, old, new, rewritten):
    source, target = tmp_path / "source", tmp_path / "target"
    source.write_bytes(new)
    target.write_bytes(old)
    fd = os.open(target, os.O_RDWR)
    try:
        written = _write_differences(source, fd)
    finally:
        os.close(fd)
    assert target.read_bytes() == new and written == rewritten
