"""`akhbar report`: one self-contained HTML file, readable offline, charts as inline SVG.

No scripts, no fonts or styles from the network: the file opens from a mail
attachment or a shared drive. Everything that comes from articles (names,
agencies) is escaped, so inbox content can never become markup.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from warehouse.reads import ReportData, report_data

# Each chart has colours of its own, so a screenshot shows which charts were drawn.
BAR = "#1f6f8b"  # top entities
NETWORK = "#e07a1f"  # co-occurrence nodes
TIMELINE = ("#b03a8c", "#2c3e50", "#16a085", "#8e44ad", "#7f8c2d", "#d35400")
AGENCIES = ("#3a9a4b", "#5b7db1", "#c9a227", "#8c564b", "#17becf", "#7f7f7f")


def read_data(warehouse: Path, top_n: int = 15) -> ReportData:
    """The report's rows from the published warehouse (the queries are in ``warehouse/reads.py``)."""
    return report_data(warehouse, top_n)


def _label(name_ar: str, name_en: str | None) -> str:
    return f"{name_ar} · {name_en}" if name_en else name_ar


def _svg(width: int, height: int, body: str, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">{body}</svg>')


def bar_chart(top: list[tuple], width: int = 640) -> str:
    if not top:
        return "<p>No entities yet.</p>"
    row, left = 24, 330
    peak = max(r[4] for r in top)
    parts = []
    for i, (_, name_ar, name_en, type_, count, _) in enumerate(top):
        y = i * row + 4
        length = max(2, (width - left - 50) * count / peak)
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" font-size="12">'
                     f'{escape(_label(name_ar, name_en))} ({escape(type_)})</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{row - 6}" fill="{BAR}"/>')
        parts.append(f'<text x="{left + length + 5:.1f}" y="{y + 15}" font-size="12">{count}</text>')
    return _svg(width, len(top) * row + 8, "".join(parts), "top entities")


def timeline_chart(timeline: list[tuple], names: dict[str, str], width: int = 620, height: int = 260) -> str:
    if not timeline:
        return "<p>No dated mentions yet.</p>"
    months = sorted({m for _, m, _ in timeline})
    entities = list(dict.fromkeys(e for e, _, _ in timeline))
    peak = max(n for _, _, n in timeline)
    left, bottom, top_pad, right = 40, 40, 12, 170
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    x = {m: left + (plot_w * (i + 0.5) / len(months)) for i, m in enumerate(months)}

    def y(n: float) -> float:
        return top_pad + plot_h - plot_h * n / peak

    parts = [f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" stroke="#999"/>',
             f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_h}" stroke="#999"/>',
             f'<text x="{left - 6}" y="{top_pad + 10}" text-anchor="end" font-size="11">{peak}</text>']
    for m in months:
        parts.append(f'<text x="{x[m]:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11">{escape(m)}</text>')
    for k, entity in enumerate(entities):
        color = TIMELINE[k % len(TIMELINE)]
        points = {m: n for e, m, n in timeline if e == entity}
        path = " ".join(f"{x[m]:.1f},{y(points.get(m, 0)):.1f}" for m in months)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="3"/>')
        for m in months:
            parts.append(f'<circle cx="{x[m]:.1f}" cy="{y(points.get(m, 0)):.1f}" r="4" fill="{color}"/>')
        ly = top_pad + 14 + 18 * k
        parts.append(f'<rect x="{width - right + 12}" y="{ly - 9}" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{width - right + 30}" y="{ly + 1}" font-size="12">{escape(names.get(entity, entity))}</text>')
    return _svg(width, height, "".join(parts), "mentions per month of the top entities")


def network_chart(top: list[tuple], edges: list[tuple], size: int = 520) -> str:
    if not edges:
        return "<p>No entities share an article yet.</p>"
    linked = {e for a, b, _ in edges for e in (a, b)}
    nodes = [r for r in top if r[0] in linked]
    center, radius = size / 2, size / 2 - 90
    position = {
        r[0]: (center + radius * math.cos(2 * math.pi * i / len(nodes) - math.pi / 2),
               center + radius * math.sin(2 * math.pi * i / len(nodes) - math.pi / 2))
        for i, r in enumerate(nodes)
    }
    heaviest = max(c for _, _, c in edges)
    most = max(r[4] for r in nodes)
    parts = []
    for a, b, count in edges:
        (x1, y1), (x2, y2) = position[a], position[b]
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#8aa" '
                     f'stroke-opacity="0.6" stroke-width="{1 + 5 * count / heaviest:.1f}"/>')
    for entity_id, name_ar, name_en, _, count, _ in nodes:
        cx, cy = position[entity_id]
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{6 + 16 * math.sqrt(count / most):.1f}" '
                     f'fill="{NETWORK}" stroke="#fff" stroke-width="2"/>')
        anchor = "start" if cx >= center else "end"
        dx = 24 if cx >= center else -24
        parts.append(f'<text x="{cx + dx:.1f}" y="{cy + 4:.1f}" text-anchor="{anchor}" font-size="12">'
                     f'{escape(_label(name_ar, name_en))}</text>')
    return _svg(size + 260, size, f'<g transform="translate(130,0)">{"".join(parts)}</g>',
                "entities that appear in the same articles")


def sources_chart(sources: list[tuple], width: int = 620, height: int = 240) -> str:
    if not sources:
        return "<p>No articles yet.</p>"
    months = sorted({m for _, m, _ in sources})
    agencies = list(dict.fromkeys(a for a, _, _ in sorted(sources, key=lambda r: r[0])))
    peak = max(n for _, _, n in sources)
    left, bottom, top_pad, right = 40, 40, 12, 150
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    group = plot_w / len(months)
    bar = max(4.0, (group - 10) / len(agencies))
    counts = {(a, m): n for a, m, n in sources}
    colors = AGENCIES
    parts = [f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" stroke="#999"/>']
    for i, m in enumerate(months):
        for k, agency in enumerate(agencies):
            n = counts.get((agency, m), 0)
            if n:
                h = plot_h * n / peak
                parts.append(f'<rect x="{left + i * group + 5 + k * bar:.1f}" y="{top_pad + plot_h - h:.1f}" '
                             f'width="{bar - 1:.1f}" height="{h:.1f}" fill="{colors[k % len(colors)]}"/>')
        parts.append(f'<text x="{left + (i + 0.5) * group:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                     f'font-size="11">{escape(m)}</text>')
    for k, agency in enumerate(agencies):
        ly = top_pad + 14 + 18 * k
        parts.append(f'<rect x="{width - right + 12}" y="{ly - 9}" width="12" height="12" fill="{colors[k % len(colors)]}"/>')
        parts.append(f'<text x="{width - right + 30}" y="{ly + 1}" font-size="12">{escape(agency)}</text>')
    return _svg(width, height, "".join(parts), "articles per agency and month")


def gate_table(runs: list[tuple], data_docs: Path | None) -> str:
    rows = "".join(
        f"<tr class='{escape(status)}'><td>{escape(run_id)}</td><td>{escape(str(started)[:19])}</td>"
        f"<td>{seen}</td><td>{new}</td><td>{failed}</td><td>{escape(status)}</td><td>{escape(message or '')}</td></tr>"
        for run_id, started, seen, new, failed, status, message in runs
    )
    link = (f'<p>Great Expectations Data Docs: <a href="{escape(data_docs.resolve().as_uri())}">'
            f"{escape(str(data_docs))}</a></p>") if data_docs and data_docs.exists() else ""
    return (f"<table><tr><th>run</th><th>started (UTC)</th><th>seen</th><th>new</th><th>quarantined</th>"
            f"<th>gate</th><th>failed expectations</th></tr>{rows}</table>{link}")


def _cell(value: object, rtl: bool = False) -> str:
    """One table cell, escaped; Arabic text right to left."""
    return f"<td dir='rtl'>{escape(str(value))}</td>" if rtl else f"<td>{escape(str(value))}</td>"


def _table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f"<p>{escape(empty)}</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><tr>{head}</tr>" + "".join(f"<tr>{''.join(cells)}</tr>" for cells in rows) + "</table>"


def _names(names: list[str] | None, n: int = 4) -> str:
    return "، ".join((names or [])[:n])


def amounts_table(amounts: list[tuple]) -> str:
    return _table(["as written", "value", "day", "article", "agency", "named in the same sentence"], [
        [_cell(text, True), _cell(f"{value:,.0f} {currency or ''}"), _cell(day or ""), _cell(title or "", True),
         _cell(agency or ""), _cell(_names(names), True)]
        for text, value, unit, currency, day, title, agency, names in amounts
    ], "No sums of money in a named currency yet.")


def speakers_table(speakers: list[tuple]) -> str:
    return _table(["speaker", "", "quotes", "articles", "outlets"], [
        [_cell(name_ar or "", True), _cell(name_en or ""), _cell(quotes), _cell(articles), _cell(outlets)]
        for _, name_ar, name_en, quotes, articles, outlets in speakers
    ], "No quoted speakers yet.")


def quotes_table(quotes: list[tuple], width: int = 180) -> str:
    def said(text: str, kind: str) -> str:
        text = text if len(text) <= width else text[:width].rsplit(" ", 1)[0] + " …"
        return f"«{text}»" if kind == "direct" else text

    return _table(["day", "speaker", "said", "about", "article", "agency"], [
        [_cell(day or ""), _cell(speaker, True), _cell(said(text, kind), True), _cell(_names(about), True),
         _cell(title or "", True), _cell(agency or "")]
        for day, speaker, verb, kind, text, title, agency, about in quotes
    ], "No quotes yet.")


def stories_table(stories: list[tuple]) -> str:
    return _table(["story", "days", "articles", "outlets", "covered by", "names"], [
        [_cell(title or "", True), _cell(f"{first or ''}" + (f" – {last}" if last and last != first else "")),
         _cell(n_articles), _cell(n_sources), _cell(", ".join(outlets or [])), _cell(_names(entities), True)]
        for title, first, last, n_articles, n_sources, outlets, entities in stories
    ], "No stories yet.")


STYLE = """
body{font-family:system-ui,'Noto Sans Arabic','DejaVu Sans',sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px} .meta{color:#666;font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(640px,1fr));gap:16px}
section{border:1px solid #ddd;border-radius:6px;padding:12px}
table{border-collapse:collapse;font-size:12px} td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left}
tr.gate_failed td{color:#c0392b;font-weight:600}
"""


def render(data: ReportData, data_docs: Path | None = None, now: datetime | None = None) -> str:
    names = {r[0]: _label(r[1], r[2]) for r in data.top}
    now = now or datetime.now(timezone.utc)
    return f"""<!DOCTYPE html>
<html lang="ar" dir="ltr"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>akhbar report</title><style>{STYLE}</style></head><body>
<h1>akhbar — who and what the press is talking about</h1>
<p class="meta">{escape(str(data.warehouse))} · generated {now:%Y-%m-%d %H:%M} UTC</p>
<div class="grid">
<section><h2>Top entities (mentions)</h2>{bar_chart(data.top)}</section>
<section><h2>Mentions per month, top entities</h2>{timeline_chart(data.timeline, names)}</section>
<section><h2>Co-occurrence: entities in the same articles</h2>{network_chart(data.top, data.edges)}</section>
<section><h2>Sources over time (articles per agency and month)</h2>{sources_chart(data.sources)}</section>
</div>
<div class="grid">
<section><h2>Who is quoted most</h2>{speakers_table(data.speakers)}</section>
<section><h2>The latest quotes</h2>{quotes_table(data.quotes)}</section>
</div>
<section><h2>The biggest stories and the outlets that covered them</h2>{stories_table(data.stories)}</section>
<section><h2>The largest sums of money</h2>{amounts_table(data.amounts)}</section>
<section><h2>Latest quality-gate results</h2>{gate_table(data.runs, data_docs)}</section>
</body></html>
"""


def write_report(warehouse: Path, output: Path, data_docs: Path | None = None) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(render(read_data(warehouse), data_docs), encoding="utf-8")
    tmp.replace(output)
    return output


def find_chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def screenshot(html: Path, png: Path, width: int = 1400, height: int = 1500, timeout: float = 120) -> Path:
    """Render the report in headless Chromium (Debian's package) and save a PNG."""
    browser = find_chromium()
    if browser is None:
        raise FileNotFoundError("no Chromium found: apt-get install chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={width},{height}",
             f"--screenshot={png.resolve()}", html.resolve().as_uri()],
            check=True, capture_output=True, timeout=timeout,
        )
    return png
