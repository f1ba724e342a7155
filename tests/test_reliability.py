"""Hostile endpoints and inputs, each reproduced as it was found: none may stop a run or leak a secret."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from flows import http, intake
from flows.alerts import Alert, send_alert


class RawServer:
    """A TCP server on 127.0.0.1 that answers every connection with ``answer(conn)``, bounded in time."""

    def __init__(self, answer):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.answer, self._stop = answer, threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        stop_at = time.monotonic() + 30  # stops by itself
        while not self._stop.is_set() and time.monotonic() < stop_at:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            conn.settimeout(5)
            conn.recv(65536)
            self.answer(conn, self._stop)
        except OSError:
            pass
        finally:
            conn.close()

    def url(self, path="/services/T000/B000/secret-token"):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self._stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def server():
    made = []

    def make(answer):
        made.append(RawServer(answer))
        return made[-1]

    yield make
    for s in made:
        s.close()


def not_http(conn, stop):
    conn.sendall(b"\x00\x01 this is not HTTP at all\r\n\r\n")


def trickle(conn, stop):
    """A valid start of an answer, one byte every 0.3 s: never a per-recv timeout, never an end."""
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000:
        if stop.is_set():
            return
        conn.sendall(bytes([byte]))
        time.sleep(0.3)


def test_a_receiver_that_answers_garbage_is_a_warning_not_a_failure(server, caplog):
    receiver = server(not_http)
    with caplog.at_level(logging.DEBUG):
        assert send_alert(receiver.url(), Alert("error", "x", "run-1"), timeout=3) is False
    assert "unreachable" in caplog.text and "secret-token" not in caplog.text
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == "flows.alerts")


def test_a_trickling_receiver_cannot_hold_the_alert_past_its_deadline(server, caplog):
    receiver = server(trickle)
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG):
        assert send_alert(receiver.url(), Alert("error", "x", "run-1"), timeout=1.5) is False
    assert time.monotonic() - started < 5
    assert "HttpTimeout" in caplog.text and "secret-token" not in caplog.text


def test_a_trickling_feed_cannot_hold_intake_past_its_deadline(server):
    feed = server(trickle)
    started = time.monotonic()
    with pytest.raises(http.HttpTimeout):
        intake.fetch(feed.url("/rss.xml"), timeout=1.5, max_bytes=1_000_000)
    assert time.monotonic() - started < 5


def test_a_webhook_url_without_a_scheme_is_refused_by_the_request_not_raised(caplog):
    with caplog.at_level(logging.DEBUG):
        assert send_alert("hooks.example/T000/secret-token", Alert("error", "x", "run-1"), timeout=1) is False
    assert "secret-token" not in caplog.text
