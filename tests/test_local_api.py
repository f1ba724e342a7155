"""akhbar's shared local Prefect API (flows/local_api.py): started by one command, used by the next, stopped
when idle; a stale or foreign one is never used."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.local_api import STATE, _identity, running_api
from tests.conftest import require_model


def run_env(tmp_path: Path, idle: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), AKHBAR_LOCAL_API_IDLE_SECONDS=str(idle),
               AKHBAR_WAREHOUSE=str(tmp_path / "wh" / "akhbar.duckdb"))
    return env


def akhbar_run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "akhbar.cli", "run"], env=env, capture_output=True, text=True,
                          timeout=600)


def state(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "prefect" / STATE).read_text())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # a child that exited but was not reaped yet is not alive either
    return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_a_stale_or_foreign_state_file_is_not_used(tmp_path):
    home = tmp_path / "prefect"
    home.mkdir()
    assert running_api(home) is None
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (home / STATE).write_text(json.dumps({"pid": dead.pid, "url": "http://127.0.0.1:9/api", **_identity()}))
    assert running_api(home) is None
    (home / STATE).write_text(json.dumps({"pid": os.getpid(), "url": "http://127.0.0.1:9/api", **_identity()}))
    assert running_api(home) is None  # alive, but nothing answers there
    (home / STATE).write_text(json.dumps({"pid": os.getpid(), "url": "http://127.0.0.1:9/api",
                                          **_identity(), "prefect": "0.0.1"}))
    assert running_api(home) is None
    (home / STATE).write_text("{not json")
    assert running_api(home) is None


@pytest.mark.slow
def test_the_next_command_uses_the_server_the_first_left_and_it_stops_when_idle(tmp_path):
    require_model()
    env = run_env(tmp_path, idle=6)
    first = akhbar_run(env)
    assert first.returncode == 0, first.stderr
    server = state(tmp_path)
    assert alive(server["pid"]) and running_api(tmp_path / "prefect") == server["url"]

    second = akhbar_run(env)
    assert second.returncode == 0, second.stderr
    assert "0 new" in second.stdout and state(tmp_path)["pid"] == server["pid"]

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: server["url"]}), get_client(sync_client=True) as client:
        runs = client.read_flow_runs()
    assert sorted(run.state.type.value for run in runs) == ["COMPLETED", "COMPLETED"]

    try:
        assert wait_until(lambda: not alive(server["pid"]), 60), "the idle server did not stop"
        assert not (tmp_path / "prefect" / STATE).exists()
        third = akhbar_run(env)  # a new one is started when the old one is gone
        assert third.returncode == 0, third.stderr
        assert state(tmp_path)["pid"] != server["pid"]
    finally:
        for pid in {server["pid"], *([state(tmp_path)["pid"]] if (tmp_path / "prefect" / STATE).exists() else [])}:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
