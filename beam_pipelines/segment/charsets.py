"""Bytes to text as a browser would: BOM, HTTP charset, <meta> charset; then UTF-8 and guesses."""

import codecs
import re

import charset_normalizer

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.I)
_BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_WHATWG = {"latin_1": "cp1252", "iso8859_1": "cp1252"}  # browsers read "latin-1" as windows-1252


def decode(body: bytes, declared: str | None, html: bool = True) -> str:
    """Decode with the first charset that fits; a guess only when every declared one fails."""
    return _decoded(body, declared, html)[0]


def utf8(body: bytes, declared: str | None, html: bool = True) -> bytes:
    """The text as UTF-8: the body itself when it is UTF-8 (no BOM), else decoded and encoded."""
    text, codec = _decoded(body, declared, html)
    return body if codec == "utf-8" else text.encode("utf-8", "replace")


def _decoded(body: bytes, declared: str | None, html: bool) -> tuple[str, str]:
    """The text and the codec that decoded it."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body.decode(name, errors="replace"), name
    meta = _META_CHARSET.search(body[:4096]) if html else None
    for name in (declared, meta.group(1).decode("ascii") if meta else None, "utf-8"):
        if found := _try(body, name):
            return found
    guess = charset_normalizer.from_bytes(body[:65536]).best()
    for name in (guess.encoding if guess else None, "cp1252"):
        if found := _try(body, name):
            return found
    return body.decode("utf-8", errors="replace"), "utf-8 (with replacements)"


def _try(body: bytes, name: str | None) -> tuple[str, str] | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name).name
        codec = _WHATWG.get(codec, codec)
        return body.decode(codec), codec
    except (LookupError, UnicodeDecodeError):
        return None
