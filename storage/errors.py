"""Errors the store raises; bot.errors re-exports them beside the bot's own."""

from __future__ import annotations


class StoreError(Exception):
    """The database cannot be used (wrong schema, locked by another program...)."""


class ArchiveMissing(StoreError):
    """A command that only reads found no database file (and must not create an empty one)."""

    def __init__(self, path: object) -> None:
        super().__init__(f"there is no archive at {path} yet")
        self.path = path


class InvalidQueryError(ValueError):
    """A search query we refuse, with a reason the caller can show to a user.

    ``reason`` is one of ``"empty"``, ``"too_long"`` or ``"no_terms"``.
    """

    def __init__(self, reason: str, limit: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.limit = limit
