"""SQLite storage. Imports nothing from the bot or the handlers."""

from storage.categories import CategoryTree
from storage.chats import ALL, Subscription
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

__all__ = [
    "ALL",
    "ArchiveMissing",
    "Category",
    "CategoryTree",
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
    "parse_query",
]
