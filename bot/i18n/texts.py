"""Every user-facing text, in one catalog.

Texts are plain English message ids for gettext: a translation is a ``.po`` file,
``bot/i18n/locale/<lang>/LC_MESSAGES/hrm-bot.po``, read as it is (no compiled ``.mo`` to go
stale), not a code change; ``make messages`` extracts the texts marked ``N_`` into
``bot/i18n/locale/hrm-bot.pot``. They are plain text, not HTML: the renderer escapes them and adds
the markup, so a text may say ``/search <words>`` safely.
"""

from __future__ import annotations

import gettext
import io
import logging
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.i18n import calendar

DOMAIN = "hrm-bot"
LOCALE_DIR = Path(__file__).parent / "locale"

log = logging.getLogger(__name__)

# Telegram sends an IETF tag (``fa``, ``pt-br``); its first part names the catalog's folder,
# and nothing else may, since it comes from the user's client and becomes part of a path.
_LANGUAGE = re.compile(r"[a-z]{2,3}")


def N_(text: str) -> str:
    """Marks a catalog text for extraction; translated when used, through ``tr``."""
    return text


def _fields(text: str) -> set[str] | None:
    """The ``{placeholders}`` of a text, or None when ``str.format`` would refuse it."""
    try:
        return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError:
        return None


def _drop_bad_placeholders(catalog: Catalog) -> list[str]:
    """Empties translations that name a placeholder the English text does not have.

    ``.format(name=...)`` on such a text raises in the middle of a reply; an empty translation
    is not used, so that one text stays English.
    """
    dropped: list[str] = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        # Plural entries hold tuples (or lists) of texts.
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        texts = [message.string] if isinstance(message.string, str) else list(message.string)
        allowed = set().union(*(_fields(i) or set() for i in ids))
        used = [_fields(t) for t in texts if t]
        if any(fields is None or not fields <= allowed for fields in used):
            message.string = ""  # left out of the compiled catalog, plural or not
            dropped.append(ids[0])
    return dropped


@lru_cache(maxsize=32)
def _translation(language: str, locale_dir: Path) -> gettext.NullTranslations:
    if not _LANGUAGE.fullmatch(language):
        return gettext.NullTranslations()
    path = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return gettext.NullTranslations()
    try:
        with path.open("rb") as po:
            catalog = read_po(po, abort_invalid=True)
        dropped = _drop_bad_placeholders(catalog)
        mo = io.BytesIO()
        # Fuzzy and untranslated entries are left out: those texts stay English.
        write_mo(mo, catalog)
        mo.seek(0)
        translation = gettext.GNUTranslations(mo)
    # Whatever is wrong with a translator's file (syntax, encoding, headers), the bot answers
    # in English rather than not at all.
    except Exception as exc:
        log.warning("%s is not used, English instead: %s", path, exc)
        return gettext.NullTranslations()
    if dropped:
        log.warning(
            "%s: %d texts stay English, their translations have unknown placeholders: %r",
            path,
            len(dropped),
            dropped[0],
        )
    return translation


@dataclass(frozen=True, slots=True)
class Translator:
    """A chat's gettext function, ``_("text")``, that also writes numbers and dates as the
    texts' language does: ``_.number(12345)`` is ``۱۲٬۳۴۵`` and ``_.date(dt)`` is
    ``۱۰ آذر ۱۴۰۵`` in Persian, ``12345`` and ``2026-12-01`` in English.

    Still a ``Callable[[str], str]``, so code that only translates need not know it.
    """

    language: str
    gettext: Callable[[str], str]

    def __call__(self, message: str) -> str:
        return self.gettext(message)

    def number(self, n: int) -> str:
        return calendar.localize_number(n, self.language)

    def date(self, when: datetime) -> str:
        return calendar.format_date(when, self.language)

    def clock(self, minutes: int) -> str:
        """A time of day given in minutes after midnight: ``20:30``, ``۲۰:۳۰`` in Persian."""
        text = f"{minutes // 60:02d}:{minutes % 60:02d}"
        return calendar.persian_digits(text) if calendar.is_persian(self.language) else text

    def quote(self, text: str) -> str:
        """A phrase in quotes: «Persian guillemets», “English quotes”."""
        return f"«{text}»" if calendar.is_persian(self.language) else f"“{text}”"

    def join(self, items: Iterable[str]) -> str:
        """Names listed in a sentence: ``a, b``; Persian separates them with its own comma."""
        # The RLM keeps the comma between two Latin names on the right-to-left side.
        return ("\u200f، " if calendar.is_persian(self.language) else ", ").join(items)


def tr(language: str | None, locale_dir: Path | None = None) -> Translator:
    """The gettext function for a language (English when it has no catalog).

    Each catalog is read once. ``locale_dir`` is for tests; by default ``LOCALE_DIR``.
    """
    primary = (language or "en").split("-")[0].lower()
    translation = _translation(primary, locale_dir or LOCALE_DIR)
    # Numbers and dates follow the texts: a Persian date in an English sentence (no catalog,
    # or a broken one) would be neither language.
    found = primary if isinstance(translation, gettext.GNUTranslations) else "en"
    return Translator(found, translation.gettext)


# -- /start and /help ------------------------------------------------------------------------
START = N_(
    "This bot brings you the reports of Iran Human Rights Monitor (iran-hrm.com) as soon as "
    "they are published, in the categories you choose. Each report comes as one message "
    "with its title, date and a summary you can read even where the site is blocked."
)
START_PICK = N_("Choose below what this chat follows, or send /help to see every command.")
HELP_TITLE = N_("What this bot can do")
HELP_EXAMPLE = N_("Example: {example}")
HELP_FOOTER = N_(
    "In groups, only administrators can change what the group follows and how. The bot keeps "
    "only this chat's id, type, language, subscriptions, watched phrases, settings and "
    "delivery state. Watched phrases are kept only to match new reports: they are never "
    "written to the bot's logs or shown in its figures. /forget deletes all of it."
)

# (command, arguments, what it does, example); arguments and examples are shown as code.
COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    ("start", "", N_("what this bot does, and the category picker"), "/start"),
    ("help", "", N_("this list"), "/help"),
    ("subscribe", N_("[category ...]"),
     N_("follow categories; without a name, a picker; 'all' follows every report"),
     "/subscribe executions women"),
    ("unsubscribe", N_("category ... | all"), N_("stop following categories"),
     "/unsubscribe women"),
    ("mysubs", "", N_("what this chat follows"), "/mysubs"),
    ("categories", "", N_("every category with its short name (slug)"), "/categories"),
    ("latest", N_("[category]"), N_("the newest reports, of all or of one category"),
     "/latest executions"),
    ("search", N_("<words>"), N_("search every report; see the search help below"),
     "/search Evin hunger strike"),
    ("watch", N_("[phrase]"),
     N_("alerts of every new report that mentions a name or a place, in any category; "
        "alone, the phrases watched"),
     '/watch "Narges Mohammadi"'),
    ("unwatch", N_("phrase | all"), N_("stop watching a phrase"), "/unwatch Evin"),
    ("settings", "", N_("this chat's language, discreet mode, quiet hours and digest"),
     "/settings"),
    ("discreet", N_("on | off"),
     N_("alerts arrive silently and protected, opening with “New report”, not the title"),
     "/discreet on"),
    ("quiet", N_("HH:MM-HH:MM [Area/City] | off"),
     N_("alerts in these hours arrive without a sound"), "/quiet 23:00-07:00"),
    ("digest", N_("HH:MM [Area/City] | off"),
     N_("one message a day, at this time, instead of one per report"), "/digest 20:00"),
    ("language", N_("[en | fa]"), N_("the language of this chat: English or Persian"),
     "/language fa"),
    ("forget", "", N_("delete everything the bot keeps about this chat"), "/forget"),
    ("stats", "", N_("figures for the bot's administrators"), "/stats"),
)  # fmt: skip
# Short descriptions for Telegram's command menu (setMyCommands), at most 256 characters.
MENU: tuple[tuple[str, str], ...] = (
    ("start", N_("What this bot does; choose categories")),
    ("subscribe", N_("Follow categories")),
    ("unsubscribe", N_("Stop following categories")),
    ("mysubs", N_("What this chat follows")),
    ("latest", N_("The newest reports")),
    ("search", N_("Search every report")),
    ("categories", N_("All categories")),
    ("watch", N_("Alerts for a name or a place")),
    ("settings", N_("Discreet mode, quiet hours, daily digest")),
    ("language", N_("English or Persian")),
    ("forget", N_("Delete what the bot keeps about this chat")),
    ("help", N_("Every command, with examples")),
)

# -- subscriptions ----------------------------------------------------------------------------
PICKER = N_(
    "Tap a category to follow it; tap again to stop. A category includes its sub-categories."
)
PICKER_BRANCH = N_("{category} and its sub-categories. Tap to follow or stop following.")
BUTTON_ALL = N_("All reports")
BUTTON_OPEN = N_("{category} ›")
BUTTON_BACK = N_("‹ All categories")
BUTTON_DONE = N_("Done")
PICKER_DONE = N_("Saved. This chat follows: {names}.")
PICKER_DONE_NONE = N_("Saved. This chat follows nothing yet.")
TOAST_FOLLOW = N_("Following {category}")
TOAST_UNFOLLOW = N_("No longer following {category}")
SUBSCRIBED = N_("Now following: {names}.")
ALREADY_SUBSCRIBED = N_("Already following: {names}.")
UNSUBSCRIBED = N_("Stopped following: {names}.")
NOT_SUBSCRIBED = N_("This chat was not following: {names}.")
UNSUBSCRIBE_USAGE = N_("Name what to stop following, for example /unsubscribe women, or 'all'.")
UNSUBSCRIBED_ALL = N_("This chat follows nothing any more.")
UNKNOWN_CATEGORY = N_("There is no category called “{name}”.")
DID_YOU_MEAN = N_("Did you mean: {names}?")
SEE_CATEGORIES = N_("Send /categories to see them all.")
AMBIGUOUS_CATEGORY = N_("“{name}” is the name of more than one category: {labels}. Use the slug.")
ALL_REPORTS = N_("all reports")
MYSUBS_NONE = N_("This chat follows nothing yet. Send /subscribe to choose categories.")
MYSUBS = N_("This chat follows:")
CATEGORIES = N_("Categories, with the slug to use in commands:")
EDITION_EN = N_("English edition (iran-hrm.com)")
EDITION_FA = N_("Persian edition (fa.iran-hrm.com)")
ALL_REPORTS_OF = N_("all reports of the {edition}")
BUTTON_EDITION = N_("Switch to the {edition} ›")
WHICH_EDITION = N_("“{name}” is a category of both editions. Which one should this chat follow?")
EDITION_PREFIX_HINT = N_("Put fa: or en: before a name to choose the edition: /subscribe fa:all")
NO_CATEGORIES = N_("The category list is not loaded yet. Try again in a minute.")

# -- language -------------------------------------------------------------------------------
LANGUAGE_PROMPT = N_("Choose the language this chat's messages are written in.")
LANGUAGE_SET = N_("This chat's messages will now be in English.")
LANGUAGE_USAGE = N_("Send /language en for English or /language fa for Persian.")

# -- channels ---------------------------------------------------------------------------------
CHANNEL_NOT_FOUND = N_(
    "The bot cannot see a channel {name}. Add the bot to the channel as an administrator "
    "with the right to post, then name the channel by its @username or its id (-100…)."
)
CHANNEL_NOT_A_CHANNEL = N_(
    "{name} is not a channel. For a group, send the command in the group itself."
)
CHANNEL_NOT_ADMIN = N_(
    "Only the administrators of {name} can change what it receives, and you are not one of "
    "them. Nothing was changed."
)
CHANNEL_BOT_CANNOT_POST = N_(
    "The bot may not post in {name}: make it an administrator of the channel with the right "
    "to post messages, then try again. Nothing was changed."
)

CHANNEL_ADMINS_ONLY = N_("Only the channel's administrators can change what it receives.")
HELP_CHANNELS = N_(
    "For a channel: make the bot an administrator with the right to post, then post these "
    "commands in the channel, or send them here with the channel first: "
    "/subscribe @channel executions."
)

# -- watched phrases --------------------------------------------------------------------------
WATCH_USAGE = N_(
    "Send /watch and a name or a place, for example /watch Narges Mohammadi: this chat then "
    "gets every new report that mentions it, in any category and either edition. A name is "
    "matched as it is written: to find it in both editions, watch it in English and in Persian."
)
WATCH_LIST = N_("This chat watches these phrases. Tap one to stop watching it.")
WATCH_NONE = N_("This chat watches no phrase yet.")
WATCH_ADDED = N_(
    "Now watching “{phrase}”: every new report that mentions it will come to this chat."
)
WATCH_ALREADY = N_("This chat already watches “{phrase}”.")
WATCH_TOO_SHORT = N_("A phrase needs at least {min} letters or digits.")
WATCH_TOO_LONG = N_("That phrase is too long: at most {max} characters, please.")
WATCH_NO_WORDS = N_("There is no word to watch in that. Send a name or a place.")
WATCH_ONE = N_("One phrase at a time, please: send /watch again for each.")
WATCH_STOP_WORDS = N_("“{phrase}” is in nearly every report. Add a name or a place to it.")
WATCH_LIMIT = N_("This chat watches {max} phrases, the most it can. Remove one with /unwatch.")
UNWATCH_USAGE = N_("Name the phrase to stop watching, for example /unwatch Evin, or 'all'.")
UNWATCHED = N_("No longer watching “{phrase}”.")
UNWATCHED_ALL = N_("This chat watches no phrase any more.")
NOT_WATCHED = N_("This chat does not watch “{phrase}”.")
TOAST_UNWATCHED = N_("No longer watching “{phrase}”")

# -- settings ---------------------------------------------------------------------------------
SETTINGS_TITLE = N_("Settings of this chat")
SETTINGS_LANGUAGE = N_("Language: {value}")
SETTINGS_DISCREET = N_("Discreet alerts: {value}")
SETTINGS_QUIET = N_("Quiet hours: {value}")
SETTINGS_DIGEST = N_("Daily digest: {value}")
SETTINGS_ZONE = N_("Time zone: {zone}")
SETTINGS_HINT = N_("Tap a button to change a setting.")
LANGUAGE_NAME = N_("English")
ON = N_("on")
OFF = N_("off")
WINDOW = N_("{start} to {end}")
AT_TIME = N_("at {time}")
BUTTON_LANGUAGE = N_("Language: English")
BUTTON_DISCREET_ON = N_("Discreet alerts: turn on")
BUTTON_DISCREET_OFF = N_("Discreet alerts: turn off")
BUTTON_QUIET = N_("Quiet hours ›")
BUTTON_DIGEST = N_("Daily digest ›")
BUTTON_TURN_OFF = N_("Off")
BUTTON_SETTINGS_BACK = N_("‹ Settings")
QUIET_PICK = N_(
    "Alerts in the quiet hours arrive without a sound. Pick hours, or send /quiet with your "
    "own, for example /quiet 22:30-06:30 Europe/Berlin."
)
DIGEST_PICK = N_(
    "With a daily digest, this chat gets one message a day listing the day's reports instead "
    "of one message per report. Pick a time, or send /digest with your own, for example "
    "/digest 21:30 Europe/London."
)
DISCREET_ON = N_(
    "Discreet alerts are on: they arrive without a sound, cannot be forwarded or saved, and "
    "open with “New report”, so that neither the title nor a category shows on the lock "
    "screen or in the chat list."
)
DISCREET_OFF = N_("Discreet alerts are off: alerts open with the report's title again.")
DISCREET_USAGE = N_("Send /discreet on or /discreet off. Now: {value}.")
QUIET_SET = N_("Quiet hours: {start} to {end} ({zone}). Alerts in these hours arrive silently.")
QUIET_OFF = N_("Quiet hours are off.")
QUIET_USAGE = N_(
    "Send the hours as HH:MM-HH:MM, and a time zone if it is not Iran's, for example "
    "/quiet 23:00-07:00 or /quiet 22:30-06:30 Europe/Berlin; /quiet off turns them off."
)
DIGEST_SET = N_(
    "Daily digest at {time} ({zone}): alerts wait for it and come as one message a day."
)
DIGEST_OFF = N_("The daily digest is off: each report comes as its own alert again.")
DIGEST_USAGE = N_(
    "Send a time as HH:MM, and a time zone if it is not Iran's, for example /digest 20:00 or "
    "/digest 08:30 Europe/London; /digest off turns it off."
)
ZONE_MOVES_DIGEST = N_("The daily digest follows this time zone too: at {time} ({zone}).")
ZONE_MOVES_QUIET = N_("The quiet hours follow this time zone too: {start} to {end} ({zone}).")
BUTTON_ZONE_DEFAULT = N_("Time zone: back to Asia/Tehran")
UNKNOWN_ZONE = N_(
    "There is no time zone “{zone}”. Use an Area/City name such as Asia/Tehran, "
    "Europe/Berlin or America/Toronto."
)

# -- alerts and digests -----------------------------------------------------------------------
ALERT_NEW_REPORT = N_("New report")
ALERT_UPDATED = N_("Updated")
ALERT_WATCHED = N_("Watched: {phrases}")
DIGEST_TITLE = N_("Daily digest, {day}. Reports: {count}")
DIGEST_OTHER = N_("Other reports")

# -- posts ------------------------------------------------------------------------------------
LATEST = N_("The newest reports:")
LATEST_IN = N_("The newest reports in {category}:")
LATEST_NONE = N_("No reports are stored yet.")
READ_MORE = N_("Read the full report")
UNDATED = N_("undated")

# -- privacy ----------------------------------------------------------------------------------
FORGET_CONFIRM = N_(
    "This deletes everything the bot keeps about this chat: what it follows, the phrases it "
    "watches, its settings and the alerts waiting to be sent. Delete it?"
)
BUTTON_FORGET = N_("Delete")
BUTTON_CANCEL = N_("Cancel")
FORGOTTEN = N_("Deleted. The bot keeps nothing about this chat now. Send /start to begin again.")
FORGET_CANCELLED = N_("Nothing was deleted.")

# -- admin ------------------------------------------------------------------------------------
STATS_TITLE = N_("Statistics")
STATS_POSTS = N_("Posts stored: {n}")
STATS_CHATS = N_("Chats: {n} active, {inactive} inactive")
STATS_CHAT_KINDS = N_("Active: {private} private chats, {groups} groups, {channels} channels")
STATS_SUBS = N_("Subscriptions by category:")
STATS_DELIVERIES = N_("Alerts: {pending} pending, {failed} failed, {sent} sent")
STATS_LAST_POLL = N_("Last poll: {when}, {result}")
STATS_NEVER = N_("Last poll: never")
ADMINS_ONLY = N_("This command is for the bot's administrators.")

# -- refusals and hints -----------------------------------------------------------------------
GROUP_ADMINS_ONLY = N_(
    "Only the group's administrators can change what this group follows and how."
)
UNKNOWN_COMMAND = N_("I don't know that command. Send /help to see what I can do.")
NOT_TEXT = N_("I only understand text commands. Send /help to see them.")
TOO_LONG = N_("That is too long for a command. Send /help to see how commands look.")
PLAIN_TEXT = N_("Send /help to see what I can do.")
STALE_BUTTON = N_("This button is out of date. Send the command again.")
SOMETHING_WRONG = N_("Something went wrong on our side. Please try again later.")

# -- search -----------------------------------------------------------------------------------
SEARCH_USAGE = N_("Search every report of the archive, in English or Persian:")
SEARCH_SYNTAX: tuple[tuple[str, str], ...] = (
    ("/search Evin hunger strike", N_("reports with all of these words")),
    ('/search "death row"', N_("the exact phrase")),
    ("/search execution -drug", N_("without a word")),
    ("/search execut*", N_("words that start so")),
    ("/search women category:executions", N_("in a category and its sub-categories")),
    ("/search Evin since:2024-01 until:2024-06", N_("published in that period")),
    ("/search اعدام قزل‌حصار", N_("Persian, however it is typed")),
)  # fmt: skip
INLINE_HINT = N_("In any chat, type @{bot} and a few words to find a report and share it.")
SEARCH_TOO_LONG = N_("That search is too long: at most {limit} characters, please.")
SEARCH_NO_TERMS = N_("There is nothing to search for in that. Try some words:")
SEARCH_RESULTS = N_("Reports {first}–{last} for: {query}")
SEARCH_NONE = N_("No report matches: {query}")
SEARCH_UNKNOWN_CATEGORY = N_("There is no category “{name}”; send /categories to see them.")
SEARCH_IGNORED = N_("Not understood, searched as words: {filters}")
SEARCH_SLOW_DOWN = N_("That is a lot of searches. Please wait {seconds} seconds and try again.")
SEARCH_EXPIRED = N_("This search has expired. Send it again.")
BUTTON_PREVIOUS = N_("‹ Previous")
BUTTON_NEXT = N_("Next ›")
INLINE_NONE = N_("No report found. Open the bot")
INLINE_SLOW_DOWN = N_("Too many searches. Wait a moment")
INLINE_REFUSED = N_("Search help")

# -- health alerts, for the operators (ADMIN_IDS) --------------------------------------------
HEALTH_OUTAGE = N_(
    "Health alert: polls of the {edition} have failed {count} times in a row, since {since}. "
    "The failure: {kind}. Alerts of its new reports will go out once a poll succeeds."
)
HEALTH_RECOVERED = N_(
    "Recovered: polls of the {edition} succeed again. The outage began at {since} and lasted "
    "{duration}."
)
HEALTH_DELIVERIES = N_(
    "Health alert: {count} alerts ended as failed in the last hour (chats that blocked the "
    "bot are not counted). The most common error: {error}"
)
HEALTH_SILENCE = N_(
    "Health alert: the {edition} usually has new reports every day, but none has come since "
    "{since}, though its polls succeed. Its feed may be stuck on old content, or a cache in "
    "front of the site may serve an old copy."
)
HEALTH_TIME = N_("{date} {time} UTC")
HEALTH_LESS_THAN_A_MINUTE = N_("less than a minute")
HEALTH_MINUTES = N_("{minutes} min")
HEALTH_HOURS = N_("{hours} h {minutes} min")
HEALTH_DAYS = N_("{days} d {hours} h")
HEALTH_KIND_TIMEOUT = N_("a time-out, the site did not answer in time")
HEALTH_KIND_HTTP = N_("HTTP status {status}")
HEALTH_KIND_CONNECTION = N_("no connection to the site (network, DNS or a refused connection)")
HEALTH_KIND_NOT_FEED = N_("not a feed: the site answers with something else, such as a page")
HEALTH_KIND_TOO_LARGE = N_("an answer larger than MAX_RESPONSE_BYTES")
HEALTH_KIND_REDIRECT = N_("a redirect to another host")
HEALTH_KIND_WRONG_EDITION = N_("the other edition's reports at this address")
HEALTH_KIND_INTERNAL = N_("an error inside the bot (see its log)")
HEALTH_KIND_OTHER = N_("another error (see the bot's log)")
