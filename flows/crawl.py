"""A polite fetcher: what a well-behaved crawler sends, how often, and what it does when a site says no.

- **Who**: a ``User-Agent`` naming akhbar and the contact address the user sets (``AKHBAR_CONTACT_URL``).
- **robots.txt**, read once per host per crawl and honoured (RFC 9309: 401/403 forbids everything, another
  4xx or no answer allows everything), its ``Crawl-delay`` too when longer than ours.
- **How often**: at most ``per_host`` requests in flight to one host (1), each starting at least ``delay``
  seconds (1.0) after the previous one to that host started, at most ``total`` in flight overall (8);
  different hosts are fetched concurrently, so that one slow site does not hold the others.
- **When it fails**: each exchange has a deadline (connect to last byte); a timeout, a refused connection,
  429 and 5xx are tried again within the crawl with exponential backoff and jitter (``Retry-After``
  honoured, within ``max_wait``); another 4xx is not. Redirects are followed (each hop polite and checked
  against robots.txt) up to ``max_redirects``; a loop is told apart. Bodies are bounded (``max_bytes``,
  gzip included: an answer is inflated only that far).

Every result says what happened in one word (:func:`transforms.web.failure_reason`): ``None`` for an
answer, else ``timeout``, ``connection_error``, ``http_404``, ``http_429``, ``http_5xx``, ``robots_disallowed``,
``too_large``, ``too_many_redirects``, ``redirect_loop``.
"""

from __future__ import annotations

import random
import threading
import time
import zlib
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable
from urllib.parse import urljoin, urlsplit, urlunsplit

from flows import http
from transforms.web import Robots, failure_reason, host_key, is_transient, retry_after, robots_from

VERSION = "0.1"


def user_agent(contact_url: str | None) -> str:
    """``akhbar/0.1 (+https://your.site/contact)``: who is asking, and where to say stop."""
    return f"akhbar/{VERSION} (+{contact_url})" if contact_url else f"akhbar/{VERSION} (news archive; no contact set)"


@dataclass(frozen=True)
class Politeness:
    user_agent: str
    delay: float = 1.0  # seconds between the starts of two requests to one host
    per_host: int = 1
    total: int = 8
    timeout: float = 30.0  # one exchange, connect to last byte
    max_bytes: int = 20_000_000
    retries: int = 3  # attempts for a transient failure, within one crawl
    backoff: float = 1.0  # the first wait before trying again, doubled each time, with ±50% jitter
    max_wait: float = 30.0  # longest wait (backoff or Retry-After) a crawl accepts before giving up
    max_redirects: int = 5


@dataclass
class Fetched:
    url: str  # as asked
    final_url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    reason: str | None = None  # None: an answer (2xx or 304)
    detail: str = ""
    attempts: int = 0
    seconds: float = 0.0
    size: int = 0  # bytes of the body (kept when the body is handed on: Crawler.fetch_many)

    @property
    def ok(self) -> bool:
        return self.reason is None


class _Host:
    """One host's gate: how many requests may be in flight, and when the next may start."""

    def __init__(self, per_host: int, delay: float):
        self.slots = threading.Semaphore(per_host)
        self.lock = threading.Lock()
        self.next_at = 0.0
        self.delay = delay  # ours, or the site's Crawl-delay when it asks for more
        self.robots: Robots | None = None
        self.robots_lock = threading.Lock()


class Crawler:
    """Fetches politely (see the module docstring); thread-safe, one per crawl."""

    def __init__(self, politeness: Politeness, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None):
        self.politeness = politeness
        self.clock, self.sleep = clock, sleep
        self.rng = rng or random.Random()
        self._hosts: dict[str, _Host] = defaultdict(lambda: _Host(politeness.per_host, politeness.delay))
        self._hosts_lock = threading.Lock()
        self.requests = 0
        self.bytes = 0
        self._count_lock = threading.Lock()

    # -------------------------------------------------------------- one address

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> Fetched:
        """GET ``url`` (redirects followed, robots.txt honoured, transient failures tried again)."""
        started = self.clock()
        result = Fetched(url, url)
        seen = {url}
        current = url
        for _ in range(self.politeness.max_redirects + 1):
            if not self._robots(current).allows(self.politeness.user_agent, current):
                return self._done(result, started, reason="robots_disallowed", detail=f"{_host(current)} robots.txt")
            answer = self._with_retries(current, headers or {}, result)
            if answer is None:  # failed: result says why
                return self._done(result, started, result.reason, result.detail)
            location = answer.headers.get("location")
            if answer.status in (301, 302, 303, 307, 308) and location:
                target = urljoin(current, location)
                if target in seen:
                    return self._done(result, started, reason="redirect_loop",
                                      detail=f"{_host(current)} redirects back to an address already visited")
                seen.add(target)
                current = target
                continue
            result.final_url, result.status, result.headers, result.body = current, answer.status, answer.headers, \
                answer.body
            if 200 <= answer.status < 300 or answer.status == 304:
                return self._done(result, started)
            return self._done(result, started, reason=failure_reason(answer.status),
                              detail=f"{_host(current)} answered HTTP {answer.status}")
        return self._done(result, started, reason="too_many_redirects",
                          detail=f"more than {self.politeness.max_redirects} redirects from {_host(url)}")

    def _done(self, result: Fetched, started: float, reason: str | None = None, detail: str = "") -> Fetched:
        result.reason, result.detail = reason, detail or result.detail
        result.size = len(result.body)
        result.seconds = self.clock() - started
        return result

    def _with_retries(self, url: str, headers: dict[str, str], result: Fetched) -> http.HttpAnswer | None:
        wait = self.politeness.backoff
        for attempt in range(1, self.politeness.retries + 1):
            result.attempts += 1
            answer, reason, detail = self._exchange(url, headers)
            if answer is not None and not (answer.status == 429 or 500 <= answer.status < 600):
                return answer
            if answer is not None:
                reason, detail = failure_reason(answer.status), f"{_host(url)} answered HTTP {answer.status}"
            result.reason, result.detail = reason, detail
            asked = retry_after(answer.headers.get("retry-after"), datetime.now(timezone.utc)) if answer else None
            pause = asked if asked is not None else wait * (0.5 + self.rng.random())
            if attempt == self.politeness.retries or not is_transient(reason) or pause > self.politeness.max_wait:
                if answer is not None and reason.startswith("http_"):
                    result.status, result.headers, result.body = answer.status, answer.headers, answer.body
                return None
            self._hold_host(url, pause)
            wait = min(wait * 2, self.politeness.max_wait)
        return None

    def _exchange(self, url: str, headers: dict[str, str]) -> tuple[http.HttpAnswer | None, str, str]:
        """One request through the host's gate: (answer, "", "") or (None, reason, detail)."""
        host = self._host(url)
        with host.slots:
            self._wait_turn(host)
            try:
                answer = http.request(url, deadline=self.politeness.timeout, max_bytes=self.politeness.max_bytes,
                                      follow_redirects=False,
                                      headers={"User-Agent": self.politeness.user_agent, "Accept-Encoding": "gzip",
                                               **headers})
                answer = self._inflated(answer)
            except http.HttpTimeout as error:
                return None, "timeout", str(error)
            except http.HttpError as error:
                if "larger than" in str(error):
                    return None, "too_large", str(error)
                return None, "connection_error", str(error)
            finally:
                with self._count_lock:
                    self.requests += 1
        with self._count_lock:
            self.bytes += len(answer.body)
        return answer, "", ""

    def _inflated(self, answer: http.HttpAnswer) -> http.HttpAnswer:
        if answer.headers.get("content-encoding", "").lower() not in ("gzip", "x-gzip") or not answer.body:
            return answer
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(answer.body, self.politeness.max_bytes + 1)
        except zlib.error as error:
            raise http.HttpError(f"{_host(answer.url)}: broken gzip: {error}") from None
        if len(body) > self.politeness.max_bytes or inflater.unconsumed_tail:
            raise http.HttpError(f"{_host(answer.url)}: answer larger than {self.politeness.max_bytes} bytes "
                                 "once inflated")
        headers = {k: v for k, v in answer.headers.items() if k != "content-encoding"}
        return http.HttpAnswer(answer.status, headers, body, answer.url)

    def _wait_turn(self, host: _Host) -> None:
        while True:
            with host.lock:
                now = self.clock()
                if now >= host.next_at:
                    host.next_at = now + host.delay
                    return
                pause = host.next_at - now
            self.sleep(min(pause, 1.0))

    def _hold_host(self, url: str, seconds: float) -> None:
        host = self._host(url)
        with host.lock:
            host.next_at = max(host.next_at, self.clock() + seconds)

    def _host(self, url: str) -> _Host:
        key = host_key(url)
        with self._hosts_lock:
            return self._hosts[key]

    # -------------------------------------------------------------- robots.txt

    def _robots(self, url: str) -> Robots:
        host = self._host(url)
        with host.robots_lock:
            if host.robots is None:
                parts = urlsplit(url)
                robots_url = urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))
                answer, _, _ = self._exchange(robots_url, {})
                host.robots = robots_from(answer.status if answer else None, answer.body if answer else b"")
                asked = host.robots.delay(self.politeness.user_agent)
                if asked and asked > host.delay:  # the site's Crawl-delay, when it asks for more
                    with host.lock:
                        host.delay = asked
                        host.next_at = max(host.next_at, self.clock() + asked)
            return host.robots

    # -------------------------------------------------------------- many addresses

    def fetch_many(self, requests: Iterable[tuple[str, dict[str, str] | None]],
                   on_result: Callable[[int, Fetched], None] | None = None) -> list[Fetched]:
        """Every address, in the order given back; hosts concurrently, each host politely in turn.

        ``on_result(number, fetched)`` is called on the worker as each answer comes (between two turns of
        its host, so that extracting a page costs no crawl time); it then owns the result, and nothing is
        given back: a crawl then holds no more pages than it has workers, however many it fetches.
        """
        requests = list(requests)
        by_host: dict[str, deque[int]] = defaultdict(deque)
        for number, (url, _) in enumerate(requests):
            by_host[host_key(url)].append(number)
        results: list[Fetched | None] = [None] * (len(requests) if on_result is None else 0)

        def work(queue: deque[int]) -> None:
            while True:
                try:
                    number = queue.popleft()
                except IndexError:
                    return
                url, headers = requests[number]
                try:
                    fetched = self.fetch(url, headers)
                except Exception as error:  # a bug met on one address is that address's alone
                    fetched = Fetched(url, url, reason="connection_error",
                                      detail=f"{type(error).__name__}: {error}"[:300])
                if on_result is not None:
                    on_result(number, fetched)
                else:
                    results[number] = fetched

        jobs = [queue for queue in by_host.values() for _ in range(min(self.politeness.per_host, len(queue)))]
        if jobs:
            with ThreadPoolExecutor(max_workers=max(1, min(self.politeness.total, len(jobs))),
                                    thread_name_prefix="akhbar-crawl") as pool:
                for future in [pool.submit(work, queue) for queue in jobs]:
                    future.result()
        if on_result is not None:
            return []
        return [r if r is not None else Fetched(u, u, reason="connection_error") for r, (u, _) in zip(results, requests)]


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"
