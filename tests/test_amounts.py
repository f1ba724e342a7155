"""Amounts as the press writes them (transforms/amounts.py): numbers, scales, units, bounds; spans exact."""

from __future__ import annotations

import pytest

from flows.intake import load_currency_names
from transforms.amounts import QUALIFIERS, UNITS, amount_rows, find_amounts, parse_digits

NAMES = load_currency_names()


def only(text: str):
    (amount,) = find_amounts(text, NAMES)
    assert text[amount.start:amount.end] == amount.text
    return amount


@pytest.mark.parametrize("digits, value", [
    ("1,500", 1500), ("2.5", 2.5), ("2,5", 2.5), ("1,000,000", 1e6), ("4٫5", 4.5), ("4٬500", 4500),
    ("1.000.000", 1e6), ("12", 12), ("0.75", 0.75), ("509،2", 509.2), ("16،115", 16115), ("7ر9", 9.7),
])
def test_digits_in_the_press_notations(digits, value):
    assert parse_digits(digits) == value


@pytest.mark.parametrize("phrase, value, unit, currency, qualifier", [
    ("بلغت الاستثمارات 2.5 مليار دولار العام الماضي", 2.5e9, "currency", "USD", None),
    ("وقعت عقودا بقيمة ٣٫٢ مليار يوان", 3.2e9, "currency", "CNY", None),
    ("تصل إلى 10 مليارات دولار أمريكي", 1e10, "currency", "USD", None),
    ("بنحو 64 مليون طن من النفط", 64e6, "tonne", None, "about"),
    ("أكثر من ثلاثة آلاف كيلومتر", 3000, "kilometre", None, "over"),
    ("ارتفع بنسبة 29 في المئة", 29, "percent", None, None),
    ("نمو بنسبة ٥٪ في الربع", 5, "percent", None, None),
    ("حوالي سبعين بالمائة من الصادرات", 70, "percent", None, "about"),
    ("قرضا بقيمة مليارا دولار", 2e9, "currency", "USD", None),
    ("ضخ عشرين مليارا من الدولارات", 20e9, "currency", "USD", None),
    ("بلغ حجم التبادل 1,500 مليون روبل", 1.5e9, "currency", "RUB", None),
    ("بقيمة 300 مليار تنغي", 300e9, "currency", "KZT", None),
    ("بقيمة 50 مليون ريال قطري", 50e6, "currency", "QAR", None),
    ("بقيمة 50 مليون ريال", 50e6, "currency", None, None),
    ("بلغت 12 مليار جنيه مصري", 12e9, "currency", "EGP", None),
    ("عشرات الملايين من الدولارات", 1e7, "currency", "USD", "several"),
    ("يحمل على متنه 50 حاوية", 50, "container", None, None),
    ("تنقل 1.13 مليون برميل يوميا", 1.13e6, "barrel", None, None),
    ("ضخ 38 مليار متر مكعب من الغاز", 38e9, "cubic_metre", None, None),
    ("على مساحة 1000 متر مربع", 1000, "square_metre", None, None),
    ("بقدرة 500 ميغاواط", 500, "megawatt", None, None),
    ("يضم 4 آلاف وحدة سكنية", 4000, "count", None, None),
    ("استقبل نصف مليون سائح", 5e5, "count", None, None),
    ("خمسة وعشرين مليون دولار", 25e6, "currency", "USD", None),
    ("بلغ $5 مليارات", 5e9, "currency", "USD", None),
    ("بلغ الإنتاج ٨ ملايين و١٢٧ ألف طن", 8_127_000, "tonne", None, None),
    ("بلغت المساحة مليونا و923 ألفا و88 فدانا", 1_923_088, "feddan", None, None),
    ("زرع مليونين و٩٢٠ ألف فدان", 2_920_000, "feddan", None, None),
    ("بلغت الإيرادات تريليون و48 مليار ريال سعودي", 1.048e12, "currency", "SAR", None),
    ("بلغ الحصاد واحدا وثمانين مليونا وثمانمائة وسبعين الف طن", 81_870_000, "tonne", None, None),
    ("قرضا قيمته ملياري دولار", 2e9, "currency", "USD", None),
    ("ارتفع التضخم إلى 7ر9 %", 9.7, "percent", None, None),
    ("بقيمة 509،2 مليون دولار أمريكي", 509.2e6, "currency", "USD", None),
    ("بسرعة 350 كلم في الساعة", 350, "kilometre_per_hour", None, None),
    ("إنتاج ٥٤٫١٨ مليون إردب من القمح", 54.18e6, "ardeb", None, None),
    ("على مساحة 3 ملايين متر مسطح", 3e6, "square_metre", None, None),
    ("وفرت آلاف من فرص العمل", 1000, "count", None, "several"),
])
def test_an_amount_as_the_press_writes_it(phrase, value, unit, currency, qualifier):
    amount = only(phrase)
    assert amount.value == pytest.approx(value, rel=1e-12)
    assert (amount.unit, amount.currency, amount.qualifier) == (unit, currency, qualifier)
    assert amount.unit in UNITS and (amount.qualifier is None or amount.qualifier in QUALIFIERS)


def test_a_glued_conjunction_or_preposition_is_not_part_of_the_span():
    assert only("وخمسة ملايين دولار").text == "خمسة ملايين دولار"
    assert only("قدرت بنحو 5 مليارات دولار").text == "نحو 5 مليارات دولار"


def test_ranges_keep_both_bounds_and_share_the_scale():
    amount = only("باستثمارات بين 5 و7 مليارات دولار")
    assert (amount.value, amount.upper, amount.unit, amount.qualifier) == (5e9, 7e9, "currency", "range")
    amount = only("نمو من 3 إلى 4 في المائة")
    assert (amount.value, amount.upper, amount.unit) == (3, 4, "percent")


@pytest.mark.parametrize("text", [
    "في عام 2024 زار الرئيس أستانا",  # a year
    "يوم 15 يوليو 2025",  # a date
    "وقع الجانبان 22 اتفاقية",  # a bare count
    "قمة مجموعة العشرين في نيودلهي",  # a number in a name
    "الكويت في 12 (كونا) -- أعلن",  # an agency's name after a number is not a currency (kuna)
    "حقوق النشر 2024. حقوق السحب",
    "خلال 5 سنوات",
    "ذهب 10 ملايين",  # no unit after the scale word
])
def test_what_is_not_an_amount(text):
    assert find_amounts(text, NAMES) == []


def test_spans_point_into_the_original_text_with_its_marks_and_eastern_digits():
    text = "وبلغت الاستثماراتُ نحوَ ٢٫٥ مِلْيار دولارٍ أمريكي."
    amount = only(text)
    assert amount.text == "نحوَ ٢٫٥ مِلْيار دولارٍ أمريكي" and amount.value == 2.5e9 and amount.qualifier == "about"


def test_rows_carry_their_sentence_and_headline_amounts_none():
    text = "2.5 مليار دولار استثمارات\n\nقالت الوزارة إن الصادرات نمت 5%. وبلغت 3 ملايين طن."
    starts = [text.index("قالت"), text.index("وبلغت")]
    rows = amount_rows("a1", text, starts, NAMES)
    assert [(r["amount_index"], r["sentence_index"], r["unit"]) for r in rows] == [
        (0, None, "currency"), (1, 0, "percent"), (2, 1, "tonne")]
    assert all(text[r["start_char"]:r["end_char"]] == r["text"] for r in rows)


def test_scoring_matches_value_and_unit_over_overlapping_characters():
    from transforms.evaluation import amount_checks

    gold = [{"start": 0, "end": 15, "text": "نحو 5 مليارات دولار", "value": 5e9, "unit": "currency", "currency": "USD"},
            {"start": 30, "end": 33, "text": "30%", "value": 30.0, "unit": "percent", "currency": None}]
    predicted = [{"start": 4, "end": 15, "text": "5 مليارات دولار", "value": 5e9, "unit": "currency", "currency": None},
                 {"start": 30, "end": 33, "text": "30%", "value": 3.0, "unit": "percent"}]
    g, p = amount_checks("a", gold, predicted)
    assert [c.matched for c in g] == [True, False] and [c.matched for c in p] == [True, False]
    assert (p[0].currency_right, p[0].span_exact) == (False, False)
    assert p[1].other == "30% = 30 percent" and g[1].other == "30% = 3 percent"
