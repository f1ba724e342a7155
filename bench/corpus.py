"""A synthetic corpus built from the five samples, for benchmarks and tests at scale.

Each article recombines paragraphs of the samples' bodies under a fresh
dateline (city, date in Egyptian or Levantine month names, agency marker),
and swaps in the other spellings of the names the samples use, so that
intake, metadata, deduplication and entity linking all have real work.
Deterministic for a seed. Also the samples themselves, and the article
bodies of a folder, as the benchmarks feed them to NER.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

from core.settings import PROJECT_ROOT
from transforms.articles import build_article
from transforms.formats import parse_text
from transforms.metadata import extract_metadata

SAMPLES = PROJECT_ROOT / "seeds" / "articles"  # the five sample articles

CITIES = ("بكين", "أستانا", "ألماتي", "طشقند", "بيشكك", "دوشنبه", "عشق آباد", "شيان", "شانغهاي", "موسكو")
MONTHS = (("يناير", "كانون الثاني"), ("فبراير", "شباط"), ("مارس", "آذار"), ("أبريل", "نيسان"), ("مايو", "أيار"),
          ("يونيو", "حزيران"), ("يوليو", "تموز"), ("أغسطس", "آب"), ("سبتمبر", "أيلول"), ("أكتوبر", "تشرين الأول"),
          ("نوفمبر", "تشرين الثاني"), ("ديسمبر", "كانون الأول"))
AGENCIES = ("(شينخوا)", "/PRNewswire/ —", "(أ ش أ) -", "(رويترز) -")
SPELLINGS = (("كازاخستان", "قازاقستان"), ("شي جين بينغ", "شي جين بينج"), ("توكاييف", "توكايف"),
             ("شنغهاي", "شانغهاي"))


def sample_paragraphs(samples: Path) -> list[str]:
    paragraphs = []
    for path in sorted(samples.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        meta = extract_metadata(text)
        body = text[meta.body_start : meta.body_end]
        paragraphs += [p.strip() for p in body.split("\n") if len(p.strip()) > 80]
    return paragraphs


def synthetic_articles(n: int, samples: Path, seed: int = 0,
                       days: tuple[date, date] | None = None) -> Iterator[tuple[str, str]]:
    """``n`` articles dated over 2016-2025, or over ``days`` (first, last) when given, as a day's news is."""
    rng = random.Random(seed)
    pool = sample_paragraphs(samples)
    for i in range(n):
        if days:
            when = days[0] + timedelta(days=rng.randint(0, (days[1] - days[0]).days))
            year, month, day = when.year, when.month, when.day
        else:
            year, month, day = rng.randint(2016, 2025), rng.randint(1, 12), None
        name = MONTHS[month - 1][rng.random() < 0.3]
        city = rng.choice(CITIES)
        dateline = f"{city} {day or rng.randint(1, 28)} {name} {year} {rng.choice(AGENCIES)}"
        body = " ".join([dateline, *rng.sample(pool, rng.randint(4, 8))])
        paragraphs = body.split(". ")
        text = "\n".join(paragraphs) if rng.random() < 0.5 else body
        for one, other in SPELLINGS:
            if rng.random() < 0.5:
                text = text.replace(one, other)
        yield f"synthetic_{seed}_{i:06d}.txt", text + "\n"


def write_corpus(folder: Path, n: int, samples: Path, seed: int = 0, with_samples: bool = True,
                 days: tuple[date, date] | None = None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if with_samples:
        for path in sorted(samples.glob("*.txt")):
            target = folder / path.name
            target.write_bytes(path.read_bytes())
            written.append(target)
    for name, text in synthetic_articles(n, samples, seed, days):
        target = folder / name
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def corpus_bodies(folder: Path) -> list[str]:
    """The body of every ``*.txt`` article in ``folder``, in file-name order."""
    return [build_article(parse_text(p.read_bytes(), str(p))).body for p in sorted(folder.glob("*.txt"))]
