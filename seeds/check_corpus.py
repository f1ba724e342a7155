"""Consistency check of a corpus's gold against its texts: ``python3 seeds/check_corpus.py seeds/holdout``
(or ``seeds/blind --ids blind:30``: the ids must then be exactly blind01..blind30).

Checks: every article has a gold file and vice versa; ids match file names; gold keys are exactly
the dev gold keys; title is a line of the text (or null); dateline_city occurs in the text (or null);
furniture indices are in range and point at non-empty lines; published_date is a valid ISO date or
null; files are UTF-8 with one final newline; each entity has exactly type/name_en/surface, its type
is PER, LOC or ORG, its surface occurs in the text, and no entity is listed twice in one file.
"""
import datetime
import glob
import json
import os
import sys

DEV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dev", "gold")
KEYS = ["id", "url", "outlet", "region", "country", "published_date", "dateline_city", "agency",
        "title", "furniture_lines", "entities", "notes"]


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__)
        return 2
    HERE = os.path.abspath(argv[0])
    IDS = None
    if len(argv) == 3 and argv[1] == "--ids":
        prefix, count = argv[2].split(":")
        IDS = {f"{prefix}{n:02d}" for n in range(1, int(count) + 1)}
    errors = []
    dev_files = sorted(glob.glob(os.path.join(DEV, "*.json")))
    if dev_files:
        dev_keys = list(json.load(open(dev_files[0], encoding="utf-8")).keys())
        if dev_keys != KEYS:
            errors.append(f"dev gold keys changed: {dev_keys}")
    arts = {os.path.basename(p)[:-4] for p in glob.glob(os.path.join(HERE, "articles", "*.txt"))}
    golds = {os.path.basename(p)[:-5] for p in glob.glob(os.path.join(HERE, "gold", "*.json"))}
    for missing in sorted(arts ^ golds):
        errors.append(f"{missing}: article/gold pair incomplete")
    for odd in sorted((arts | golds) ^ IDS) if IDS else ():
        errors.append(f"{odd}: id not in the expected set, or missing")
    for i in sorted(arts & golds):
        raw = open(os.path.join(HERE, "articles", i + ".txt"), "rb").read()
        text = raw.decode("utf-8")
        if not text.endswith("\n") or text.endswith("\n\n"):
            errors.append(f"{i}: text must end with exactly one newline")
        lines = text.split("\n")
        g = json.load(open(os.path.join(HERE, "gold", i + ".json"), encoding="utf-8"))
        if list(g.keys()) != KEYS:
            errors.append(f"{i}: keys {list(g.keys())}")
        if g.get("id") != i:
            errors.append(f"{i}: id field {g.get('id')!r}")
        d = g.get("published_date")
        if d is not None:
            try:
                if datetime.date.fromisoformat(d).isoformat() != d:
                    raise ValueError
            except (ValueError, TypeError):
                errors.append(f"{i}: bad date {d!r}")
        t = g.get("title")
        if t is not None and t not in lines:
            errors.append(f"{i}: title is not a line of the text")
        c = g.get("dateline_city")
        if c is not None and c not in text:
            errors.append(f"{i}: dateline city {c!r} not in text")
        f = g.get("furniture_lines")
        if not isinstance(f, list) or f != sorted(set(f)):
            errors.append(f"{i}: furniture_lines must be a sorted list without duplicates")
        else:
            for n in f:
                if not isinstance(n, int) or not 0 <= n < len(lines) or not lines[n].strip():
                    errors.append(f"{i}: furniture index {n} is not a non-empty line")
        if t is not None and t in lines and lines.index(t) not in (f or []):
            errors.append(f"{i}: title line not listed as furniture")
        ents = g.get("entities")
        if not isinstance(ents, list):
            errors.append(f"{i}: entities must be a list")
        else:
            seen = set()
            for k, e in enumerate(ents):
                if not isinstance(e, dict) or sorted(e) != ["name_en", "surface", "type"]:
                    errors.append(f"{i}: entity {k} must have exactly type, name_en, surface")
                    continue
                if e["type"] not in ("PER", "LOC", "ORG"):
                    errors.append(f"{i}: entity {k} has type {e['type']!r} (PER/LOC/ORG)")
                if not isinstance(e["name_en"], str) or not e["name_en"].strip():
                    errors.append(f"{i}: entity {k} has an empty name_en")
                elif (e["type"], e["name_en"]) in seen:
                    errors.append(f"{i}: entity {e['name_en']!r} listed twice")
                else:
                    seen.add((e["type"], e["name_en"]))
                if not isinstance(e["surface"], str) or not e["surface"] or e["surface"] not in text:
                    errors.append(f"{i}: entity {k} surface {e['surface']!r} not in text")
        if not g.get("url") or not g.get("outlet") or not g.get("region"):
            errors.append(f"{i}: url/outlet/region missing")
    for e in errors:
        print(e)
    print(f"{len(arts & golds)} texts checked, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
