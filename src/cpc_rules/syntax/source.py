"""The text the parser reads, made independent of how an editor saved it.

A UTF-8 byte order mark (Windows editors) is dropped, and the text is put in
Unicode NFC form, so `é` typed as one code point or as `e` + a combining accent
(macOS file names, some keyboards) is the same name. The same normalised text is
parsed, cached, quoted in messages and hashed into the rulebook's digest.
"""

from __future__ import annotations

import unicodedata

BOM = "\ufeff"


def normalise(text: str) -> str:
    if text.startswith(BOM):
        text = text[1:]
    return text if text.isascii() else unicodedata.normalize("NFC", text)
