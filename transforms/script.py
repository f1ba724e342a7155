"""The Arabic script, as code-point ranges: defined once, rendered for Python's ``re`` and for DuckDB (RE2).

:data:`ARABIC_LETTERS` is what "an Arabic letter" means wherever akhbar
counts or detects them: the gate's ``arabic_ratio`` (``expectations/audit.py``,
in DuckDB) and the script of an entity key (``transforms/entities.py``).
Diacritics (tashkeel), tatweel, digits and punctuation are not letters.

:data:`ARABIC_BLOCKS` is wider on purpose, for one question only: does a
decoding of unknown bytes read as Arabic (``transforms/encoding.py``)? There
any letter of the script's Unicode blocks is evidence, the presentation forms
above all, since cp864 decodes Arabic to them.
"""

from __future__ import annotations

import re

Ranges = tuple[tuple[int, int], ...]  # inclusive (first, last) code points

ARABIC_LETTERS: Ranges = (
    (0x0621, 0x063A),  # hamza .. ghain
    (0x0641, 0x064A),  # feh .. yeh (tatweel, U+0640, is not a letter)
    (0x0671, 0x06D3),  # alef wasla .. yeh barree with hamza: letters of Persian, Urdu, Kurdish, ...
    (0x06FA, 0x06FF),  # sheen with dot below .. heh with inverted v
)

# ARABIC_LETTERS plus the rest of these blocks (tatweel, extended letters), the supplements and the
# presentation forms; arabic_share counts only the characters among them that str.isalpha() calls letters.
ARABIC_BLOCKS: Ranges = (
    (0x0600, 0x06FF),  # Arabic (every range of ARABIC_LETTERS lies in it)
    (0x0750, 0x077F),  # Arabic Supplement
    (0x08A0, 0x08FF),  # Arabic Extended-A
    (0xFB50, 0xFDFF),  # Presentation Forms-A
    (0xFE70, 0xFEFF),  # Presentation Forms-B (cp864 decodes to these)
)


def within(code: int, ranges: Ranges) -> bool:
    return any(first <= code <= last for first, last in ranges)


def python_class(ranges: Ranges, negated: bool = False) -> str:
    """A character class for Python's ``re``: ``[\\u0621-\\u063a...]``."""
    body = "".join(f"\\u{first:04x}-\\u{last:04x}" for first, last in ranges)
    return f"[{'^' if negated else ''}{body}]"


ARABIC_LETTER = re.compile(python_class(ARABIC_LETTERS))


# UTF-8 Arabic read as Windows-1256: the lead byte of every Arabic letter, 0xD8 or 0xD9, becomes ط or ظ,
# which then alternate with the other letters ("ط£ط³طھط§ظ†ط§" for "أستانا"). In Arabic text the two are
# about 2% of the letters; in such mojibake, about half.
MOJIBAKE_LETTERS = "طظ"
MAX_MOJIBAKE_SHARE = 0.25


def mojibake_share(text: str) -> float:
    """The share of ط and ظ among the Arabic letters of ``text`` (0.0 without Arabic letters)."""
    letters = ARABIC_LETTER.findall(text)
    return sum(ch in MOJIBAKE_LETTERS for ch in letters) / len(letters) if letters else 0.0
