"""Operations: a scheduled deployment on a real local Prefect server, SQL beside a running writer, the report."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import OFFLINE_MODEL, SAMPLES, require_model

BIN = Path(sys.executable).parent


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AKHBAR_"))}
    env.update(
        STANZA_RESOURCES_DIR=os.environ.get("STANZA_RESOURCES_DIR", str(OFFLINE_MODEL)),
        AKHBAR_STANZA_DOWNLOAD="never",
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def published_runs(warehouse: Path) -> list[tuple]:
    from warehouse.query import WarehouseMissing, run_query

    try:
        return run_query(warehouse, "SELECT run_id, status, n_new FROM runs ORDER BY started_at").rows
    except WarehouseMissing:
        return []


# --------------------------------------------------------------------------- schedules

@pytest.mark.slow  # starts its own Prefect server and `akhbar serve`
def test_a_cron_deployment_runs_on_a_local_prefect_server_and_stops_on_ctrl_c(tmp_path):
    require_model()
    warehouse = tmp_path / "wh" / "akhbar.duckdb"
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen(
        [str(BIN / "akhbar"), "serve", "--cron", "* * * * *", "--inbox", str(SAMPLES), "--warehouse", str(warehouse)],
        env=env_for(tmp_path), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline and not published_runs(warehouse):
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(3)
        runs = published_runs(warehouse)
        assert runs and runs[0][1:] == ("succeeded", 5), (tmp_path / "serve.log").read_text()[-3000:]

        ui = re.search(r"Prefect UI: (http://127\.0\.0\.1:\d+)", (tmp_path / "serve.log").read_text()).group(1)
        status = subprocess.run([str(BIN / "akhbar"), "status", "--warehouse", str(warehouse)],
                                env=env_for(tmp_path, PREFECT_API_URL=f"{ui}/api"),
                                capture_output=True, text=True, timeout=120)
        assert status.returncode == 0, status.stderr
        assert re.search(r"next scheduled run: \d{4}-\d\d-\d\d", status.stdout), status.stdout
        assert "succeeded" in status.stdout and "model: stanza-ar" in status.stdout
    finally:
        os.killpg(serve.pid, signal.SIGINT)  # Ctrl-C
        try:
            code = serve.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            raise
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert code == 0, output[-3000:]
    assert "akhbar serve stopped" in output


# --------------------------------------------------------------------------- SQL beside the writer

def test_sql_during_a_run_never_fails_and_sees_only_published_states(tmp_path, prefect_api):
    from flows.ingest import ingest
    from warehouse.query import run_query

    require_model()
    warehouse = tmp_path / "wh" / "akhbar.duckdb"
    first = tmp_path / "first"
    first.mkdir()
    samples = sorted(SAMPLES.glob("*.txt"))
    (first / samples[0].name).write_bytes(samples[0].read_bytes())
    ingest(inbox=str(first), warehouse=str(warehouse))
    count_sql = "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM mentions)"
    before = run_query(warehouse, count_sql).rows[0]

    writer = subprocess.Popen(
        [str(BIN / "akhbar"), "run", "--inbox", str(SAMPLES), "--warehouse", str(warehouse)],
        env=env_for(tmp_path, PREFECT_API_URL=prefect_api, AKHBAR_NER_BATCH_ARTICLES="1"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    seen, cli_calls = [], 0
    while writer.poll() is None:
        seen.append(run_query(warehouse, count_sql).rows[0])  # another process than the writer
        if cli_calls < 3:
            result = subprocess.run([str(BIN / "akhbar"), "sql", "SELECT count(*) FROM runs", "-f", "csv",
                                     "--warehouse", str(warehouse)], capture_output=True, text=True, timeout=120,
                                    env=env_for(tmp_path))
            assert result.returncode == 0, result.stderr
            cli_calls += 1
        time.sleep(0.05)
    output = writer.stdout.read()
    assert writer.returncode == 0, output[-3000:]
    after = run_query(warehouse, count_sql).rows[0]
    assert after[0] == 5 and after != before
    assert set(seen) <= {before, after}
    assert before in seen and len(seen) > 20


def test_sql_refuses_writes_with_a_clear_message(tmp_path, prefect_api):
    from flows.ingest import ingest

    require_model()
    warehouse = tmp_path / "wh" / "akhbar.duckdb"
    ingest(inbox=str(SAMPLES), warehouse=str(warehouse))
    attempts = {
        "DELETE FROM articles": "read-only",
        "CREATE TABLE x AS SELECT 1": "read-only",
        f"COPY articles TO '{tmp_path / 'out.csv'}'": "reads the warehouse only",
        "SELECT * FROM read_csv('/etc/passwd')": "reads the warehouse only",
        f"ATTACH '{tmp_path / 'other.duckdb'}' AS other": "reads the warehouse only",
        "INSTALL httpfs": "reads the warehouse only",
    }
    for statement, message in attempts.items():
        result = subprocess.run([str(BIN / "akhbar"), "sql", statement, "--warehouse", str(warehouse)],
                                capture_output=True, text=True, timeout=120, env=env_for(tmp_path))
        assert result.returncode == 1, statement
        assert message in " ".join(result.stderr.split()), (statement, result.stderr)
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "other.duckdb").exists()
    assert published_runs(warehouse)[0][2] == 5  # nothing was deleted

    parquet = tmp_path / "top.parquet"
    result = subprocess.run([str(BIN / "akhbar"), "sql", "SELECT * FROM top_entities LIMIT 5", "-f", "parquet",
                             "-o", str(parquet), "--warehouse", str(warehouse)],
                            capture_output=True, text=True, timeout=120, env=env_for(tmp_path))
    assert result.returncode == 0, result.stderr
    import pyarrow.parquet as pq

    assert pq.read_table(parquet).num_rows == 5


# --------------------------------------------------------------------------- report

@pytest.fixture(scope="module")
def report_warehouse(tmp_path_factory, prefect_api):
    from flows.ingest import ingest

    require_model()
    warehouse = tmp_path_factory.mktemp("report") / "akhbar.duckdb"
    ingest(inbox=str(SAMPLES), warehouse=str(warehouse))
    return warehouse


def test_report_is_self_contained_and_escapes_article_content(report_warehouse):
    from akhbar.report import ReportData, read_data, render

    page = render(read_data(report_warehouse))
    assert page.count("<svg") == 4
    assert "<script" not in page and "src=" not in page and "@import" not in page
    assert "Kazakhstan" in page and "كازاخستان" in page
    sums = page[page.index("The largest sums of money"):]
    assert "41 مليار دولار" in sums and "41,000,000,000 USD" in sums

    hostile = ReportData(top=[("x", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "PER", 3, 1)],
                         timeline=[("x", "2024-07-01", 3)], edges=[], sources=[("<b>agency</b>", "2024-07", 1)],
                         runs=[("r1", "2024-07-01", 1, 1, 0, "succeeded", "<i>msg</i>")], warehouse=Path("w"),
                         amounts=[("<u>5</u>", 5.0, "currency", "USD", None, "<s>t</s>", None, ["<q>n</q>"])])
    page = render(hostile)
    assert "<script>" not in page and "<img" not in page and "<b>agency" not in page and "<i>msg" not in page
    assert "<u>5" not in page and "<s>t" not in page and "<q>n" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_report_charts_are_visible_in_headless_chromium(report_warehouse, tmp_path):
    from PIL import Image

    from akhbar.report import AGENCIES, BAR, NETWORK, TIMELINE, find_chromium, screenshot, write_report

    if find_chromium() is None:
        pytest.skip("no Chromium on this machine (.ci/run installs Debian's chromium)")
    html = write_report(report_warehouse, tmp_path / "report.html")
    png = screenshot(html, tmp_path / "report.png")
    image = Image.open(png).convert("RGB")
    pixels = {color: n for n, color in image.getcolors(maxcolors=1 << 24)}

    def count(hex_color: str) -> int:
        rgb = tuple(int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
        return sum(n for c, n in pixels.items() if max(abs(a - b) for a, b in zip(c, rgb)) <= 12)

    visible = {"top entities": count(BAR), "timeline": count(TIMELINE[0]) + count(TIMELINE[1]),
               "network": count(NETWORK), "sources": count(AGENCIES[0])}
    assert all(n > 300 for n in visible.values()), visible


# --------------------------------------------------------------------------- one writer

def test_a_second_writer_exits_clearly_and_a_killed_writers_lock_is_taken_over(tmp_path, prefect_api):
    from warehouse.lock import WriterLock

    require_model()
    warehouse = tmp_path / "wh" / "akhbar.duckdb"
    lock_path = warehouse.parent / "akhbar.duckdb.lock"
    run = [str(BIN / "akhbar"), "run", "--inbox", str(SAMPLES), "--warehouse", str(warehouse)]
    env = env_for(tmp_path, PREFECT_API_URL=prefect_api)

    with WriterLock(lock_path):  # a run in progress, as far as any other process can tell
        busy = subprocess.run(run, env=env, capture_output=True, text=True, timeout=300)
    assert busy.returncode == 1
    assert "another akhbar run" in " ".join(busy.stderr.split()), busy.stderr[-2000:]
    assert not warehouse.exists()

    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from warehouse.lock import WriterLock; "
        f"WriterLock(Path({str(lock_path)!r})).acquire(); print('held', flush=True); time.sleep(600)")],
        stdout=subprocess.PIPE, text=True, cwd=str(Path(__file__).resolve().parent.parent))
    assert holder.stdout.readline().strip() == "held"
    holder.kill()  # SIGKILL: no chance to clean up
    holder.wait()
    taken_over = subprocess.run(run, env=env, capture_output=True, text=True, timeout=600)
    assert taken_over.returncode == 0, taken_over.stderr[-2000:]
    assert "5 new" in taken_over.stdout
