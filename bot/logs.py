"""Logging set-up. Privacy: nothing here may print tokens, message texts or queries."""

from __future__ import annotations

import logging


def configure(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    quiet_libraries(level)


def quiet_libraries(level: str) -> None:
    numeric = logging.getLevelName(level)
    # httpx logs every request URL at INFO, and Bot API URLs carry the bot token.
    for noisy in ("httpx", "httpcore", "apscheduler", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, numeric))
    # At DEBUG, python-telegram-bot logs whole updates and requests: users' messages.
    logging.getLogger("telegram").setLevel(max(logging.INFO, numeric))
