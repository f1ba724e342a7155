"""Shared test setup: the offline Stanza model, a real Prefect API, sample articles.

Tests never download a model: STANZA_RESOURCES_DIR defaults to the project's
offline model beside the checkout, and AKHBAR_STANZA_DOWNLOAD is `never`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from core.settings import OFFLINE_MODEL, offline_model_environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "seeds" / "articles"

offline_model_environment(os.environ)
os.environ["AKHBAR_STANZA_DOWNLOAD"] = "never"  # whether or not the offline model is there
# Settings read .env from the working directory; tests must not pick up a developer's.
os.environ.setdefault("AKHBAR_INBOX", str(SAMPLES))
# A command's own Prefect server stops with it, unless a test asks for the shared one (test_local_api.py).
os.environ.setdefault("AKHBAR_LOCAL_API_IDLE_SECONDS", "0")
# One way to gate in every test process (it depends on what the process loaded): in process. Tests of the
# helper (tests/test_gate_helper.py) turn it on.
os.environ.setdefault("AKHBAR_GATE_HELPER", "false")
# Likewise NER runs in the test's own process; tests/test_ner_workers.py asks for worker processes.
os.environ.setdefault("AKHBAR_NER_PROCESSES", "1")

import core.prefect_env  # noqa: E402,F401  (before prefect)


def sample_paths() -> list[Path]:
    return sorted(SAMPLES.glob("*.txt"))


def sample_text(prefix: str) -> str:
    """The sample article whose file name starts with ``prefix`` (e.g. "003")."""
    (path,) = [p for p in sample_paths() if p.name.startswith(prefix)]
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def prefect_api():
    """A real Prefect API (temporary server on 127.0.0.1) for the whole session; yields its URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield PREFECT_API_URL.value()


def copy_samples(folder: Path) -> Path:
    """``folder``, made, holding copies of the five sample articles."""
    folder.mkdir(parents=True)
    for path in sample_paths():
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def inbox(tmp_path) -> Path:
    """A fresh inbox holding copies of the five sample articles."""
    return copy_samples(tmp_path / "inbox")


@pytest.fixture
def warehouse_path(tmp_path) -> Path:
    return tmp_path / "wh" / "akhbar.duckdb"


def repeat_a_mention_key(monkeypatch) -> None:
    """Make the linker repeat its first mention row in every batch: a repeated (article_id, mention_index) key,
    which the quality gate must refuse for the whole batch."""
    import flows.annotate as annotate_module

    real = annotate_module.link_mentions

    def linked_with_a_repeat(*args, **kwargs):
        linked = real(*args, **kwargs)
        linked.mentions = linked.mentions + linked.mentions[:1]
        return linked

    monkeypatch.setattr(annotate_module, "link_mentions", linked_with_a_repeat)


def require_model():
    from core.settings import get_settings
    from flows import nlp

    info = nlp.inspect_model(nlp.resources_dir(get_settings()))
    if info is None:
        pytest.fail(f"no Arabic Stanza model in STANZA_RESOURCES_DIR={os.environ['STANZA_RESOURCES_DIR']}")
    return info


class WebhookReceiver:
    """A Slack-compatible webhook endpoint on 127.0.0.1 that records what it receives."""

    def __init__(self):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append({"path": self.path, "json": json.loads(body)})
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/secret-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook(monkeypatch):
    receiver = WebhookReceiver()
    monkeypatch.setenv("AKHBAR_ALERT_WEBHOOK", receiver.url)
    yield receiver
    receiver.close()


# Tests that need one of these are the slow tier: a real Prefect API (a server process) or the
# real Stanza model. `pytest -m "not slow"` runs the rest: parsing, metadata, entities, selection,
# the publish policy and the gate's rules, in well under a minute.
SLOW_FIXTURES = frozenset({"prefect_api", "model"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES.intersection(item.fixturenames) or item.get_closest_marker("model"):
            item.add_marker(pytest.mark.slow)
