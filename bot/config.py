"""Settings from the environment and a ``.env`` file, checked once at start."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from bot.errors import ConfigError

T = TypeVar("T")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True, slots=True)
class Settings:
    telegram_bot_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    site_url: str = "https://iran-hrm.com"
    database_path: Path = Path("data/hrm-bot.sqlite3")
    poll_interval: float = 300.0
    admin_ids: frozenset[int] = frozenset()
    log_level: str = "INFO"
    fetch_timeout: float = 20.0
    max_response_bytes: int = 10 * 1024 * 1024
    # Delivery pace and retries (Telegram: ~30 messages/s in all, 1/s per chat, 20/min a group).
    send_rate: float = 28.0
    private_chat_interval: float = 1.0
    group_messages_per_minute: int = 20
    send_max_attempts: int = 5
    send_retry_base: float = 5.0
    send_retry_max: float = 600.0
    # Searches a user may make in a minute, so the archive cannot be scraped through the bot.
    search_per_minute: int = 20
    inline_per_minute: int = 60

    @property
    def site(self) -> str:
        """The site's key in the store: its host (and port, when it has one)."""
        return urlsplit(self.site_url).netloc.lower()


def _url(name: str, value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{name} must be an http(s) URL such as https://example.org, got {value!r}"
        )
    return value.strip().rstrip("/")


def _number(minimum: float, cast: Callable[[str], T]) -> Callable[[str, str], T]:
    def check(name: str, value: str) -> T:
        try:
            number = cast(value.strip())
        except ValueError:
            raise ConfigError(
                f"{name} must be a number of at least {minimum}, got {value!r}"
            ) from None
        if number < minimum:  # type: ignore[operator]
            raise ConfigError(f"{name} must be a number of at least {minimum}, got {value!r}")
        return number

    return check


def _ids(name: str, value: str) -> frozenset[int]:
    out: set[int] = set()
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.add(int(part))
        except ValueError:
            raise ConfigError(
                f"{name} must be comma-separated Telegram user ids such as 12345,67890, "
                f"got {value!r}"
            ) from None
    return frozenset(out)


def _level(name: str, value: str) -> str:
    level = value.strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{name} must be one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return level


def _token(name: str, value: str) -> str | None:
    return value.strip() or None


def _path(name: str, value: str) -> Path:
    if not value.strip():
        raise ConfigError(f"{name} must be a file path, got an empty value")
    return Path(value.strip()).expanduser()


PARSERS: dict[str, Callable[[str, str], Any]] = {
    "telegram_bot_token": _token,
    "telegram_api_url": _url,
    "site_url": _url,
    "database_path": _path,
    "poll_interval": _number(1, float),
    "admin_ids": _ids,
    "log_level": _level,
    "fetch_timeout": _number(0.01, float),
    "max_response_bytes": _number(1024, int),
    "send_rate": _number(0.1, float),
    "private_chat_interval": _number(0, float),
    "group_messages_per_minute": _number(1, int),
    "send_max_attempts": _number(1, int),
    "send_retry_base": _number(0, float),
    "send_retry_max": _number(0, float),
    "search_per_minute": _number(1, int),
    "inline_per_minute": _number(1, int),
}


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; ``#`` comments, ``export`` and matching quotes are allowed."""
    out: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return out
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            # The line itself is not echoed: it may hold the token.
            raise ConfigError(f"{path}:{number} must be KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        out[key.strip()] = value
    return out


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
) -> Settings:
    """Settings from ``environ`` (the process environment by default) over the ``.env`` file."""
    values: dict[str, str] = read_dotenv(dotenv) if dotenv is not None else {}
    values.update(os.environ if environ is None else environ)
    kwargs: dict[str, Any] = {}
    for f in fields(Settings):
        name = f.name.upper()
        # An empty value means "use the default", as .env.example leaves optional ones blank.
        if values.get(name, "").strip():
            kwargs[f.name] = PARSERS[f.name](name, values[name])
    return Settings(**kwargs)
