"""Webhook mode: Telegram POSTs each update to WEBHOOK_URL; a reverse proxy terminates TLS and
forwards to python-telegram-bot's own server on WEBHOOK_LISTEN:WEBHOOK_PORT."""

from __future__ import annotations

import re
import secrets
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tornado.httpserver import HTTPServer

from bot.config import Settings
from bot.errors import CannotListen

# The largest request body the server reads. Tornado's own limit is 100 MiB, held in memory,
# and the secret token is checked only after the whole body has arrived: anyone who can reach
# the port could make the bot buffer that much a request. An update is a few kilobytes (a
# message of 4096 characters with its entities and the message it answers), so 1 MiB, which
# is also nginx's default, leaves plenty of room.
MAX_BODY_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    listen: str
    port: int
    secret: str = field(repr=False)

    @property
    def route(self) -> str:
        """The path python-telegram-bot's server answers on; it takes it as a regular
        expression (and adds an optional "/" itself)."""
        return re.escape(urlsplit(self.url).path.rstrip("/"))

    def describe(self) -> str:
        """Where updates come to and where they are served; never the secret."""
        parts = urlsplit(self.url)
        return (
            f"webhook mode: Telegram sends updates to https://{parts.netloc}{parts.path or '/'}"
            f", served on {self.listen}:{self.port}"
        )


def webhook_of(settings: Settings) -> Webhook | None:
    """Webhook mode's settings, or None for long polling (WEBHOOK_URL not set)."""
    if not settings.webhook_url:
        return None
    # Without WEBHOOK_SECRET a new one each start: nothing needs it but Telegram and us, and
    # setWebhook gives it to Telegram every time.
    secret = settings.webhook_secret or secrets.token_urlsafe(32)
    return Webhook(settings.webhook_url, settings.webhook_listen, settings.webhook_port, secret)


def limit_body_size(max_bytes: int = MAX_BODY_BYTES) -> None:
    """Every tornado HTTPServer of this process refuses larger bodies with 400, before reading
    them. python-telegram-bot builds its server without a say in this; tornado's configure()
    sets the defaults its servers are built with, and the webhook's is the only one we run."""
    HTTPServer.configure(None, max_body_size=max_bytes)


def check_listen(listen: str, port: int) -> None:
    """Refuses an address we cannot listen on before Telegram is told to send updates there.

    The server itself binds only after setWebhook; this makes a port in use one line at start.
    """
    family = socket.AF_INET6 if ":" in listen else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As tornado binds, so that a port just freed by our own previous run counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((listen, port))
        except OSError as exc:
            raise CannotListen(
                f"cannot listen on {listen}:{port} (WEBHOOK_LISTEN, WEBHOOK_PORT) for "
                f"webhook mode: {exc.strerror or exc}"
            ) from None
