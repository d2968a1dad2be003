"""The editions the bot follows: the English site and the Persian one, each a WordPress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.config import Settings
from bot.errors import ConfigError

KEYS = ("en", "fa")


@dataclass(frozen=True, slots=True)
class Edition:
    key: str  # "en" | "fa": what users type (fa:اعدام, edition:fa) and callbacks carry
    url: str
    language: str  # the language its reports are written in

    @property
    def site(self) -> str:
        """The edition's key in the store: its host (and port, when it has one)."""
        return site_key(self.url)


def site_key(url: str) -> str:
    return urlsplit(url).netloc.lower()


def editions(settings: Settings) -> tuple[Edition, ...]:
    """English always; Persian unless SITE_URL_FA is switched off."""
    out = [Edition("en", settings.site_url, "en")]
    if settings.site_url_fa:
        if site_key(settings.site_url_fa) == site_key(settings.site_url):
            raise ConfigError(
                "SITE_URL and SITE_URL_FA must be two different sites (both are "
                f"{site_key(settings.site_url)})"
            )
        out.append(Edition("fa", settings.site_url_fa, "fa"))
    return tuple(out)


def pick(all_editions: Sequence[Edition], key: str | None) -> tuple[Edition, ...]:
    """The edition named ``key``, or all of them for None; ConfigError for an unknown key."""
    if key is None:
        return tuple(all_editions)
    found = tuple(e for e in all_editions if e.key == key)
    if not found:
        known = ", ".join(e.key for e in all_editions)
        raise ConfigError(f"no edition {key!r} is followed (followed: {known})")
    return found
