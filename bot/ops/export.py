"""Reports written out for researchers: CSV for a spreadsheet, JSON Lines for programs.

A CSV cell that starts with = + - @ (or a tab or carriage return) is a formula to a
spreadsheet: such a cell gets a leading apostrophe, as OWASP's advice on CSV injection has
it, unless the caller asks for the text untouched (for machine use). Pure: rows in, text out.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import TextIO

from storage import CategoryTree, Post

FIELDS = (
    "id",
    "edition",
    "url",
    "title",
    "published",
    "modified",
    "first_seen",
    "categories",
    "tags",
    "text",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def guard(cell: str) -> str:
    return f"'{cell}" if cell.startswith(_FORMULA) else cell


def record(post: Post, edition: str, tree: CategoryTree) -> dict[str, object]:
    return {
        "id": post.wp_id if post.wp_id is not None else post.id,
        "edition": edition,
        "url": post.url,
        "title": post.title,
        "published": post.published.isoformat() if post.published else None,
        "modified": post.modified.isoformat() if post.modified else None,
        "first_seen": post.first_seen.isoformat(),
        "categories": [tree.label(c) for c in post.categories if c in tree.by_id],
        "tags": list(post.tags),
        "text": post.content or post.excerpt,
    }


class Writer:
    """Writes records to ``out`` as CSV (``safe``: formulas defused) or JSON Lines."""

    def __init__(self, out: TextIO, form: str, *, safe: bool = True) -> None:
        self.out = out
        self.form = form
        self.safe = safe
        self._csv = csv.writer(out) if form == "csv" else None
        self.count = 0
        if self._csv is not None:
            self._csv.writerow(FIELDS)

    def write(self, row: dict[str, object]) -> None:
        self.count += 1
        if self._csv is None:
            self.out.write(json.dumps(row, ensure_ascii=False) + "\n")
            return
        cell: Callable[[str], str] = guard if self.safe else str
        self._csv.writerow([cell(_text(row[f])) for f in FIELDS])


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)
