"""HTML to plain text, and the language of a text. Pure functions."""

from __future__ import annotations

import html
import re

_DROP = re.compile(r"<(script|style|noscript|template)\b.*?(?:</\1\s*>|\Z)", re.I | re.S)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_BREAK = re.compile(
    r"</?(?:p|div|br|li|ul|ol|h[1-6]|figure|figcaption|blockquote|table|tr|section|article|hr)"
    r"\b[^<>]*>",
    re.I,
)
# [^<>] rather than [^>]: an unclosed "<a" then stops at the next "<" instead of scanning to
# the end of the text, which made hostile input quadratic.
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<![^<>]*>|<\?[^<>]*>")
# Only runs that need rewriting: a lone space matches neither pattern.
_SPACES = re.compile(r"[\t\r\f\v\u00a0][ \t\r\f\v\u00a0]*| [ \t\r\f\v\u00a0]+")
# Control characters are single bytes in UTF-8, so bytes.translate can drop them in C.
_CONTROL_BYTES = bytes([*range(0x09), *range(0x0E, 0x20), 0x7F])
_PRIVATE = ("\ue000", "\ue001")  # storage's snippet markers


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment: tags gone, entities decoded once, spaces folded.

    Paragraphs become single newlines. Linear-time regexes only, since the input is hostile.
    """
    if not markup:
        return ""
    text = _COMMENT.sub(" ", markup)
    text = _DROP.sub(" ", text)
    text = _BREAK.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    # "replace" also turns lone surrogates (valid in JSON, not in UTF-8) into "?": SQLite
    # could not store them.
    text = text.encode("utf-8", "replace").translate(None, _CONTROL_BYTES).decode("utf-8")
    for marker in _PRIVATE:
        if marker in text:
            text = text.replace(marker, "")
    text = _SPACES.sub(" ", text)
    return "\n".join(line for line in (s.strip() for s in text.split("\n")) if line)


def one_line(text: str) -> str:
    return " ".join(text.split())


_NOT_LATIN = bytes(b for b in range(256) if not (65 <= b <= 90 or 97 <= b <= 122))


def guess_language(text: str, default: str) -> str:
    """'fa' when Arabic-script letters outnumber Latin ones, else ``default``."""
    if text.isascii():
        return default
    # Counted on the UTF-8 bytes, in C: U+0600-U+06FF start with 0xD8-0xDB.
    data = text.encode("utf-8", "surrogatepass")
    arabic = sum(data.count(lead) for lead in (b"\xd8", b"\xd9", b"\xda", b"\xdb"))
    latin = len(data.translate(None, _NOT_LATIN))
    return "fa" if arabic > latin else default
