"""Alerts to a Slack-compatible incoming webhook.

The webhook URL is a secret: it is read from settings as a SecretStr, never
logged, and an error about the request names the host's reply, not the URL.
The request goes through ``flows.http`` (http.client) rather than httpx,
which logs every request's URL at INFO level, and within a total deadline: a
receiver that trickles its answer cannot hold the run. Whatever the receiver
does, the alert is a warning in the log and never changes the run's outcome.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from flows import http

log = logging.getLogger(__name__)

_EMOJI = {"error": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}


@dataclass
class Alert:
    level: str  # "error" | "warning" | "info"
    title: str
    run_id: str
    lines: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """Slack incoming-webhook JSON: `text` for any client, `blocks` for Slack."""
        head = f"{_EMOJI.get(self.level, '')} akhbar {self.level}: {self.title} (run {self.run_id})".strip()
        body = "\n".join(self.lines)
        facts = [f"*{k}*: {v}" for k, v in self.fields.items()]
        blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": head[:150]}}]
        if body:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:2900]}})
        if facts:
            blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f[:1900]} for f in facts[:10]]})
        return {
            "text": head + ("\n" + body if body else ""),
            "blocks": blocks,
            # Machine-readable copy for receivers that are not Slack.
            "akhbar": {"level": self.level, "title": self.title, "run_id": self.run_id,
                       "lines": self.lines, **{k: v for k, v in self.fields.items()}},
        }


def send_alert(webhook_url: str | None, alert: Alert, timeout: float = 10.0) -> bool:
    """POST the alert within ``timeout`` seconds in all; returns whether it was delivered. Never raises."""
    if not webhook_url:
        log.info("no AKHBAR_ALERT_WEBHOOK configured; alert not sent: %s", alert.title)
        return False
    try:
        answer = http.request(webhook_url, method="POST", deadline=timeout, max_bytes=100_000,
                              data=json.dumps(alert.payload(), ensure_ascii=False).encode("utf-8"),
                              headers={"Content-Type": "application/json; charset=utf-8"},
                              follow_redirects=False)
    except Exception as err:  # noqa: BLE001 (an alert must not sink a run, whatever the receiver does)
        log.warning("alert webhook unreachable (%s: %s)", type(err).__name__,
                    str(err).replace(webhook_url, "<webhook>")[:200])
        return False
    if answer.status >= 300:
        log.warning("alert webhook answered HTTP %s", answer.status)
        return False
    return True
