"""Decoding and per-format parsing of inbox files: real bytes in, real items out."""

from __future__ import annotations

import codecs
import datetime
import json
import random

import pytest

from transforms.encoding import arabic_share, decode_bytes
from transforms.rejection import Rejection
from transforms.formats import (
    RawItem,
    format_for,
    html_to_text,
    parse_feed,
    parse_html,
    parse_items,
    parse_jsonl,
    parse_text,
)

ARTICLE = (
    "أستانا أول يوليو 2024 (شينخوا) قال الرئيس الكازاخستاني قاسم جومارت توكاييف "
    "إن الاجتماع المرتقب بين رئيسي كازاخستان والصين سيعود بالنفع على شعبي البلدين."
)
SECOND = (
    "بكين 2 يوليو 2024 (شينخوا) أعلنت وزارة الخارجية الصينية "
    "أن الرئيس شي جين بينغ سيزور كازاخستان هذا الأسبوع."
)


def rejection(raw: bytes) -> Rejection:
    with pytest.raises(Rejection) as caught:
        decode_bytes(raw)
    return caught.value


# ------------------------------------------------------------------ encoding


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (ARTICLE.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + ARTICLE.encode("utf-8"), "utf-8-sig"),
        (ARTICLE.encode("utf-16"), "utf-16"),  # with a BOM
        (codecs.BOM_UTF16_BE + ARTICLE.encode("utf-16-be"), "utf-16"),
        (ARTICLE.encode("utf-16-le"), "utf-16-le"),  # no BOM
        (ARTICLE.encode("utf-16-be"), "utf-16-be"),  # no BOM
        (ARTICLE.encode("cp1256"), "cp1256"),
    ],
    ids=["utf8", "utf8-bom", "utf16-bom", "utf16be-bom", "utf16le", "utf16be", "cp1256"],
)
def test_decodes_to_the_exact_text(raw, encoding):
    decoded = decode_bytes(raw)
    assert decoded.text == ARTICLE
    assert decoded.encoding == encoding


def test_a_longer_windows_1256_article_is_still_cp1256():
    text = "\n".join([ARTICLE, SECOND] * 40)
    decoded = decode_bytes(text.encode("cp1256"))
    assert (decoded.text, decoded.encoding) == (text, "cp1256")


def test_truncated_utf8_names_the_offset_of_the_incomplete_character():
    whole = ARTICLE.rstrip(".").encode("utf-8")  # ends in the two-byte letter ن
    error = rejection(whole[:-1])
    assert error.reason == "truncated_utf8"
    assert str(len(whole) - 2) in error.detail


def test_invalid_byte_inside_utf8_is_not_mistaken_for_a_legacy_encoding():
    head, tail = ARTICLE[:20].encode("utf-8"), ARTICLE[20:].encode("utf-8")
    error = rejection(head + b"\xff" + tail)
    assert error.reason == "invalid_utf8"
    assert f"byte {len(head)}" in error.detail


@pytest.mark.parametrize(
    "raw",
    [bytes(range(256)) * 4, b"\x89PNG\r\n\x1a\n" + bytes(64), b"\x01\x02\x03\x04abc" * 20],
    ids=["all-bytes", "png", "control-bytes"],
)
def test_binary_data_is_rejected(raw):
    assert rejection(raw).reason == "binary"


def test_random_high_bytes_fit_no_arabic_encoding():
    rng = random.Random(1)
    noise = bytes(rng.randrange(128, 256) for _ in range(400))
    # Honest about why: decoded as cp1256 the noise is mostly "Arabic letters",
    # so the letter share alone would accept it; charset-normalizer's mess
    # detection is what rules it out.
    assert arabic_share(noise.decode("cp1256")) > 0.5
    error = rejection(noise)
    assert error.reason == "unknown_encoding"


def test_latin_text_in_a_legacy_encoding_is_not_turned_into_arabic():
    french = "Le président a déclaré à Astana que la coopération économique était très forte.".encode("latin-1")
    assert rejection(french).reason == "unknown_encoding"


def test_empty_input():
    error = rejection(b"")
    assert (error.reason, error.detail) == ("empty", "0 bytes")


def test_utf16_bom_with_an_odd_byte_count_is_undecodable():
    assert rejection(ARTICLE.encode("utf-16") + b"!").reason == "undecodable"


# ----------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.txt", "text"),
        ("A.TXT", "text"),
        ("notes.text", "text"),
        ("README", "text"),
        ("dir.d/README", "text"),
        ("page.html", "html"),
        ("page.HTM", "html"),
        ("dump.jsonl", "jsonl"),
        ("dump.ndjson", "jsonl"),
        ("feed.xml", "feed"),
        ("feed.rss", "feed"),
        ("feed.Atom", "feed"),
        ("photo.png", None),
        ("data.json", None),
        ("article.txt.gz", None),
    ],
)
def test_format_for(name, fmt):
    assert format_for(name) == fmt


def test_parse_text_keeps_paragraphs_and_encoding():
    raw = f"{ARTICLE}\r\n{SECOND}\r\n".encode("cp1256")
    item = parse_text(raw, "inbox/a.txt")
    assert item == RawItem("inbox/a.txt", f"{ARTICLE}\n{SECOND}\n", raw, "text", encoding="cp1256")


def test_parse_items_turns_a_rejected_text_file_into_one_error():
    items, errors = parse_items(b"\x00\x01binary", "inbox/b.txt", "text")
    assert items == []
    assert errors == [Rejection("binary", errors[0].detail, source_path="inbox/b.txt", raw=b"\x00\x01binary")]


PAGE = f"""<!DOCTYPE html>
<html lang="ar" dir="rtl">
<head>
  <meta charset="windows-1256">
  <title>توكاييف: لقاء رئيسي كازاخستان والصين سيعود بالنفع على البلدين</title>
  <meta name="date" content="2024-07-01">
  <script>var tracker = "SECRET_SCRIPT_TEXT"; document.write(tracker);</script>
</head>
<body>
  <nav><ul><li><a href="/">الرئيسية</a></li><li><a href="/world">دولي</a></li><li><a href="/sport">رياضة</a></li></ul></nav>
  <article>
    <h1>توكاييف: لقاء رئيسي كازاخستان والصين سيعود بالنفع على البلدين</h1>
    <p>{ARTICLE}</p>
    <p>{SECOND}</p>
    <script>console.log("SECRET_SCRIPT_TEXT")</script>
  </article>
  <footer><p>جميع الحقوق محفوظة لوكالة الأنباء 2024. سياسة الخصوصية. اتصل بنا.</p></footer>
</body>
</html>
"""


def test_html_main_text_without_boilerplate_or_script():
    raw = PAGE.encode("cp1256")
    item = parse_html(raw, "inbox/page.html")
    assert item.format == "html"
    assert item.encoding == "cp1256"  # from <meta charset="windows-1256">
    assert item.title == "توكاييف: لقاء رئيسي كازاخستان والصين سيعود بالنفع على البلدين"
    assert item.published == datetime.date(2024, 7, 1)
    assert item.text == f"{ARTICLE}\n{SECOND}"  # the <h1> repeating the title is not in the text
    assert "SECRET_SCRIPT_TEXT" not in item.text
    assert "الرئيسية" not in item.text  # navigation
    assert "الخصوصية" not in item.text  # footer
    assert item.raw == raw


def test_html_without_charset_or_date():
    page = PAGE.replace('<meta charset="windows-1256">', "").replace('<meta name="date" content="2024-07-01">', "")
    item = parse_html(page.encode("utf-8"), "inbox/page.htm")
    assert (item.encoding, item.published, item.agency) == ("utf-8", None, None)  # "2024" in the text is no date
    assert item.text == f"{ARTICLE}\n{SECOND}"


def test_html_with_a_wrong_charset_declaration_is_still_decoded():
    page = PAGE.replace("windows-1256", "utf-8").encode("cp1256")
    assert parse_html(page, "inbox/page.html").encoding == "cp1256"


def test_html_without_main_text_is_rejected():
    page = b"<html><head><title>404</title></head><body><nav><a href='/'>Home</a></nav></body></html>"
    with pytest.raises(Rejection) as caught:
        parse_html(page, "inbox/empty.html")
    assert caught.value.reason == "no_main_text"
    items, errors = parse_items(page, "inbox/empty.html", "html")
    assert (items, [e.reason for e in errors]) == ([], ["no_main_text"])


# ---------------------------------------------------------------- JSON Lines


def test_jsonl_good_lines_survive_bad_ones():
    lines = [
        json.dumps(
            {"id": "x1", "title": "توكاييف", "text": ARTICLE, "published": "2024-07-01T08:30:00+06:00",
             "agency": "شينخوا", "url": "https://example.org/a1"},
            ensure_ascii=False,
        ),
        '{"title": "broken", "text": "لم يكتمل',
        "",
        json.dumps({"title": "بلا نص", "published": "2024-07-02"}, ensure_ascii=False),
        json.dumps({"body": SECOND, "date": "yesterday", "source": "وكالة"}, ensure_ascii=False),
    ]
    raw = "\n".join(lines).encode("utf-8") + b"\n"
    items, errors = parse_jsonl(raw, "inbox/dump.jsonl")

    first, second = items
    assert first == RawItem(
        "inbox/dump.jsonl#L1",
        ARTICLE,
        lines[0].encode("utf-8"),
        "jsonl",
        encoding="utf-8",
        title="توكاييف",
        published=datetime.date(2024, 7, 1),
        agency="شينخوا",
        url="https://example.org/a1",
    )
    assert (second.source_path, second.text, second.published, second.agency) == (
        "inbox/dump.jsonl#L5", SECOND, None, "وكالة"
    )
    assert [(e.source_path, e.reason) for e in errors] == [
        ("inbox/dump.jsonl#L2", "bad_json_line"),
        ("inbox/dump.jsonl#L4", "missing_text"),
    ]
    assert errors[0].raw == lines[1].encode("utf-8")
    assert "line 1 column" in errors[0].detail


def test_jsonl_line_that_is_not_an_object():
    items, errors = parse_jsonl(b'["a list"]\n"a string"\n', "d.jsonl")
    assert items == []
    assert [(e.source_path, e.reason) for e in errors] == [("d.jsonl#L1", "bad_json_line"), ("d.jsonl#L2", "bad_json_line")]


def test_jsonl_file_that_is_not_utf8():
    raw = json.dumps({"text": ARTICLE}, ensure_ascii=False).encode("cp1256")
    items, errors = parse_items(raw, "old.jsonl", "jsonl")
    assert items == []
    assert [(e.source_path, e.reason) for e in errors] == [("old.jsonl", "undecodable")]


# --------------------------------------------------------------------- feeds

RSS = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
  <title>شينخوا العربية</title>
  <link>https://example.org/</link>
  <description>أخبار</description>
  <item>
    <title>توكاييف يرحب بزيارة شي</title>
    <link>https://example.org/news/1</link>
    <guid isPermaLink="false">xinhua-1</guid>
    <pubDate>Mon, 01 Jul 2024 08:30:00 GMT</pubDate>
    <description><![CDATA[<p>{ARTICLE}</p><script>alert("SECRET_SCRIPT_TEXT")</script><p>{SECOND}</p>]]></description>
  </item>
  <item>
    <title>خبر بلا رابط</title>
    <description>نص خبر لا رابط له ولا معرّف.</description>
  </item>
  <item>
    <title>خبر بلا نص</title>
    <link>https://example.org/news/3</link>
  </item>
</channel>
</rss>
""".encode("utf-8")

ATOM = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>أخبار آسيا الوسطى</title>
  <id>urn:example:feed</id>
  <updated>2024-07-02T10:00:00Z</updated>
  <entry>
    <title>زيارة مرتقبة</title>
    <id>urn:example:entry:2</id>
    <link href="https://example.org/atom/2"/>
    <updated>2024-07-02T10:00:00Z</updated>
    <summary>ملخص قصير</summary>
    <content type="html">&lt;h2&gt;بكين&lt;/h2&gt;&lt;p&gt;{SECOND}&lt;/p&gt;&lt;p&gt;سطر   ثان&lt;br/&gt;سطر ثالث&lt;/p&gt;</content>
  </entry>
</feed>
""".encode("utf-8")


def test_rss_feed_entries_and_entry_errors():
    items, errors = parse_feed(RSS, "inbox/xinhua.rss")

    (item,) = items
    assert item.source_path == "inbox/xinhua.rss#xinhua-1"
    assert item.format == "feed"
    assert item.title == "توكاييف يرحب بزيارة شي"
    assert item.url == "https://example.org/news/1"
    assert item.published == datetime.date(2024, 7, 1)
    assert item.text == f"{ARTICLE}\n{SECOND}"
    assert json.loads(item.raw) == {
        "id": "xinhua-1",
        "link": "https://example.org/news/1",
        "title": "توكاييف يرحب بزيارة شي",
        "published": "2024-07-01",
        "content": item.text,
    }

    assert [(e.source_path, e.reason) for e in errors] == [
        ("inbox/xinhua.rss", "feed_item_no_link"),
        ("inbox/xinhua.rss#https://example.org/news/3", "feed_item_no_text"),
    ]
    assert json.loads(errors[0].raw)["content"] == "نص خبر لا رابط له ولا معرّف."


def test_atom_feed_content_becomes_paragraphs():
    items, errors = parse_items(ATOM, "inbox/asia.atom", "feed")
    assert errors == []
    (item,) = items
    assert item.source_path == "inbox/asia.atom#urn:example:entry:2"
    assert item.title == "زيارة مرتقبة"
    assert item.url == "https://example.org/atom/2"
    assert item.published == datetime.date(2024, 7, 2)
    assert item.text == f"بكين\n{SECOND}\nسطر ثان\nسطر ثالث"  # content wins over summary


@pytest.mark.parametrize(
    "raw", [b"<rss><channel><item>", b"this is not XML at all", b"<html><body>a page</body></html>"]
)
def test_malformed_feed_is_one_error(raw):
    items, errors = parse_feed(raw, "inbox/bad.xml")
    assert items == []
    assert [(e.source_path, e.reason, e.raw) for e in errors] == [("inbox/bad.xml", "malformed_feed", raw)]
    assert errors[0].detail


def test_empty_feed_file():
    assert parse_feed(b"", "inbox/bad.xml") == ([], [Rejection("empty", "0 bytes", source_path="inbox/bad.xml", raw=b"")])


def test_truncated_feed_keeps_the_entries_it_could_read():
    cut = RSS[: RSS.index(b"<item>", RSS.index(b"</item>"))]
    items, errors = parse_feed(cut, "inbox/cut.rss")
    assert [item.source_path for item in items] == ["inbox/cut.rss#xinhua-1"]
    assert errors == []


def test_feed_content_is_not_taken_as_a_file_name():
    items, errors = parse_feed(b"/etc/hostname", "inbox/x.xml")
    assert items == [] and [e.reason for e in errors] == ["malformed_feed"]


def test_html_to_text_drops_scripts_and_keeps_blocks():
    html = "<div>أ<b>ب</b> ج<script>x()</script><style>p{}</style><ul><li>د</li><li>هـ</li></ul>و</div>"
    assert html_to_text(html) == "أب ج\nد\nهـ\nو"
    assert html_to_text("نص بلا وسوم") == "نص بلا وسوم"
    assert html_to_text("  ") == ""
