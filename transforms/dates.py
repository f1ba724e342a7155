"""Dates as the Arabic press writes them.

Patterns run over folded text (see :func:`transforms.normalize.fold`), so each
month name is written once and matches with or without hamza and madda
(``آب`` / ``اب``), and Eastern Arabic digits are already ASCII.

A date is returned only when day, month and year are all known and form a real
calendar day within bounds: an article's date that cannot be trusted is None,
never a guess. ``سبتمبر/أيلول 2013`` without a day is not a publication date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from transforms.normalize import fold_text

# Egyptian / Gulf (Latin-derived), Levantine / Iraqi (Syriac-derived) and
# Maghrebi (French-derived) names, as spelled in the wild; folded on load.
MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("يناير", "كانون الثاني", "كانون ثاني", "جانفي"),
    2: ("فبراير", "شباط", "فيفري"),
    3: ("مارس", "آذار"),
    4: ("أبريل", "إبريل", "نيسان", "أفريل"),
    5: ("مايو", "أيار", "ماي"),
    6: ("يونيو", "يونيه", "حزيران", "جوان"),
    7: ("يوليو", "يوليه", "تموز", "جويلية"),
    8: ("أغسطس", "آب", "أوت"),
    9: ("سبتمبر", "أيلول"),
    10: ("أكتوبر", "تشرين الأول", "تشرين أول"),
    11: ("نوفمبر", "تشرين الثاني", "تشرين ثاني"),
    12: ("ديسمبر", "كانون الأول", "كانون أول"),
}

MONTHS: dict[str, int] = {fold_text(name): month for month, names in MONTH_NAMES.items() for name in names}

# Pattern pieces, shared with the dateline of transforms/metadata.py:
MONTH_PATTERN = "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True))  # any folded month name
NOT_LETTER = r"(?![^\W\d_])"  # the month name ends a word (digits may follow, glued)
# A day written as a word: "أول يوليو", "الخامس من يوليو", "الحادي والعشرين من مارس" (folded spellings).
_UNITS = ("اول", "ثاني", "ثالث", "رابع", "خامس", "سادس", "سابع", "ثامن", "تاسع")
DAY_WORDS: dict[str, int] = {"اول": 1, "الاول": 1, "العاشر": 10, "العشرين": 20, "الثلاثين": 30,
                             "الحادي عشر": 11, "الحاديه عشر": 11, "الحادية عشر": 11}
for _n, _unit in enumerate(_UNITS, start=1):
    DAY_WORDS.setdefault("ال" + _unit, _n)
    if _n > 1:
        DAY_WORDS["ال" + _unit + " عشر"] = 10 + _n
    DAY_WORDS[("الحادي" if _n == 1 else "ال" + _unit) + " والعشرين"] = 20 + _n
DAY_WORDS["الحادي والثلاثين"] = 31
# never the "الثاني" of "كانون الثاني" / "تشرين الثاني"
FIRST_DAY = "(?<!كانون )(?<!تشرين )(?:" + "|".join(sorted(map(re.escape, DAY_WORDS), key=len, reverse=True)) + ")"

# Day, month (optionally "سبتمبر/أيلول"), year; digits may be glued to words.
NAMED_DATE = re.compile(
    rf"(?<!\d)(?P<day>\d{{1,2}}|(?<![^\W\d_]){FIRST_DAY})(?:\s*(?:من\s+)?|\s*[/\-]\s*)"
    rf"(?:شهر\s+)?(?P<month>{MONTH_PATTERN}){NOT_LETTER}"
    rf"(?:\s*/\s*(?P<month2>{MONTH_PATTERN}){NOT_LETTER})?"
    rf"(?:\s*[,،]?\s*|\s*[/\-]\s*)(?:(?:من\s+)?(?:عام|سنة)\s+)?(?P<year>\d{{4}})(?!\d)"
)
# Month and year only: recognised so that it is *not* taken for a full date.
MONTH_YEAR = re.compile(
    rf"(?<![^\W\d_])(?P<month>{MONTH_PATTERN}){NOT_LETTER}(?:\s*/\s*(?P<month2>{MONTH_PATTERN}){NOT_LETTER})?"
    rf"\s*[,،]?\s*(?P<year>\d{{4}})(?!\d)"
)
# 2025:04:27.09:40, 2025-04-27, 2025/4/27 (year first: unambiguous)
YMD_STAMP = re.compile(r"(?<!\d)(?P<year>\d{4})[:\-/.](?P<month>\d{1,2})[:\-/.](?P<day>\d{1,2})(?!\d)")
# 27/04/2025, 27-4-2025: the Arab world writes day first
DMY_STAMP = re.compile(r"(?<!\d)(?P<day>\d{1,2})[/\-.](?P<month>\d{1,2})[/\-.](?P<year>\d{4})(?!\d)")

# The English month names of English-language CMS templates and press releases ("June 19, 2025").
LATIN_MONTHS = {name: number for number, names in enumerate(
    (("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
     ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
     ("december", "dec")), start=1) for name in names}
_LATIN_MONTH = "|".join(sorted(LATIN_MONTHS, key=len, reverse=True))
LATIN_DATE = re.compile(
    rf"(?<![A-Za-z])(?:(?P<month>{_LATIN_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})"
    rf"|(?P<day2>\d{{1,2}})\s+(?P<month2>{_LATIN_MONTH})\.?,?\s+(?P<year2>\d{{4}}))(?!\d)",
    re.IGNORECASE,
)
# Weekday names with their date.weekday() numbers ("الثلثاء" is an old spelling still in use).
WEEKDAYS = {"الاثنين": 0, "الإثنين": 0, "الثلاثاء": 1, "الثلثاء": 1, "الأربعاء": 2, "الخميس": 3, "الجمعة": 4,
            "السبت": 5, "الأحد": 6}
WEEKDAY_NUMBERS = {fold_text(name): number for name, number in WEEKDAYS.items()}
WEEKDAY_PATTERN = "|".join(sorted(WEEKDAY_NUMBERS, key=len, reverse=True))
# A Hijri date, written beside the Gregorian one ("5 شعبان 1437 هـ الموافق 12 مايو 2016 م"): never taken.
HIJRI_MONTHS = tuple(fold_text(m) for m in ("محرم", "صفر", "ربيع الأول", "ربيع الآخر", "ربيع الثاني", "جمادى الأولى", "جمادى الآخرة",
                "جمادى الثانية", "رجب", "شعبان", "رمضان", "شوال", "ذو القعدة", "ذو الحجة"))
HIJRI_DATE = re.compile(
    rf"\d{{1,2}}\s*(?:{'|'.join(HIJRI_MONTHS)})\s*\d{{4}}\s*(?:هـ|ه)?(?![^\W\d_])\s*[,،]?\s*(?:الموافق\s*(?:ل\s*)?)?"
)

OLDEST_YEAR = 1990


@dataclass(frozen=True)
class DateMatch:
    value: date
    start: int  # span in the text that was searched
    end: int


def month_number(name: str) -> int | None:
    return MONTHS.get(fold_text(name).strip())


def make_date(year: int, month: int, day: int, not_after: date | None = None) -> date | None:
    """A real calendar day within [1990, not_after], else None."""
    try:
        value = date(year, month, day)
    except ValueError:
        return None
    if value.year < OLDEST_YEAR or (not_after is not None and value > not_after):
        return None
    return value


def _day(text: str) -> int:
    return int(text) if text.isdigit() else DAY_WORDS[" ".join(text.split())]


def named_date(match: re.Match, not_after: date | None = None) -> date | None:
    """The date a :data:`NAMED_DATE` match spells, if it is a real one."""
    month = MONTHS[match["month"]]
    if match["month2"] and MONTHS[match["month2"]] != month:
        return None  # "سبتمبر/أكتوبر": two different months, no single date
    return make_date(int(match["year"]), month, _day(match["day"]), not_after)


def find_named_date(folded: str, not_after: date | None = None) -> DateMatch | None:
    """The first full ``day month year`` date in folded text."""
    for match in NAMED_DATE.finditer(folded):
        value = named_date(match, not_after)
        if value:
            return DateMatch(value, match.start(), match.end())
    return None


def _day_first(match: re.Match, not_after: date | None, month_first: bool = False) -> date | None:
    """``27/04/2025``: the Arab world writes the day first; ``04/27/2025`` can only be month first, and on a
    page whose stamps show they are month first (``month_first``) so is ``04/05/2025``."""
    day, month, year = int(match["day"]), int(match["month"]), int(match["year"])
    if month > 12 >= day or (month_first and day <= 12):
        day, month = month, day  # the M/D/Y of English-language templates, shown by a "day" over 12
    return make_date(year, month, day, not_after)


def shows_month_first(folded: str) -> bool:
    """A numeric stamp that can only be M/D/Y (``08/22/2025``): the page's template writes the month first."""
    return any(int(m["month"]) > 12 >= int(m["day"]) for m in DMY_STAMP.finditer(folded))


def find_stamp_date(folded: str, not_after: date | None = None, month_first: bool = False) -> DateMatch | None:
    """The first numeric date stamp: year first (``2025:04:27.09:40``) or day first (``27/04/2025``)."""
    found = []
    for pattern, read in ((YMD_STAMP, lambda m: make_date(int(m["year"]), int(m["month"]), int(m["day"]), not_after)),
                          (DMY_STAMP, lambda m: _day_first(m, not_after, month_first))):
        for match in pattern.finditer(folded):
            value = read(match)
            if value:
                found.append(DateMatch(value, match.start(), match.end()))
                break
    return min(found, key=lambda m: m.start) if found else None


def find_latin_date(text: str, not_after: date | None = None) -> DateMatch | None:
    """``June 19, 2025`` or ``19 June 2025``."""
    for match in LATIN_DATE.finditer(text):
        month = LATIN_MONTHS[(match["month"] or match["month2"]).lower()]
        value = make_date(int(match["year"] or match["year2"]), month, int(match["day"] or match["day2"]), not_after)
        if value:
            return DateMatch(value, match.start(), match.end())
    return None


def find_date(folded: str, not_after: date | None = None, month_first: bool = False) -> DateMatch | None:
    """The first full date in any supported form."""
    found = [m for m in (find_named_date(folded, not_after), find_stamp_date(folded, not_after, month_first),
                         find_latin_date(folded, not_after)) if m]
    return min(found, key=lambda m: m.start) if found else None


def parse_date(text: str, not_after: date | None = None) -> date | None:
    """Convenience for one date string in any spelling: ``"٥ تموز، ٢٠٢٤"`` → 2024-07-05."""
    match = find_date(fold_text(text), not_after)
    return match.value if match else None
