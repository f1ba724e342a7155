"""Normalization on real strings from the sample articles."""

import pytest

from tests.conftest import sample_text
from transforms.normalize import (
    ascii_digits,
    drop_invisibles,
    nfkc,
    normalize_key,
    normalize_text,
    strip_tashkeel,
    strip_tatweel,
    unify_alef,
    unify_alef_maqsura,
)


def test_tashkeel_from_sample_000_is_stripped():
    text = sample_text("000")
    assert "أَشاد" in text and "الوَطيدة" in text  # the sample really carries harakat
    assert strip_tashkeel("أَشاد") == "أشاد"
    assert strip_tashkeel("الوَطيدة") == "الوطيدة"
    assert strip_tashkeel("مُؤكداً") == "مؤكدا"
    assert strip_tashkeel("موقّع") == "موقع"  # shadda


def test_tatweel_as_in_clitic_lam():
    assert strip_tatweel("لـكازاخستان") == "لكازاخستان"
    assert strip_tatweel("الـ24") == "ال24"


@pytest.mark.parametrize(
    "variant, unified",
    [("أستانا", "استانا"), ("إطار", "اطار"), ("آسيا", "اسيا"), ("ٱلصين", "الصين")],
)
def test_alef_forms_unify(variant, unified):
    assert unify_alef(variant) == unified


def test_alef_maqsura_makes_egyptian_spelling_of_xi_match():
    # "شى جينبينج" is the Egyptian-press spelling; "شي" is the one in sample 001.
    assert unify_alef_maqsura("شى") == "شي"
    assert normalize_key("شى") == normalize_key("شي")
    assert normalize_key("آسيا الوسطى") == normalize_key("اسيا الوسطي")


def test_eastern_and_persian_digits():
    assert ascii_digits("٢٠٢٤") == "2024"
    assert ascii_digits("۱۴۰۳") == "1403"
    assert normalize_text("أستانا أول يوليو ٢٠٢٤ (شينخوا)") == "استانا اول يوليو 2024 (شينخوا)"


def test_bidi_and_zero_width_characters_are_dropped():
    dirty = "\u200fكازاخستان\u200c\u2067Xi\u2069\ufeff"
    assert drop_invisibles(dirty) == "كازاخستانXi"
    assert normalize_key("كازا\u200bخستان") == normalize_key("كازاخستان")


def test_nfkc_folds_presentation_forms():
    assert nfkc("\ufefb") == "لا"  # lam-alef ligature
    assert nfkc("\ufe91\ufedc\ufef4\ufee6") == "بكين"  # positional forms, as in old PDFs


def test_keys_fold_latin_case_and_whitespace():
    assert normalize_key("Xi  Jinping") == normalize_key("XI JINPING") == "xi jinping"


def test_sample_spellings_share_keys_where_only_orthography_differs():
    text = sample_text("003")
    assert "وزيري خارجية" in text
    # Tashkeel and alef forms: the same name written with and without marks.
    assert normalize_key("كِلا") == normalize_key("كلا")
    assert normalize_key("أوروبا") == normalize_key("اوروبا")


def test_normalize_text_is_idempotent_on_every_sample():
    for prefix in ("000", "001", "002", "003", "004"):
        once = normalize_text(sample_text(prefix))
        assert normalize_text(once) == once
        assert "\u064e" not in once and "\u0651" not in once


def _fold_one_character_at_a_time(text: str) -> tuple[str, tuple[int, ...]]:
    """The definition of fold, character by character: the oracle for the fast version."""
    import unicodedata

    from transforms.normalize import _FOLD_DROP, _FOLD_TABLE

    chars, origin = [], []
    for index, char in enumerate(text):
        for piece in unicodedata.normalize("NFKC", char):
            if not _FOLD_DROP.fullmatch(piece):
                chars.append(piece.translate(_FOLD_TABLE))
                origin.append(index)
    return "".join(chars), tuple(origin)


@pytest.mark.parametrize("text", [
    "بكين, 5 يوليو، 2024 /PRNewswire/ —",
    "أستانا أول يوليو 2024 (شينخوا) أَشادَ الرئيسُ",
    "لـــكازاخستان \u200fو\u200bالصين",
    "\ufefb تفاوض ﷺ ١٢٣ ﻻ",  # ligatures that NFKC expands to several letters
    "[]\\^-",  # characters that mean something inside a regex class
    "",
])
def test_fold_keeps_the_way_back_to_every_original_character(text):
    from transforms.normalize import fold, fold_text

    folded = fold(text)
    assert (folded.text, tuple(folded.origin)) == _fold_one_character_at_a_time(text)
    assert fold_text(text) == folded.text


def test_fold_of_every_sample_matches_its_definition():
    from transforms.normalize import fold

    for prefix in ("000", "001", "002", "003", "004"):
        text = sample_text(prefix)
        folded = fold(text)
        assert (folded.text, tuple(folded.origin)) == _fold_one_character_at_a_time(text)


def test_whitespace_and_letter_unification_match_their_regex_and_table_definitions():
    """The fast str methods must give exactly the old outputs: article ids hash these forms."""
    import re
    import sys

    from transforms.normalize import ascii_digits, collapse_whitespace

    spaces = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if re.fullmatch(r"\s", c))
    text = f"{spaces}أَحمد{spaces}إلى آسيا ٱلوسطى{spaces[::-1]}٢٠٢٤ ۱۴۰۳{spaces}"
    assert collapse_whitespace(text) == re.sub(r"\s+", " ", text).strip()
    assert unify_alef(text) == text.translate(str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا"}))
    assert unify_alef_maqsura(text) == text.translate(str.maketrans({"ى": "ي"}))
    assert ascii_digits(text) == text.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789"))
    assert ascii_digits("بلا أرقام") == "بلا أرقام"
