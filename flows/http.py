"""HTTP with a total deadline: no server, however slow or broken, can hold a run.

A socket timeout bounds each ``recv``, so a server that trickles one byte
every few seconds never trips it. Here a timer shuts the connection's socket
down when the whole exchange (connect, request, status line, headers, body)
has taken longer than its deadline, which wakes any blocked read; the call
then raises :class:`HttpTimeout`. Bodies are bounded too, and every error
names the host, never the full URL (a webhook URL is a secret).
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

USER_AGENT = "akhbar/0.1 (+https://github.com/akhbar)"
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024


class HttpError(OSError):
    """The exchange failed: no answer, a broken answer, too large, or too many redirects."""


class HttpTimeout(HttpError, TimeoutError):
    """The whole exchange took longer than its deadline."""


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]  # lowercased names
    body: bytes
    url: str  # after redirects


def host_of(url: str) -> str:
    return urlsplit(url).hostname or "?"


def request(url: str, *, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None,
            deadline: float = 30.0, max_bytes: int = 20_000_000, follow_redirects: bool = True) -> HttpAnswer:
    """One HTTP(S) exchange (following up to MAX_REDIRECTS for GET) within ``deadline`` seconds in all."""
    ends_at = time.monotonic() + deadline
    for _ in range(MAX_REDIRECTS + 1):
        answer = _exchange(url, method, data, headers or {}, ends_at, deadline, max_bytes)
        location = answer.headers.get("location")
        if not (follow_redirects and method == "GET" and answer.status in (301, 302, 303, 307, 308) and location):
            return answer
        url = urljoin(url, location)
    raise HttpError(f"{host_of(url)}: more than {MAX_REDIRECTS} redirects")


def _exchange(url: str, method: str, data: bytes | None, headers: dict[str, str], ends_at: float,
              deadline: float, max_bytes: int) -> HttpAnswer:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpError(f"refusing a URL that is not http(s) with a host (host {parts.hostname or 'none'})")
    left = ends_at - time.monotonic()
    if left <= 0:
        raise HttpTimeout(f"{parts.hostname}: no complete answer within {deadline:g} s")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=left)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = threading.Timer(left, expire)
    timer.daemon = True
    timer.start()
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=data, headers={"User-Agent": USER_AGENT, **headers})
        response = connection.getresponse()
        body = bytearray()
        while len(body) <= max_bytes:
            chunk = response.read(min(_CHUNK, max_bytes + 1 - len(body)))
            if not chunk:
                break
            body += chunk
        if len(body) > max_bytes:
            raise HttpError(f"{parts.hostname}: answer larger than {max_bytes} bytes")
        if expired.is_set():
            raise HttpTimeout(f"{parts.hostname}: no complete answer within {deadline:g} s")
        return HttpAnswer(response.status, {k.lower(): v for k, v in response.getheaders()}, bytes(body), url)
    except HttpError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as error:
        # The socket's own timeout (the time left) can fire a moment before the timer does.
        if expired.is_set() or isinstance(error, TimeoutError):
            raise HttpTimeout(f"{parts.hostname}: no complete answer within {deadline:g} s") from None
        raise HttpError(f"{parts.hostname}: {type(error).__name__}: {_without_url(str(error), url)}") from None
    finally:
        timer.cancel()
        connection.close()


def _without_url(message: str, url: str) -> str:
    return message.replace(url, "<url>")[:300]
