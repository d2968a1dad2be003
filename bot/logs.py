"""Logging set-up. Privacy: nothing here may print tokens, message texts or queries."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

MASK = "<token>"


class Redactor:
    """Replaces secrets (the bot token and its secret part) wherever they appear in text.

    Libraries put the token in exception messages (python-telegram-bot's InvalidToken) and
    in URLs (httpx), so one pass over every formatted line is the only safe place.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: tuple[str, ...] = ()
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        found = set(self.secrets)
        for secret in secrets:
            if not secret:
                continue
            found.add(secret)
            # "123456:ABC..." : the part after the colon is what makes it secret, and it may
            # appear alone (URL-quoted, or cut from the bot id).
            _, colon, tail = secret.partition(":")
            if colon and len(tail) >= 4:
                found.add(tail)
        # Longest first, so the whole token is masked before its tail alone.
        self.secrets = tuple(sorted(found, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


REDACT = Redactor()


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, redact: Redactor) -> None:
        super().__init__(fmt)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        # The whole line, traceback included, after formatting: arguments and exception
        # texts are where libraries put the token.
        return self.redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for hosts that ship logs: time (UTC), level, logger, message,
    and the traceback as one field. The same lines as the text format, redacted alike."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        # Redacted after serializing: JSON escaping never splits a token (digits, letters,
        # ':', '-', '_'), and the whole line is then covered at once.
        return self.redact(json.dumps(entry, ensure_ascii=False))


class WithholdUpdates(logging.Filter):
    """python-telegram-bot's webhook server logs an update it cannot read, whole, at CRITICAL:
    someone's message. The line and its traceback stay; the update goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and "Received data was" in str(record.msg):
            record.msg = (
                "an update received on the webhook could not be read and was refused (400); "
                "its data is not logged"
            )
            record.args = ()
        return True


WITHHOLD_UPDATES = WithholdUpdates()


def configure(level: str, secrets: Iterable[str] = (), *, json_lines: bool = False) -> None:
    REDACT.add(*secrets)
    logging.basicConfig(level=level, force=True)
    formatter: logging.Formatter = (
        JsonFormatter(REDACT)
        if json_lines
        else RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", REDACT)
    )
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)
    quiet_libraries(level)


def quiet_libraries(level: str) -> None:
    numeric = logging.getLevelName(level)
    # httpx logs every request URL at INFO, and Bot API URLs carry the bot token.
    for noisy in ("httpx", "httpcore", "apscheduler", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, numeric))
    # At DEBUG, python-telegram-bot logs whole updates and requests: users' messages.
    logging.getLogger("telegram").setLevel(max(logging.INFO, numeric))
    # Its one error is "invalid JSON" with a proxy's whole error page and a traceback; the
    # same failure reaches the caller as NetworkError, which logs it in one line.
    logging.getLogger("telegram.request").setLevel(logging.CRITICAL)
    # The webhook server's logger (telegram/ext/_utils/webhookhandler.py).
    logging.getLogger("telegram.ext.Updater").addFilter(WITHHOLD_UPDATES)
