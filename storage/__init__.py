"""SQLite storage. Imports nothing from the bot or the handlers."""

from storage.categories import CategoryTree
from storage.chats import ALL, ChatSettings, Subscription
from storage.errors import ArchiveMissing, InvalidQueryError, StoreError
from storage.models import (
    Category,
    Post,
    PostIn,
    SearchHit,
    SearchPage,
    SearchQuery,
    Term,
    UpsertResult,
)
from storage.outbox import Delivery
from storage.query import parse_query
from storage.store import Stats, Store
from storage.watches import (
    MAX_CHARS,
    MAX_PHRASES,
    MIN_CHARS,
    Watch,
    fold,
    only_stop_words,
    still_named,
)

__all__ = [
    "ALL",
    "MAX_CHARS",
    "MAX_PHRASES",
    "MIN_CHARS",
    "ArchiveMissing",
    "Category",
    "CategoryTree",
    "ChatSettings",
    "Delivery",
    "InvalidQueryError",
    "Post",
    "PostIn",
    "SearchHit",
    "SearchPage",
    "SearchQuery",
    "Stats",
    "Store",
    "StoreError",
    "Subscription",
    "Term",
    "UpsertResult",
    "Watch",
    "fold",
    "only_stop_words",
    "parse_query",
    "still_named",
]
