"""Plain data the store takes and gives. Datetimes are always UTC-aware."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Category:
    wp_id: int
    slug: str
    name: str
    parent: int = 0  # 0: top level, as in WordPress


@dataclass(frozen=True, slots=True)
class PostIn:
    """A post as read from the site, ready to be stored.

    Identity, strongest first: ``wp_id``, then ``guid``, then ``url``.
    ``categories`` are WordPress category ids; ``categories_known`` is False when some of
    the post's categories could not be told apart (RSS names are ambiguous).
    """

    url: str
    title: str
    excerpt: str
    content: str
    lang: str
    wp_id: int | None = None
    guid: str | None = None
    author: str | None = None
    published: datetime | None = None
    modified: datetime | None = None
    categories: tuple[int, ...] = ()
    categories_known: bool = True
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Post:
    id: int
    site: str
    wp_id: int | None
    guid: str | None
    url: str
    title: str
    author: str | None
    published: datetime | None
    modified: datetime | None
    excerpt: str
    content: str
    lang: str
    first_seen: datetime
    categories: tuple[int, ...]
    categories_known: bool
    tags: tuple[str, ...] = ()
    revision: str = ""  # changes when the title or the text does


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What storing one batch did: ids of new and modified posts, and the rest."""

    new: tuple[int, ...] = ()
    modified: tuple[int, ...] = ()
    unchanged: int = 0
    enqueued: int = 0  # alerts queued (or held for a digest)
    edits: int = 0  # corrections of alerts already sent, queued


@dataclass(frozen=True, slots=True)
class SearchHit:
    post: Post
    snippet: str  # the text as written; matches wrapped in normalize.HIT_START / HIT_END


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: tuple[SearchHit, ...]
    more: bool  # another page exists after this one


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed user query; see storage.query.parse_query.

    ``edition`` ("en" or "fa") is for the caller, which knows the editions' sites and passes
    only the chosen ones to Store.search; the store does not read it.
    """

    terms: tuple[Term, ...] = ()
    excluded: tuple[Term, ...] = ()
    category: str | None = None
    edition: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    ignored: tuple[str, ...] = field(default=())  # filters we could not read, for a hint
