"""Settings from the environment and a ``.env`` file, checked once at start."""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.errors import ConfigError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True, slots=True)
class Settings:
    telegram_bot_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    site_url: str = "https://iran-hrm.com"
    # The Persian edition; "" turns it off.
    site_url_fa: str = "https://fa.iran-hrm.com"
    database_path: Path = Path("data/hrm-bot.sqlite3")
    # A poll is a probe of ids and times (about half a kilobyte) unless something changed.
    poll_interval: float = 60.0
    admin_ids: frozenset[int] = frozenset()
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one JSON object a line
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
    # Failed polls in a row of one edition before ADMIN_IDS hear of it (bot.ops.health).
    health_failures: int = 5
    # Serves Prometheus metrics on 127.0.0.1 at this port (bot.ops.metrics); None: off.
    metrics_port: int | None = None
    # Where the metrics page listens: loopback, unless a container's scraper is outside it.
    metrics_listen: str = "127.0.0.1"
    # Webhook mode when set: Telegram POSTs updates to this https URL instead of our polling.
    webhook_url: str = ""
    # The X-Telegram-Bot-Api-Secret-Token updates must carry; None: a random one each start.
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    # Where each value given came from ("the environment" or a .env path), for messages.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

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


# The bot adds "/bot{token}/{method}" itself; a root that already has it would send the token
# to the wrong path (and Telegram answers 404, which looks like a rejected token).
_API_PATH_WITH_BOT = re.compile(r"/bot(?:\d+:[^/]*)?/*$|/bot\d+:", re.I)


def _api_url(name: str, value: str) -> str:
    # Never echoed: a root pasted with "/bot<token>" in it holds the token.
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL such as https://api.telegram.org")
    if _API_PATH_WITH_BOT.search(parts.path):
        raise ConfigError(
            f"{name} must be the Bot API root only, such as https://api.telegram.org, "
            "without /bot or the token: the bot adds /bot<token>/<method> itself"
        )
    return value.strip().rstrip("/")


# The only ports Telegram sends webhooks to. Checked here, so that a wrong port is one line
# at start rather than a setWebhook refused later; the reverse proxy in front can listen on
# any of them whatever WEBHOOK_PORT is.
WEBHOOK_PORTS = (443, 80, 88, 8443)
# Unreserved URL characters, ":" and "/": the path is also the route python-telegram-bot's server
# matches, and these mean the same in a URL, in a route and in a reverse proxy's configuration.
_WEBHOOK_PATH = re.compile(r"[A-Za-z0-9._~:/-]*")


def _webhook_url(name: str, value: str) -> str:
    # Never echoed: people put the bot token in the path, as python-telegram-bot's examples do.
    example = "such as https://bot.example.org/telegram"
    parts = urlsplit(value.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(
            f"{name} must be an https URL {example}: Telegram sends webhooks over https only"
        )
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"{name} must not hold a user name or password")
    try:
        port = parts.port or 443
    except ValueError:
        raise ConfigError(f"{name} has a port that is not a number from 1 to 65535") from None
    if port not in WEBHOOK_PORTS:
        raise ConfigError(
            f"{name} must use port 443, 80, 88 or 8443, the only ones Telegram sends webhooks "
            f"to, got port {port}; WEBHOOK_PORT, where the bot itself listens, may be any"
        )
    if not _WEBHOOK_PATH.fullmatch(parts.path) or parts.fragment:
        raise ConfigError(
            f"{name} must have a path of letters, digits and . _ ~ - : / only, {example}"
        )
    return value.strip()


_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _webhook_secret(name: str, value: str) -> str:
    secret = value.strip()
    if not _SECRET.fullmatch(secret):
        # Not echoed, not even in part.
        raise ConfigError(
            f"{name} must be 1 to 256 characters of A-Z, a-z, 0-9, _ and - (what Telegram "
            "accepts as a secret token)"
        )
    return secret


def _listen(name: str, value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ConfigError(
            f"{name} must be an IP address to listen on, such as 127.0.0.1 (this machine "
            f"only), ::1 or 0.0.0.0 (every interface), got {value!r}"
        ) from None


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def _number(
    minimum: float, maximum: float, *, whole: bool = False, unit: str = ""
) -> Callable[[str, str], float]:
    kind = "a whole number" if whole else "a number"
    span = f"from {_plain(minimum)} to {_plain(maximum)}{unit}"

    def check(name: str, value: str) -> float:
        try:
            number = int(value.strip()) if whole else float(value.strip())
        except ValueError:
            raise ConfigError(f"{name} must be {kind} {span}, got {value!r}") from None
        # float() accepts nan and inf: nan compares false with everything, so it would pass
        # a range check and then stop the poll loop for good.
        if not math.isfinite(number) or not minimum <= number <= maximum:
            raise ConfigError(f"{name} must be {kind} {span}, got {value!r}")
        return number

    return check


_TOKEN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{1,200}")


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


def _log_format(name: str, value: str) -> str:
    form = value.strip().lower()
    if form not in ("text", "json"):
        raise ConfigError(f"{name} must be text or json, got {value!r}")
    return form


def _token(name: str, value: str) -> str | None:
    token = value.strip()
    if token and not _TOKEN.fullmatch(token):
        # Not echoed, not even in part: it may be a real token with a typo.
        raise ConfigError(
            f"{name} does not look like a token from @BotFather (digits, a colon, then "
            "letters, digits, - or _, with no spaces or quotes)"
        )
    return token or None


def _path(name: str, value: str) -> Path:
    if not value.strip():
        raise ConfigError(f"{name} must be a file path, got an empty value")
    return Path(value.strip()).expanduser()


DAY = 86_400  # seconds: no wait or interval of ours needs more
SECONDS = " (seconds)"

PARSERS: dict[str, Callable[[str, str], Any]] = {
    "telegram_bot_token": _token,
    "telegram_api_url": _api_url,
    "site_url": _url,
    "site_url_fa": _url,
    "database_path": _path,
    "poll_interval": _number(1, DAY, unit=SECONDS),
    "admin_ids": _ids,
    "log_level": _level,
    "log_format": _log_format,
    "fetch_timeout": _number(0.01, 3600, unit=SECONDS),
    "max_response_bytes": _number(1024, 1 << 30, whole=True, unit=" (bytes)"),
    "send_rate": _number(0.1, 1000, unit=" (messages a second)"),
    "private_chat_interval": _number(0, 3600, unit=SECONDS),
    "group_messages_per_minute": _number(1, 1000, whole=True),
    "send_max_attempts": _number(1, 100, whole=True),
    "send_retry_base": _number(0, DAY, unit=SECONDS),
    "send_retry_max": _number(0, DAY, unit=SECONDS),
    "search_per_minute": _number(1, 10_000, whole=True),
    "inline_per_minute": _number(1, 10_000, whole=True),
    "health_failures": _number(1, 1000, whole=True),
    "metrics_port": _number(1, 65535, whole=True),
    "metrics_listen": _listen,
    "webhook_url": _webhook_url,
    "webhook_secret": _webhook_secret,
    "webhook_listen": _listen,
    "webhook_port": _number(1, 65535, whole=True),
}
KNOWN = frozenset(name.upper() for name in PARSERS)
# Settings whose empty value means "off" rather than "the default".
OPTIONAL = frozenset({"SITE_URL_FA"})


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
    environ: Mapping[str, str] | None = None,
    dotenv: Path | None = Path(".env"),
    warn: Callable[[str], None] | None = None,
) -> Settings:
    """Settings from ``environ`` (the process environment by default) over the ``.env`` file.

    An empty value counts as not set, wherever it is: ``TELEGRAM_BOT_TOKEN= hrm-bot run`` must
    not hide the token in ``.env``. ``warn`` hears of keys in ``.env`` that look like ours
    but are not (``SITE_URLL``, ``site_url``).
    """
    from_file = read_dotenv(dotenv) if dotenv is not None else {}
    environ = os.environ if environ is None else environ
    if warn is not None and dotenv is not None:
        for key in unknown_keys(from_file):
            warn(key)
    kwargs: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for f in fields(Settings):
        name = f.name.upper()
        if f.name not in PARSERS:
            continue
        for source, values in (("the environment", environ), (str(dotenv), from_file)):
            value = values.get(name, "")
            if name in OPTIONAL and name in values and value.strip().lower() in ("", "off"):
                # Set, but empty or "off": this one is switched off rather than defaulted.
                kwargs[f.name] = ""
                sources[name] = source
                break
            if value.strip():
                try:
                    kwargs[f.name] = PARSERS[f.name](name, value)
                except ConfigError as exc:
                    raise ConfigError(f"{exc} (set in {source})") from None
                sources[name] = source
                break
    return Settings(**kwargs, sources=sources)


def unknown_keys(values: Mapping[str, str]) -> list[str]:
    """Warnings for keys that are not ours but look like a misspelling of one of ours."""
    out = []
    for key in values:
        if key in KNOWN:
            continue
        if key.upper() in KNOWN:
            out.append(f"{key} is not read: names are upper-case ({key.upper()})")
            continue
        near = difflib.get_close_matches(key.upper(), KNOWN, n=1, cutoff=0.85)
        if near:
            out.append(f"{key} is not a setting of hrm-bot; did you mean {near[0]}?")
    return out
