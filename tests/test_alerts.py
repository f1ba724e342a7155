"""Alerts reach a real HTTP receiver on 127.0.0.1, as Slack-compatible JSON."""

from __future__ import annotations

import logging

from flows.alerts import Alert, send_alert


def test_alert_is_posted_as_slack_json(webhook, caplog):
    caplog.set_level(logging.DEBUG)
    alert = Alert("error", "quality gate failed", "run-1", ["• mentions: surface equals slice"],
                  {"new": 3, "data_docs": "/wh/data_docs/index.html"})
    assert send_alert(webhook.url, alert) is True
    (got,) = webhook.received
    payload = got["json"]
    assert payload["text"].startswith(":rotating_light: akhbar error: quality gate failed (run run-1)")
    assert payload["blocks"][0]["type"] == "header"
    assert payload["akhbar"]["run_id"] == "run-1"
    assert payload["akhbar"]["data_docs"] == "/wh/data_docs/index.html"
    assert "secret-token" not in caplog.text


def test_no_webhook_means_no_request_and_no_error(webhook):
    assert send_alert(None, Alert("warning", "x", "run-2")) is False
    assert webhook.received == []


def test_unreachable_webhook_is_logged_without_the_url(caplog):
    secret_url = "http://127.0.0.1:9/services/T000/B000/very-secret-token"
    with caplog.at_level(logging.DEBUG):
        assert send_alert(secret_url, Alert("error", "x", "run-3"), timeout=2) is False
    assert "very-secret-token" not in caplog.text
    assert "unreachable" in caplog.text
