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
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_LINES = re.compile(r"\s*\n\s*")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000\ue001]")


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
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    return _LINES.sub("\n", text).strip()


def one_line(text: str) -> str:
    return " ".join(text.split())


_ARABIC_LETTER = re.compile("[\u0600-\u06ff]")
_LATIN_LETTER = re.compile("[A-Za-z]")


def guess_language(text: str, default: str) -> str:
    """'fa' when Arabic-script letters outnumber Latin ones, else ``default``."""
    if text.isascii():
        return default
    arabic = len(_ARABIC_LETTER.findall(text))
    return "fa" if arabic > len(_LATIN_LETTER.findall(text)) else default
