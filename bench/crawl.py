"""Crawl throughput against the bound the politeness settings allow, and the crawl's memory.

`python -m bench.crawl` prints the figures; `python -m bench` adds them to docs/performance.md.

N news sites on 127.0.0.1 (``tests/websites.py``: real HTTP servers, each its own host), each answering
after a realistic latency, each with a robots.txt, a news sitemap and P story pages built from the
development corpus's real articles. The web intake step (``flows.web.take_in``: robots.txt, sitemaps,
pages, trafilatura's extraction) runs against them with the given politeness. One request per host at a
time, ``delay`` seconds apart: no crawl can take in more than ``hosts / delay`` pages a second; the figure
is the share of that bound the crawl reaches (target ≥ 80%).

Memory: the crawler with a consumer that extracts each page and keeps only its size, over P and 4P pages
per host (traced allocations, peak): a crawl holds no more pages than it has workers, so the peak must
not grow with the number of pages. The peak is the moment most workers extract at once (a few hundred
kilobytes), so one crawl's figure varies by a fifth; each size is the median of three crawls, in a process
of its own (``python -m bench`` runs this module apart: tracemalloc counts every thread's allocations,
and Prefect's background threads in the benchmark's own process allocate while it crawls).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from core.settings import Settings
from flows import web
from flows.crawl import Crawler
from flows.intake import SourceSpec
from warehouse.store import Warehouse


def _sites(hosts: int, pages: int, latency: float, record: bool = True):
    from tests.websites import XML, Answer, Site, article_page, news_sitemap, robots, stories

    texts = stories(min_chars=600)
    sites = []
    for number in range(hosts):
        site = Site(latency=latency, record=record)
        paths = [f"/ar/{number}/{n}" for n in range(pages)]
        site.routes["/robots.txt"] = robots(["/private/"])
        site.routes["/news-sitemap.xml"] = Answer(
            body=news_sitemap([(site.url(p), texts[(number + n) % len(texts)]) for n, p in enumerate(paths)]),
            content_type=XML)
        for n, path in enumerate(paths):
            site.routes[path] = Answer(body=article_page(texts[(number + n) % len(texts)]))
        sites.append(site)
    return sites


def throughput(hosts: int = 8, pages: int = 20, delay: float = 1.0, latency: float = 0.05) -> dict:
    """Pages a second through the web intake step, and the bound its politeness allows."""
    sites = _sites(hosts, pages, latency)
    try:
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(warehouse=Path(folder) / "akhbar.duckdb", crawl_delay=delay,
                                crawl_total=max(hosts, 8), contact_url="https://example.org/akhbar-bench")
            specs = [SourceSpec(f"site{n}", "sitemap", site.url("/news-sitemap.xml")) for n, site in enumerate(sites)]
            crawler = Crawler(web.politeness(settings))
            started = time.perf_counter()
            taken = web.take_in(specs, settings, Warehouse(settings.warehouse), crawler)
            seconds = time.perf_counter() - started
        most_in_flight = max(site.max_in_flight for site in sites)
    finally:
        for site in sites:
            site.close()
    per_host = 1 / max(delay, latency)
    return {"hosts": hosts, "pages": len(taken.items), "requests": crawler.requests, "seconds": seconds,
            "pages_per_s": len(taken.items) / seconds, "requests_per_s": crawler.requests / seconds,
            "bound": hosts * per_host, "most_in_flight_per_host": most_in_flight}


def crawl_peak(hosts: int, pages: int, delay: float = 0.02, latency: float = 0.01) -> tuple[int, float]:
    """Peak traced memory (bytes) of a crawl whose consumer extracts each page and keeps its size."""
    from transforms.web import Entry, page_item

    sites = _sites(hosts, pages, latency, record=False)
    try:
        urls = [site.url(f"/ar/{n}/{p}") for n, site in enumerate(sites) for p in range(pages)]
        crawler = Crawler(web.politeness(Settings(crawl_delay=delay, crawl_total=max(hosts, 8))))
        extracted = [0]

        def consume(number: int, fetched) -> None:
            item = page_item(fetched.body, Entry("bench", urls[number]), fetched.headers.get("content-type"),
                             fetched.final_url)
            extracted[0] += len(item.text)

        # robots.txt read, and every distinct story extracted once (the parsers' own bounded caches filled)
        crawler.fetch_many([(site.url("/robots.txt"), None) for site in sites])
        crawler.fetch_many([(url, None) for url in urls[:: max(1, pages // 8)]][:64], on_result=consume)
        requests = [(url, None) for url in urls]
        tracemalloc.start()
        started = time.perf_counter()
        crawler.fetch_many(requests, on_result=consume)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return peak, seconds
    finally:
        for site in sites:
            site.close()


def median_peak(hosts: int, pages: int, repeats: int = 3) -> float:
    return statistics.median(crawl_peak(hosts, pages)[0] for _ in range(repeats))


def figures(hosts: int = 8, pages: int = 20, delay: float = 1.0, latency: float = 0.05) -> list[tuple[str, str, str, bool | None]]:
    """(name, value, target, met) rows for the benchmark table."""
    run = throughput(hosts, pages, delay, latency)
    share = run["pages_per_s"] / run["bound"]
    rows = [
        (f"crawl: {run['pages']} pages from {hosts} hosts ({latency * 1000:.0f} ms latency), delay {delay:g} s",
         f"{run['pages_per_s']:.2f} pages/s ({run['requests']} requests in {run['seconds']:.1f} s)", "", None),
        ("crawl pages/s against the politeness bound (hosts / delay)",
         f"{share:.0%} of {run['bound']:.1f}/s", "≥ 80%", share >= 0.8),
        ("most requests in flight to one host", str(run["most_in_flight_per_host"]), "1 (AKHBAR_CRAWL_PER_HOST)",
         run["most_in_flight_per_host"] <= 1),
    ]
    small, large = median_peak(hosts, pages), median_peak(hosts, 4 * pages)
    rows += [
        (f"crawl peak memory, {hosts * pages} / {hosts * 4 * pages} pages (traced, pages extracted as they come, "
         "median of 3)",
         f"{small / 1e6:.1f} / {large / 1e6:.1f} MB", "", None),
        ("crawl peak memory 4× pages / 1× pages", f"{large / small:.2f}×", "≈ 1× (bounded by workers)",
         large / small < 1.3),
        # What does grow is the crawl's queue of addresses (a copy of the list and a number per address).
        ("crawl peak memory per page added", f"{(large - small) / (3 * hosts * pages):.0f} bytes", "", None),
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.crawl")
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--pages", type=int, default=20, help="story pages per host")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds between two requests to one host")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds each answer takes")
    parser.add_argument("--json", action="store_true", help="the rows as JSON, for python -m bench")
    args = parser.parse_args()
    rows = figures(args.hosts, args.pages, args.delay, args.latency)
    if args.json:
        print(json.dumps(rows))
        return
    for name, value, target, met in rows:
        mark = "" if met is None else ("  OK" if met else "  MISSED")
        print(f"{name:<90} {value:>34}   {target}{mark}", flush=True)


if __name__ == "__main__":
    main()
