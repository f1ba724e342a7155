"""Quotes and reported speech (transforms/quotes.py): the shapes the press writes them in, on phrases.

Each phrase is written with its mentions as the model and the gazetteer would give them: the test marks a name
with [[...|LABEL]], the mention's span is its words."""

from __future__ import annotations

import re

import pytest

from transforms.evaluation import quote_checks, same_speaker, spans_match
from transforms.quotes import Mention, article_quotes, find_quotes, quote_rows

_MARKED = re.compile(r"\[\[(.+?)\|(PER|ORG|LOC)\]\]")


def parse(marked: str) -> tuple[str, list[Mention]]:
    """The text without its marks, and a mention for each marked name."""
    text, mentions, at = "", [], 0
    for index, found in enumerate(_MARKED.finditer(marked)):
        text += marked[at:found.start()]
        start = len(text)
        text += found.group(1)
        mentions.append(Mention(start, len(text), found.group(2), index, f"e{index}"))
        at = found.end()
    return text + marked[at:], mentions


def quotes(marked: str):
    text, mentions = parse(marked)
    return find_quotes(text, mentions)


def only(marked: str):
    found = quotes(marked)
    assert len(found) == 1, [(q.verb, q.speaker_text, q.text) for q in found]
    return found[0]


def test_verb_then_title_then_name_then_complementiser():
    quote = only("وقال وزير الخارجية الصيني [[وانغ يي|PER]] إن العلاقات بين البلدين تشهد تطورا كبيرا.")
    assert (quote.speaker_text, quote.speaker_via, quote.kind) == ("وانغ يي", "name", "reported")
    assert quote.text == "العلاقات بين البلدين تشهد تطورا كبيرا"
    assert quote.verb == "وقال" and quote.speaker.entity_id == "e0"


def test_name_with_honorific_and_apposition_then_circumstances():
    quote = only("وأكد الشيخ [[محمد بن عبدالرحمن آل ثاني|PER]] وزير الخارجية القطري في كلمة افتتح بها "
                 "[[المنتدى|ORG]]، أن هذا المنتدى حلقة في سلسلة التواصل.")
    assert quote.speaker_text == "محمد بن عبدالرحمن آل ثاني"
    assert quote.text == "هذا المنتدى حلقة في سلسلة التواصل"


def test_the_title_comes_first_and_the_name_after_a_comma():
    quote = only("أكد مستشار [[السفارة الصينية|ORG]] في [[العراق|LOC]]، [[شيوي هايفنغ|PER]]، يوم الأربعاء، "
                 "أن العراق شريك أساسي لبلاده.")
    assert quote.speaker_text == "شيوي هايفنغ"


def test_a_body_speaks_by_its_name():
    quote = only("قالت [[وزارة الخارجية الصينية|ORG]]، اليوم الاثنين، إنها قدمت احتجاجا رسميا للولايات المتحدة.")
    assert (quote.speaker_text, quote.speaker.label) == ("وزارة الخارجية الصينية", "ORG")
    assert quote.text == "قدمت احتجاجا رسميا للولايات المتحدة"


def test_a_body_inside_a_title_is_not_the_speaker():
    quote = only("وقال رئيس مجموعة [[غازبروم|ORG]] الروسية للصحفيين إن الغاز يدخل الأنابيب.")
    assert (quote.speaker_via, quote.speaker_text) == ("title", "رئيس مجموعة غازبروم الروسية")


def test_a_title_with_no_name_is_the_speaker():
    quote = only("وأفاد شهود عيان للوكالة الرسمية، بأن قوة من الجيش اقتحمت البلدة.")
    assert (quote.speaker_via, quote.speaker_text, quote.speaker) == ("title", "شهود عيان", None)
    assert quote.text == "قوة من الجيش اقتحمت البلدة"


def test_a_title_the_article_gave_with_a_name_is_that_person():
    found = quotes("كشف سفير الصين في البحرين [[أنور حبيب الله|PER]] أن بلاده تمول مشروعات كبيرة. "
                   "وأضاف سفير الصين في تصريحات خاصة أن حجم التبادل التجاري بلغ ملياري دولار.")
    assert [q.speaker_via for q in found] == ["name", "title"]
    assert found[1].speaker_text == "سفير الصين" and found[1].speaker.entity_id == "e0"


def test_the_subject_before_the_verb():
    quote = only("وأضافت أن [[الشريدة|PER]] أكد تطلع الحكومة الأردنية إلى المزيد من التعاون.")
    assert quote.speaker_text == "الشريدة" and quote.text == "تطلع الحكومة الأردنية إلى المزيد من التعاون"


def test_a_verb_with_no_subject_continues_the_last_speaker():
    found = quotes("وقال [[ذكي القاضي|PER]] إن الزيارة تؤكد الاهتمام بالمنطقة. وذكر [[الأهرام|ORG]] تقريرا آخر. "
                   "وأضاف أن المدينة شهدت تضحيات كثيرة.")
    assert [(q.verb, q.speaker_text, q.speaker_via) for q in found] == [
        ("وقال", "ذكي القاضي", "name"), ("وأضاف", "ذكي القاضي", "pronoun")]


def test_a_participle_continues_its_sentence_and_ends_the_proposition_before_it():
    found = quotes("وقال [[هاني الملقي|PER]] إن الملك أوصل الوطن إلى بر الأمان، مضيفا أن الأردن تحمل كلفا كبيرة.")
    assert [q.text for q in found] == ["الملك أوصل الوطن إلى بر الأمان", "الأردن تحمل كلفا كبيرة"]
    assert found[1].speaker_via == "pronoun" and found[1].speaker.entity_id == "e0"


def test_an_honorific_pronoun_is_a_continuation():
    found = quotes("التقى [[عبدالله بن زايد|PER]] الوزراء. وقال سموه في كلمته خلال الاجتماع: «لطالما كانت "
                   "دولة الإمارات مدركة لأهمية التعاون».")
    assert len(found) == 1
    assert (found[0].speaker_text, found[0].speaker_via, found[0].kind) == ("عبدالله بن زايد", "pronoun", "direct")
    assert found[0].text == "لطالما كانت دولة الإمارات مدركة لأهمية التعاون"


def test_direct_when_the_marks_hold_the_whole_proposition():
    quote = only('وقال [[ليو بين|PER]]: "سيجتمع الرئيس الصيني مع أكثر من 20 زعيما أجنبيا".')
    assert (quote.kind, quote.text) == ("direct", "سيجتمع الرئيس الصيني مع أكثر من 20 زعيما أجنبيا")
    assert quote.speaker_text == "ليو بين"  # بين here is part of a name, not the verb بيّن


def test_reported_when_the_marks_hold_only_part_of_it():
    quote = only('وقال [[بوتين|PER]] إن هذا "حدث تاريخي فعلا" لسوق الطاقة العالمية.')
    assert (quote.kind, quote.text) == ("reported", 'هذا "حدث تاريخي فعلا" لسوق الطاقة العالمية')


def test_a_complementiser_before_the_marks_and_a_quoted_name_inside_them():
    quote = only('وأكد [[حيات|PER]] أن «العلاقات بين الكويت و«كازاخستان» تتطور بامتياز».')
    assert quote.kind == "direct" and quote.text.startswith("العلاقات") and quote.text.endswith("بامتياز")
    symmetric = only('وأضاف [[ميلر|PER]]: "تم توقيع اتفاقيات بين شركة "غازبروم" وشركة النفط الصينية".')
    assert symmetric.kind == "direct" and symmetric.text.endswith("وشركة النفط الصينية")


def test_prepositional_complements_leave_the_preposition_out():
    found = quotes("وأعرب [[الوزير|PER]] عن سعادته بالمشاركة في الاجتماع. وأشار إلى أن السنوات الماضية شهدت "
                   "تناميا. ونوه [[السفير|PER]] بالتطور الذي تشهده المملكة.")
    assert [q.text for q in found] == ["سعادته بالمشاركة في الاجتماع", "السنوات الماضية شهدت تناميا",
                                       "التطور الذي تشهده المملكة"]


def test_a_noun_phrase_after_a_named_subject_and_after_a_participle():
    found = quotes("أكد نائب وزير الخارجية الروسي [[أندريه رودينكو|PER]] جاهزية موسكو لمساعدة طاجيكستان، "
                   "مؤكدا استعداد الجانبين لتعزيز التعاون.")
    assert [q.text for q in found] == ["جاهزية موسكو لمساعدة طاجيكستان", "استعداد الجانبين لتعزيز التعاون"]
    assert {q.speaker.entity_id for q in found} == {"e0"}


def test_nested_speech_gets_its_own_record_and_does_not_continue():
    found = quotes('وقال [[مرقص|PER]]: "الرئيس [[عون|PER]] اعتبر أنه يجب الانتهاء من مشروع الموازنة". '
                   'وأضاف أن الحكومة ستجتمع الأسبوع المقبل.')
    assert [(q.verb, q.speaker_text) for q in found] == [("وقال", "مرقص"), ("اعتبر", "عون"), ("وأضاف", "مرقص")]


@pytest.mark.parametrize("phrase", [
    "وقعت الاتفاقية بين [[الصين|LOC]] و[[كازاخستان|LOC]] أن تكون التجارة بالعملات المحلية.",  # بين: between
    "ويذكر أن الزيارة هي الأولى من نوعها منذ عشر سنوات.",  # "it is worth noting"
    "وهو ما يعتبر أن المشروع الأكبر في المنطقة منذ سنوات.",  # "is considered"
    'وقال [[بوتين|PER]] عن مشروع "قوة سيبيريا".',  # a quoted name, not words said
    "وأعلنت السلطات حالة الطوارئ على أن تطبق حتى نهاية الشهر.",  # على أن: provided that
])
def test_what_is_not_speech(phrase):
    assert quotes(phrase) == []


def test_the_proposition_stops_at_a_source_tag_and_before_the_next_verb():
    found = quotes("وقال [[المكتب الإعلامي|ORG]] إن الوزير التقى الأمين العام، وفق بيان رسمي. "
                   "وأكد [[الصفدي|PER]] أن الخطوة الأولى هي وقف العدوان وأضاف أن الحل سياسي.")
    assert [q.text for q in found] == ["الوزير التقى الأمين العام", "الخطوة الأولى هي وقف العدوان",
                                       "الحل سياسي"]


def test_offsets_are_the_original_text_with_marks_and_kashida():
    text, mentions = parse("وأكّد [[الرئيس|PER]] أنّ التعاون الثنائــي يتطوّر.")
    quote = find_quotes(text, mentions)[0]
    assert text[quote.start:quote.end] == quote.text == "التعاون الثنائــي يتطوّر"
    assert text[quote.verb_start:quote.verb_end] == "وأكّد"


def test_only_the_body_is_read_and_furniture_is_blanked():
    headline = "بوتين: قال الرئيس إن العالم تغير كثيرا\n"
    body = "وقال [[الرئيس الروسي|PER]] إن التعاون مع الصين يتوسع.\nشارك الخبر\n"
    text, mentions = parse(headline + body)
    body_start = text.index("وقال")
    caption = text.index("شارك الخبر")
    masked_body = text[body_start:caption] + " " * len("شارك الخبر") + text[caption + len("شارك الخبر"):]
    rows = [{"start_char": m.start, "end_char": m.end, "label": m.label, "mention_index": m.index,
             "entity_id": m.entity_id} for m in mentions]
    found = article_quotes(text, masked_body, body_start, rows)
    assert [q.text for q in found] == ["التعاون مع الصين يتوسع"]
    row = quote_rows("a1", found, [body_start])[0]
    assert (row["speaker_mention_index"], row["speaker_entity_id"], row["sentence_index"]) == (0, "e0", 0)
    assert text[row["start_char"]:row["end_char"]] == row["text"]


def test_scoring_matches_spans_by_overlap_and_speakers_by_name_entity_or_words():
    gold = [{"start": 10, "end": 50, "text": "x", "kind": "reported", "speaker_text": "حيات",
             "speaker_start": 200, "speaker_end": 204}]
    predicted = [{"start": 12, "end": 50, "text": "x", "kind": "reported", "speaker_text": "سميح جوهر حيات",
                  "speaker_start": 0, "speaker_end": 14, "speaker_entity_id": "p1"}]
    g, p = quote_checks("a", gold, predicted, {(200, 204): "p2"})
    assert g[0].matched and g[0].speaker_right and p[0].speaker_right  # the same person by one of their names
    assert spans_match({"start": 0, "end": 10}, {"start": 4, "end": 30})
    assert not spans_match({"start": 0, "end": 10}, {"start": 6, "end": 30})
    other = dict(predicted[0], speaker_text="وزارة الخارجية", speaker_entity_id="p2")
    assert same_speaker(gold[0], other, {(200, 204): "p2"})  # the same linked entity
    assert not same_speaker(gold[0], dict(other, speaker_entity_id="p3"), {(200, 204): "p2"})


def test_a_word_inside_a_name_is_not_a_preposition():
    quote = only("وأكد الشيخ [[خليفة بن علي الحارثي|PER]] وكيل الوزارة في تصريح له على أن الاحتفاء مؤشر على عمق "
                 "العلاقات.")
    assert quote.speaker_text == "خليفة بن علي الحارثي" and quote.text == "الاحتفاء مؤشر على عمق العلاقات"


def test_one_of_the_names_of_a_person_named_earlier_is_that_person():
    found = quotes("التقى [[ناصر الشريدة|PER]] المديرة. وأضافت الوزارة أن الشريدة أكد تطلع الحكومة إلى التعاون.")
    assert [(q.speaker_text, q.speaker_via, q.speaker.index if q.speaker else None) for q in found] == [
        ("الوزارة", "title", None), ("الشريدة", "name", 0)]


def test_abbara_after_qad_is_the_verb():
    quote = only("وقد عبر وزير الخارجية عن تهنئته للسفير بهذه المناسبة.")
    assert (quote.speaker_text, quote.text) == ("وزير الخارجية", "تهنئته للسفير بهذه المناسبة")


def test_relayed_speech_is_the_words_of_the_one_after_an():
    quote = only("ونقلت وكالة [[شينخوا|ORG]] عن وزير الخارجية [[وانغ يي|PER]] قوله إن التجارة بلغت مستوى قياسيا.")
    assert (quote.speaker_text, quote.text) == ("وانغ يي", "التجارة بلغت مستوى قياسيا")
    channel = only("ونقلت [[وكالة الأنباء الرسمية|ORG]] أن الحكومة تسعى إلى تعزيز السيادة.")
    assert channel.speaker_text == "وكالة الأنباء الرسمية"  # no عن: the channel is the source


def test_a_short_title_is_the_person_named_with_its_head_noun():
    found = quotes("أكد وزير الخارجية، الأمير [[فيصل بن فرحان|PER]]، أن المملكة تدعم الشراكة. "
                   "وأضاف الوزير: «زيارة الرئيس الصيني زادت من توطيد العلاقات».")
    assert (found[1].speaker_via, found[1].speaker_text, found[1].speaker.index) == ("title", "الوزير", 0)


def test_an_aside_between_dashes_is_not_part_of_the_title_and_one_quote_is_kept_once():
    found = quotes("قال الرئيس الصيني، [[شي جين بينغ|PER]]، إن العلاقات سليمة. وأضاف الرئيس الصيني - وفقا لوكالة "
                   "شينخوا - أنه يتعين على البلدين توريث الصداقة. وتابع قائلا: «نحن جيران وشركاء».")
    assert [(q.verb, q.speaker_text, q.speaker.index if q.speaker else None) for q in found] == [
        ("قال", "شي جين بينغ", 0), ("وأضاف", "الرئيس الصيني", 0), ("وتابع", "شي جين بينغ", 0)]


def test_a_full_stop_after_a_space_ends_the_proposition():
    found = quotes("وقال [[هشام المشيشي|PER]] إن لا شرعية سوى إنقاذ البلاد، .ودعا الطبقة السياسية إلى التوحد.")
    assert found[0].text == "لا شرعية سوى إنقاذ البلاد"


def test_words_in_marks_after_the_circumstances_with_no_complementiser():
    quote = only("وقال مدير الشرطة اللواء [[محمد أحمد علي|PER]] في مؤتمر صحفي في حضور السفير «نعلن القبض على "
                 "المتهم بقتل الدبلوماسي».")
    assert (quote.kind, quote.speaker_text) == ("direct", "محمد أحمد علي")
    assert quote.text == "نعلن القبض على المتهم بقتل الدبلوماسي"
    named = only('وقال [[بوتين|PER]] في مقابلة مع "صحيفة الشعب اليومية الصينية الكبرى" إن التعاون يتوسع.')
    assert (named.kind, named.text) == ("reported", "التعاون يتوسع")  # a name in marks, then the content


def test_a_title_before_the_verb_and_a_title_before_a_noun_phrase():
    found = quotes("استقبل [[قيس سعيد|PER]] الوزير. رئيس الدولة قال بالمناسبة: «إن تونس ليست ضيعة ولا بستانا». "
                   "ونفى المتحدث الرسمي باسم الجيش سيطرة قوات الدعم السريع على القصر.")
    assert [(q.speaker_via, q.speaker_text, q.text) for q in found] == [
        ("title", "رئيس الدولة", "إن تونس ليست ضيعة ولا بستانا"),
        ("title", "المتحدث الرسمي باسم الجيش", "سيطرة قوات الدعم السريع على القصر")]


def test_saying_after_the_subject_introduces_the_words_of_the_verb():
    found = quotes("قال الرئيس التركي [[رجب طيب أردوغان|PER]] إن الأمر خطير. وأضاف الرئيس التركي قائلا إن ما يحدث "
                   "في غزة لم نره من قبل.")
    assert [(q.verb, q.speaker_via, q.speaker.index) for q in found] == [("قال", "name", 0), ("وأضاف", "title", 0)]
