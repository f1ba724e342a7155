"""Where the story is: site furniture around an article, found line by line.

News pages saved as text carry a header (breadcrumbs such as
``الصفحة الرئيسية >> ...``, the headline, a ``/مصدر: شينخوا/`` source line
with a timestamp) and a footer (``صور ساخنة``, related-links lists, share and
copyright lines). :func:`split_page` returns the body as a *span* of the
original text, so the body is ``text[body_start:body_end]`` and every offset
into it is an offset into the text as received.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from transforms.normalize import fold_text

# ">>" or " > " once; "»" only twice, because Arabic quotes use « » too.
BREADCRUMB_SEPARATOR = re.compile(r">>|\s[>›]\s|\s»\s.*\s»\s")
HOME = re.compile(r"^\s*(ال)?(صفحه|صفحة) (ال)?رئيسي(ه|ة)|^\s*الرئيسي(ه|ة)\s*(>|»|›)")
SOURCE_LINE = re.compile(r"^\s*/?\s*(ال)?مصدر\s*[:：]\s*(?P<source>[^/\n]*?)\s*/?\s*(?P<rest>.*)$")
TIMESTAMP_LINE = re.compile(r"^\s*(تاريخ (ال)?نشر|نشر في|اخر تحديث|تم النشر|التاريخ)\s*[:：]?\s*(?P<rest>.+)$")
# A heading after which the rest of the page is links, not story.
RELATED_HEADING = re.compile(
    r"^\s*(اقرا ايضا|اقرا المزيد|اقرا كذلك|مواضيع ذات صلة|اخبار ذات صلة|روابط ذات صلة|مقالات ذات صلة"
    r"|موضوعات ذات صلة|المزيد من الاخبار|الاكثر قراءة|الاكثر مشاهدة|صور ساخنة|فيديو ساخن|اخبار متعلقة)\s*[:：]?\s*$"
)
FOOTER_LINE = re.compile(
    r"^\s*(©|جميع الحقوق محفوظة|حقوق النشر|شارك(\s|$)|مشاركة\s*[:：]|تابعونا|طباعة\s*$|ارسال\s*$"
    r"|البريد الالكتروني\s*$|https?://\S+\s*$|www\.\S+\s*$|\[?المحرر\s*[:：])"
)
_SENTENCE_END = re.compile(r"[.!؟?:…\"”»)]\s*$")
TITLE_MAX_CHARS = 160
STORY_PARAGRAPH_CHARS = 120


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

    def body(self, text: str) -> str:
        return text[self.body_start : self.body_end]


def lines_of(text: str) -> list[Line]:
    lines, start = [], 0
    for piece in text.splitlines(keepends=True):
        content = piece.rstrip("\r\n\u2028\u2029\x0b\x0c\x1c\x1d\x1e\x85")
        lines.append(Line(start, start + len(content), content, fold_text(content)))
        start += len(piece)
    return lines


def is_breadcrumb(line: Line) -> bool:
    if len(line.folded) > 200:
        return False
    return bool(HOME.search(line.folded) or BREADCRUMB_SEPARATOR.search(line.folded))


def is_source_line(line: Line) -> bool:
    return bool(SOURCE_LINE.match(line.folded)) and len(line.folded) < 200


def is_timestamp_line(line: Line) -> bool:
    return bool(TIMESTAMP_LINE.match(line.folded)) and len(line.folded) < 120


def is_header_furniture(line: Line) -> bool:
    return is_breadcrumb(line) or is_source_line(line) or is_timestamp_line(line)


def looks_like_title(line: Line) -> bool:
    """Short, and not ending like a sentence: a headline rather than a paragraph."""
    text = line.text.strip()
    return 0 < len(text) <= TITLE_MAX_CHARS and not _SENTENCE_END.search(text)


def _header_end(lines: list[Line], body_first: int | None) -> int:
    """Index of the first body line.

    With a known first body line (the dateline), everything before it is
    header. Without one, only recognised furniture and the headline(s) around
    it are header: a plain story that starts on line one keeps its first line.
    """
    if body_first is not None:
        return body_first
    headline = _headline_above_story(lines)
    if headline is not None:
        return headline + 1
    index, saw_furniture = 0, False
    while index < len(lines):
        line = lines[index]
        if line.blank or is_header_furniture(line):
            saw_furniture |= not line.blank
            index += 1
            continue
        following = [l for l in lines[index + 1 :] if not l.blank]
        if saw_furniture and looks_like_title(line) and following and (
            is_header_furniture(following[0]) or looks_like_title(following[0])
        ):
            index += 1  # a headline between pieces of furniture
            continue
        break
    return index


def _headline_above_story(lines: list[Line]) -> int | None:
    """Index of a lone headline line set off by a blank line above a long paragraph."""
    filled = [i for i, line in enumerate(lines) if not line.blank]
    if len(filled) < 2:
        return None
    first, second = filled[0], filled[1]
    if second > first + 1 and looks_like_title(lines[first]) and len(lines[second].text) >= STORY_PARAGRAPH_CHARS:
        return first
    return None


def _footer_start(lines: list[Line], first_body: int) -> int:
    """Index of the first footer line (len(lines) when there is none)."""
    end = len(lines)
    # A related-links heading in the last part of the page cuts everything after it.
    window = max(first_body + 1, len(lines) - max(15, len(lines) // 3))
    for index in range(window, len(lines)):
        if RELATED_HEADING.match(lines[index].folded):
            end = index
            break
    while end > first_body + 1:
        line = lines[end - 1]
        if line.blank or FOOTER_LINE.match(line.folded) or RELATED_HEADING.match(line.folded):
            end -= 1
            continue
        break
    return end


def split_page(text: str, body_first_line: int | None = None) -> Page:
    """Header, body span and footer of a text; ``body_first_line`` pins the body's first line."""
    lines = lines_of(text)
    if not lines:
        return Page(0, 0, (), ())
    first = min(_header_end(lines, body_first_line), len(lines) - 1)
    while first < len(lines) - 1 and lines[first].blank:
        first += 1
    last = _footer_start(lines, first)
    body_lines = lines[first:last]
    start = body_lines[0].start + (len(body_lines[0].text) - len(body_lines[0].text.lstrip()))
    end = body_lines[-1].end - (len(body_lines[-1].text) - len(body_lines[-1].text.rstrip()))
    # Trailing blank lines inside the kept range do not belong to the body.
    for line in reversed(body_lines):
        if not line.blank:
            end = line.end - (len(line.text) - len(line.text.rstrip()))
            break
    return Page(
        body_start=start,
        body_end=max(start, end),
        header=tuple(l for l in lines[:first] if not l.blank),
        footer=tuple(l for l in lines[last:] if not l.blank),
    )
