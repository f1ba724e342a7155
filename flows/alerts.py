"""Alerts to a Slack-compatible incoming webhook.

The webhook URL is a secret: it is read from settings as a SecretStr, never
logged, and an error about the request names the host's reply, not the URL.
The request goes through urllib rather than httpx because httpx logs every
request's URL at INFO level.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

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
    """POST the alert; returns whether it was delivered. Never raises: an alert must not sink a run."""
    if not webhook_url:
        log.info("no AKHBAR_ALERT_WEBHOOK configured; alert not sent: %s", alert.title)
        return False
    request = urllib.request.Request(
        webhook_url,
        data=json.dumps(alert.payload(), ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
        return True
    except urllib.error.HTTPError as err:
        log.error("alert webhook answered HTTP %s", err.code)
    except (urllib.error.URLError, OSError, ValueError) as err:
        log.error("alert webhook unreachable (%s)", type(err).__name__)
    return False
