"""Search normalization shared by documents and queries, and the finder snippets use.

Persian text arrives written on Arabic and Persian keyboards alike, and one word may be
written with a zero-width non-joiner (ZWNJ), a space or nothing between its parts; folding
all of them to one form on both sides of the index is what lets a query typed any way find
the post. The index holds the folded text, but snippets are cut from the text as written:
``finder`` turns folded query words back into a pattern that finds every spelling of them.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import unicodedata
from collections.abc import Iterable

# Private-use characters that snippets wrap around matches; they must never occur in text.
HIT_START = "\ue000"
HIT_END = "\ue001"
ZWNJ = "\u200c"

_HEH = "\u0647"
_YEH = "\u06cc"
_MAP: dict[int, str | None] = {
    0x064A: _YEH,  # Arabic yeh -> Persian yeh
    0x0649: _YEH,  # alef maksura, often typed for the Persian final yeh
    0x0643: "\u06a9",  # Arabic kaf -> Persian keheh
    0x06AA: "\u06a9",  # swash kaf
    # Heh: the ezafe form ۀ means "ه + ezafe" (خانۀ is خانه‌ی), teh marbuta ends Arabic
    # spellings of words Persian ends with heh (مدرسة, مدرسه), and the others are what Urdu
    # and Kurdish keyboards give for the same key.
    0x06C0: _HEH,  # heh with yeh above
    0x0629: _HEH,  # teh marbuta
    0x06C3: _HEH,  # teh marbuta goal
    0x06D5: _HEH,  # ae
    0x06BE: _HEH,  # heh doachashmee
    0x06C1: _HEH,  # heh goal
    0x06C2: _HEH,  # heh goal with hamza above
    # ZWNJ is kept here: the affix rules below read it, and drop it after.
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
_MARKS = [*range(0x0610, 0x061B), *range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06EE)]
for _cp in _MARKS:
    _MAP[_cp] = None
for _i in range(10):
    _MAP[0x06F0 + _i] = str(_i)  # Persian digits
    _MAP[0x0660 + _i] = str(_i)  # Arabic-Indic digits

_PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufeff]")
# Everything the table above changes. English text with curly quotes and dashes has none of
# it, and skipping the folding for it halves the cost of indexing.
_FOLDED = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_MAP)) + "]")
_REPLACE_AT_MOST = 12
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u200c]")

# Persian letters once folded: what the affix rules count as part of a word.
_LETTER = "[\u0621-\u063a\u0641-\u064a\u066e\u066f\u0671-\u06d3\u06d5\u06fa-\u06fc\u06ff]"
# What may stand between a word and its affix: ZWNJ, or spaces on one line (a line break
# is a paragraph, not a way of typing a word).
_SPACES = " \t\u00a0\u2000-\u200a\u202f\u205f\u3000"
_SEPARATOR = f"[{_SPACES}{ZWNJ}]"

# Affixes are joined to their word, whatever separates them (ZWNJ, a space, nothing), on
# both sides of the index: the joined form is the one deleting ZWNJ always gave, so text
# written with ZWNJ indexes as before. The list is short on purpose, each entry an affix
# that is not a word of its own in news text, or joined only where it cannot be one:
# - می / نمی (verb prefixes) and بی ("without"), only as a word of their own followed by a
#   Persian word on the same line: «می شود», «بی گناه». (می "wine" is the one word lost.)
# - The plural ها and its forms with ی and the possessive endings (های، هایی، هایش،
#   هایشان...), after any Persian letter: «زندان ها».
# - تر and ترین (comparative, superlative): «بیش تر», «مهم ترین». تر alone ("wet") is rare.
# - The endings ام، ات، اش، ایم، اید، اند after heh or yeh only, the one place they are
#   written apart (کرده‌اند، زندگی‌اش، سی‌ام); elsewhere Persian attaches them.
# - The indefinite ای after heh only (حادثه‌ای): after other letters «ای» is the vocative
#   "O" (ای ایران), a word of its own.
# - The ezafe ی after heh (خانه‌ی، خانه ی) is dropped: it is grammar, and خانۀ folds to
#   خانه above, so all four spellings are one word.
# - است after a ZWNJ (شده‌است) becomes a word of its own, as it is most often written
#   (شده است): the verb "is", not an affix.
# Left out: هم ("also" as a word), را (a word), ی after other letters (part of the word:
# زندانی), and compounds (قزل‌حصار، روزنامه‌نگار), which have no affix to recognise: written
# with ZWNJ or joined they match each other; written with a space they are two words.
_PREFIXES = ("نمی", "می", "بی")
_PLURALS = ("ها", "های", "هایی", "هایم", "هایت", "هایش", "هایمان", "هایتان", "هایشان")
_SUFFIXES = (*_PLURALS, "تر", "ترین")
_ENDINGS = ("ام", "ات", "اش", "ایم", "اید", "اند")  # after heh or yeh
_INDEFINITE = "ای"  # after heh
_IS = "است"


def _either(words: Iterable[str]) -> str:
    return "(?:" + "|".join(sorted(words, key=len, reverse=True)) + ")"


# Each branch starts with the character it can start with, and checks the letter before by
# a lookbehind over that character: the regex engine then skips most of a text in C.
_AFFIXES = re.compile(
    rf"{_SEPARATOR}(?=[{_SPACES}{ZWNJ}هتای])(?:"
    rf"(?<={_LETTER}.){_SEPARATOR}*{_either(_SUFFIXES)}(?!{_LETTER})"
    rf"|(?<=[{_HEH}{_YEH}].){_SEPARATOR}*{_either(_ENDINGS)}(?!{_LETTER})"
    rf"|(?<={_HEH}.){_SEPARATOR}*{_INDEFINITE}(?!{_LETTER})"
    rf"|(?P<ezafe>(?<={_HEH}.){_SEPARATOR}*{_YEH}(?!{_LETTER}))"
    rf"|(?P<is>(?<={_LETTER}{ZWNJ}))(?={_IS}(?!{_LETTER})))"
    # نمی، می، بی: the first letter, then the rest of the prefix it starts.
    rf"|[نمب](?<!{_LETTER}.)(?:(?<=ن)می|(?<=[مب])ی){_SEPARATOR}+(?={_LETTER})"
)
_DROP_SEPARATORS = re.compile(_SEPARATOR)


def _join(m: re.Match[str]) -> str:
    if m.lastgroup == "is":
        return " "
    if m.lastgroup == "ezafe":
        return ""
    return _DROP_SEPARATORS.sub("", m[0])


def normalize(text: str) -> str:
    """Fold text for indexing and querying (idempotent)."""
    if text.isascii():
        return text
    if _PRESENTATION_FORMS.search(text):
        text = unicodedata.normalize("NFKC", text)
    found = set(_FOLDED.findall(text))
    if not found and not _ARABIC_SCRIPT.search(text):
        return text
    if found:
        if len(found) > _REPLACE_AT_MOST:
            text = text.translate(_MAP)
        else:
            # translate() looks every character up in a dict; a few replace() calls of the
            # characters present are 5 to 20 times faster on a Persian report.
            for ch in found:
                text = text.replace(ch, _MAP[ord(ch)] or "")
    text = _AFFIXES.sub(_join, text)
    return text.replace(ZWNJ, "") if ZWNJ in text else text


def as_written(text: str) -> str:
    """The text snippets are cut from: as written, but with Arabic presentation forms (old
    PDFs' ligatures, which normalize() decomposes) composed, so finder() sees their letters."""
    if text.isascii() or not _PRESENTATION_FORMS.search(text):
        return text
    return unicodedata.normalize("NFKC", text)


# -- finding folded words in the text as written ----------------------------------------
#
# The index holds folded text; snippets are cut from the text as written. A Finder runs on
# a copy of that text in which every one-for-one fold is made (Arabic yeh, Persian digits,
# accented Latin letters, odd spaces) and the silent characters (vowel marks, tatweel, ZWJ,
# direction marks) are taken out, remembering where, so a match maps back to the text as
# written. ZWNJs and spaces stay: the patterns allow them where the folding joins words.
# Its patterns are then plain letters: a pattern of large character classes costs
# milliseconds to compile, and every query compiles one.

_TOKEN = re.compile(r"[^\W_]+")
_ONE_FOR_ONE: dict[str, str] = {chr(c): v for c, v in _MAP.items() if v and len(v) == 1}
for _cp in [0x09, 0xA0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000]:
    _ONE_FOR_ONE[chr(_cp)] = " "
# FTS5's remove_diacritics folds accented Latin letters, so the finder does too.
for _cp in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
    _decomposed = unicodedata.normalize("NFD", chr(_cp))
    if len(_decomposed) > 1 and _decomposed[0].isascii() and _decomposed[0].isalpha():
        _ONE_FOR_ONE[chr(_cp)] = _decomposed[0]
_FOLDS = re.compile("[" + "".join(map(re.escape, sorted(_ONE_FOR_ONE))) + "]")
_SILENT = re.compile("[" + "".join(re.escape(chr(c)) for c, v in _MAP.items() if v is None) + "]")
_SUFFIX_SPLIT = re.compile(
    rf"(?:(?<={_LETTER}){_either(_SUFFIXES)}"
    rf"|(?<=[{_HEH}{_YEH}]){_either(_ENDINGS)}|(?<={_HEH}){_INDEFINITE})$"
)
_WORD_CHAR = r"[^\W_]"
# A word starts where no letter precedes it, nor a letter and a ZWNJ (قزل‌حصار is one word).
_STARTS = rf"(?<!{_WORD_CHAR}.)(?<!{_WORD_CHAR}{ZWNJ}.)"
# It ends where no letter follows, nor a ZWNJ and a letter, unless those start است.
_ENDS = rf"(?!{_WORD_CHAR}|{ZWNJ}(?!{_IS}(?!{_WORD_CHAR})){ZWNJ}*{_WORD_CHAR})"


def _joins(token: str) -> set[int]:
    """Where in a folded token the text may have had a separator: after a prefix, before
    each affix at its end (بزرگ|تر|ها)."""
    at: set[int] = set()
    for p in _PREFIXES:
        if token.startswith(p) and re.match(_LETTER, token[len(p) :]):
            at.add(len(p))
            break
    rest = token
    while (m := _SUFFIX_SPLIT.search(rest)) is not None and m.start() > 0:
        at.add(m.start())
        rest = rest[: m.start()]
    return at


def _token_pattern(token: str, *, first: bool, last: bool, prefix: bool) -> str:
    joins = _joins(token)
    out = [re.escape(token[0])]
    if first and token != _IS:
        out.append(_STARTS)
    # A ZWNJ may stand inside any Arabic-script word (قزل‌حصار), a space only where an affix
    # joins it.
    inside = "" if token.isascii() else f"{ZWNJ}*"
    for i, ch in enumerate(token[1:], start=1):
        out.append(f"[ {ZWNJ}]*" if i in joins else inside)
        out.append(re.escape(ch))
    if token.endswith(_HEH):
        out.append(f"(?:[ {ZWNJ}]+{_YEH}(?!{_WORD_CHAR}))?")  # the ezafe, dropped by folding
    if last and prefix:
        out.append(f"(?:{_WORD_CHAR}|{ZWNJ})*")
    elif last:
        out.append(_ENDS)
    return "".join(out)


def term_pattern(term: str, *, prefix: bool = False) -> str:
    """A regex source that finds ``term`` (folded, one word or a phrase) in text prepared
    by Finder, in any spelling normalize() folds to it; case-insensitive use is expected."""
    tokens = _TOKEN.findall(term)
    parts = [
        _token_pattern(t, first=i == 0, last=i == len(tokens) - 1, prefix=prefix)
        for i, t in enumerate(tokens)
    ]
    return r"[\W_]+".join(parts)


class Finder:
    """Finds folded query terms in text as written."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern

    def hits(self, text: str) -> list[tuple[int, int, int]]:
        """(start, end, term's place) of each match in ``text``, in order, not overlapping;
        the span covers the word as written, vowel marks and ZWNJs included."""
        for ch in set(_FOLDS.findall(text)):
            text = text.replace(ch, _ONE_FOR_ONE[ch])
        silent = [m.start() for m in _SILENT.finditer(text)]
        if not silent:
            return self._matches(text)
        # Deleted at silent[k], so a character at i in the copy was at i + (how many of
        # silent[k] - k are at most i) in the text.
        shifts = [at - k for k, at in enumerate(silent)]
        deleted = set(silent)
        out: list[tuple[int, int, int]] = []
        for start, end, term in self._matches(_SILENT.sub("", text)):
            start += bisect.bisect_right(shifts, start)
            end += bisect.bisect_right(shifts, end - 1)
            while end in deleted:
                end += 1  # marks after the last letter belong to it
            out.append((start, end, term))
        return out

    def _matches(self, text: str) -> list[tuple[int, int, int]]:
        return [(m.start(), m.end(), int((m.lastgroup or "t0")[1:]))
                for m in self.pattern.finditer(text)]  # fmt: skip


def finder(terms: Iterable[tuple[str, bool]]) -> Finder | None:
    """A Finder for (folded term, is a prefix) pairs. Longer terms are tried first, so a
    phrase wins over its own words."""
    indexed = sorted(enumerate(terms), key=lambda it: -len(_TOKEN.findall(it[1][0])))
    parts = [
        f"(?P<t{i}>{term_pattern(text, prefix=prefix)})"
        for i, (text, prefix) in indexed
        if _TOKEN.search(text)
    ]
    return Finder(re.compile("|".join(parts), re.IGNORECASE)) if parts else None


# -- words, as the search index tokenizes them ---------------------------------------------

_LATIN_FOLDS = {k: v for k, v in _ONE_FOR_ONE.items() if v != " "}
_LATIN = re.compile("[" + "".join(map(re.escape, sorted(_LATIN_FOLDS))) + "]")


def words(text: str, *, normalized: bool = False) -> list[str]:
    """The words of a text as the search index holds them: folded by normalize(), then cut
    and lower-cased as FTS5's unicode61 tokenizer with ``remove_diacritics 2`` does (letters
    and digits make words, anything else separates them; accented Latin letters lose their
    accents). What a watched phrase is matched with, so it matches as a search would.
    ``normalized``: the text has been through normalize() already."""
    if not normalized:
        text = normalize(text)
    if not text.isascii():
        for ch in set(_LATIN.findall(text)):
            text = text.replace(ch, _LATIN_FOLDS[ch])
    return _TOKEN.findall(text.lower())


def text_key(text: str | None) -> int | None:
    """Eight bytes of a hash of ``text``, as a signed 64-bit integer: what the archive's
    indexes of links and guids hold instead of the strings, at a tenth of the size. Two texts
    may share a key: a lookup by key reads the strings and compares them."""
    if text is None:
        return None
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def opens(content: str, excerpt: str) -> bool:
    """Whether the excerpt is WordPress's usual one, the opening words of the text: then its
    words are the text's, and need not be read twice."""
    start = " ".join(excerpt.split()[:12])
    return bool(start) and start in " ".join(content[: len(start) * 2 + 200].split())


def stored_excerpt(content: str, excerpt: str) -> str:
    """The excerpt as the archive keeps it: none where it only opens the text, as WordPress's
    own does (most posts'). Everything that reads one takes the text first; a few hundred
    bytes a post saved, the text being stored once already."""
    return "" if content and opens(content, excerpt) else excerpt
