"""The category tree of a site: pure lookups, plus loading and replacing it in SQLite."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import aiosqlite

from storage.models import Category
from storage.normalize import normalize


class CategoryTree:
    """Categories of one site, linked by ``parent``. Names may repeat; ids and slugs do not."""

    def __init__(self, categories: Iterable[Category]) -> None:
        self.by_id: dict[int, Category] = {c.wp_id: c for c in categories}
        self.by_slug: dict[str, Category] = {c.slug: c for c in self.by_id.values()}
        self._children: dict[int, list[Category]] = {}
        for c in sorted(self.by_id.values(), key=lambda c: (c.name.casefold(), c.wp_id)):
            parent = c.parent if c.parent in self.by_id else 0
            self._children.setdefault(parent, []).append(c)
        self._by_name: dict[str, list[Category]] = {}
        self._folded: dict[str, list[Category]] = {}
        for c in self.by_id.values():
            self._by_name.setdefault(c.name.casefold(), []).append(c)
            # Names and slugs as search folds them: «زندانيان» typed on an Arabic keyboard,
            # or «اعدام های» with a space, still name the category.
            for key in {_fold(c.name), _fold(c.slug.replace("-", " "))}:
                if c not in self._folded.setdefault(key, []):
                    self._folded[key].append(c)

    def __len__(self) -> int:
        return len(self.by_id)

    def children(self, wp_id: int = 0) -> list[Category]:
        return list(self._children.get(wp_id, ()))

    def walk(self) -> list[tuple[int, Category]]:
        """Every category with its depth, parents before children."""
        out: list[tuple[int, Category]] = []

        def visit(parent: int, depth: int) -> None:
            for c in self._children.get(parent, ()):
                out.append((depth, c))
                visit(c.wp_id, depth + 1)

        visit(0, 0)
        return out

    def ancestors(self, wp_id: int) -> list[Category]:
        """The category itself, then its parent, up to the top (cycles cut)."""
        out: list[Category] = []
        seen: set[int] = set()
        cat = self.by_id.get(wp_id)
        while cat is not None and cat.wp_id not in seen:
            out.append(cat)
            seen.add(cat.wp_id)
            cat = self.by_id.get(cat.parent)
        return out

    def descendants(self, wp_id: int) -> set[int]:
        """The category and everything below it."""
        out: set[int] = set()
        stack = [wp_id]
        while stack:
            cid = stack.pop()
            if cid in out:
                continue
            out.add(cid)
            stack.extend(c.wp_id for c in self._children.get(cid, ()))
        return out

    def ancestors_of(self, wp_ids: Iterable[int]) -> set[Category]:
        """The categories and all their ancestors."""
        return {a for cid in wp_ids for a in self.ancestors(cid)}

    def slugs_covering(self, wp_ids: Iterable[int]) -> set[str]:
        """Slugs whose followers want a post in these categories: each and its ancestors."""
        return {a.slug for a in self.ancestors_of(wp_ids)}

    def find(self, text: str) -> list[Category]:
        """Categories a user may mean by ``text``: a slug, an id, or a name.

        A name that several categories share gives all of them; the caller decides.
        """
        key = text.strip()
        if key in self.by_slug:
            return [self.by_slug[key]]
        if key.isdecimal() and key.isascii() and int(key) in self.by_id:
            return [self.by_id[int(key)]]
        lowered = key.casefold()
        if lowered in self.by_slug:
            return [self.by_slug[lowered]]
        found = (
            self._by_name.get(lowered)
            or self._folded.get(_fold(key), [])
            or self._folded.get(_fold(key.replace("-", " ")), [])
        )
        return sorted(found, key=lambda c: c.wp_id)

    def close_matches(self, text: str, n: int = 5) -> list[Category]:
        words = {c.slug: c for c in self.by_id.values()}
        words.update({c.name.casefold(): c for c in self.by_id.values()})
        found = difflib.get_close_matches(
            text.strip().casefold(), list(words), n=n * 2, cutoff=0.5
        )
        out: list[Category] = []
        for w in found:
            c = words[w]
            if c not in out:
                out.append(c)
        if not out:
            lowered = text.strip().casefold()
            out = [c for c in self.by_id.values() if lowered and lowered in c.name.casefold()]
        return out[:n]

    def label(self, wp_id: int) -> str:
        """``Executions › Women``: the path that tells same-named categories apart."""
        return " › ".join(c.name for c in reversed(self.ancestors(wp_id)))

    def resolve_names(self, names: Sequence[str]) -> tuple[list[int], list[str], bool]:
        """Split RSS ``<category>`` names into category ids and tags.

        Returns (category ids, tag names, all resolved). A name several categories share is
        settled by a parent named beside it (``Executions`` + ``Political prisoners`` is the
        one under Executions), then by another category of the same top-level branch; when
        nothing settles it, it stays unresolved rather than guessed.
        """
        ids: list[int] = []
        tags: list[str] = []
        ambiguous: list[list[Category]] = []
        for name in names:
            found = self._by_name.get(name.casefold(), [])
            if len(found) == 1:
                ids.append(found[0].wp_id)
            elif found:
                ambiguous.append(found)
            else:
                tags.append(name)
        known = set(ids)
        roots = {self.ancestors(i)[-1].wp_id for i in known if i in self.by_id}
        resolved = True
        for candidates in ambiguous:
            # First a parent named beside it, then a category of the same branch.
            picked = [c for c in candidates if c.parent in known]
            if not picked:
                picked = [c for c in candidates if self.ancestors(c.wp_id)[-1].wp_id in roots]
            if len(picked) == 1:
                ids.append(picked[0].wp_id)
            else:
                resolved = False
        return list(dict.fromkeys(ids)), list(dict.fromkeys(tags)), resolved


def _fold(text: str) -> str:
    return " ".join(normalize(text).casefold().split())


async def load_tree(db: aiosqlite.Connection, site: str) -> CategoryTree:
    async with db.execute(
        "SELECT wp_id, slug, name, parent FROM categories WHERE site = ?", (site,)
    ) as cur:
        rows = await cur.fetchall()
    return CategoryTree(Category(r[0], r[1], r[2], r[3]) for r in rows)


async def replace_tree(db: aiosqlite.Connection, site: str, cats: Sequence[Category]) -> None:
    """Replace the site's categories (inside the caller's transaction)."""
    await db.execute("DELETE FROM categories WHERE site = ?", (site,))
    await db.executemany(
        "INSERT OR REPLACE INTO categories (site, wp_id, slug, name, parent) "
        "VALUES (?, ?, ?, ?, ?)",
        [(site, c.wp_id, c.slug, c.name, c.parent) for c in cats],
    )
