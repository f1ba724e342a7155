"""Dates, datelines, agencies, titles and bodies, from real and tricky text."""

from __future__ import annotations

from core.settings import get_settings

from datetime import date

import pytest

from flows.intake import load_agency_rules, load_places
from tests.conftest import ROOT, sample_text
from transforms.boilerplate import split_page
from transforms.dates import parse_date
from transforms.articles import build_article
from transforms.dedup import NearDuplicateIndex, signature
from transforms.formats import parse_text
from transforms.metadata import KnownFields, extract_metadata, lead_date, parse_dateline

RULES = load_agency_rules(ROOT / "seeds" / "agencies.csv")
TODAY = date(2026, 11, 23)


# What each sample says, read by a person: (city, date, date_source, agency, agency_source, title).
SAMPLES = {
    "000": ("بكين", date(2024, 7, 5), "dateline", "PR Newswire", "dateline", None),
    "001": ("أستانا", date(2024, 7, 1), "dateline", "Xinhua", "dateline", None),
    # A Global Times interview; "سبتمبر/أيلول 2013" in its lead is history, not its date.
    "002": (None, None, "none", "Global Times", "lead", None),
    # Dateline 25 April; the page's own stamp (2025:04:27.09:40) is two days later.
    "003": ("ألماتي", date(2025, 4, 25), "dateline", "Xinhua", "dateline",
            "انعقاد الحوار الاستراتيجي الثاني بين وزيري خارجية الصين وكازاخستان في ألماتي"),
    # No dateline, no agency, only "اليوم (الخميس)": no trustworthy date.
    "004": (None, None, "none", None, "none", None),
}


@pytest.mark.parametrize("prefix", sorted(SAMPLES))
def test_sample_metadata(prefix):
    city, published, date_source, agency, agency_source, title = SAMPLES[prefix]
    meta = extract_metadata(sample_text(prefix), RULES, not_after=TODAY)
    assert (meta.dateline_city, meta.published_date, meta.date_source) == (city, published, date_source)
    assert (meta.agency, meta.agency_source) == (agency, agency_source)
    assert meta.title == title


def test_page_furniture_is_set_aside_and_offsets_stay_valid():
    text = sample_text("003")
    meta = extract_metadata(text, RULES, not_after=TODAY)
    body = text[meta.body_start : meta.body_end]
    assert body.startswith("ألماتي 25 أبريل 2025 (شينخوا)")
    assert body.endswith("مذكرة تفاهم بين وزارتي الخارجية في البلدين.")
    for furniture in ("الصفحة الرئيسية", "/مصدر: شينخوا/", "صور ساخنة"):
        assert furniture in text and furniture not in body


@pytest.mark.parametrize("prefix", ["000", "001", "002", "004"])
def test_a_plain_story_keeps_all_of_its_text(prefix):
    text = sample_text(prefix)
    meta = extract_metadata(text, RULES, not_after=TODAY)
    assert text[meta.body_start : meta.body_end] == text.strip()


DATES = [
    # Egyptian month names, the Arabic comma, "أول" for the 1st
    ("بكين, 5 يوليو، 2024 /PRNewswire/", date(2024, 7, 5)),
    ("أستانا أول يوليو 2024 (شينخوا)", date(2024, 7, 1)),
    ("الأول من أبريل 2023", date(2023, 4, 1)),
    ("12 إبريل 2022", date(2022, 4, 12)),
    ("3 يونيه 2021", date(2021, 6, 3)),
    # Levantine names, with and without hamza and madda, one- and two-word
    ("5 تموز 2024", date(2024, 7, 5)),
    ("3 آب 2023", date(2023, 8, 3)),
    ("3 اب 2023", date(2023, 8, 3)),
    ("10 أيلول 2019", date(2019, 9, 10)),
    ("10 ايلول 2019", date(2019, 9, 10)),
    ("2 تشرين الأول 2018", date(2018, 10, 2)),
    ("2 تشرين الثاني 2018", date(2018, 11, 2)),
    ("31 كانون الأول 2020", date(2020, 12, 31)),
    ("20 آذار 2020", date(2020, 3, 20)),
    # mixed forms
    ("12 سبتمبر/أيلول 2022", date(2022, 9, 12)),
    ("12 أيلول / سبتمبر 2022", date(2022, 9, 12)),
    # Maghrebi names
    ("14 جويلية 2024", date(2024, 7, 14)),
    # Eastern Arabic and Persian digits
    ("٥ يوليو ٢٠٢٤", date(2024, 7, 5)),
    ("۵ يوليو ۲۰۲۴", date(2024, 7, 5)),
    # stamps
    ("/مصدر: شينخوا/   2025:04:27.09:40", date(2025, 4, 27)),
    ("2024-07-05T10:00:00Z", date(2024, 7, 5)),
    ("27/04/2025", date(2025, 4, 27)),
    # digits glued to words
    ("25أبريل2025", date(2025, 4, 25)),
    ("في5 يوليو 2024", date(2024, 7, 5)),
    ("بتاريخ 5يوليو2024م", date(2024, 7, 5)),
    ("يوم 7 من شهر يوليو عام 2024", date(2024, 7, 7)),
    # tashkeel and tatweel inside a month name
    ("5 يُولْيُو 2024", date(2024, 7, 5)),
    ("5 يـــوليو 2024", date(2024, 7, 5)),
    # untrustworthy: no day, two different months, impossible days, out of range
    ("في سبتمبر/أيلول 2013", None),
    ("5 سبتمبر/أكتوبر 2020", None),
    ("31 فبراير 2024", None),
    ("30/02/2024", None),
    ("5 يوليو 1850", None),
    ("5 يوليو 2031", None),  # after the ingestion day
    ("منذ 5 سنوات", None),
    ("أب وابن في 2024", None),  # "أب" (father), not "آب" (August): no day before it
]


@pytest.mark.parametrize("text, expected", DATES)
def test_dates(text, expected):
    assert parse_date(text, not_after=TODAY) == expected


DATELINES = [
    ("أستانا أول يوليو 2024 (شينخوا) قال الرئيس", "أستانا", date(2024, 7, 1), "Xinhua"),
    ("بكين, 5 يوليو، 2024 /PRNewswire/ — أشاد", "بكين", date(2024, 7, 5), "PR Newswire"),
    ("ألماتي 25 أبريل 2025 (شينخوا) عقد وانغ يي", "ألماتي", date(2025, 4, 25), "Xinhua"),
    ("بكين/أستانا 3 يوليو 2024 (شينخوا) قال", "بكين/أستانا", date(2024, 7, 3), "Xinhua"),
    ("بكين / أستانا 3 يوليو 2024 (شينخوا) قال", "بكين/أستانا", date(2024, 7, 3), "Xinhua"),
    ("القاهرة (أ ش أ) - قال وزير", "القاهرة", None, "MENA"),
    ("القاهرة في 5 تموز 2024 (أ ش أ) -", "القاهرة", date(2024, 7, 5), "MENA"),
    ("نور سلطان 12 سبتمبر/أيلول 2019 (شينخوا) --", "نور سلطان", date(2019, 9, 12), "Xinhua"),
    ("بيشكك ٥ يوليو ٢٠٢٤ (رويترز) -", "بيشكك", date(2024, 7, 5), "Reuters"),
    ("طشقند 5 يوليو (شينخوا) قال", "طشقند", None, "Xinhua"),  # no year: the date is not trusted
    ("موسكو 5 يوليو 2024 - قال", "موسكو", date(2024, 7, 5), None),
    # not datelines
    ("قال الرئيس (الصيني) إن", None, None, None),
    ("في سبتمبر/أيلول 2013، اقترح الرئيس", None, None, None),
    ("من المقرر أن يصل رئيس مجلس الدولة", None, None, None),
]


@pytest.mark.parametrize("line, city, published, agency", DATELINES)
def test_datelines(line, city, published, agency):
    found = parse_dateline(line, RULES, not_after=TODAY)
    if city is None:
        assert found is None
    else:
        assert (found.cities, found.date, found.agency) == (city, published, agency)
        assert line[found.start : found.end].startswith(city.split("/")[0])


def test_a_date_in_the_lead_needs_its_cue():
    assert lead_date("أعلنت الوزارة اليوم الخميس 4 يوليو 2024 أن الزيارة ستتم.", TODAY) == date(2024, 7, 4)
    assert lead_date("اتفق البلدان في 4 يوليو 2024 على خطة.", TODAY) == date(2024, 7, 4)
    # a date after the first sentence, or without a cue, is about something else
    assert lead_date("وقع الجانبان الاتفاقية. وفي 4 يوليو 2024 زار الوفد.", TODAY) is None
    assert lead_date("اتفاقية 4 يوليو 2024 دخلت حيز التنفيذ.", TODAY) is None


def test_known_fields_fill_in_what_the_text_does_not_say():
    text = "قال الرئيس الكازاخستاني قاسم جومارت توكاييف إن الاجتماع المرتقب سيعود بالنفع على البلدين."
    known = KnownFields(title="توكاييف: الاجتماع سيعود بالنفع", published=date(2024, 7, 1), default_agency="Xinhua")
    meta = extract_metadata(text, RULES, known, not_after=TODAY)
    assert (meta.title, meta.title_source) == ("توكاييف: الاجتماع سيعود بالنفع", "metadata")
    assert (meta.published_date, meta.date_source) == (date(2024, 7, 1), "metadata")
    assert (meta.agency, meta.agency_source) == ("Xinhua", "registry")
    # a date from metadata in the future is not trusted either
    later = extract_metadata(text, RULES, KnownFields(published=date(2030, 1, 1)), not_after=TODAY)
    assert (later.published_date, later.date_source) == (None, "none")


FOOTERS = [
    "اقرأ أيضا:\nالصين وكازاخستان توقعان اتفاقية\nشي يزور أستانا",
    "مواضيع ذات صلة\n- رابط أول\n- رابط ثان",
    "صور ساخنة",
    "جميع الحقوق محفوظة © 2024",
    "شارك هذا الخبر\nhttps://example.com/a",
]


@pytest.mark.parametrize("footer", FOOTERS)
def test_footers_and_related_links_are_cut(footer):
    story = sample_text("001").strip()
    text = f"الصفحة الرئيسية >> أخبار\n\n{story}\n\n{footer}\n"
    page = split_page(text)
    assert page.body(text) == story


def test_a_headline_above_a_plain_story_becomes_the_title():
    story = sample_text("004").strip()
    text = f"لي كه تشيانغ يزور قازاقستان\n\n{story}\n"
    meta = extract_metadata(text, RULES, not_after=TODAY)
    assert (meta.title, meta.title_source) == ("لي كه تشيانغ يزور قازاقستان", "header")
    assert text[meta.body_start : meta.body_end] == story


def test_near_copies_are_found_and_different_stories_are_not():
    index = NearDuplicateIndex(threshold=0.7)
    originals = {p: sample_text(p) for p in ("000", "001", "002", "003", "004")}
    for prefix, text in originals.items():
        assert index.match(signature(text)) is None  # five different stories
        index.add(prefix, signature(text))
    # The same wire story with a new headline, a few edited words and a related-links footer.
    edited = (
        "توكاييف: زيارة شي ستفتح فصلا جديدا\n\n"
        + originals["001"].replace("قال الرئيس", "صرح الرئيس", 1).replace("الاستراتيجية", "الإستراتيجية")
        + "\nاقرأ أيضا\nشي يصل إلى أستانا"
    )
    match = index.match(signature(edited))
    assert match is not None and match.duplicate_of == "001" and match.similarity >= 0.8


# ---------------------------------------------------------------- the Arabic press beyond the samples
# Each case is one phenomenon of tests' own making, in the shapes the development corpus (seeds/dev) shows.

PLACES = load_places(get_settings())
STORY = ("أكد الوزير خلال لقائه نظيره أهمية تعزيز التعاون الثنائي في مجالات الطاقة والتجارة والاستثمار "
         "والنقل، مشيرا إلى أن البلدين يعملان على توسيع الشراكة بينهما في السنوات المقبلة.")

LABELLED_DATELINES = [
    (f"دمشق-سانا\n{STORY}", "دمشق", "SANA"),
    (f"الدمام – واس\n{STORY}", "الدمام", "SPA"),
    (f"طرابلس- (د ب أ):\n{STORY}", "طرابلس", "DPA"),
    (f"مسقط ـ العُمانية: {STORY}", "مسقط", "ONA"),
    (f"الرباط - و م ع: {STORY}", "الرباط", "MAP"),
    (f"بغداد - {STORY}", "بغداد", None),
    (f"شفق نيوز- بغداد\n{STORY}", "بغداد", None),  # the outlet, then the place
    (f"أربيل (كوردستان 24)- {STORY}", "أربيل", None),  # an outlet that is no wire of the registry
    (f"غابالا/الأناضول\n{STORY}", "غابالا", "Anadolu"),  # the wire's own "place/agency"
    (f"الدوحة 5 شعبان 1437 هـ الموافق 12 مايو 2016 م واس {STORY}", "الدوحة", "SPA"),
    (f"بكين, June 19, 2025 (GLOBE NEWSWIRE) — {STORY}", "بكين", "GlobeNewswire"),
]


@pytest.mark.parametrize("text, city, agency", LABELLED_DATELINES)
def test_datelines_of_every_common_shape(text, city, agency):
    meta = extract_metadata(text, RULES, not_after=TODAY, places=PLACES)
    assert (meta.dateline_city, meta.agency) == (city, agency)
    assert meta.body_start == 0  # the dateline is the story's, never furniture


NOT_DATELINES = [
    f"موسكو: سندعم طاجيكستان لتأمين حدودها\n\n{STORY}",  # a headline that opens with a place
    f"لبنان\n\n{STORY}",  # a section label
    f"مدار الساعة - {STORY}",  # an outlet, no place
    f"وكالة الأنباء الليبية (وال)\n\n{STORY}",  # the agency's masthead
]


@pytest.mark.parametrize("text", NOT_DATELINES)
def test_what_only_looks_like_a_dateline(text):
    assert extract_metadata(text, RULES, not_after=TODAY, places=PLACES).dateline_city is None


PAGE_DATES = [
    # (text, date, source): the page's own stamp, never the masthead's "today"
    (f"الخميس 26 سبتمبر 2024\n\nوزير يبحث دعم الجهود الإصلاحية\n\nعرب وعالم23-4-2022 | 11:45\n\n{STORY}",
     date(2022, 4, 23), "timestamp"),
    (f"الجمعة 25 أفريل 2025 الموافق لـ 26 شوال 1446\n\nكاتب الدولة يؤكد موقف الجزائر\n\n{STORY}", None, "none"),
    (f"عنوان الخبر هنا للتجربة\nنشر بتاريخ: 08/05/2019 ( آخر تحديث: 11/05/2019 الساعة: 09:36 )\n{STORY}",
     date(2019, 5, 8), "timestamp"),
    (f"عنوان الخبر هنا للتجربة\nتاريخ النشر (\n2019-12-02 20:24:00\n)\n{STORY}", date(2019, 12, 2), "timestamp"),
    (f"عنوان الخبر هنا للتجربة\n٢٣ أغسطس ٢٠٢٣\n{STORY}", date(2023, 8, 23), "timestamp"),
    (f"عنوان الخبر هنا للتجربة\n07:04 GMT 02.09.2025\n{STORY}", date(2025, 9, 2), "timestamp"),
    (f"عنوان الخبر هنا للتجربة\nPublished 08/22/2025 10:15\n{STORY}", date(2025, 8, 22), "timestamp"),  # M/D/Y
    (f" date 2025-09-24 {STORY}", date(2025, 9, 24), "timestamp"),  # the crawler's prefix
    (f" date 2023-08 {STORY}", None, "none"),  # a month gives no day
    (f"عنوان الخبر هنا للتجربة\nمنذ 31 دقيقة\n{STORY}", None, "none"),  # relative, with no anchor
]


@pytest.mark.parametrize("text, published, source", PAGE_DATES)
def test_the_page_stamp_is_the_articles_and_the_masthead_is_not(text, published, source):
    meta = extract_metadata(text, RULES, not_after=TODAY, places=PLACES)
    assert (meta.published_date, meta.date_source) == (published, source)
    assert text[meta.body_start : meta.body_end].strip().startswith(STORY[:20].strip())


def test_lead_dates_with_a_weekday_are_checked_against_it():
    assert lead_date("قال الرئيس اليوم الثلثاء (26 يناير/ كانون الثاني 2016) إن", TODAY) == date(2016, 1, 26)
    assert lead_date("غادر الرئيس بعد ظهر اليوم الاثنين 4 جويلية 2022 أرض الوطن.", TODAY) == date(2022, 7, 4)
    assert lead_date("غادر الرئيس اليوم الخميس 4 جويلية 2022 أرض الوطن.", TODAY) is None  # the 4th was a Monday


CREDITS = [
    # (text, agency, source): the credited wire, wherever the press credits it
    (f"عنوان الخبر هنا للتجربة\nالمواطن - واس\n{STORY}", "SPA", "credit"),
    (f"{STORY}\nالمصدر: الوكالة الوطنية للإعلام", "NNA", "credit"),
    (f"{STORY}\n–(بترا)", "Petra", "credit"),
    (f"{STORY[:-1]} (أ ف ب).", "AFP", "credit"),
    (f"عنوان الخبر هنا للتجربة\nكشـ24 | و.م.ع نشر في: 11 مارس 2023\n{STORY}", "MAP", "credit"),
    # quoted in the story, a photo credit: no credit
    (f"ونقلت وكالة رويترز عن مصادر أن {STORY}", None, "none"),
    (f"عنوان الخبر هنا للتجربة\nحقوق النشر Andrey Gordeyev/Sputnik\n{STORY}", None, "none"),
]


@pytest.mark.parametrize("text, agency, source", CREDITS)
def test_agencies_are_credits_not_quotes(text, agency, source):
    meta = extract_metadata(text, RULES, not_after=TODAY, places=PLACES)
    assert (meta.agency, meta.agency_source) == (agency, source)


def test_an_outlet_naming_itself_is_no_credit_but_a_wire_is():
    text = f"أبوظبي - سكاي نيوز عربية\n{STORY}"
    own = extract_metadata(text, RULES, KnownFields(url="https://www.skynewsarabia.com/x"), TODAY, PLACES)
    other = extract_metadata(text, RULES, KnownFields(url="https://example.com/x"), TODAY, PLACES)
    assert (own.dateline_city, own.agency) == ("أبوظبي", None)
    assert other.agency == "Sky News Arabia"
    wire = extract_metadata(f"الرياض - واس\n{STORY}", RULES, KnownFields(url="https://www.spa.gov.sa/x"), TODAY, PLACES)
    assert wire.agency == "SPA"  # an agency crediting itself is still the agency


def test_furniture_inside_the_story_is_blanked_and_offsets_hold():
    tweet = "Baghdad has yet to pay our people their September salaries."
    text = f"{STORY}\nإعلان\n{tweet}\n{STORY}\nشارك هذا الخبر\nالصور"
    item = parse_text(text.encode("utf-8"), "a.txt")
    article = build_article(item, RULES, not_after=TODAY, places=PLACES)
    body = article.body
    assert len(body) == article.meta.body_end - article.meta.body_start
    assert "إعلان" not in body and "Baghdad" not in body and "شارك" not in body and "الصور" not in body
    assert body.count(STORY) == 2
    second = body.rindex(STORY)
    assert text[article.meta.body_start + second :].startswith(STORY)  # an offset in the body is one in the text


def test_the_registry_covers_the_arabic_press():
    agencies = {rule.agency for rule in RULES}
    assert len(agencies) >= 40
    for wire in ("Xinhua", "MENA", "SPA", "QNA", "KUNA", "WAM", "Petra", "SANA", "Anadolu", "AFP", "Reuters",
                 "RIA Novosti", "Sputnik", "TASS", "INA", "MAP", "APS", "TAP", "NNA", "WAFA"):
        assert wire in agencies


@pytest.mark.parametrize("text, expected", [
    ("الخامس من يوليو 2024", date(2024, 7, 5)),
    ("الحادي والعشرين من مارس 2023", date(2023, 3, 21)),
    ("الثاني عشر من أكتوبر 2022", date(2022, 10, 12)),
    ("في الثلاثين من حزيران 2021", date(2021, 6, 30)),
    ("كانون الثاني يناير 2024", None),  # the month's own "الثاني" is no day
])
def test_a_day_written_as_a_word(text, expected):
    assert parse_date(text, TODAY) == expected


MORE_SHAPES = [
    # (text, city, date, agency)
    (f"رام الله 29-7-2012 وفا- {STORY}", "رام الله", date(2012, 7, 29), "WAFA"),  # a numeric date in the dateline
    (f"عنوان الخبر هنا للتجربة\nبورتسودان 10-11-2023\n{STORY}", "بورتسودان", date(2023, 11, 10), None),
    (f"أ ش أ: {STORY}", None, None, "MENA"),  # the agency opening the story
    (f"{STORY}\nالمصدر: \"أنباء البحرين\"", None, None, "BNA"),  # a name without its "وكالة"
    (f"عنوان الخبر هنا للتجربة\n{STORY}\nيمن مونيتور/ صنعاء/ وكالات:\n{STORY}", "صنعاء", None, None),
    (f"عنوان الخبر هنا للتجربة\nالإثنين 09/مارس/2026 - 09:25 م\n{STORY}", None, date(2026, 3, 9), None),
    (f"وزارة العمل العمانية\n\n{STORY}", None, None, None),  # a one-word name ("العمانية") only as a whole label
]


@pytest.mark.parametrize("text, city, published, agency", MORE_SHAPES)
def test_more_shapes_of_the_press(text, city, published, agency):
    meta = extract_metadata(text, RULES, not_after=TODAY, places=PLACES)
    assert (meta.dateline_city, meta.published_date, meta.agency) == (city, published, agency)


def test_the_copys_last_line_cut_mid_sentence_stays_in_the_story():
    text = f"{STORY}\n{STORY}\nوكان الملك محمد السادس، مرفوقا بالأمير مولاي إسماعيل،"
    meta = extract_metadata(text, RULES, not_after=TODAY, places=PLACES)
    assert text[meta.body_start : meta.body_end].endswith("إسماعيل،")
    related = f"{STORY}\nقد يهمك أيضــــــــــــــــًا :\nمجلس الشورى يستضيف وزير العمل\nالإعلان عن إجازة الإسراء"
    meta = extract_metadata(related, RULES, not_after=TODAY, places=PLACES)
    assert related[meta.body_start : meta.body_end] == STORY


def test_a_page_whose_stamps_are_month_first_reads_them_so():
    page = f"عنوان الخبر هنا للتجربة\nPublished 04/05/2025 10:15 AM\nUpdated 04/22/2025 09:00 AM\n{STORY}"
    assert extract_metadata(page, RULES, not_after=TODAY, places=PLACES).published_date == date(2025, 4, 5)
    arab = f"عنوان الخبر هنا للتجربة\nنشر في 04/05/2025 الساعة 10:15\n{STORY}"
    assert extract_metadata(arab, RULES, not_after=TODAY, places=PLACES).published_date == date(2025, 5, 4)


def test_a_caption_printed_twice_and_a_wires_notice_stay_out_of_the_story():
    caption = "الرئيس يضع إكليلاً من الزهور على النصب التذكاري في طشقند، 26 مايو 2024."
    second = "وأضاف أن الجانبين اتفقا على مواصلة التنسيق بينهما في المحافل الدولية خلال الفترة المقبلة."
    text = (f"عنوان الخبر هنا للتجربة\n{caption}\n{caption} حقوق النشر  Andrey Gordeyev/Sputnik\n{STORY}\n{second}\n"
            "الأخبار المنشورة على الصفحة الرسمية لوكالة الأناضول، هي اختصار لجزء من الأخبار التي تُعرض للمشتركين عبر")
    meta = extract_metadata(text, RULES, not_after=TODAY, places=PLACES)
    assert text[meta.body_start : meta.body_end] == f"{STORY}\n{second}"
