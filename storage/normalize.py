"""Search normalization shared by documents and queries.

Persian text arrives written on Arabic and Persian keyboards alike; folding both to one form
on both sides of the index is what lets a query typed either way find the post.
"""

from __future__ import annotations

import re
import unicodedata

# Private-use characters that snippet() wraps around matches; they must never occur in text.
HIT_START = "\ue000"
HIT_END = "\ue001"

_MAP: dict[int, str | None] = {
    0x064A: "\u06cc",  # Arabic yeh -> Persian yeh
    0x0649: "\u06cc",  # alef maksura, often typed for the Persian final yeh
    0x0643: "\u06a9",  # Arabic kaf -> Persian keheh
    0x200C: None,  # ZWNJ: optional in practice, so ignore it on both sides
    0x200D: None,  # ZWJ
    0x200F: None,  # RLM
    0x200E: None,  # LRM
    0x0640: None,  # tatweel
    0xFEFF: None,
    ord(HIT_START): None,
    ord(HIT_END): None,
}
# Arabic harakat, superscript alef and Quranic marks are separators for FTS5's unicode61,
# so a vowelled word would otherwise be split in two.
for _cp in [*range(0x0610, 0x061B), *range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06EE)]:
    _MAP[_cp] = None
for _i in range(10):
    _MAP[0x06F0 + _i] = str(_i)  # Persian digits
    _MAP[0x0660 + _i] = str(_i)  # Arabic-Indic digits

_PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufeff]")
# Everything the table above or NFKC would change. English text with curly quotes and
# dashes has none of it, and skipping translate() for it halves the cost of indexing.
_FOLDED = re.compile(
    "[\u0610-\u061a\u0640-\u0670\u06d6-\u06ed\u06f0-\u06f9\u0643\u200c-\u200f"
    "\ufeff\ue000\ue001\ufb50-\ufdff\ufe70-\ufeff]"
)


def normalize(text: str) -> str:
    """Fold text for indexing and querying (idempotent)."""
    if text.isascii() or not _FOLDED.search(text):
        return text
    if _PRESENTATION_FORMS.search(text):
        text = unicodedata.normalize("NFKC", text)
    return text.translate(_MAP)
