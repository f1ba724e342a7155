"""Latin-script names against Arabic ones: do ``Tokayev`` and ``توكاييف`` spell the same name?

Arabic writes foreign names with its consonants and long vowels, and romanizations vary (Tokayev, Tokaev,
Toqaev; Mirziyoyev, ميرزيوييف, ميرضيائيف). Both sides are reduced to a **consonant skeleton** over a small
alphabet of sound classes, vowels and vowel-like letters (ا و ي ى ة ء ع, a e i o u y w) dropped, doubled
classes collapsed; two names match when their skeletons are equal. Romanization has real alternatives
(pinyin ``zh`` is تش in Xinhua's Arabic, Kazakh ``Zh`` is ج; ``x`` is ش in pinyin, كس elsewhere), so a Latin
name gives a small set of skeletons, an Arabic name exactly one.

A skeleton match is evidence, not proof: callers accept it only for names long enough to be specific
(:data:`MIN_LATIN_LETTERS`, :data:`MIN_CLASSES`) and only when exactly one candidate matches.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

MIN_LATIN_LETTERS = 5
MIN_CLASSES = 3
# Two Arabic spellings of one foreign name: their skeletons must be longer to count as the same name.
MIN_ARABIC_CLASSES = 5
_MAX_VARIANTS = 16

# Arabic letter → sound class; letters not listed are vowels or vowel-like and dropped.
_ARABIC_CLASSES = {
    "ب": "B", "پ": "B",
    "ت": "T", "ط": "T", "ث": "T",
    "د": "D", "ض": "D", "ذ": "D", "ز": "D", "ظ": "D",
    "س": "S", "ص": "S",
    "ش": "X",
    "ج": "G", "غ": "G", "گ": "G",
    "ك": "K", "ق": "K", "ک": "K",
    "خ": "H", "ح": "H", "ه": "H",
    "ف": "F", "ڤ": "F",
    "ل": "L", "م": "M", "ن": "N", "ر": "R",
    "چ": "C",
}
_ARABIC_CH = re.compile("تش")  # تشانغ: Xinhua's Arabic writes pinyin zh/ch/q so
_ARABIC_FINAL_VOWEL = re.compile("[هة](?=\\s|$)")  # دوشنبه, أستانة: a final -e/-a, not a consonant

# Latin letter groups → alternative sound classes ("" drops the group), longest groups first.
_LATIN_GROUPS: list[tuple[str, tuple[str, ...]]] = sorted([
    ("sch", ("X",)), ("tch", ("C",)), ("sh", ("X",)), ("ch", ("C", "X", "H")), ("zh", ("C", "G")),
    ("kh", ("H",)), ("gh", ("G", "K")), ("th", ("T",)), ("dh", ("D",)), ("ph", ("F",)), ("ck", ("K",)),
    ("dj", ("G",)), ("dzh", ("G",)), ("ts", ("TS", "C")), ("tz", ("TS",)), ("ng", ("NG", "NK", "N")),
    ("b", ("B",)), ("p", ("B",)), ("t", ("T",)), ("d", ("D",)), ("z", ("D",)), ("s", ("S",)),
    ("x", ("X", "KS")), ("j", ("G",)), ("g", ("G", "K")), ("k", ("K",)), ("q", ("K", "C")), ("c", ("K", "S")),
    ("h", ("H", "")), ("f", ("F",)), ("v", ("F",)), ("l", ("L",)), ("m", ("M",)), ("n", ("N",)),
    ("r", ("R",)),
], key=lambda group: -len(group[0]))
_LATIN_VOWELS = set("aeiouyw'")


def _collapse(classes: str) -> str:
    """Doubled classes once: ``Kassym`` and ``قاسم`` both give K S M."""
    return "".join(char for char, _ in itertools.groupby(classes))


def arabic_skeleton(name: str) -> str:
    text = _ARABIC_FINAL_VOWEL.sub("", unicodedata.normalize("NFKC", name))
    text = _ARABIC_CH.sub("چ", text)
    return _collapse("".join(_ARABIC_CLASSES.get(char, "") for char in text))


def _ascii_letters(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if "a" <= ch <= "z" or ch in "' ")


def latin_skeletons(name: str) -> frozenset[str]:
    """Every skeleton a romanized name can have (at most a few dozen)."""
    variants = [""]
    for word in _ascii_letters(name).split():
        position = 0
        while position < len(word):
            if word[position] in _LATIN_VOWELS:
                # a word-final w after a vowel is a consonant in Arabic: Berdimuhamedow → بردي محمدوف
                if word[position] == "w" and position == len(word) - 1 and position > 0:
                    variants = [v + "F" for v in variants] + variants
                position += 1
                continue
            for group, classes in _LATIN_GROUPS:
                if word.startswith(group, position):
                    variants = [v + c for v in variants for c in classes][:_MAX_VARIANTS * 4]
                    position += len(group)
                    break
            else:
                position += 1
    return frozenset(_collapse(v) for v in variants)


def latin_letters(name: str) -> int:
    return sum(1 for ch in _ascii_letters(name) if ch.isalpha())


def plausible(skeleton: str) -> bool:
    return len(skeleton) >= MIN_CLASSES
