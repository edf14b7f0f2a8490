"""Vietnamese text helpers: NFC normalisation and folding (no tone marks, đ→d) for search."""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    if char in "đĐ":
        return "d"
    base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    lowered = base.lower()
    return lowered if len(lowered) == 1 else (base if len(base) == 1 else char)


def nfc(text: str) -> str:
    """The NFC form the box stores all text in."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lower-case, tone marks and diacritics removed, đ→d: `Quyết định` → `quyet dinh`.

    The result has exactly as many characters as the NFC text, so an offset found in the
    folded text is the same offset in the written text (used to show matches).
    """
    return "".join(_fold_char(char) for char in nfc(text))


def has_marks(text: str) -> bool:
    """Whether the text carries any tone mark or diacritic (or đ)."""
    return fold(text) != nfc(text).lower()
