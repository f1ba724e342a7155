"""Amounts as the Arabic press writes them: a number, its scale and its unit, with exact offsets.

``2.5 مليار دولار``, ``نحو 64 مليون طن``, ``ثلاثة مليارات يوان``, ``مليارا دولار`` (two billion: a dual),
``عشرات الملايين من الدولارات``, ``بين 5 و7 في المائة``, ``٤٫٥٪``: each is an :class:`Amount`, its value the
number with its scale applied, in a unit (a currency with its ISO 4217 code, a percentage, a measure, or a
count when a scale word says how many of something), with the words that bound or blur it.

Matching runs on the folded text (:func:`transforms.normalize.fold`: digits, alef and yeh unified, marks
dropped), so Eastern digits and every spelling meet the same patterns; spans are reported in the original.
Currency words come from CLDR's Arabic names (``تينغ كازاخستاني``), which the caller reads through babel, and
from the press's own spellings, which CLDR lacks (:data:`PRESS_CURRENCIES`). Pure: no I/O.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Sequence

from transforms.normalize import fold, word_starts

UNITS = ("currency", "percent", "tonne", "kilogram", "kilometre", "square_kilometre", "metre", "square_metre",
         "cubic_metre", "barrel", "container", "megawatt", "gigawatt", "kilowatt_hour", "hectare", "feddan",
         "ardeb", "kilometre_per_hour", "count")
QUALIFIERS = ("about", "over", "under", "up_to", "range", "several")


@dataclass(frozen=True)
class Amount:
    start: int
    end: int
    text: str
    value: float  # the number with its scale applied; a range's lower bound
    unit: str  # one of UNITS
    currency: str | None = None  # ISO 4217, for a currency that the words name
    scale: float = 1.0  # the scale word's factor (مليار: 1e9), 1 without one
    qualifier: str | None = None  # one of QUALIFIERS
    upper: float | None = None  # a range's upper bound


# Every spelling below is folded (alef unified, ى → ي, marks dropped), as fold() leaves the text.
_ONES = {"واحد": 1, "واحدة": 1, "واحدا": 1, "اثنان": 2, "اثنين": 2, "اثنتان": 2, "اثنتين": 2, "ثلاث": 3, "ثلاثة": 3,
         "اربع": 4, "اربعة": 4, "خمس": 5, "خمسة": 5, "ست": 6, "ستة": 6, "سبع": 7, "سبعة": 7, "ثمان": 8,
         "ثماني": 8, "ثمانية": 8, "تسع": 9, "تسعة": 9, "عشر": 10, "عشرة": 10}
_TENS = {f"{stem}{ending}": value for stem, value in (("عشر", 20), ("ثلاث", 30), ("اربع", 40), ("خمس", 50),
                                                       ("ست", 60), ("سبع", 70), ("ثمان", 80), ("تسع", 90))
         for ending in ("ون", "ين")}
_HUNDREDS = {"مائة": 100, "مئة": 100, "مائتان": 200, "مائتين": 200, "مائتي": 200, "مئتان": 200, "مئتين": 200,
             "مئتي": 200}
_HUNDREDS.update({f"{stem}{hundred}": _ONES[stem] * 100 for stem in ("ثلاث", "اربع", "خمس", "ست", "سبع", "ثمان",
                                                                      "تسع") for hundred in ("مائة", "مئة")})
_TEEN_HEADS = {"احد": 1, "احدي": 1, "اثنا": 2, "اثني": 2, "اثنتا": 2, "اثنتي": 2,
               **{word: value for word, value in _ONES.items() if value < 10}}
_FRACTIONS = {"نصف": 0.5, "ربع": 0.25}

# Scale words by form: singular, plural, then the dual (two of it, when no number comes before) and the
# accusative singular (after a number: عشرين مليارا), which are written alike (مليارا).
_SCALE_FORMS = {
    1e3: {"single": ("الف",), "plural": ("الاف", "الوف"), "dual_or_accusative": ("الفا",), "dual": ("الفان", "الفين", "الفي")},
    1e6: {"single": ("مليون",), "plural": ("ملايين",), "dual_or_accusative": ("مليونا",),
          "dual": ("مليونان", "مليونين", "مليوني")},
    1e9: {"single": ("مليار", "بليون"), "plural": ("مليارات", "بلايين"), "dual_or_accusative": ("مليارا",),
          "dual": ("ملياران", "مليارين", "ملياري")},
    1e12: {"single": ("تريليون", "ترليون"), "plural": ("تريليونات",), "dual_or_accusative": ("تريليونا",),
           "dual": ("تريليونان", "تريليونين")},
}
_SCALE = {form: factor for factor, kinds in _SCALE_FORMS.items() for forms in kinds.values() for form in forms}
_PLURAL_SCALE = {form for kinds in _SCALE_FORMS.values() for form in kinds["plural"]}
_DUAL = {form for kinds in _SCALE_FORMS.values() for form in kinds["dual"]}
_DUAL_OR_ACCUSATIVE = {form for kinds in _SCALE_FORMS.values() for form in kinds["dual_or_accusative"]}
_VAGUE = {"عشرات": 10, "مئات": 100}  # "tens of", "hundreds of" a scale: a lower bound
_NUMBER_WORDS = frozenset({*_ONES, *_TENS, *_HUNDREDS, *_TEEN_HEADS, *_FRACTIONS, *_SCALE, *_VAGUE})

_QUALIFIER_PHRASES = sorted([
    ("ما يقارب", "about"), ("نحو", "about"),
    ("حوالي", "about"), ("قرابة", "about"), ("زهاء", "about"), ("ما يناهز", "about"), ("يناهز", "about"),
    ("ما لا يقل عن", "over"), ("ما يزيد علي", "over"), ("ما يزيد عن", "over"), ("اكثر من", "over"),
    ("ما يفوق", "over"), ("يفوق", "over"), ("يزيد علي", "over"), ("يزيد عن", "over"),
    ("اقل من", "under"), ("ما دون", "under"), ("ما يصل الي", "up_to"), ("حتي", "up_to"),
], key=lambda pair: -len(pair[0].split()))

_PERCENT = ("%", "٪", "في المائة", "في المئة", "بالمائة", "بالمئة", "في المية", "بالمية")
_MEASURES = sorted([
    ("كيلومتر مربع", "square_kilometre"), ("كيلومترا مربعا", "square_kilometre"),
    ("كيلومترات مربعة", "square_kilometre"), ("كم مربع", "square_kilometre"), ("كم2", "square_kilometre"),
    ("متر مربع", "square_metre"), ("مترا مربعا", "square_metre"), ("امتار مربعة", "square_metre"),
    ("م2", "square_metre"), ("متر مسطح", "square_metre"), ("مترا مسطحا", "square_metre"),
    ("امتار مسطحة", "square_metre"), ("متر مكعب", "cubic_metre"), ("مترا مكعبا", "cubic_metre"),
    ("امتار مكعبة", "cubic_metre"), ("م3", "cubic_metre"),
    ("كيلومتر في الساعة", "kilometre_per_hour"), ("كيلومترا في الساعة", "kilometre_per_hour"),
    ("كم في الساعة", "kilometre_per_hour"), ("كلم في الساعة", "kilometre_per_hour"),
    ("كم / ساعة", "kilometre_per_hour"), ("كيلومتر", "kilometre"), ("كيلومترا", "kilometre"), ("كيلومترات", "kilometre"), ("كيلو متر", "kilometre"),
    ("كم", "kilometre"), ("كلم", "kilometre"), ("متر", "metre"), ("مترا", "metre"), ("امتار", "metre"),
    ("طن", "tonne"), ("طنا", "tonne"), ("اطنان", "tonne"), ("الطن", "tonne"), ("الاطنان", "tonne"),
    ("كيلوغرام", "kilogram"), ("كيلوجرام", "kilogram"), ("كيلوغراما", "kilogram"), ("كغ", "kilogram"),
    ("كجم", "kilogram"), ("برميل", "barrel"), ("براميل", "barrel"), ("البراميل", "barrel"),
    ("حاوية نمطية", "container"), ("حاويات نمطية", "container"), ("حاوية", "container"),
    ("حاويات", "container"), ("الحاويات", "container"),
    ("ميغاواط", "megawatt"), ("ميجاوات", "megawatt"), ("ميغاوات", "megawatt"), ("ميجاواط", "megawatt"),
    ("ميجا وات", "megawatt"), ("ميغا واط", "megawatt"), ("جيجا وات", "gigawatt"), ("غيغا واط", "gigawatt"),
    ("غيغاواط", "gigawatt"), ("جيجاوات", "gigawatt"), ("غيغاوات", "gigawatt"), ("جيغاواط", "gigawatt"),
    ("كيلوواط ساعة", "kilowatt_hour"), ("كيلوواط ساعي", "kilowatt_hour"),
    ("هكتار", "hectare"), ("هكتارا", "hectare"), ("هكتارات", "hectare"),
    ("فدان", "feddan"), ("فدانا", "feddan"), ("افدنة", "feddan"), ("اردب", "ardeb"), ("ارادب", "ardeb"),
    ("اردبا", "ardeb"),
], key=lambda pair: -len(pair[0].split()))


def _by_first_word(phrases):
    """(words, value) of each phrase under its first word, in the phrases' order: a unit is looked for after
    every number, among a hundred phrases, of which the word there can begin only a few."""
    by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for phrase, value in phrases:
        words = tuple(phrase.split())
        by_first.setdefault(words[0], []).append((words, value))
    return by_first


_PERCENT_BY_FIRST = _by_first_word((marker, "percent") for marker in _PERCENT)
_MEASURES_BY_FIRST = _by_first_word(_MEASURES)


# What CLDR does not hold: the press's currency words, each with the code it names alone (None: several
# currencies share the word, and only a country's adjective says which: ريال قطري).
PRESS_CURRENCIES: dict[str, str | None] = {
    "دولار": "USD", "يوان": "CNY", "رنمينبي": "CNY", "يورو": "EUR", "روبل": "RUB", "تنغي": "KZT", "تنغ": "KZT",
    "تينغ": "KZT", "تينغي": "KZT", "تنجي": "KZT", "سوموني": "TJS", "ين": "JPY", "وون": "KRW",
    "ريال": None, "دينار": None, "درهم": None, "جنيه": None, "ليرة": None, "سوم": None, "منات": None,
    "مانات": None, "روبية": None, "فرنك": None, "بيزو": None, "كرونة": None, "شيكل": "ILS", "راند": "ZAR",
    "زلوتي": "PLN", "رينغيت": "MYR", "هريفنيا": "UAH",
}
# The press's spellings of a CLDR head word, so that its adjectives carry over (تنغي كازاخستاني).
_SPELLINGS = {"تينغ": ("تنغي", "تنغ", "تينغي", "تنجي"), "مانات": ("منات",)}
_BROKEN_PLURALS = {"دنانير": "دينار", "دراهم": "درهم"}
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "CNY"}


@dataclass(frozen=True)
class CurrencyNames:
    """Currency words: a head (دولار) → the code it names alone (or None); (head, adjective stem) → code."""

    heads: Mapping[str, str | None]
    qualified: Mapping[tuple[str, str], str]


def adjective_stem(word: str) -> str:
    """The first letters of a country's adjective or name, which its forms share (امريكي، الامريكية)."""
    if word.startswith("ال") and len(word) > 4:
        word = word[2:]
    return word[:4]


def currency_names(cldr: Mapping[str, str]) -> CurrencyNames:
    """Currency words from CLDR's Arabic names of the currencies in use (code → name: ``KZT`` → ``تينغ
    كازاخستاني``) and the press's (:data:`PRESS_CURRENCIES`).

    CLDR's names count with their country's word only (``بير إثيوبي``): many of their head words alone are
    common words too (ذهب، سيدي، بير، أوقية). Alone, a word names a currency when the press table has it.
    """
    qualified: dict[tuple[str, str], str] = {}
    for code, name in sorted(cldr.items()):
        words = fold(name).text.split()
        if len(words) > 1:
            for head in (words[0], *_SPELLINGS.get(words[0], ())):
                qualified.setdefault((head, adjective_stem(words[1])), code)
    return CurrencyNames(dict(PRESS_CURRENCIES), qualified)


def currency_head(word: str, names: CurrencyNames) -> str | None:
    """The head of a currency word in any of its forms: الدولارات، دولارا، ريالات، دنانير، بالدولار..."""
    for article in ("بال", "وال", "ال", ""):
        if article and not (word.startswith(article) and len(word) > len(article) + 1):
            continue
        bare = word[len(article):]
        if bare in _BROKEN_PLURALS:
            return _BROKEN_PLURALS[bare]
        for ending in ("", "ات", "ا", "ان", "ين"):
            if ending and not bare.endswith(ending):
                continue
            base = bare[: len(bare) - len(ending)]
            if base in names.heads and len(base) >= 2:
                return base
    return None


_WORD = re.compile(r"[^\W\d_]+")
# Numbers, symbols, words, and each punctuation mark on its own, so that a unit must follow its number.
_TOKEN = re.compile(r"[0-9]+ر[0-9]+|[0-9]+(?:[.,،٫٬][0-9]+)*|[%٪$€£¥]|[-–]|[.,،؛:!?؟()\[\]«»\"'/]"
                    r"|[^\s0-9%٪$€£¥.,،؛:!?؟()\[\]«»\"'/\-–]+")


def parse_digits(digits: str) -> float | None:
    """``1,500`` → 1500, ``2.5`` and ``2,5`` → 2.5, ``٤٫٥`` (folded ``4٫5``) → 4.5, ``1.000.000`` → 1e6,
    ``509،2`` → 509.2, ``7ر9`` → 9.7.

    A comma (Western or Arabic) is a thousands mark when every group after it has three digits, else a
    decimal mark.
    """
    if "ر" in digits:  # the Egyptian press's decimal mark, written after the fraction: 7ر9 is 9.7
        fraction, _, whole = digits.partition("ر")
        digits = f"{whole}.{fraction}"
    text = digits.replace("٬", ",").replace("٫", ".").replace("،", ",")
    if "," in text:
        groups = text.split(",")
        thousands = "." not in "".join(groups[:-1]) and all(len(g) == 3 for g in groups[1:-1]) and \
            len(groups[-1].split(".")[0]) == 3
        text = text.replace(",", "") if thousands else text.replace(",", ".", 1).replace(",", "")
    if text.count(".") > 1:
        text = text.replace(".", "")
    try:
        return float(text)
    except ValueError:
        return None


def find_amounts(text: str, names: CurrencyNames) -> list[Amount]:
    """Every amount in ``text``, in order, with offsets into ``text`` itself."""
    folded = fold(text)
    words = _TOKEN.findall(folded.text)
    starts = word_starts(folded.text, words)  # the pattern skips only whitespace
    amounts: list[Amount] = []
    after = 0  # amounts do not overlap: the first word the next may begin at
    for i in [i for i, word in enumerate(words) if _may_begin(word)]:
        if i < after:
            continue
        found = _amount_at(words, i, names)
        if found is None:
            continue
        first, last, value, unit, currency, scale, qualifier, upper = found
        start, end = folded.original_span(starts[first] + _proclitic(words[first]), starts[last] + len(words[last]))
        if math.isfinite(value) and value > 0:
            amounts.append(Amount(start, end, text[start:end], value, unit, currency, scale, qualifier, upper))
        after = last + 1
    return amounts


@lru_cache(maxsize=65_536)  # called for every word of every article: the same few thousand words
def _may_begin(word: str) -> bool:
    """Whether an amount can begin at this word: a number, in digits or words, or a currency's symbol."""
    return word[:1].isdigit() or word in _SYMBOLS or _without_clitic(word) in _NUMBER_WORDS


@lru_cache(maxsize=65_536)  # called for every word of every article: the same few thousand words
def _without_clitic(word: str) -> str:
    """A number or scale word with a proclitic glued on (وخمسة، بمليار، ولأكثر is not one): the word."""
    for length in (2, 1):
        rest = word[length:]
        if len(rest) >= 3 and all(ch in "وبلفك" for ch in word[:length]) and (
                rest in _ONES or rest in _TENS or rest in _HUNDREDS or rest in _SCALE or rest in _VAGUE
                or rest in _FRACTIONS):
            return rest
    return word


def _proclitic(word: str) -> int:
    """How many letters of a span's first word are a conjunction or preposition glued on (وخمسة، بنحو)."""
    if _without_clitic(word) != word:
        return len(word) - len(_without_clitic(word))
    if word[:1] in "وبلف" and any(word[1:] == phrase.split()[0] for phrase, _ in _QUALIFIER_PHRASES):
        return 1
    return 0


def _cardinal(words: Sequence[str], i: int) -> tuple[float, int] | None:
    """A number at ``words[i]``, in digits or in words (خمسة وعشرون، اثنا عشر، مائة وخمسون): its value and the
    index of its last word."""
    if words[i][:1].isdigit():
        value = parse_digits(words[i])
        return (value, i) if value is not None else None
    word = _without_clitic(words[i])
    if word in _FRACTIONS:
        return _FRACTIONS[word], i
    if word in _TEEN_HEADS and i + 1 < len(words) and words[i + 1] in ("عشر", "عشرة"):
        total, last = 10 + _TEEN_HEADS[word], i + 1
    else:
        total = _HUNDREDS.get(word) or _TENS.get(word) or _ONES.get(word)
        last = i
    if total is None:
        return None
    while last + 1 < len(words) and words[last + 1].startswith("و"):  # و + a smaller part
        part = words[last + 1][1:]
        added = _TENS.get(part) or _ONES.get(part) or _HUNDREDS.get(part)
        # Arabic says the ones before the tens (خمسة وعشرون), the hundreds before both (مائة وخمسة وعشرون).
        ones_then_tens = total % 10 and total % 100 < 10 and part in _TENS
        if added is None or not (added < total or ones_then_tens):
            break
        total, last = total + added, last + 1
    return float(total), last


def _scales(words: Sequence[str], last: int) -> tuple[float, int]:
    """The scale words after ``words[last]`` (مليار، ألف مليار): their product and the last one's index."""
    factor = 1.0
    while last + 1 < len(words) and words[last + 1] in _SCALE:
        factor, last = factor * _SCALE[words[last + 1]], last + 1
    return factor, last


def _qualifier_before(words: Sequence[str], i: int) -> tuple[str | None, int]:
    """The words just before ``words[i]`` that bound or blur it (نحو، أكثر من): their kind and first index."""
    for phrase, kind in _QUALIFIER_PHRASES:
        parts = phrase.split()
        if i - len(parts) < 0:
            continue
        before = list(words[i - len(parts):i])
        head = before[0]
        if before[1:] == parts[1:] and (head == parts[0] or (head[1:] == parts[0] and head[0] in "وبلف")):
            return kind, i - len(parts)
    return None, i


def _unit_after(words: Sequence[str], j: int, names: CurrencyNames, counted: bool):
    """The unit ``words[j:]`` begins with: (unit, currency, index of its last word), or None. ``counted``: a
    scale word came before, so a noun is a count of it (4 آلاف وحدة)."""
    if j >= len(words):
        return None
    for parts, _ in _PERCENT_BY_FIRST.get(words[j], ()):
        if tuple(words[j:j + len(parts)]) == parts:
            return "percent", None, j + len(parts) - 1
    k = j + 1 if words[j] == "من" and j + 1 < len(words) else j  # 5 مليارات من الدولارات
    for parts, unit in _MEASURES_BY_FIRST.get(words[k], ()):
        if tuple(words[k:k + len(parts)]) == parts:
            return unit, None, k + len(parts) - 1
    if words[k] in _SYMBOLS:
        return "currency", _SYMBOLS[words[k]], k
    head = currency_head(words[k], names)
    if head is None and k + 1 < len(words) and (words[k], adjective_stem(words[k + 1])) in names.qualified:
        head = words[k]  # a word CLDR names a currency by, with its country: بير إثيوبي
    if head is not None:
        code, last = names.heads.get(head), k
        if k + 1 < len(words):
            named = names.qualified.get((head, adjective_stem(words[k + 1])))
            if named:
                code, last = named, k + 1
        return "currency", code, last
    if counted and not words[k][:1].isdigit() and len(words[k]) >= 2 and words[k] not in (
            "في", "الي", "و", "او", "عن", "علي", "من", "-", "–") and _WORD.fullmatch(words[k]) \
            and not _cardinal(words, k):  # 4 آلاف وحدة، آلاف من فرص العمل
        return "count", None, j
    return None


def _term(words: Sequence[str], i: int) -> tuple[float, float, int] | None:
    """A number and its scale words at ``words[i]`` (an و glued on allowed): (number, scale, last index). A
    scale word alone is one of it, or two when it is a dual (مليونان، ملياري دولار); ``مليونا`` is two before
    its noun (مليونا دولار) and one before و (مليونا و923 ألفا: the accusative)."""
    number = _cardinal(words, i)
    if number is not None:
        value, last = number
        scale, last = _scales(words, last)
        return value, scale, last
    bare = _without_clitic(words[i])
    if bare in _SCALE and bare not in _PLURAL_SCALE:
        before_and = i + 1 < len(words) and words[i + 1].startswith("و")
        two = bare in _DUAL or (bare in _DUAL_OR_ACCUSATIVE and not before_and)
        return (2.0 if two else 1.0), _SCALE[bare], i
    return None


def _quantity(words: Sequence[str], i: int) -> tuple[float, float, int] | None:
    """The number at ``words[i]`` with its scale applied, summing the parts the press joins with و in falling
    scales (٨ ملايين و١٢٧ ألف، تريليون و48 مليار، مليونا و923 ألفا و88): (value, the first scale, last index)."""
    term = _term(words, i)
    if term is None:
        return None
    number, scale, last = term
    total, smallest = number * scale, scale
    while smallest > 1 and last + 1 < len(words):
        j = last + 2 if words[last + 1] == "و" else last + 1
        if j >= len(words) or (j == last + 1 and not words[j].startswith("و")):
            break
        part = _term(words, j)
        if part is None or part[0] * part[1] >= smallest:
            break
        total, smallest, last = total + part[0] * part[1], part[1], part[2]
    return total, scale, last


def _amount_at(words: Sequence[str], i: int, names: CurrencyNames):
    """The amount whose number (or scale word, or symbol) is ``words[i]``: (first index, last index, value,
    unit, currency, scale, qualifier, upper), or None."""
    core = i
    symbol = None
    if words[i] in _SYMBOLS and i + 1 < len(words) and words[i + 1][:1].isdigit():  # $5
        symbol, i = _SYMBOLS[words[i]], i + 1
    word = _without_clitic(words[i])
    quantity = _quantity(words, i)
    if quantity is None and word not in _VAGUE and word not in _PLURAL_SCALE:
        return None  # most words: nothing to look back for
    qualifier, first = _qualifier_before(words, core)
    upper = None
    counted = False
    if quantity is not None:
        value, scale, last = quantity
        counted = scale != 1.0
        # a range: 5 و7 مليارات، 5 إلى 7، 5-7، من 300 الى 350
        k = last + 1
        other = None
        if k + 1 < len(words) and words[k] in ("-", "–", "الي", "و"):
            other = _quantity(words, k + 1)
        if other is not None:
            top, top_scale, top_last = other
            low = value * top_scale if scale == 1.0 and top_scale != 1.0 else value  # 5 و7 مليارات
            if top > low and (symbol or _unit_after(words, top_last + 1, names, counted=top_scale != 1.0)):
                value, upper, last, qualifier = low, top, top_last, "range"
                scale, counted = max(scale, top_scale), top_scale != 1.0
    elif word in _VAGUE and i + 1 < len(words):  # عشرات الملايين من الدولارات
        following = words[i + 1][2:] if words[i + 1].startswith("ال") else words[i + 1]
        if following not in _SCALE:
            return None
        scale, last, qualifier, first, counted = _SCALE[following], i + 1, "several", core, True
        value = _VAGUE[word] * scale
    elif word in _PLURAL_SCALE and i + 1 < len(words) and (
            words[i + 1] == "من" or words[i + 1].startswith("ال")):  # ملايين الدولارات، آلاف من فرص العمل
        scale, last, qualifier, first, counted = _SCALE[word], i, "several", core, True
        value = scale
    else:
        return None

    if symbol:
        unit = ("currency", symbol, last)
    else:
        unit = _unit_after(words, last + 1, names, counted=counted)
        if unit is None and last + 1 < len(words) and words[last + 1] in _SYMBOLS:  # 5 $
            unit = ("currency", _SYMBOLS[words[last + 1]], last + 1)
    if unit is None:
        return None
    kind, currency, unit_last = unit
    if kind == "count":
        unit_last = last  # the counted noun is what is counted, not a unit
    return first, unit_last, value, kind, currency, scale, qualifier, upper


def amount_rows(article_id: str, text: str, sentence_starts: Sequence[int], names: CurrencyNames) -> list[dict]:
    """The ``amounts`` table's rows of one article; ``sentence_starts``: its sentences' first characters, in
    order (an amount before the first, in the headline, has no sentence)."""
    rows = []
    for index, amount in enumerate(find_amounts(text, names)):
        sentence = bisect.bisect_right(sentence_starts, amount.start) - 1
        rows.append({
            "article_id": article_id, "amount_index": index, "sentence_index": sentence if sentence >= 0 else None,
            "start_char": amount.start, "end_char": amount.end, "text": amount.text, "value": amount.value,
            "unit": amount.unit, "currency": amount.currency, "scale": amount.scale,
            "qualifier": amount.qualifier, "upper": amount.upper,
        })
    return rows
