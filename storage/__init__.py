"""SQLite storage. Imports nothing from the bot or the handlers."""

from storage.categories import CategoryTree
from storage.errors import InvalidQueryError, StoreError
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
from storage.query import parse_query
from storage.store import Store

__all__ = [
    "Category",
    "CategoryTree",
    "InvalidQueryError",
    "Post",
    "PostIn",
    "SearchHit",
    "SearchPage",
    "SearchQuery",
    "Store",
    "StoreError",
    "Term",
    "UpsertResult",
    "parse_query",
]
