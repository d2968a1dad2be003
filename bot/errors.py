"""Every domain error of the program, in one place (the store's are re-exported)."""

from __future__ import annotations

from storage.errors import ArchiveMissing, InvalidQueryError, StoreError

__all__ = [
    "AlreadyRunning",
    "ArchiveMissing",
    "CannotListen",
    "ConfigError",
    "FeedError",
    "FetchError",
    "HrmBotError",
    "InvalidQueryError",
    "MetricsError",
    "NotModified",
    "StoreError",
    "TokenRejected",
    "WebhookRejected",
    "WrongEdition",
]


class HrmBotError(Exception):
    """Base of the bot's own errors."""


class ConfigError(HrmBotError):
    """A setting is missing or malformed; the message names the variable and what it expects."""


class FetchError(HrmBotError):
    """The site did not give us a usable response (network, status, size, content type)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotModified(HrmBotError):
    """The site answered 304: nothing changed since the validators we sent."""


class FeedError(HrmBotError):
    """The bytes we fetched are not a feed we can trust (not well-formed, cut off, HTML)."""


class AlreadyRunning(HrmBotError):
    """Another hrm-bot holds the lock of this database."""


class MetricsError(HrmBotError):
    """The metrics page cannot be served on METRICS_PORT (the port is taken, say)."""


class TokenRejected(HrmBotError):
    """Telegram does not know the bot token (getMe answered 401 or 404); retrying cannot help.

    The message never holds the token.
    """


class WebhookRejected(HrmBotError):
    """Telegram refused WEBHOOK_URL in setWebhook (a host it cannot resolve, say); retrying
    cannot help. The message never holds the secret token."""


class CannotListen(HrmBotError):
    """Webhook mode cannot listen on WEBHOOK_LISTEN:WEBHOOK_PORT (in use, not ours)."""


class WrongEdition(FeedError):
    """The site answered with posts mostly in the other edition's language."""
