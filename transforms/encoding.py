"""From the bytes of a file to text: which codec, or why none fits.

Arabic news reaches the inbox as UTF-8 (with or without a byte-order mark),
as UTF-16 exported by Windows tools, and as Windows-1256 from older systems.
Each of these is recognised by evidence in the bytes; anything else is
rejected with a reason instead of being decoded into plausible-looking garbage.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from transforms.rejection import Rejection
from transforms.script import ARABIC_BLOCKS, MAX_MOJIBAKE_SHARE, mojibake_share, within

__all__ = ["Decoded", "arabic_share", "decode_bytes", "decode_declared"]

# Legacy codecs that can carry Arabic; cp1256 first, it is by far the most common.
ARABIC_LEGACY_CODECS = ("cp1256", "iso8859_6", "cp720", "cp864")
PREFERRED_LEGACY_CODEC = "cp1256"

# In UTF-16 Arabic text the high byte of nearly every code unit is 0x06
# (Arabic block) or 0x00 (ASCII spaces, digits, punctuation).
_UTF16_HIGH_BYTES = (0x00, 0x06)
_UTF16_MIN_HIGH_SHARE = 0.9
_UTF16_MAX_LOW_SHARE = 0.5

# C0 controls that never occur in text; \t \n \r \f do (and \x0b rarely, in Word exports).
_TEXT_CONTROLS = b"\t\n\r\f\x0b"
_NON_TEXT_CONTROLS = bytes(b for b in range(0x20) if b not in _TEXT_CONTROLS)
_ALL_BUT_NON_TEXT_CONTROLS = bytes(b for b in range(256) if b not in _NON_TEXT_CONTROLS)
_MAX_CONTROL_SHARE = 0.05

# Broken UTF-8 rather than a legacy codec: this share of the non-ASCII bytes
# still forms valid UTF-8 sequences (in Windows-1256 Arabic it is close to 0).
_MIN_VALID_UTF8_SHARE = 0.9
_HIGH_BYTES = bytes(range(0x80, 0x100))

# A legacy decoding is accepted only if it yields mostly Arabic letters: letters of the Arabic
# blocks (transforms/script.py), presentation forms included, which is wider than ARABIC_LETTERS.
_MIN_ARABIC_LETTER_SHARE = 0.5


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the Python codec actually used: "utf-8", "utf-8-sig", "utf-16", "cp1256", ...


def decode_bytes(raw: bytes) -> Decoded:
    """Decode a whole file, trying the cheap, certain checks before any guessing.

    Order matters: a byte-order mark is proof; UTF-16 must be recognised before
    its NUL bytes look like binary data; strict UTF-8 is the common case and
    almost never decodes non-UTF-8 text by accident; only then a legacy codec
    is guessed, and only if the result reads as Arabic.
    """
    if not raw:
        raise Rejection("empty", "0 bytes")
    return (
        _decode_with_bom(raw)
        or _decode_utf16_without_bom(raw)
        or _reject_binary(raw)
        or _decode_utf8(raw)
        or _decode_arabic_legacy(raw)
    )


def decode_declared(raw: bytes, charset: str | None) -> Decoded:
    """Honour a charset the document declares (HTML meta), if it is real and fits.

    A byte-order mark outranks the declaration, as in browsers; a declaration
    that names no codec, or does not decode the bytes, is ignored in favour of
    :func:`decode_bytes`, which then explains what is wrong.
    """
    codec = _codec_name(charset) if charset else None
    if codec is None or codec.startswith("utf-16") or _bom_codec(raw):
        return decode_bytes(raw)
    _reject_binary(raw)
    try:
        declared = Decoded(raw.decode(codec), codec)
    except UnicodeDecodeError:
        return decode_bytes(raw)
    if codec != "utf-8" and mojibake_share(declared.text) > MAX_MOJIBAKE_SHARE:
        # A UTF-8 page that declares a legacy charset (windows-1256 most often): as declared it reads as
        # ط/ظ every other letter; its bytes are valid UTF-8, and that reading is the Arabic.
        try:
            actual = raw.decode("utf-8")
        except UnicodeDecodeError:
            return declared
        if mojibake_share(actual) <= MAX_MOJIBAKE_SHARE:
            return Decoded(actual, "utf-8")
    return declared


def arabic_share(text: str) -> float:
    """The share of letters in the Arabic blocks (``ARABIC_BLOCKS``) among all letters (0.0 if there are none)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(_is_arabic(ch) for ch in letters) / len(letters)


def _is_arabic(ch: str) -> bool:
    return within(ord(ch), ARABIC_BLOCKS)


def _codec_name(label: str) -> str | None:
    try:
        return codecs.lookup(label.strip()).name
    except LookupError:
        return None


def _bom_codec(raw: bytes) -> str | None:
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _decode_with_bom(raw: bytes) -> Decoded | None:
    codec = _bom_codec(raw)
    if codec is None:
        return None
    if codec == "utf-16" and len(raw) % 2:
        raise Rejection("undecodable", f"UTF-16 byte-order mark but an odd byte count ({len(raw)})")
    try:
        return Decoded(raw.decode(codec), codec)
    except UnicodeDecodeError as err:
        raise Rejection(
            "undecodable", f"{codec} byte-order mark but invalid {codec} at byte {err.start}"
        ) from None


def _decode_utf16_without_bom(raw: bytes) -> Decoded | None:
    if len(raw) % 2 or b"\x00" not in raw:
        return None
    for codec, high, low in (("utf-16-le", raw[1::2], raw[0::2]), ("utf-16-be", raw[0::2], raw[1::2])):
        if _high_byte_share(high) >= _UTF16_MIN_HIGH_SHARE and _high_byte_share(low) <= _UTF16_MAX_LOW_SHARE:
            try:
                return Decoded(raw.decode(codec), codec)
            except UnicodeDecodeError:
                return None  # looked like UTF-16 but is not; the binary check decides
    return None


def _high_byte_share(half: bytes) -> float:
    return sum(half.count(b) for b in _UTF16_HIGH_BYTES) / len(half)


def _reject_binary(raw: bytes) -> None:
    """Returns None (so it chains with ``or``) unless the bytes are not text at all."""
    nul = raw.find(b"\x00")
    if nul != -1:
        raise Rejection("binary", f"NUL byte at offset {nul} (and not UTF-16 text)")
    controls = len(raw.translate(None, _ALL_BUT_NON_TEXT_CONTROLS))
    if controls > _MAX_CONTROL_SHARE * len(raw):
        raise Rejection("binary", f"{controls} of {len(raw)} bytes are control characters")
    return None


def _decode_utf8(raw: bytes) -> Decoded | None:
    """Strict UTF-8; broken UTF-8 is rejected here so that no legacy codec masks it."""
    try:
        return Decoded(raw.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as err:
        if err.reason == "unexpected end of data":
            raise Rejection(
                "truncated_utf8",
                f"incomplete UTF-8 sequence in the last {len(raw) - err.start} byte(s), at byte {err.start}",
            ) from None
        if _valid_utf8_share(raw) >= _MIN_VALID_UTF8_SHARE:
            raise Rejection("invalid_utf8", f"invalid UTF-8 at byte {err.start}") from None
        return None


def _valid_utf8_share(raw: bytes) -> float:
    """The share of non-ASCII bytes that belong to valid UTF-8 sequences."""
    non_ascii = len(raw) - len(raw.translate(None, _HIGH_BYTES))
    if not non_ascii:
        return 0.0
    text = raw.decode("utf-8", errors="surrogateescape")
    invalid = sum(1 for ch in text if "\udc80" <= ch <= "\udcff")
    return 1 - invalid / non_ascii


def _decode_arabic_legacy(raw: bytes) -> Decoded:
    """Ask charset-normalizer which Arabic legacy codecs fit, and keep one that reads as Arabic."""
    from charset_normalizer import from_bytes  # imported lazily: only the rare legacy path needs it

    plausible: list[str] = []
    for match in from_bytes(raw, cp_isolation=list(ARABIC_LEGACY_CODECS)):
        if arabic_share(str(match)) >= _MIN_ARABIC_LETTER_SHARE:
            # Codecs giving identical text are merged into one match.
            plausible += [match.encoding, *match.could_be_from_charset]
    codecs_found = [name for name in map(_codec_name, plausible) if name]
    if not codecs_found:
        raise Rejection("unknown_encoding", "not UTF-8/UTF-16, and no Arabic legacy encoding fits")
    codec = PREFERRED_LEGACY_CODEC if PREFERRED_LEGACY_CODEC in codecs_found else codecs_found[0]
    return Decoded(raw.decode(codec), codec)
