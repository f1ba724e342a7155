"""Where the story is: site furniture around an article, found line by line.

News pages saved as text carry a header (a masthead date, breadcrumbs such as
``الصفحة الرئيسية >> ...``, section labels, the headline, a ``/مصدر: شينخوا/``
source line, "نشر في" stamps, bylines, photo captions), furniture inside the
story (ad labels, embedded posts in another script) and a footer (related-links
lists, share and follow prompts, tags, copyright lines). :func:`split_page`
returns the body as a *span* of the original text, so the body is
``text[body_start:body_end]`` and every offset into it is an offset into the
text as received; furniture lines inside the span are listed as ``masked``.

Each kind of furniture is one named pattern over folded text
(:func:`transforms.normalize.fold_text`), so it matches every spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from transforms.dates import (HIJRI_DATE, LATIN_DATE, MONTH_PATTERN, NAMED_DATE, NOT_LETTER, WEEKDAY_PATTERN,
                              DMY_STAMP, YMD_STAMP)
from transforms.normalize import fold_text
from transforms.script import ARABIC_LETTER

# ">>" or " > " once; "»" only twice, because Arabic quotes use « » too; "أخبار >اقتصاد" as CMSs glue it.
BREADCRUMB_SEPARATOR = re.compile(r">>|\s[>›]\s|\s»\s.*\s»\s|[^\W\d_]\s?>[^\W\d_]")
HOME = re.compile(r"^\s*(ال)?(صفحه|صفحة) (ال)?رئيسي(ه|ة)|^\s*(الرئيسي(ه|ة)|الاستقبال)\s*(>|»|›)")
SOURCE_LINE = re.compile(r"^\s*/?\s*(ال)?مصدر\s*[:：]\s*(?P<source>[^/\n]*?)\s*/?\s*(?P<rest>.*)$")
QUOTED_FROM_LINE = re.compile(r"^\s*(نقلا عن|نقلاً عن|عن)\s+(?P<source>.{2,60}?)\s*$")
# "published" and "updated" cues of page stamps; the published one is the article's date.
PUBLISHED_CUE = re.compile(
    r"(تاريخ (ال)?نشر|نشر(ت)?\s*(في|بتاريخ|يوم)|تم (ال)?نشر|published|posted|date published)", re.IGNORECASE)
UPDATED_CUE = re.compile(r"(اخر تحديث|تاريخ (ال)?تحديث|تم (ال)?تحديث|محدث|updated|modified|last update)", re.IGNORECASE)
TIMESTAMP_LINE = re.compile(r"^\s*(تاريخ (ال)?نشر|نشر في|اخر تحديث|تم النشر|التاريخ)\s*[:：]?\s*(?P<rest>.+)$")
# The crawler's prefix: " date 2025-09-24" opening the page text (a month alone gives no day).
CRAWLER_PREFIX = re.compile(r"^\s*date (?P<stamp>\d{4}-\d{2}(?:-\d{2})?)(?![\d-])[ \t]*")
_TIME = r"\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2})?(?:\s*(?:ص|م|am|pm|صباحا|مساء|مساءا)(?![^\W\d_]))?"
_STAMP_WORDS = (rf"(?<![^\W\d_])(?:{WEEKDAY_PATTERN}|الساعه|الساعة|بتوقيت|الموافق|منذ|دقيقه|دقيقة|دقائق|ساعه|ساعة|ساعات"
                rf"|يوم|ايام|GMT|UTC|T|هـ|ه|م|ل|لـ|{MONTH_PATTERN})(?![^\W\d_])")
_STAMP_PARTS = re.compile(
    "|".join(re.sub(r"\(\?P<\w+>", "(?:", part) for part in (
        NAMED_DATE.pattern, YMD_STAMP.pattern, DMY_STAMP.pattern, HIJRI_DATE.pattern, LATIN_DATE.pattern, _TIME,
        _STAMP_WORDS, rf"\d{{1,2}}\s*(?:{MONTH_PATTERN})", r"\d+")),
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"[\s|,،:：/\\()\[\]\-–—ـ.+]+")
# A heading after which the rest of the page is links, not story.
RELATED_HEADING = re.compile(
    r"^\s*(اقرا ايضا|اقرا ايضاً|اقرا المزيد|اقرا كذلك|مواضيع ذات صله|مواضيع ذات صلة|اخبار ذات صله|اخبار ذات صلة"
    r"|روابط ذات صلة|مقالات ذات صلة|موضوعات ذات صلة|المزيد من الاخبار|الاكثر قراءة|الاكثر قراءه|الاكثر مشاهدة"
    r"|صور ساخنة|فيديو ساخن|اخبار متعلقة|قد يعجبك ايضا|فيديو قد يعجبك|شاهد ايضا|اقرا ايضا في|قد يهمك ايضا|قد يهمك"
    r"|ربما يهمك|يهمك ايضا|تابع ايضا|اخترنا لك|مقالات مقترحة|اخبار مقترحة)\s*[:：]?\s*$"
)
# Prompts of the page, never story: follow, subscribe, comment, app, copy the link (short lines that open so).
PROMPT_LINE = re.compile(
    r"^\s*[\[(]?\s*(تابعونا|تابعنا|تابعوا|اشترك|اشتركوا|سجل الدخول|تسجيل الدخول|اضف تعليق|اترك ردك|اترك تعليقا"
    r"|حمل تطبيق|تطبيق|نسخ الرابط|انسخ الرابط|شارك هذا|شاركها|شارك عبر|شارك على|مشاركه\s*[:：]|مشاركة\s*[:：]"
    r"|فيديو قد يعجبك|قد يعجبك|هذا المحتوى من|لم يتم العثور|رابط مختصر|الرابط المختصر|الانتقال الى بنك الصور"
    r"|كلمات مفتاحية|الكلمات الدالة|الوسوم\s*[:：]|وسوم\s*[:：]|هذا المقال مؤرشف|مقال مؤرشف"
    r"|share this|follow us|read more|sign in|subscribe)",
    re.IGNORECASE,
)
# A whole line that is only a label of the page: "الصور", "إعلان", "Ad", "طباعة"...
LABEL_LINE = re.compile(
    r"^\s*[\[(|]?\s*(الصور|صور|فيديو|مباشر|عاجل|اعلان|مساحه اعلانيه|مساحة اعلانية|ad|ads|advertisement|loader|no image"
    r"|icon|شارك|مشاركه|مشاركة|طباعه|طباعة|اطبع|ارسال|البريد الالكتروني|التعليقات|تعليقات|الرئيسية|الرئيسيه|وسوم"
    r"|الوسوم|newsletter|share|print|tags|ابحثوا عنا|ابحث|بحث|وضع القراءة|وضع القراءه|حجم الخط|استمع|اضغط هنا|المزيد"
    r"|[^\W\d_]{1,2})\s*[\])|]?\s*[:：|]?\s*$",
    re.IGNORECASE,
)
COOKIE_NOTICE = re.compile(
    r"ملفات تعريف الارتباط|cookies?\b|سياسة الخصوصية|شروط الاستخدام"
    r"|الاخبار المنشورة على الصفحة الرسمية|نظام تدفق الاخبار|للمشتركين عبر",  # wires' notices to non-subscribers
    re.IGNORECASE)
FOOTER_LINE = re.compile(
    r"^\s*(©|جميع الحقوق محفوظة|حقوق النشر|حقوق الطبع|الحقوق محفوظة|copyright|all rights reserved"
    r"|https?://\S+\s*$|www\.\S+\s*$|\[?المحرر\s*[:：]|!\[|//\s*انتهى|\(?النهايه\)?|\(?النهاية\)?|انتهى\s*$"
    r"|[\-–]?\s*\(\s*[^\W\d_][^()\n]{0,20}\)\s*$|رئيس التحرير|رئيس مجلس الادارة|مدير التحرير)",
    re.IGNORECASE,
)
BYLINE = re.compile(r"^\s*(كتب|كتبت|كتبه|بقلم|اعداد|متابعه|متابعة|تحرير|ترجمة|حوار|بواسطة|by|مراسل)(?![^\W\d_])\s*[:：]?",
                    re.IGNORECASE)
BULLET = re.compile(r"^\s*[-*•·▪]\s")
PHOTO_CREDIT = re.compile(r"©|حقوق النشر|حقوق الصورة|تصوير|صورة\s*[:：]|الصورة\s*[:：]|getty|photo|afp/|reuters/", re.IGNORECASE)
EMBEDDED_POST = re.compile(r"pic\.twitter\.com|\(@\w+\)|^\s*—\s*\S.*\d{4}\s*$")
_LATIN = re.compile(r"[A-Za-z]")
_ARABIC = ARABIC_LETTER
_SENTENCE_END = re.compile(r"[.!؟?:…\"”»)]\s*$")
_PARAGRAPH_END = re.compile(r"[.!:][\"”»’)\]]*\s*$")
_QUESTION_END = re.compile(r"[؟?][\"”»’)\]]*\s*$")
_DOUBLE_DOT = re.compile(r"(\.\.|…|\[\s*(…|\.\.\.)\s*\])\s*$")  # a teaser cut short: "بعد ظهر اليوم [...]"
TITLE_MAX_CHARS = 200
STORY_PARAGRAPH_CHARS = 120
PARAGRAPH_MIN_WORDS = 8
LONG_PARAGRAPH_CHARS = 200
SHORT_LINE_CHARS = 60


@dataclass(frozen=True)
class Line:
    start: int
    end: int  # without the line break
    text: str
    folded: str

    @property
    def blank(self) -> bool:
        return not self.text.strip()


@dataclass(frozen=True)
class Page:
    body_start: int
    body_end: int
    header: tuple[Line, ...]  # non-blank lines before the body
    footer: tuple[Line, ...]  # non-blank lines after it
    masked: tuple[Line, ...] = ()  # furniture lines inside the body span
    first_line: int = 0  # index of the body's first line (the lines before it are the header)

    def body(self, text: str) -> str:
        return text[self.body_start : self.body_end]


def lines_of(text: str) -> list[Line]:
    lines, start = [], 0
    for piece in text.splitlines(keepends=True):
        content = piece.rstrip("\r\n\u2028\u2029\x0b\x0c\x1c\x1d\x1e\x85")
        lines.append(Line(start, start + len(content), content, fold_text(content)))
        start += len(piece)
    return lines


def without_crawler_prefix(line: Line) -> tuple[Line, str | None]:
    """The line after a crawler's ``date YYYY-MM[-DD]`` prefix, and the prefix's stamp."""
    match = CRAWLER_PREFIX.match(line.folded)
    if not match:
        return line, None
    cut = match.end()
    return Line(line.start + cut, line.end, line.text[cut:], line.folded[cut:]), match["stamp"]


# ------------------------------------------------------------------ kinds of lines


def is_breadcrumb(line: Line) -> bool:
    if len(line.folded) > 200:
        return False
    return bool(HOME.search(line.folded) or BREADCRUMB_SEPARATOR.search(line.folded))


def is_source_line(line: Line) -> bool:
    return bool(SOURCE_LINE.match(line.folded)) and len(line.folded) < 200


def is_timestamp_line(line: Line) -> bool:
    return bool(TIMESTAMP_LINE.match(line.folded)) and len(line.folded) < 120


def is_stamp_line(line: Line) -> bool:
    """A date or time with at most a few words beside it (a section label, the outlet): a page stamp."""
    folded = line.folded.strip()
    if not folded or len(folded) > 120:
        return False
    has_time_or_date = re.search(r"\d", folded) and (
        re.search(_TIME, folded) or _STAMP_PARTS.search(folded) and re.search(r"\d{4}|منذ", folded))
    if not has_time_or_date:
        return bool(re.fullmatch(r"\s*منذ\s+\d+\s+\S+\s*", folded))
    rest = _SEPARATORS.sub(" ", _STAMP_PARTS.sub(" ", folded)).split()
    return len(rest) <= 3 and sum(map(len, rest)) <= 30


def is_published_line(line: Line) -> bool:
    return len(line.folded) < 160 and bool(PUBLISHED_CUE.search(line.folded) or UPDATED_CUE.search(line.folded))


def is_prompt(line: Line) -> bool:
    folded = line.folded
    return (bool(LABEL_LINE.match(folded)) or (len(folded) < 100 and bool(PROMPT_LINE.match(folded)))
            or (len(folded) < 300 and bool(COOKIE_NOTICE.search(folded))))


def is_byline(line: Line) -> bool:
    return len(line.folded) < SHORT_LINE_CHARS and bool(BYLINE.match(line.folded))


def is_other_script(line: Line) -> bool:
    """Letters mostly Latin: an embedded post, a caption or a menu in an Arabic page."""
    latin, arabic = len(_LATIN.findall(line.text)), len(_ARABIC.findall(line.text))
    return latin >= 2 and latin > 2 * arabic


def is_embedded_post(line: Line) -> bool:
    return bool(EMBEDDED_POST.search(line.text))


def is_footer_line(line: Line) -> bool:
    return len(line.folded) < 300 and bool(FOOTER_LINE.match(line.folded))


def is_header_furniture(line: Line) -> bool:
    return (is_breadcrumb(line) or is_source_line(line) or is_timestamp_line(line) or is_stamp_line(line)
            or is_published_line(line) or is_prompt(line) or is_byline(line))


def is_furniture(line: Line) -> bool:
    """Furniture wherever it stands, inside the story too."""
    return (is_prompt(line) or is_footer_line(line) or is_embedded_post(line) or is_source_line(line)
            or is_byline(line) or bool(RELATED_HEADING.match(line.folded)) or is_stamp_line(line)
            or is_breadcrumb(line) or (len(line.folded) < SHORT_LINE_CHARS and is_published_line(line)))


def is_paragraph(line: Line) -> bool:
    """A line of running story: enough words, ending like a sentence (or long enough to be one cut short)."""
    text = line.text.strip()
    if len(text.split()) < PARAGRAPH_MIN_WORDS or not _ARABIC.search(text) or is_other_script(line):
        return False
    if _DOUBLE_DOT.search(text):
        return False
    if len(text) >= LONG_PARAGRAPH_CHARS:
        return True
    # A question ends a headline far more often than a paragraph.
    return bool(_PARAGRAPH_END.search(text) or (len(text) >= STORY_PARAGRAPH_CHARS and _QUESTION_END.search(text)))


# ------------------------------------------------------------------ the page


def first_paragraph(lines: list[Line], start: int = 0) -> int | None:
    """The first line of running story; a sentence-like line followed by a page stamp is a headline."""
    for index in range(start, len(lines)):
        line = lines[index]
        if not is_paragraph(line) or is_furniture(line) or is_header_furniture(line):
            continue
        if BULLET.match(line.text):
            continue  # "- تصاعد التوترات ...": the summary points above a story
        following = next((l for l in lines[index + 1 : index + 4] if not l.blank), None)
        previous = next((l for l in reversed(lines[max(0, index - 3) : index]) if not l.blank), None)
        if following is not None and (is_stamp_line(following) or is_published_line(following)
                                      or is_timestamp_line(following) or _reprinted(line, following)):
            continue  # a headline over its stamp, or a caption the page prints twice
        if previous is not None and _reprinted(previous, line):
            continue  # the caption's second print (its photo credit often added)
        return index
    return None


def _reprinted(first: Line, second: Line) -> bool:
    """The second line repeats the first, perhaps with more after it: a caption printed twice."""
    a, b = " ".join(first.folded.split()), " ".join(second.folded.split())
    return len(a) >= 20 and b.startswith(a)


def _header_end(lines: list[Line], body_first: int | None) -> int:
    """Index of the first body line.

    With a known first body line (the dateline), everything before it is
    header. Otherwise the story starts at its first paragraph; a page with no
    line of running story keeps everything but recognised furniture.
    """
    if body_first is not None:
        return body_first
    paragraph = first_paragraph(lines)
    if paragraph is not None:
        return paragraph
    index = 0
    while index < len(lines) and (lines[index].blank or is_header_furniture(lines[index])):
        index += 1
    return index


def _footer_start(lines: list[Line], first_body: int) -> int:
    """Index of the first footer line (len(lines) when there is none)."""
    end = len(lines)
    # A related-links heading in the last part of the page cuts everything after it.
    window = max(first_body + 1, len(lines) - max(15, len(lines) // 3))
    for index in range(window, len(lines)):
        if RELATED_HEADING.match(lines[index].folded):
            end = index
            break
    last_filled = next((i for i in range(len(lines) - 1, -1, -1) if not lines[i].blank), -1)
    while end > first_body + 1:
        line = lines[end - 1]
        if line.blank or is_furniture(line) or is_other_script(line):
            end -= 1
            continue
        if end - 1 == last_filled and _cut_short(lines, end - 1, first_body):
            break
        if _is_trailing_label(lines, end - 1, first_body):
            end -= 1
            continue
        break
    return end


def _cut_short(lines: list[Line], index: int, first_body: int) -> bool:
    """The text's last line, after a paragraph, ending mid-word: the story cut off where the copy ended."""
    text = lines[index].text.rstrip()
    before = next((lines[i] for i in range(index - 1, first_body - 1, -1) if not lines[i].blank), None)
    return (bool(text) and (text[-1].isalpha() or text[-1] in "،,؛") and before is not None
            and is_paragraph(before))


def _is_trailing_label(lines: list[Line], index: int, first_body: int) -> bool:
    """A short line that ends nothing, after a line that ends a sentence: a link, a tag, a caption."""
    text = lines[index].text.strip()
    if len(text) >= SHORT_LINE_CHARS or len(text.split()) > 8 or _SENTENCE_END.search(text) and not _DOUBLE_DOT.search(text):
        return False
    if text.endswith(("،", ",", "؛")):
        return False  # a sentence that goes on: the copy was cut here
    before = next((lines[i] for i in range(index - 1, first_body - 1, -1) if not lines[i].blank), None)
    return before is not None and bool(_SENTENCE_END.search(before.text.strip()) or _is_label_like(before))


def _is_label_like(line: Line) -> bool:
    return len(line.text.strip()) < SHORT_LINE_CHARS and not _SENTENCE_END.search(line.text.strip())


def _masked_inside(lines: list[Line], first: int, last: int, arabic_page: bool) -> tuple[Line, ...]:
    return tuple(
        line for line in lines[first + 1 : last]
        if not line.blank and (is_furniture(line) or (arabic_page and is_other_script(line)))
    )


def split_page(text: str, body_first_line: int | None = None, lines: list[Line] | None = None) -> Page:
    """Header, body span, masked furniture and footer of a text; ``body_first_line`` pins the body's first line."""
    lines = lines if lines is not None else lines_of(text)
    if not lines:
        return Page(0, 0, (), ())
    first = min(_header_end(lines, body_first_line), len(lines) - 1)
    while first < len(lines) - 1 and lines[first].blank:
        first += 1
    last = _footer_start(lines, first)
    body_lines = lines[first:last]
    start = body_lines[0].start + (len(body_lines[0].text) - len(body_lines[0].text.lstrip()))
    end = start
    for line in reversed(body_lines):
        if not line.blank:
            end = line.end - (len(line.text) - len(line.text.rstrip()))
            break
    arabic_page = len(_ARABIC.findall(text)) > len(_LATIN.findall(text))
    return Page(
        body_start=start,
        body_end=max(start, end),
        header=tuple(l for l in lines[:first] if not l.blank),
        footer=tuple(l for l in lines[last:] if not l.blank),
        masked=_masked_inside(lines, first, last, arabic_page),
        first_line=first,
    )
