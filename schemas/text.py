"""Text as a record may hold it: valid Unicode in NFC, without control characters, terminal
escapes, bidi controls or invisible characters. Applied once, where text enters a run.

Kept on purpose: tab and newline; ZWJ and ZWNJ (U+200D, U+200C), which Persian and Indic
scripts and emoji sequences need; variation selectors.
"""

import re
import unicodedata

from humpback.schemas.config import TextConfig

SURROGATES = "\ud800-\udfff"
BREAKS = "\r\x0b\x0c\x85\u2028\u2029"  # CR (and CRLF), VT, FF, NEL, line and paragraph
CONTROLS = "\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f"  # C0 and C1 but tab, newline and BREAKS
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# zero-width space, soft hyphen, word joiner and invisible operators, BOM, Mongolian vowel
# separator, interlinear annotation marks, and the tag characters that can hide a message
INVISIBLE = "\u00ad\u180e\u200b\u2060-\u2064\ufeff\ufff9-\ufffb\U000e0000-\U000e007f"

SURROGATE = re.compile(f"[{SURROGATES}]")
# CSI (ESC [ ... final), OSC / DCS / PM / APC / SOS strings up to BEL or ST (bounded, one line),
# and the other escapes (ESC, intermediates, a final); the 8-bit CSI too. ESC is a control.
TERMINAL_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x1b[P\]X^_][^\x07\x1b\n]{0,512}(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]"
)
LINE_BREAK = re.compile(f"\r\n?|[{BREAKS}]")
CONTROL = re.compile(f"[{CONTROLS}]")
BIDI_CONTROL = re.compile(f"[{BIDI_CONTROLS}]")
INVISIBLE_CHARACTER = re.compile(f"[{INVISIBLE}]")
SUSPECT = re.compile(f"[{SURROGATES}{BREAKS}{CONTROLS}{BIDI_CONTROLS}{INVISIBLE}]")  # any of them


class InvalidText(ValueError):
    """Text that holds a lone surrogate, where `surrogates: dead_letter` is asked for."""


def valid_unicode(text: str) -> str:
    """The text with every lone surrogate replaced by U+FFFD (pairs joined): it encodes as UTF-8."""
    if not SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def clean_text(text: str, cfg: TextConfig) -> tuple[str, set[str]]:
    """The text as a record holds it, and the kinds of change made (for the manifest's counts);
    raises InvalidText for a lone surrogate under `surrogates: dead_letter`."""
    changes: set[str] = set()
    if SUSPECT.search(text):
        if lone := SURROGATE.search(text):
            if cfg.surrogates == "dead_letter":
                at = lone.start()
                raise InvalidText(f"a lone surrogate U+{ord(text[at]):04X} at character {at}")
            text = valid_unicode(text)
            changes.add("surrogates")
        for kind, pattern, replacement, wanted in (
            ("terminal_escapes", TERMINAL_ESCAPE, "", True),
            ("line_breaks", LINE_BREAK, "\n", True),
            ("control_characters", CONTROL, "", True),
            ("bidi_controls", BIDI_CONTROL, "", cfg.remove_bidi_controls),
            ("invisible_characters", INVISIBLE_CHARACTER, "", cfg.remove_invisible),
        ):
            if wanted:
                text, n = pattern.subn(replacement, text)
                if n:
                    changes.add(kind)
    if cfg.nfc and not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
        changes.add("nfc")
    return text, changes
