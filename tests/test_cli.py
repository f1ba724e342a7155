"""The `akhbar` command as a user runs it: two runs, then SQL over the result."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import require_model


def akhbar(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "akhbar.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture
def cli_env(prefect_api, inbox, warehouse_path):
    env = dict(os.environ)
    env.update(
        PREFECT_API_URL=prefect_api,  # the test server: no temporary server per command
        AKHBAR_INBOX=str(inbox),
        AKHBAR_WAREHOUSE=str(warehouse_path),
    )
    return env


def test_run_twice_then_query(cli_env, warehouse_path):
    require_model()
    first = akhbar("run", env=cli_env)
    assert first.returncode == 0, first.stderr
    assert "5 seen, 5 new, 0 skipped, 0 failed" in first.stdout
    assert "loaded this run: yes" in first.stdout

    second = akhbar("run", env=cli_env)
    assert second.returncode == 0, second.stderr
    assert "5 seen, 0 new, 5 skipped" in second.stdout
    assert "loaded this run: no" in second.stdout

    listed = akhbar("sql", "SELECT count(*) AS n FROM articles", "--format", "csv", env=cli_env)
    assert listed.returncode == 0, listed.stderr
    assert list(csv.reader(io.StringIO(listed.stdout))) == [["n"], ["5"]]

    runs = akhbar("sql", "SELECT n_new, status FROM runs ORDER BY started_at", "-f", "json", env=cli_env)
    assert json.loads(runs.stdout) == [
        {"n_new": 5, "status": "succeeded"},
        {"n_new": 0, "status": "succeeded"},
    ]

    table = akhbar("sql", "SELECT label, count(*) AS n FROM mentions GROUP BY label", env=cli_env)
    assert table.returncode == 0 and "LOC" in table.stdout and "row(s)" in table.stdout


def test_flags_override_the_environment(cli_env, tmp_path):
    require_model()
    other = tmp_path / "other.duckdb"
    empty_inbox = tmp_path / "empty_inbox"
    empty_inbox.mkdir()
    result = akhbar("run", "--inbox", str(empty_inbox), "--warehouse", str(other), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "0 seen, 0 new" in result.stdout
    assert other.exists()


def test_sql_refuses_writes(cli_env, warehouse_path):
    require_model()
    assert akhbar("run", env=cli_env).returncode == 0
    result = akhbar("sql", "DELETE FROM articles", env=cli_env)
    assert result.returncode == 1
    assert "read-only" in result.stderr.lower()
    still = akhbar("sql", "SELECT count(*) FROM articles", "-f", "csv", env=cli_env)
    assert still.stdout.splitlines()[-1] == "5"


def test_sql_on_a_missing_warehouse_says_what_to_do(cli_env, tmp_path):
    result = akhbar("sql", "SELECT 1", "--warehouse", str(tmp_path / "none.duckdb"), env=cli_env)
    assert result.returncode == 1
    assert "akhbar run" in result.stderr


def test_quarantine_list_show_and_retry(cli_env, inbox):
    require_model()
    (inbox / "blank.txt").write_text(" \n\u200b\n", encoding="utf-8")
    run = akhbar("run", env=cli_env)
    assert run.returncode == 0, run.stderr
    assert "1 quarantined" in run.stdout and "blank.txt: empty" in run.stdout

    listed = akhbar("quarantine", "list", env=cli_env)
    assert "1 item(s) in quarantine" in listed.stdout and "empty" in listed.stdout
    rows = json.loads(akhbar("sql", "SELECT item_id, reason FROM quarantine", "-f", "json", env=cli_env).stdout)
    assert [r["reason"] for r in rows] == ["empty"]
    item_id = rows[0]["item_id"]

    shown = akhbar("quarantine", "show", item_id[:6], env=cli_env)
    assert shown.returncode == 0, shown.stderr
    assert '"reason": "empty"' in shown.stdout and "blank.txt" in shown.stdout

    # Nothing was fixed, so the retry quarantines it again and it stays open.
    retried = akhbar("quarantine", "retry", env=cli_env)
    assert retried.returncode == 0, retried.stderr
    assert "1 seen, 0 new" in retried.stdout and "empty" in retried.stdout
    assert "1 item(s) in quarantine" in akhbar("quarantine", "list", env=cli_env).stdout
