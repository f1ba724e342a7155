"""Who said what: direct quotes and reported speech, attributed to a mention of the article.

The press reports speech in a few shapes, all read here from the verbs of the press (:data:`SPEECH_VERBS`):

- the verb, its subject, a complementiser and the proposition: ``وقال وزير الخارجية الصيني وانغ يي إن ...``,
  ``أكد الصفدي، أن ...``; a colon or quote marks for the words themselves: ``وقال ميلر للصحفيين: "..."``;
- a preposition instead of the complementiser (``أعرب عن``, ``أشار إلى``, ``شدد على``), or a noun phrase
  (``أكد ... جاهزية موسكو``) after the few verbs that take one;
- the subject before the verb (``الشريدة أكد``، ``رئيس الدولة قال``), or not written at
  all: ``وأضاف``, ``مشيراً إلى أن``, ``وأضاف سموه``, which continue the last speaker;
- relayed speech: ``ونقلت الوكالة عن الوزير قوله إن ...``, the speaker the one after عن.

A record is ``direct`` when the whole proposition sits between quote marks (the span is the text inside them),
``reported`` otherwise (the span runs from the proposition's first word to its end). The speaker is a mention
of the article (``speaker_via`` ``name``), a title or description with no name (``title``: ``السفير الروسي``,
``شهود عيان``; the person, when the article gave the title beside a name), or, for a verb with no written
subject, the last speaker (``pronoun``). Speech that no one can be found for is left out: a quote without a
speaker is not who said what.

Matching runs on the folded text (:func:`transforms.normalize.fold`), so every spelling of a verb meets one
list; offsets are reported in the original. Pure: no I/O. The guideline of the gold is
``seeds/dev/gold/QUOTES.md``; the development sets are ``seeds/dev``, ``seeds/quotes`` and ``seeds/quotes2``, and
``seeds/holdout`` is held out.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Sequence

from transforms.normalize import fold

KINDS = ("direct", "reported")
SPEAKER_VIA = ("name", "title", "pronoun")
SPEAKER_LABELS = ("PER", "ORG", "LOC")  # a state speaking as its government: الجزائر أعربت


@dataclass(frozen=True)
class SpeechVerb:
    """One verb of the press: its written forms (folded, without و/ف), and what may introduce its content
    besides a complementiser, a colon or quote marks."""

    lemma: str
    finite: tuple[str, ...]  # perfect and imperfect forms
    participles: tuple[str, ...] = ()  # the accusative participle that continues a sentence: مشيرا، مؤكدة
    prepositions: tuple[str, ...] = ()  # أعرب عن، أشار إلى، شدد على
    takes_noun_phrase: bool = False  # أكد جاهزية موسكو، أعلن توقيع مذكرة
    needs_complement_at_once: bool = False  # a form that is also a common noun or preposition (بين، عبر)
    relays: bool = False  # نقل: the channel is its subject, the speaker comes after عن


def _perfect(stem: str) -> tuple[str, ...]:
    """He, she, they (m.), the two: قال، قالت، قالوا، قالا."""
    return stem, stem + "ت", stem + "وا", stem + "ا"


def _participle(stem: str) -> tuple[str, ...]:
    """The accusative participle, masculine, feminine and plural: مشيرا، مشيرة، مشيرين، مشيرتين."""
    return stem + "ا", stem + "ة", stem + "ين", stem + "ان"


# Folded spellings: alef forms are one letter (أكد → اكد), ى is ي, marks are gone (بيّن → بين).
SPEECH_VERBS = (
    SpeechVerb("قال", (*_perfect("قال"), "يقول", "تقول", "يقولون"), ("قائلا", "قائلة", "قائلين")),
    SpeechVerb("أكد", (*_perfect("اكد"), "يؤكد", "تؤكد", "يوكد", "تؤكد", "يؤكدون"), _participle("مؤكد") +
               _participle("موكد"), ("علي",), takes_noun_phrase=True),
    SpeechVerb("أعلن", (*_perfect("اعلن"), "يعلن", "تعلن"), _participle("معلن"), ("عن",), takes_noun_phrase=True),
    SpeechVerb("أوضح", (*_perfect("اوضح"), "يوضح", "توضح"), _participle("موضح")),
    SpeechVerb("أشار", (*_perfect("اشار"), "يشير", "تشير"), _participle("مشير"), ("الي",)),
    SpeechVerb("صرح", (*_perfect("صرح"), "يصرح"), _participle("مصرح")),
    SpeechVerb("شدد", (*_perfect("شدد"), "يشدد", "تشدد"), _participle("مشدد"), ("علي",)),
    SpeechVerb("أضاف", (*_perfect("اضاف"), "يضيف", "تضيف"), _participle("مضيف")),
    SpeechVerb("تابع", _perfect("تابع"), needs_complement_at_once=True),  # also "followed"
    SpeechVerb("لفت", (*_perfect("لفت"), "يلفت"), _participle("لافت"), ("الي",)),
    SpeechVerb("نوه", _perfect("نوه"), _participle("منوه"), ("ب",)),
    SpeechVerb("اعتبر", (*_perfect("اعتبر"), "يعتبر"), _participle("معتبر"), takes_noun_phrase=True),
    SpeechVerb("أعرب", _perfect("اعرب"), _participle("معرب"), ("عن",)),
    SpeechVerb("عبر", _perfect("عبر"), _participle("معبر"), ("عن",), needs_complement_at_once=True),  # also "via"
    # دعا X إلى Y: the content starts at the addressee X, so إلى is not where it starts
    SpeechVerb("دعا", ("دعا", "دعت", "دعوا", "يدعو", "تدعو"), ("داعيا", "داعية", "داعين"), takes_noun_phrase=True),
    SpeechVerb("حث", _perfect("حث"), _participle("حاث"), ("علي",), takes_noun_phrase=True),
    SpeechVerb("كشف", (*_perfect("كشف"), "يكشف"), _participle("كاشف"), ("عن",)),
    SpeechVerb("ذكر", (*_perfect("ذكر"), "تذكر"), _participle("ذاكر")),  # يذكر أن is "it is worth noting"
    SpeechVerb("أفاد", (*_perfect("افاد"), "يفيد"), _participle("مفيد")),
    SpeechVerb("بين", ("بين", "بينت", "بينوا"), _participle("مبين"), needs_complement_at_once=True),  # "between"
    SpeechVerb("أورد", _perfect("اورد")),
    SpeechVerb("وصف", _perfect("وصف")),
    SpeechVerb("رأى", ("راي", "رات", "راوا", "يري", "تري")),
    SpeechVerb("حذر", (*_perfect("حذر"), "يحذر", "تحذر"), _participle("محذر"), ("من",)),
    SpeechVerb("فند", _perfect("فند")),
    SpeechVerb("نفى", ("نفي", "نفت", "نفوا", "ينفي", "تنفي"), ("نافيا", "نافية", "نافين"), takes_noun_phrase=True),
    SpeechVerb("أردف", _perfect("اردف")),
    SpeechVerb("استدرك", _perfect("استدرك")),
    SpeechVerb("واصل", _perfect("واصل"), needs_complement_at_once=True),  # also "went on (doing)"
    # نقلت الوكالة عن الوزير (قوله) إن: relayed speech, the speaker the one after عن
    SpeechVerb("نقل", _perfect("نقل"), relays=True),
    SpeechVerb("ردد", _perfect("ردد"), takes_noun_phrase=True),
)

COMPLEMENTISERS = frozenset({"ان", "انه", "انها", "انهم", "انهما", "اننا", "انني", "بان", "بانه", "بانها",
                             "بانهم", "بانهما", "لان"})
OPENING_MARKS = "«\"“”„'"
_CLOSING = {"«": "»", "\"": "\"", "“": "””“", "”": "“”", "„": "“”", "'": "'"}
# Words after the verb that stand for its subject without naming it: سموه، سيادته، معاليه، جلالته.
_HONORIFIC_PRONOUNS = frozenset({"سموه", "سيادته", "معاليه", "جلالته", "فخامته", "سعادته", "سموها", "معاليها"})
# Where the subject ends and the circumstances of the speech begin: في كلمته، خلال مؤتمر صحفي، لوكالة ...
_CIRCUMSTANCE = re.compile(
    r"(?:^|\s)(?:(?:في|خلال|اثناء|عبر)\s+(?:ال)?(?:تصريح|تصريحات|كلم|كلمة|كلمته|كلمتها|بيان|مؤتمر|حديث|مقابل|لقاء|"
    r"اتصال|منشور|تغريد|خطاب|اجتماع|ندو|جلس|رسال|حوار|مداخل|افتتاح|ختام|تدوين|مقال|لقائ)|علي\s+هامش|بمناسب|"
    r"ردا\s+علي|لل?(?:وكال|صحيف|موقع|قناة|تلفزيون|اذاع|صحفيين|صحافيين|اعلام)|نقلا\s+عن|وفقا|حسب|بحسب|ل(?=\s))"
    r"|\s[-–—]\s")  # a dash opens an aside: الرئيس الصيني - وفقا لوكالة شينخوا -
_TIME_WORDS = frozenset({"اليوم", "امس", "يوم", "الاحد", "الاثنين", "الثلاثاء", "الاربعاء", "الخميس", "الجمعة",
                         "السبت", "صباح", "مساء", "الليلة", "غدا", "الماضي", "الجاري", "ايضا", "كذلك", "بدوره",
                         "بدورها", "من", "جهته", "جهتها", "جانبه", "جانبها", "قد", "وقد", "لي", "له", "لها", "فيها",
                         "فيه", "خلالها", "خلاله", "حينها", "مجددا", "مرة", "اخري",
                         "قوله", "قولها", "قولهم", "قولهما"})  # (نقل عن الوزير قوله: not the subject)
# After the verb, a word that cannot start a subject: the content or the circumstances follow at once.
_NOT_A_SUBJECT = frozenset({"في", "خلال", "اثناء", "عبر", "علي", "الي", "عن", "من", "مع", "لدي", "امام", "بعد",
                            "قبل", "عند", "حول", "ب", "ل", "بذلك", "ذلك", "هذا", "كما"})
_SENTENCE_END = re.compile(r"[.!?؟](?=\s|$)|(?<=\s)\.|\n")
# Where a reported proposition stops: a source tag, or a new act of the same speaker (،مشيرا / ،متمنيا).
_SOURCE_TAG = re.compile(r"[،,]?\s*(?:وفق|وفقا|حسب|بحسب|حسبما|نقلا\s+عن)\b|[،,]\s*(?:فيما|بينما|في\s+حين)\s")
_PARTICIPLE_AFTER_COMMA = re.compile(r"[،,]\s*(?:و\s*)?(م[^\s،,.]{3,}(?:ا|ة|ين))(?=[\s،,.]|$)")
_WORD = re.compile(r"[^\s،,.:;!?؟()\[\]«»\"“”„'/\-–—]+")
_MAX_GAP = 320  # characters between a verb and its complement: long titles and circumstances fit


@dataclass(frozen=True)
class Mention:
    """What attribution needs of a mention: its characters (into the same text as the quotes), its label and
    its index among the article's mentions."""

    start: int
    end: int
    label: str
    index: int
    entity_id: str | None = None


@dataclass(frozen=True)
class Quote:
    start: int
    end: int
    text: str
    kind: str  # one of KINDS
    verb: str  # the verb as written
    verb_start: int
    verb_end: int
    speaker_start: int
    speaker_end: int
    speaker_text: str
    speaker_via: str  # one of SPEAKER_VIA
    speaker: Mention | None  # the speaker's mention; None for a title with no name


@dataclass(frozen=True)
class _VerbForm:
    verb: SpeechVerb
    participle: bool
    feminine: bool
    plural: bool  # the two or more: قالا، أكدوا، مؤكدين
    perfect: bool


@lru_cache(maxsize=1)
def _forms() -> dict[str, _VerbForm]:
    forms: dict[str, _VerbForm] = {}
    for verb in SPEECH_VERBS:
        for form in verb.finite:
            imperfect = form[0] in "يت" and not verb.finite[0].startswith(form[0])
            feminine = form.endswith("ت") if not imperfect else form[0] == "ت"
            plural = form != verb.finite[0] and form.endswith(("وا", "ون", "ا"))  # the two: اكدا
            forms.setdefault(form, _VerbForm(verb, False, feminine, plural, not imperfect))
        for form in verb.participles:
            forms.setdefault(form, _VerbForm(verb, True, form.endswith("ة"), form.endswith(("ين", "ان")), False))
    return forms


def _verb_at(word: str) -> tuple[_VerbForm, int] | None:
    """The speech verb a word is, and how many letters of proclitic (و، ف) come before it."""
    forms = _forms()
    if word in forms:
        return forms[word], 0
    if len(word) > 2 and word[0] in "وف" and word[1:] in forms:
        return forms[word[1:]], 1
    return None


@dataclass
class _Context:
    """One article's text, folded, with its mentions and the speakers found so far."""

    text: str
    folded: str
    to_original: Sequence[int]
    back: Sequence[int]  # each original index's folded one
    mentions: list[Mention]  # in folded coordinates
    starts: list[int]
    originals: dict[int, Mention]  # the mentions as given, by index
    previous: list[tuple[Quote, _VerbForm]]

    def original(self, start: int, end: int) -> tuple[int, int]:
        if start >= end:
            at = self.to_original[start] if start < len(self.to_original) else len(self.text)
            return at, at
        return self.to_original[start], self.to_original[end - 1] + 1

    def mentions_within(self, start: int, end: int) -> list[Mention]:
        at = bisect.bisect_left(self.starts, start)
        found = []
        while at < len(self.mentions) and self.mentions[at].start < end:
            if self.mentions[at].end <= end:
                found.append(self.mentions[at])
            at += 1
        return found

    def inside_name(self, start: int, end: int) -> bool:
        at = bisect.bisect_right(self.starts, start) - 1
        while at >= 0 and self.mentions[at].start > start - 80:
            mention = self.mentions[at]
            if mention.label in ("PER", "ORG") and mention.start <= start and end <= mention.end \
                    and (mention.start, mention.end) != (start, end):
                return True
            at -= 1
        return False

    def named_before(self, word: str, before: int) -> Mention | None:
        """A person named earlier by a name this word is one of (``الشريدة`` after ``ناصر الشريدة``): the press
        names a person in full once, then by one name, which the model often leaves untagged."""
        if len(word) < 3 or word in _TIME_WORDS or word in _NOT_A_SUBJECT or word in _TITLE_HEADS:
            return None
        for mention in reversed(self.mentions):
            if mention.label == "PER" and mention.end <= before and word in self.folded[mention.start:mention.end].split():
                return mention
        return None

    def mention_ending_at(self, end: int) -> Mention | None:
        for mention in self.mentions:
            if mention.end <= end and not self.folded[mention.end:end].strip() and end - mention.end <= 2:
                return mention  # a comma between ends a fronted phrase: خلال لقائه مع وانغ يي، أعرب ميرضيايف
        return None


def find_quotes(text: str, mentions: Sequence[Mention], start: int = 0, end: int | None = None) -> list[Quote]:
    """Every quote and piece of reported speech in ``text[start:end]`` (the story's body), with a speaker.
    ``mentions``: the article's mentions, offsets into ``text``."""
    end = len(text) if end is None else end
    folded = fold(text)
    back = _FoldedPositions(folded.origin, len(text))
    in_folded = sorted((Mention(back[m.start], back[m.end], m.label, m.index, m.entity_id) for m in mentions
                        if m.label in SPEAKER_LABELS), key=lambda m: (m.start, m.end))
    context = _Context(text, folded.text, folded.origin, back, in_folded, [m.start for m in in_folded],
                       {m.index: m for m in mentions}, [])
    body_start, body_end = back[start], back[end]
    quotes: list[Quote] = []
    for word in _WORD.finditer(folded.text, body_start, body_end):
        found = _verb_at(word.group())
        if found is None:
            continue
        form, clitic = found
        if form.verb.needs_complement_at_once and not clitic and not form.participle and form.verb.lemma != "تابع" \
                and not folded.text[max(body_start, word.start() - 5):word.start()].split()[-1:] in (["قد"], ["وقد"],
                                                                                                 ["كما"], ["فقد"]):
            continue  # بين، عبر alone are the preposition; the verb comes as وبيّن، وعبّر، مبيّناً، وقد عبّر
        quote = _quote_at(context, word.start(), word.start() + clitic, word.end(), form, body_end)
        if quote is not None and not any((q.start, q.end) == (quote.start, quote.end) for q in quotes[-3:]):
            # (وتابع قائلا: «...»: one quote, the finite verb's)
            quotes.append(quote)
            context.previous.append((quote, form))
    return quotes


class _FoldedPositions(Sequence[int]):
    """For each original index (and its end), the first folded index at or after it. A quote reads a few of
    them, so each is found when asked (``origin`` only grows), not all of an article's made at once."""

    def __init__(self, origin: Sequence[int], length: int):
        self.origin, self.length = origin, length
        self.kept = origin == range(length)  # folding kept every character where it was: the common case

    def __getitem__(self, original: int) -> int:  # type: ignore[override]
        if not 0 <= original <= self.length:
            raise IndexError(original)
        return original if self.kept else bisect.bisect_left(self.origin, original)

    def __len__(self) -> int:
        return self.length + 1


def _sentence_bounds(folded: str, at: int, limit: int) -> tuple[int, int]:
    start = max(folded.rfind("\n", 0, at), max((m.end() for m in _SENTENCE_END.finditer(folded, max(0, at - 600), at)),
                                              default=0))
    found = _SENTENCE_END.search(folded, at, limit)
    return max(start, 0), found.start() if found else limit


def _quote_at(context: _Context, word_start: int, verb_start: int, verb_end: int, form: _VerbForm,
              limit: int) -> Quote | None:
    folded = context.folded
    _, sentence_end = _sentence_bounds(folded, verb_end, limit)
    if form.verb.lemma == "ذكر" and not form.participle and folded[verb_start:verb_end] in ("يذكر", "تذكر"):
        return None
    before = _subject_before(context, word_start, verb_start, form)
    content = _complement(context, verb_end, sentence_end, form, before is not None)
    if content is None:
        return None
    gap_end, content_start, mark = content
    speaker = _speaker(context, word_start, verb_end, gap_end, form, before)
    if speaker is None or (not form.perfect and not form.participle and word_start == verb_start
                           and speaker[2] != "name"):
        return None  # يعتبر، يشير with no و and no name: "is considered", "refers to"
    span = _span(folded, content_start, mark, limit)
    if span is None:
        return None
    start, end, kind = span
    (o_start, o_end), (v_start, v_end) = context.original(start, end), context.original(word_start, verb_end)
    speaker_start, speaker_end, via, mention = speaker
    s_start, s_end = context.original(speaker_start, speaker_end)
    text = context.text
    return Quote(o_start, o_end, text[o_start:o_end], kind, text[v_start:v_end], v_start, v_end, s_start, s_end,
                 text[s_start:s_end], via, context.originals[mention.index] if mention else None)


def _subject_before(context: _Context, word_start: int, verb_start: int, form: _VerbForm) -> Mention | None:
    """The subject written before the verb (``الشريدة أكد``, ``أن جوزاف عون قال``): a name right before a
    perfect verb with no و. A place there speaks only as a state after إن/أن (``أن الجزائر أعربت``)."""
    if not form.perfect:
        return None
    if word_start != verb_start:
        return None
    mention = context.mention_ending_at(word_start)
    if mention is None:
        previous = list(_WORD.finditer(context.folded, max(0, word_start - 40), word_start))
        opens = previous and (previous[-2].group() in COMPLEMENTISERS if len(previous) >= 2 else False
                              or not context.folded[max(0, previous[-1].start() - 3):previous[-1].start()].strip(". \n")
                              or _SENTENCE_END.search(context.folded, previous[-2].end() if len(previous) >= 2
                                                      else 0, previous[-1].start()))
        if previous and not context.folded[previous[-1].end():word_start].strip() and opens:
            # أن الشريدة أكد / ... . العوادي تابع
            earlier = context.named_before(previous[-1].group(), previous[-1].start())
            if earlier is not None:
                return Mention(previous[-1].start(), previous[-1].end(), "PER", earlier.index, earlier.entity_id)
        return None
    if mention.label == "LOC":
        previous = _WORD.findall(context.folded, max(0, mention.start - 12), mention.start)
        if not previous or previous[-1] not in COMPLEMENTISERS:
            return None
    return mention


# After a preposition, the nouns of set phrases (على وجه الخصوص، على سبيل المثال، على الأقل): not a complement.
_SET_PHRASES = frozenset({"وجه", "سبيل", "الاقل", "الاطلاق", "حد", "نحو", "صعيد", "هامش"})
# A complementiser after one of these is not the verb's: على أن (provided that), بعد أن, رغم أن ...
_BOUND_COMPLEMENTISER = frozenset({"علي", "الي", "من", "بعد", "قبل", "رغم", "برغم", "منذ", "دون", "حتي", "غير",
                                   "لاجل", "بعدما"})


def _complement(context: _Context, verb_end: int, sentence_end: int, form: _VerbForm,
                subject_before: bool) -> tuple[int, int, bool] | None:
    """Where the verb's subject stops and its content begins: (end of the subject's stretch, first character of
    the content, whether it opens with a quote mark); None when the verb introduces no content."""
    folded = context.folded
    stop = min(sentence_end, verb_end + _MAX_GAP)
    words = list(_WORD.finditer(folded, verb_end, stop))
    for n, word in enumerate(words):
        gap_from = verb_end if n == 0 else words[n - 1].end()
        between = folded[gap_from:word.start()]
        if ":" in between:  # قال سموه: «...»  /  قال السفير الروسي: نعتبر ...
            colon = gap_from + between.index(":")
            if word.group() in COMPLEMENTISERS and not _opens_quote(folded, colon + 1):  # قال للصحفيين: إن "..."
                return colon, _skip_space(folded, word.end()), _opens_quote(folded, word.end())
            return colon, _skip_space(folded, colon + 1), _opens_quote(folded, colon + 1)
        mark = _mark_in(between)
        if mark is not None:
            opening = gap_from + between.index(mark)
            if (n == 0 or between[:between.index(mark)].strip() in ("،", ",")) \
                    and _is_quotation(folded, opening, sentence_end):
                return opening, opening, True
            if n > 0 and _opens_words(folded, opening) and not re.search(r"[،,]\s*و", folded[verb_end:opening]) \
                    and _is_quotation(folded, opening, sentence_end, words=5) and _closes_sentence(folded, opening):
                return opening, opening, True  # وقال مدير الشرطة في مؤتمر صحفي «نعلن القبض على المتهم ...»
        if form.verb.needs_complement_at_once and n > 3 and not _only_names(context, verb_end, word.start()):
            return None  # بين / عبر / تابع with more than a short subject before the content: the preposition
        token = word.group()
        previous = words[n - 1].group() if n else ""
        if context.inside_name(word.start(), word.end()):
            continue  # علي in خليفة بن علي الحارثي is no preposition
        if token in COMPLEMENTISERS and (previous not in _BOUND_COMPLEMENTISER or previous in form.verb.prepositions):
            return word.start(), _skip_space(folded, word.end()), _opens_quote(folded, word.end())
        if token in form.verb.prepositions and n + 1 < len(words) and words[n + 1].group() in _SET_PHRASES:
            continue  # على وجه الخصوص، على سبيل المثال: not the verb's preposition
        if token in form.verb.prepositions or (
                "ب" in form.verb.prepositions and token.startswith("ب") and len(token) > 3 and n <= 4):
            after = words[n + 1] if n + 1 < len(words) else None
            if after is not None and after.group() in COMPLEMENTISERS:
                return word.start(), _skip_space(folded, after.end()), _opens_quote(folded, after.end())
            if token not in form.verb.prepositions:  # نوه بالتطور: the clitic بـ left out
                return word.start(), word.start() + 1, False
            return word.start(), _skip_space(folded, word.end()), _opens_quote(folded, word.end())
        found = _verb_at(token)
        if found is not None and n > 0 and (found[1] == 1 or found[0].participle) \
                and not found[0].verb.needs_complement_at_once and found[0].verb.lemma != "قال":
            break  # the same speaker's next act (وأضاف، مؤكدا) before this one found its content
    if form.verb.takes_noun_phrase or form.participle:
        return _noun_phrase_complement(context, verb_end, sentence_end, words,
                                       at_once=form.participle or form.plural or subject_before,
                                       after_title=form.verb.lemma != "أعلن")
    return None


def _only_names(context: _Context, start: int, end: int) -> bool:
    """Nothing in ``folded[start:end]`` but the words of PER and ORG mentions (and commas)."""
    rest = list(context.folded[start:end])
    for mention in context.mentions_within(start, end):
        if mention.label in ("PER", "ORG"):
            rest[mention.start - start:mention.end - start] = " " * (mention.end - mention.start)
    return not _WORD.search("".join(rest))


def _noun_phrase_complement(context: _Context, verb_end: int, sentence_end: int, words, at_once: bool,
                            after_title: bool = True) -> tuple[int, int, bool] | None:
    """``أكد نائب الوزير أندريه رودينكو جاهزية موسكو``: the content starts after the subject (a named mention and
    its apposition, or a title: :func:`_after_title`) and the words of time. ``at_once``: the subject is not after the verb (a participle, the
    two or more, or a subject written before it), so the content starts right after the verb."""
    folded = context.folded
    if not words:
        return None
    at = 0
    if not at_once:
        named = context.mentions_within(verb_end, min(sentence_end, verb_end + 160))
        subject = next((m for m in named if m.label == "PER"), None)
        if subject is None and named and named[0].label == "ORG" and not _WORD.findall(folded, verb_end, named[0].start):
            subject = named[0]
        if subject is None:  # (أعلنت السلطات حالة الطوارئ: an act, not speech; أعلن takes a title's noun phrase not)
            return _after_title(folded, words) if after_title else None
        after = subject.end
        following = _skip_space(folded, after)
        if folded[following:following + 1] in "،,":
            if folded[:subject.start].rstrip()[-1:] in ("،", ","):  # رئيس الحكومة، هشام المشيشي، كل المعنيين
                after = following + 1
            else:  # an apposition after the name: أليكسي ميلر، الرئيس التنفيذي لـ ...، توقيع
                close = re.compile(r"[،,]").search(folded, following + 1, min(sentence_end, following + 120))
                after = close.end() if close else after
        at = next((n for n, w in enumerate(words) if w.start() >= after), len(words))
    while at < len(words) and (words[at].group() in _TIME_WORDS or words[at].group() in _HONORIFIC_PRONOUNS):
        at += 1
    if at >= len(words) or words[at].group() in _NOT_A_SUBJECT or _verb_at(words[at].group()) \
            or words[at].group() in COMPLEMENTISERS:
        return None
    start = words[at].start()
    return start, start, False


# Words that carry a title on without the article: المتحدث باسم الجيش، مساعد الوزير لشؤون آسيا
_TITLE_LINKS = frozenset({"باسم", "لشؤون", "لدي", "العام", "عام"})


def _after_title(folded: str, words) -> tuple[int, int, bool] | None:
    """Where a noun phrase starts after a subject that is a title with no name: the title runs on while its words
    carry the article (``المتحدث الرسمي باسم الجيش السوداني``), the noun phrase starts at the first word without
    it (``سيطرة قوات ...``, ``عدم وجود ...``) or after a word of time (``أعلنت الشرطة أمس اعتقال ...``)."""
    if not words or not (words[0].group().startswith("ال") or words[0].group() in _TITLE_HEADS):
        return None
    for n, word in enumerate(words[1:6], start=1):
        token = word.group()
        if folded[words[n - 1].end():word.start()].strip():
            return None  # a comma or a mark: not a plain title
        if token in _TIME_WORDS:
            rest = [w for w in words[n:] if w.group() not in _TIME_WORDS]
            return (rest[0].start(), rest[0].start(), False) if rest and rest[0].group() not in _NOT_A_SUBJECT \
                else None
        if re.match(r"(?:[وفبلك]?ال|لل)", token) or token in _TITLE_LINKS:
            continue
        if token in _NOT_A_SUBJECT or token in COMPLEMENTISERS or _verb_at(token) or n < 2 and \
                words[0].group() in _TITLE_HEADS:
            return None
        return word.start(), word.start(), False
    return None


def _skip_space(folded: str, at: int) -> int:
    while at < len(folded) and folded[at] in " \t\u00a0":
        at += 1
    return at


def _mark_in(between: str) -> str | None:
    for char in between:
        if char in OPENING_MARKS:
            return char
    return None


def _opens_quote(folded: str, at: int) -> bool:
    at = _skip_space(folded, at)
    return at < len(folded) and folded[at] in OPENING_MARKS


def _closing(folded: str, opening: int, limit: int) -> int | None:
    """The mark that closes the one at ``opening``, within its paragraph; None if it is never closed. A mark
    with a space before it and a word after it opens a quoted name inside (``بين شركة "غازبروم" وشركة``),
    which is skipped."""
    closers = _CLOSING[folded[opening]]
    paragraph_end = folded.find("\n", opening)
    stop = min(limit, paragraph_end if paragraph_end >= 0 else len(folded))
    at, depth = opening + 1, 0
    while at < stop:
        char = folded[at]
        if char == folded[opening] and char not in closers:  # «... «كازاخستان» ...»
            depth += 1
        elif depth and char in closers:
            depth -= 1
        elif char in closers:
            opens_inner = char in OPENING_MARKS and at + 1 < stop and not folded[at + 1].isspace() \
                and (folded[at - 1].isspace())
            if not opens_inner:
                return at
            inner = _closing(folded, at, stop)
            if inner is None:
                return at
            at = inner + 1
            continue
        at += 1
    return None


def _is_quotation(folded: str, opening: int, sentence_end: int, words: int = 3) -> bool:
    """Marks around words said, not around a name (``"قوة سيبيريا"``, ``«بريكس»``): three words or more."""
    close = _closing(folded, opening, len(folded))
    inside = folded[opening + 1:close if close is not None else sentence_end]
    return len(_WORD.findall(inside)) >= words


def _opens_words(folded: str, at: int) -> bool:
    """A mark that opens (``«`` always; ``"`` when it comes before a word, not after one)."""
    if folded[at] == "«":
        return True
    before = folded[at - 1] if at else " "
    after = folded[at + 1] if at + 1 < len(folded) else " "
    return not after.isspace() and (before.isspace() or before in ":،,(")


def _closes_sentence(folded: str, opening: int) -> bool:
    """The quotation ends its sentence (or the text): it is the content, not a title named in passing."""
    close = _closing(folded, opening, len(folded))
    if close is None:
        return True
    after = _skip_space(folded, close + 1)
    return after >= len(folded) or folded[after] in ".\n،,؛;" or bool(_SENTENCE_END.match(folded, after))


def _span(folded: str, start: int, mark: bool, limit: int) -> tuple[int, int, str] | None:
    start = _skip_space(folded, start)
    first = _WORD.search(folded, start, limit)
    if first is None or (_verb_at(first.group()) or (None, 0))[1] == 1:
        return None  # nothing said, or the next record's verb (the words themselves are missing)
    if mark:
        close = _closing(folded, start, limit)
        if close is None:  # never closed: to the end of its paragraph (or of the stored text)
            paragraph_end = folded.find("\n", start)
            end = _trim(folded, start + 1, paragraph_end if 0 <= paragraph_end < limit else limit)
            return (start + 1, end, "direct") if end > start + 1 else None
        after = _skip_space(folded, close + 1)
        if after >= limit or folded[after] in ".،,\n؛;" or _SENTENCE_END.match(folded, after):
            return start + 1, close, "direct"
        # marks around only part of the proposition: reported, marks included
    end = _trim(folded, start, _proposition_end(folded, start, limit))
    n_words = len(_WORD.findall(folded, start, end))
    if end <= start or (n_words < 2 and _skip_space(folded, end) < limit):  # one word is a text cut short
        return None
    return start, end, "reported"


def _proposition_end(folded: str, start: int, limit: int) -> int:
    """The end of a reported proposition: its sentence's end, a source tag, or the comma before a participle
    that begins the speaker's next act (``، مشيرا إلى``, ``، متمنيا``); a quote mark opened inside it is
    followed to its close."""
    at = start
    while True:
        found = _SENTENCE_END.search(folded, at, limit)
        end = found.start() if found else limit
        inside_mark = _open_mark_before(folded, start, end)
        if inside_mark is None:
            break
        close = _closing(folded, inside_mark, limit)
        if close is None or close < end:
            break
        at = close + 1
    tag = _SOURCE_TAG.search(folded, start, end)
    if tag and tag.start() > start:
        end = tag.start()
    for participle in _PARTICIPLE_AFTER_COMMA.finditer(folded, start, end):
        if participle.start() > start:
            return participle.start()
    for word in _WORD.finditer(folded, start, end):
        found = _verb_at(word.group())
        if word.start() > start and found and not found[0].participle and found[1] == 1 \
                and _WORD.search(folded, word.end(), end) and word.start() - start > 10:
            return word.start()  # ... وأضاف أن: the same speaker's next record, with no full stop between
    return end


def _open_mark_before(folded: str, start: int, end: int) -> int | None:
    """A quote mark opened in ``folded[start:end]`` and not closed there."""
    at = start
    while at < end:
        if folded[at] in OPENING_MARKS:
            close = _closing(folded, at, end)
            if close is None:
                return at
            at = close
        at += 1
    return None


def _trim(folded: str, start: int, end: int) -> int:
    while end > start and folded[end - 1] in " \t\u00a0.،,؛;:-–—\n":
        end -= 1
    return end


_RELATIVE = re.compile(r"(?:^|\s)(?:الذي|التي|الذين|اللذان|اللتان)(?=\s)")


def _speaker(context: _Context, word_start: int, verb_end: int, gap_end: int, form: _VerbForm,
             before: Mention | None) -> tuple[int, int, str, Mention | None] | None:
    """Who speaks: a mention in the subject's stretch, a title with no name, the name just before the verb, or
    the last speaker. (start, end, via, mention), folded offsets."""
    folded = context.folded
    if before is not None and not (form.participle or context.mentions_within(verb_end, gap_end)):
        return before.start, before.end, "name", before
    if form.verb.relays:  # نقلت الوكالة عن الوزير قوله إن: the speaker is the one after عن, if any
        after = next((w for w in _WORD.finditer(folded, verb_end, gap_end) if w.group() == "عن"), None)
        verb_end = after.end() if after is not None else verb_end
    if not form.participle:
        gap = folded[verb_end:gap_end]
        cut = [m.start() for m in (_CIRCUMSTANCE.search(gap), _RELATIVE.search(gap)) if m]
        subject_end = verb_end + min(cut) if cut else gap_end
        named = context.mentions_within(verb_end, subject_end)
        person = next((m for m in named if m.label == "PER"), None)
        if person is not None:
            return person.start, person.end, "name", person
        first = _first_subject_word(folded, verb_end, subject_end)
        if first is not None:
            body = next((m for m in named if m.label == "ORG" and m.start <= first.start()), None)
            if body is not None:  # قال الكرملين، أعلنت وزارة الخارجية; not رئيس مجموعة "غازبروم"
                return body.start, body.end, "name", body
            title = _title(context, first, subject_end)
            if title is not None:
                return title
    if before is not None:
        return before.start, before.end, "name", before
    title = _title_before(context, word_start, form)
    if title is not None:
        return title
    return _antecedent(context, word_start, form)


_NOT_IN_A_TITLE = frozenset({"في", "من", "علي", "عن", "الي", "مع", "قد", "كان", "كما", "ثم", "لكن", "حيث"})


def _title_before(context: _Context, word_start: int, form: _VerbForm) -> tuple[int, int, str, Mention | None] | None:
    """A title written before a perfect verb with no و, opening its clause (``رئيس الدّولة قال``، ``أن الرئيس
    الصيني شدد``): a few words from the sentence's start, a comma or إن/أن."""
    folded = context.folded
    if not form.perfect or word_start == 0 or folded[word_start - 1] not in " \t":
        return None
    words = list(_WORD.finditer(folded, max(0, word_start - 60), word_start))
    kept = []
    for word in reversed(words):
        between = folded[word.end():kept[0].start() if kept else word_start]
        if between.strip() or word.group() in COMPLEMENTISERS:
            break
        kept.insert(0, word)
    if not 1 <= len(kept) <= 4:
        return None
    opening = folded[max(0, kept[0].start() - 12):kept[0].start()]
    previous = _WORD.findall(opening)
    opens = not opening.strip() or opening.rstrip()[-1:] in ".:،,\n" or (previous and previous[-1] in COMPLEMENTISERS)
    head = kept[0].group()
    if not opens or not (head.startswith("ال") or head in _TITLE_HEADS) or len(head) < 4 \
            or any(w.group() in _NOT_IN_A_TITLE or _verb_at(w.group()) for w in kept) \
            or context.mentions_within(kept[0].start(), kept[-1].end()):
        return None
    start, end = kept[0].start(), kept[-1].end()
    return start, end, "title", _person_with_title(context, folded[start:end], start)


def _first_subject_word(folded: str, start: int, end: int):
    """The first word after the verb that can begin a subject, past honorific pronouns (None: سموه) and words
    of time."""
    for word in _WORD.finditer(folded, start, end):
        token = word.group()
        if token in _HONORIFIC_PRONOUNS or token in COMPLEMENTISERS or token in _NOT_A_SUBJECT:
            return None
        if (_verb_at(token) or (None, 0))[0] is not None and _verb_at(token)[0].participle:
            return None  # وتابع قائلا: no subject written
        if token not in _TIME_WORDS:
            return word
    return None


def _title(context: _Context, first, end: int) -> tuple[int, int, str, Mention | None] | None:
    """A subject with no name (``السفير الروسي``، ``شهود عيان``، ``مساعد وزير الخارجية لشؤون آسيا``), up to the
    first comma; or a name the model did not tag (``وأوضح ذكي أن``). A title the article gave earlier next to
    a person's name (``سفير الصين في البحرين أنور حبيب الله``) is that person."""
    folded = context.folded
    comma = re.compile(r"[،,(\-–—]").search(folded, first.start(), end)
    stop = comma.start() if comma else end
    kept = [w for w in _WORD.finditer(folded, first.start(), stop)]
    while kept and (kept[-1].group() in _TIME_WORDS or (_verb_at(kept[-1].group()) or (None,))[0] is not None):
        kept.pop()  # وأضاف الرئيس التركي قائلا
    if not kept:
        return None
    head = first.group()
    if not (head.startswith("ال") or head in _TITLE_HEADS):
        # an untagged name: a few words, none of them a noun with a clitic and the article (لسياسة الرئيس), none
        # ending in a pronoun (دعمهم)
        if len(kept) > 3 or any(re.match(r"[وفبلك]ال|.*(?:هم|هما|ها)$", w.group()) for w in kept):
            return None
    start, end_ = kept[0].start(), kept[-1].end()
    if len(kept) == 1:
        earlier = context.named_before(kept[0].group(), start)
        if earlier is not None:  # وقال الشريدة, after ناصر الشريدة
            return start, end_, "name", earlier
    return start, end_, "title", _person_with_title(context, folded[start:end_], start)


def _person_with_title(context: _Context, title: str, before: int) -> Mention | None:
    """The person the article named right next to this title before (the title then a name, or a name then a
    comma and the title), if any."""
    if len(title) < 4:
        return None
    at = context.folded.rfind(title, 0, before)
    while at >= 0:
        end = at + len(title)
        near = [m for m in context.mentions_within(end, end + 60) if m.label == "PER"]
        if near and not _WORD.findall(context.folded, end, near[0].start)[3:]:
            return near[0]
        earlier = [m for m in context.mentions if m.label == "PER" and 0 <= at - m.end <= 3]
        if earlier:
            return earlier[-1]
        at = context.folded.rfind(title, 0, at)
    # A short title by its head noun: الوزير after وزير الخارجية، الأمير فيصل بن فرحان
    words = title.split()
    head = words[0][2:] if words[0].startswith("ال") else words[0]
    if len(words) > 3 or len(head) < 3:
        return None
    for mention in reversed([m for m in context.mentions if m.label == "PER" and m.end <= before]):
        lead = context.folded[max(0, mention.start - 50):mention.start]
        lead = lead[max((e.end() for e in _SENTENCE_END.finditer(lead)), default=0):]
        if head in {w[2:] if w.startswith("ال") else w for w in _WORD.findall(lead)}:
            return mention
    return None


# Heads of a subject phrase that need no article: وزير الخارجية، سفير الصين، عدد من ...، أحد المصادر.
_TITLE_HEADS = frozenset({"وزير", "وزيرة", "سفير", "سفيرة", "رئيس", "رئيسة", "نائب", "مساعد", "مستشار", "مدير",
                          "مديرة", "امين", "متحدث", "متحدثة", "مسؤول", "مسؤولة", "مسؤولون", "مصدر", "مصادر", "شهود",
                          "عدد", "احد", "وسائل", "تقرير", "بيان", "نشرة", "خبراء", "خبير", "محلل", "محللون", "وفد",
                          "اعضاء", "قائد", "زعيم", "ممثل", "مندوب", "سكان", "مواطنون", "ناشطون", "جمارك", "وكالة"})


def _antecedent(context: _Context, word_start: int, form: _VerbForm) -> tuple[int, int, str, Mention | None] | None:
    """The speaker a verb with no written subject continues: the last speaker (of the verb's gender when it has
    one; not one quoted inside another's words), else the last person named before it."""
    quoted = [(q.start, q.end) for q, _ in context.previous]
    for quote, previous_form in reversed(context.previous):
        if any(s <= quote.verb_start < e and not s <= context.to_original[word_start] < e for s, e in quoted):
            continue  # speech reported inside another's words does not continue
        if form.feminine and not previous_form.feminine and (quote.speaker is None or quote.speaker.label == "PER"):
            continue
        if quote.speaker is not None:
            m = next(m for m in context.mentions if m.index == quote.speaker.index)
            return m.start, m.end, "pronoun", m
        return context.back[quote.speaker_start], context.back[quote.speaker_end], "pronoun", None
    candidates = [m for m in context.mentions if m.end <= word_start and m.label in ("PER", "ORG")]
    if form.feminine:
        candidates = [m for m in candidates if m.label == "ORG"] or candidates
    else:
        candidates = [m for m in candidates if m.label == "PER"] or candidates
    if not candidates:
        return None
    chosen = candidates[-1]
    return chosen.start, chosen.end, "pronoun", chosen


def article_quotes(text: str, body: str, body_start: int, mentions: Sequence[Mapping]) -> list[Quote]:
    """The quotes of an article's story: ``body`` is ``text[body_start:...]`` with its furniture blanked (a
    caption, an embedded post), ``mentions`` the ``mentions`` table's rows of the article. Texts are the
    article's own characters."""
    masked = text[:body_start] + body + text[body_start + len(body):]
    quotes = find_quotes(masked, mentions_of(mentions), body_start, body_start + len(body))
    return [q if text[q.start:q.end] == q.text and text[q.speaker_start:q.speaker_end] == q.speaker_text else
            Quote(q.start, q.end, text[q.start:q.end], q.kind, text[q.verb_start:q.verb_end], q.verb_start,
                  q.verb_end, q.speaker_start, q.speaker_end, text[q.speaker_start:q.speaker_end], q.speaker_via,
                  q.speaker) for q in quotes]


def quote_rows(article_id: str, quotes: Sequence[Quote], sentence_starts: Sequence[int]) -> list[dict]:
    """The ``quotes`` table's rows of one article; ``sentence_starts``: its sentences' first characters."""
    rows = []
    for index, quote in enumerate(quotes):
        sentence = bisect.bisect_right(sentence_starts, quote.verb_start) - 1
        speaker = quote.speaker
        rows.append({
            "article_id": article_id, "quote_index": index, "sentence_index": sentence if sentence >= 0 else None,
            "start_char": quote.start, "end_char": quote.end, "text": quote.text, "kind": quote.kind,
            "verb": quote.verb, "verb_start": quote.verb_start, "verb_end": quote.verb_end,
            "speaker_text": quote.speaker_text, "speaker_start": quote.speaker_start,
            "speaker_end": quote.speaker_end, "speaker_via": quote.speaker_via,
            "speaker_mention_index": speaker.index if speaker else None,
            "speaker_entity_id": speaker.entity_id if speaker else None,
            "speaker_label": speaker.label if speaker else None,
        })
    return rows


def mentions_of(rows: Sequence[Mapping]) -> list[Mention]:
    """:class:`Mention` of the ``mentions`` table's rows of one article."""
    return [Mention(r["start_char"], r["end_char"], r["label"], r["mention_index"], r.get("entity_id")) for r in rows]
