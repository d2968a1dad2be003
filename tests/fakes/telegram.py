"""A strict fake of the Telegram Bot API for tests.

Standard library only: a ``ThreadingHTTPServer`` on 127.0.0.1 (random port) in a daemon
thread, so the bot under test can run in the test process (asyncio) or as a subprocess.
Point python-telegram-bot at it with ``base_url=f"{fake.url}/bot"``.

The fake answers the way Telegram does (status codes, ``{"ok": false, "error_code": ...,
"description": ..., "parameters": ...}`` bodies, error texts) and validates what the bot sends
(HTML parse mode, inline keyboards, lengths, answered queries, "message is not modified" ...),
so a test that passes against it is unlikely to fail against the real API for those reasons.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import re
import socket
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

JSONDict = dict[str, Any]

# Fields that Telegram declares as String: form values stay as sent (never JSON-decoded), so a
# text "123" stays the string "123". Every other form field is JSON-decoded when it parses.
STRING_FIELDS = frozenset(
    {
        "text",
        "parse_mode",
        "callback_query_id",
        "inline_query_id",
        "next_offset",
        "url",
        "caption",
        "title",
        "description",
        "short_description",
        "name",
        "language_code",
        "action",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "emoji",
        "query",
        "data",
        "custom_title",
        "switch_pm_text",
        "switch_pm_parameter",
        "secret_token",
        "ip_address",
        "sticker",
        "photo",
        "document",
        "question",
    }
)

UTF16 = "utf-16-le"
MAX_MESSAGE_LEN = 4096
MAX_CALLBACK_ANSWER_LEN = 200

_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPECIAL = re.compile(r"[&<]")
_NAMED_ENTITY_RE = re.compile(r"&([A-Za-z]+);")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_START_PARAM_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "login_url",
    "web_app",
    "callback_game",
    "pay",
    "copy_text",
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_FAULT_DESCRIPTIONS = {
    400: "Bad Request: injected error",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
}


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts in."""
    if text.isascii():
        return len(text)
    return len(text.encode(UTF16, "surrogatepass")) // 2


# --------------------------------------------------------------------------------------------
# Records


@dataclasses.dataclass(frozen=True)
class Call:
    """One HTTP request the fake received (every request, successful or not)."""

    method: str
    params: JSONDict
    response: JSONDict
    at: float  # time.monotonic() when the request arrived
    status: int = 200

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")


@dataclasses.dataclass
class Chat:
    id: int
    type: str  # "private" | "group" | "supergroup"
    title: str | None = None
    first_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    known: bool = False  # "wrote to the bot": the bot may send to it
    blocked: bool = False  # private: the user blocked the bot
    kicked: bool = False  # group: the bot was removed
    migrated_to: int | None = None
    creator: int | None = None
    members: dict[int, str] = dataclasses.field(default_factory=dict)  # user id -> status
    bot_can_post: bool = True  # channel: the bot's administrator right to post

    def to_dict(self) -> JSONDict:
        d: JSONDict = {"id": self.id, "type": self.type}
        if self.type == "private":
            d["first_name"] = self.first_name or "Test"
            if self.username:
                d["username"] = self.username
        else:
            d["title"] = self.title or ("Channel" if self.type == "channel" else "Group")
            if self.type == "group":
                d["all_members_are_administrators"] = False
            if self.username:
                d["username"] = self.username
        return d


@dataclasses.dataclass
class StoredMessage:
    """Current state of a message the bot sent (after edits)."""

    chat_id: int
    message_id: int
    text: str
    html: str | None  # raw text as sent when parse_mode was HTML
    parse_mode: str | None
    entities: list[JSONDict]
    reply_markup: JSONDict | None
    date: int
    edit_date: int | None = None
    edits: int = 0


@dataclasses.dataclass(frozen=True)
class SentMessage:
    """A successful sendMessage, as sent (later edits don't change it)."""

    chat_id: int
    message_id: int
    text: str  # visible text after entity parsing
    parse_mode: str | None
    reply_markup: JSONDict | None
    entities: list[JSONDict]
    html: str | None  # raw text when parse_mode was HTML
    params: JSONDict
    at: float


@dataclasses.dataclass(frozen=True)
class Answer:
    """A successful answerCallbackQuery / answerInlineQuery."""

    method: str
    query_id: str
    params: JSONDict
    at: float


@dataclasses.dataclass
class _Fault:
    method: str | None
    chat_id: int | None
    error: str
    times: int | None
    retry_after: int
    description: str | None
    delay: float


class ApiError(Exception):
    """An error answer of the API."""

    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def response(self) -> JSONDict:
        d: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            d["parameters"] = self.parameters
        return d


def _bad(description: str, parameters: JSONDict | None = None) -> ApiError:
    return ApiError(400, f"Bad Request: {description}", parameters)


# --------------------------------------------------------------------------------------------
# HTML parse mode (a port of tdlib's parse_html: what the Bot API runs)


class _HtmlError(Exception):
    pass


def parse_html(src: str, *, reject_unknown_entities: bool = True) -> tuple[str, list[JSONDict]]:
    """Parse Telegram-HTML. Returns (plain text, entities with UTF-16 offsets).

    Raises ``_HtmlError`` with Telegram's wording (without the "can't parse entities: " prefix).
    With ``reject_unknown_entities`` a named entity such as ``&nbsp;`` is an error (Telegram
    would show it literally, which is never what the bot wants).
    """
    out: list[str] = []
    u16 = 0
    stack: list[tuple[str, str, int, int]] = []  # (tag, argument, utf16 offset, out index)
    entities: list[JSONDict] = []
    n = len(src)
    i = 0

    def boff(pos: int) -> int:
        return len(src[:pos].encode("utf-8", "surrogatepass"))

    while i < n:
        m = _SPECIAL.search(src, i)
        if m is None:
            chunk = src[i:]
            out.append(chunk)
            u16 += utf16_len(chunk)
            break
        if m.start() > i:
            chunk = src[i : m.start()]
            out.append(chunk)
            u16 += utf16_len(chunk)
            i = m.start()
        c = src[i]
        if c == "&":
            ch, j = _decode_html_entity(src, i)
            if ch is not None:
                out.append(ch)
                u16 += utf16_len(ch)
                i = j
                continue
            em = _NAMED_ENTITY_RE.match(src, i)
            if reject_unknown_entities and em:
                raise _HtmlError(
                    f'Character entity "{em.group(0)}" at byte offset {boff(i)} is not supported'
                )
            out.append("&")
            u16 += 1
            i += 1
            continue
        # c == "<"
        begin = i
        i += 1
        if i < n and src[i] == "/":
            if not stack:
                raise _HtmlError(f"Unexpected end tag at byte offset {boff(begin)}")
            i += 1
            name_start = i
            while i < n and not src[i].isspace() and src[i] != ">":
                i += 1
            end_name = src[name_start:i]
            while i < n and src[i].isspace():
                i += 1
            if i >= n or src[i] != ">":
                raise _HtmlError(f"Unclosed end tag at byte offset {boff(begin)}")
            i += 1
            tag, arg, start, out_idx = stack.pop()
            if end_name and end_name.lower() != tag:
                raise _HtmlError(
                    f'End tag "{end_name}" at byte offset {boff(begin)} doesn\'t match with '
                    f'the last opened tag "{tag}"'
                )
            length = u16 - start
            if length <= 0:
                continue
            if tag == "code" and arg and stack and stack[-1][0] == "pre":
                # <pre><code class="language-x"> -> one pre entity with a language
                stack[-1] = (stack[-1][0], arg, stack[-1][2], stack[-1][3])
                continue
            ent: JSONDict = {"type": _TAG_ENTITY[tag], "offset": start, "length": length}
            if tag == "a":
                url = arg or "".join(out[out_idx:])  # no href: the text is the URL
                if not re.match(r"(?i)(https?|tg|ftp)://\S+|[\w.-]+\.[a-z]{2,}\S*$", url):
                    continue  # Telegram silently drops links it can't use
                ent["url"] = url
            elif tag == "pre" and arg:
                ent["language"] = arg
            elif tag == "blockquote" and arg:
                ent["type"] = "expandable_blockquote"
            elif tag == "tg-emoji":
                ent["custom_emoji_id"] = arg
            entities.append(ent)
            continue
        # start tag
        while i < n and not src[i].isspace() and src[i] != ">":
            i += 1
        if i >= n:
            raise _HtmlError(f"Unclosed start tag at byte offset {boff(begin)}")
        tag = src[begin + 1 : i].lower()
        if tag not in _HTML_TAGS:
            raise _HtmlError(f'Unsupported start tag "{tag}" at byte offset {boff(begin)}')
        argument = ""
        while True:
            while i < n and src[i].isspace():
                i += 1
            if i >= n:
                raise _HtmlError(f'Unclosed start tag "{tag}" at byte offset {boff(begin)}')
            if src[i] == ">":
                i += 1
                break
            attr_start = i
            while i < n and not src[i].isspace() and src[i] not in "=>":
                i += 1
            attr = src[attr_start:i].lower()
            if not attr:
                raise _HtmlError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {boff(begin)}'
                )
            while i < n and src[i].isspace():
                i += 1
            if i >= n or src[i] != "=":
                if tag == "blockquote" and attr == "expandable":
                    argument = "1"
                    continue
                raise _HtmlError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {boff(begin)}"
                )
            i += 1
            while i < n and src[i].isspace():
                i += 1
            if i >= n:
                raise _HtmlError(f'Unclosed start tag "{tag}" at byte offset {boff(begin)}')
            if src[i] not in "'\"":
                tok_start = i
                while i < n and (src[i].isalnum() or src[i] in ".-"):
                    i += 1
                value = src[tok_start:i].lower()
                if i < n and not src[i].isspace() and src[i] != ">":
                    raise _HtmlError(f"Unexpected end of name token at byte offset {boff(i)}")
            else:
                quote = src[i]
                i += 1
                parts: list[str] = []
                while i < n and src[i] != quote:
                    if src[i] == "&":
                        ch, j = _decode_html_entity(src, i)
                        if ch is not None:
                            parts.append(ch)
                            i = j
                            continue
                    parts.append(src[i])
                    i += 1
                if i >= n:
                    raise _HtmlError(f"Unclosed start tag at byte offset {boff(begin)}")
                i += 1
                value = "".join(parts)
            if tag == "a" and attr == "href":
                argument = value
            elif tag == "code" and attr == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif tag == "span" and attr == "class" and value.startswith("tg-"):
                argument = value[len("tg-") :]
            elif tag == "tg-emoji" and attr == "emoji-id":
                argument = value
            elif tag == "blockquote" and attr == "expandable":
                argument = "1"
        if tag == "span" and argument != "spoiler":
            raise _HtmlError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {boff(begin)}'
            )
        if tag == "tg-emoji" and not (argument.isdigit() and int(argument) > 0):
            raise _HtmlError("Custom emoji entity must contain a valid custom emoji identifier")
        if tag == "a" and argument and not argument.strip():
            argument = ""
        stack.append((tag, argument, u16, len(out)))
    if stack:
        raise _HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _decode_html_entity(src: str, pos: int) -> tuple[str | None, int]:
    """tdlib's decode_html_entity: (character or None, position after the entity)."""
    n = len(src)
    end = pos + 1
    if end < n and src[end] == "#":
        end += 1
        value = 0
        if end < n and src[end] == "x":
            end += 1
            start = end
            while end < n and src[end] in "0123456789abcdefABCDEF":
                value = value * 16 + int(src[end], 16)
                end += 1
                if value >= 0x10FFFF:
                    return None, pos
        else:
            start = end
            while end < n and src[end].isdigit() and src[end].isascii():
                value = value * 10 + int(src[end])
                end += 1
                if value >= 0x10FFFF:
                    return None, pos
        if end == start or value == 0 or 0xD800 <= value <= 0xDFFF:
            return None, pos
        ch = chr(value)
    else:
        start = end
        while end < n and src[end].isascii() and src[end].isalpha():
            end += 1
        ch = _NAMED_ENTITIES.get(src[start:end])  # type: ignore[assignment]
        if ch is None:
            return None, pos
    if end < n and src[end] == ";":
        end += 1
    return ch, end


def _strip_text(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Telegram trims leading/trailing whitespace of a message; shift entities accordingly."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    fixed = []
    for e in entities:
        start = max(e["offset"] - lead, 0)
        end = min(e["offset"] + e["length"] - lead, total)
        if end > start:
            fixed.append({**e, "offset": start, "length": end - start})
    return stripped, fixed


# --------------------------------------------------------------------------------------------
# HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    allow_reuse_address = True
    fake: FakeTelegram

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return  # client went away
        traceback.print_exc()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._register_conn(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._register_conn(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def version_string(self) -> str:
        return "nginx/1.18.0"

    def do_POST(self) -> None:
        self.server.fake._serve(self)

    do_GET = do_POST


# --------------------------------------------------------------------------------------------
# The fake


class FakeTelegram:
    """Fake Telegram Bot API server. See the module docstring."""

    #: reject named HTML entities other than &lt; &gt; &amp; &quot; (Telegram shows them as-is)
    reject_unknown_html_entities = True
    #: seconds a getUpdates long poll may wait at most (Telegram caps at 50)
    max_poll_timeout = 50.0

    def __init__(
        self,
        token: str = "123456:TEST-token",
        bot_username: str = "hrm_test_bot",
        bot_id: int = 123456,
        *,
        bot_first_name: str = "HRM Test Bot",
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_id = bot_id
        self.bot_first_name = bot_first_name
        self.url = ""
        self.calls: list[Call] = []
        self.internal_errors: list[str] = []  # bugs in the fake itself (answered with 500)

        self._lock = threading.RLock()
        self._updates_cond = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._stopping = False

        self._chats: dict[int, Chat] = {}
        self._users: dict[int, JSONDict] = {}
        self._next_message_id: dict[int, int] = {}
        self._bot_messages: dict[int, dict[int, StoredMessage]] = {}
        self._user_messages: dict[int, set[int]] = {}
        self._updates: deque[JSONDict] = deque()
        self._next_update_id = 500_000_001
        self._poll_generation = 0
        self._allowed_updates: frozenset[str] = _DEFAULT_UPDATE_TYPES
        self._callback_queries: dict[str, JSONDict] = {}
        self._inline_queries: dict[str, JSONDict] = {}
        self._next_query_id = 4_370_000_000_000_000_001
        self._sent: list[SentMessage] = []
        self._answers: list[Answer] = []
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._faults: list[_Fault] = []
        self._flood_per_second: int | None = None
        self._flood_retry_after = 1
        self._recent_sends: deque[float] = deque()
        #: what the last setWebhook set (url, secret_token, ...); None while polling
        self.webhook: JSONDict | None = None

        self._methods: dict[str, tuple[str, Callable[[JSONDict], Any]]] = {}
        for name in dir(self):
            if name.startswith("_m_"):
                api_name = name[3:]
                self._methods[api_name.lower()] = (api_name, getattr(self, name))

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        if self._server is not None:
            return
        self._stopping = False
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.name = "fake-telegram"
        self._thread.start()

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        with self._lock:
            self._stopping = True
            self._updates_cond.notify_all()
        server.shutdown()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            with self._lock:
                if not self._conns:
                    break
            time.sleep(0.005)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeTelegram:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """What to pass to PTB as ``base_url``."""
        return f"{self.url}/bot"

    def _register_conn(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    # ---------------------------------------------------------------- users and chats

    def _user(self, user_id: int) -> JSONDict:
        user = self._users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
            self._users[user_id] = user
        return user

    def _bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def private(
        self,
        user_id: int,
        *,
        language_code: str | None = "en",
        first_name: str = "Test",
        username: str | None = None,
        known: bool = False,
    ) -> Chat:
        """Register a user and their private chat with the bot (chat id == user id)."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        with self._lock:
            user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
            if username:
                user["username"] = username
            if language_code:
                user["language_code"] = language_code
            self._users[user_id] = user
            chat = self._chats.get(user_id)
            if chat is None:
                chat = Chat(id=user_id, type="private")
                self._chats[user_id] = chat
            chat.first_name = first_name
            chat.username = username
            chat.language_code = language_code
            chat.known = chat.known or known
            return chat

    def group(
        self,
        chat_id: int,
        *,
        supergroup: bool = False,
        title: str = "Group",
        admins: set[int] | frozenset[int] = frozenset(),
        creator: int | None = None,
        known: bool = False,
        username: str | None = None,
    ) -> Chat:
        """Register a group (negative id) or supergroup (id like -100...)."""
        if chat_id >= 0:
            raise ValueError("group ids are negative")
        if supergroup != str(chat_id).startswith("-100"):
            raise ValueError("supergroup ids (and only they) look like -100XXXXXXXXXX")
        with self._lock:
            chat = Chat(
                id=chat_id,
                type="supergroup" if supergroup else "group",
                title=title,
                username=username,
                known=known,
                creator=creator,
            )
            for admin in admins:
                chat.members[admin] = "administrator"
            if creator is not None:
                chat.members[creator] = "creator"
            self._chats[chat_id] = chat
            return chat

    def channel(
        self,
        chat_id: int,
        *,
        title: str = "Channel",
        username: str | None = None,
        creator: int | None = None,
        admins: set[int] | frozenset[int] = frozenset(),
        bot_status: str = "administrator",
        bot_can_post: bool = True,
    ) -> Chat:
        """Register a channel (id like -100...); the bot is in it with ``bot_status``
        ("administrator", "left"...) and, as an administrator, may post or not."""
        if not str(chat_id).startswith("-100"):
            raise ValueError("channel ids look like -100XXXXXXXXXX")
        with self._lock:
            chat = Chat(
                id=chat_id,
                type="channel",
                title=title,
                username=username,
                known=bot_status == "administrator",
                creator=creator,
                bot_can_post=bot_can_post,
            )
            for admin in admins:
                chat.members[admin] = "administrator"
            if creator is not None:
                chat.members[creator] = "creator"
            chat.members[self.bot_id] = bot_status
            chat.kicked = bot_status in {"left", "kicked"}
            self._chats[chat_id] = chat
            return chat

    def post_in_channel(self, chat_id: int, text: str) -> int:
        """An administrator posts ``text`` in a channel (a channel_post, signed by the channel
        itself, with no sender user); returns the update_id."""
        with self._lock:
            chat = self._chats[chat_id]
            if chat.type != "channel":
                raise ValueError("channel posts are made in channels")
            content: JSONDict = {"text": text}
            if text.startswith("/"):
                cmd = text.split(maxsplit=1)[0]
                content["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": utf16_len(cmd)}
                ]
            mid = self._new_message_id(chat.id)
            self._user_messages.setdefault(chat.id, set()).add(mid)
            post = {
                "message_id": mid,
                "sender_chat": chat.to_dict(),
                "chat": chat.to_dict(),
                "date": int(time.time()),
                **content,
            }
            return self._queue({"channel_post": post})

    def set_bot_rights(self, chat_id: int, *, can_post: bool, notify: bool = True) -> None:
        """A channel's owner gives or takes the bot's right to post (my_chat_member)."""
        with self._lock:
            chat = self._chats[chat_id]
            before = chat.bot_can_post
            chat.bot_can_post = can_post
            if notify:
                bot = self._bot_user()
                self._queue(
                    {
                        "my_chat_member": {
                            "chat": chat.to_dict(),
                            "from": self._user(chat.creator or 1),
                            "date": int(time.time()),
                            "old_chat_member": self._member_dict(
                                bot, "administrator", can_post=before
                            ),
                            "new_chat_member": self._member_dict(
                                bot, "administrator", can_post=can_post
                            ),
                        }
                    }
                )

    def chat(self, chat_id: int) -> Chat:
        with self._lock:
            return self._chats[chat_id]

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        if status not in {"creator", "administrator", "member", "restricted", "left", "kicked"}:
            raise ValueError(f"unknown status {status!r}")
        with self._lock:
            chat = self._chats[chat_id]
            if user_id == self.bot_id:
                chat.kicked = status in {"left", "kicked"}
            chat.members[user_id] = status
            if status == "creator":
                chat.creator = user_id

    def migrate(self, group_id: int, supergroup_id: int, *, user_id: int | None = None) -> None:
        """Upgrade a basic group to a supergroup (queues the two service messages)."""
        with self._lock:
            old = self._chats[group_id]
            if old.type != "group":
                raise ValueError("only basic groups migrate")
            if not str(supergroup_id).startswith("-100"):
                raise ValueError("supergroup ids look like -100XXXXXXXXXX")
            new = Chat(
                id=supergroup_id,
                type="supergroup",
                title=old.title,
                known=True,
                creator=old.creator,
                members=dict(old.members),
            )
            self._chats[supergroup_id] = new
            old.migrated_to = supergroup_id
            old.known = True
            uid = user_id if user_id is not None else (old.creator or 1087968824)
            self._queue_message(old, uid, {"migrate_to_chat_id": supergroup_id})
            self._queue_message(new, uid, {"migrate_from_chat_id": group_id})

    def block(self, chat_id: int, *, notify: bool = False) -> None:
        """The user blocks the bot. ``notify`` queues the my_chat_member update."""
        with self._lock:
            chat = self._chats[chat_id]
            if chat.type != "private":
                raise ValueError("only users block bots; use kick() for groups")
            chat.blocked = True
            if notify:
                self._queue_my_chat_member(chat, chat_id, "member", "kicked")

    def unblock(self, chat_id: int) -> None:
        with self._lock:
            self._chats[chat_id].blocked = False

    def kick(self, chat_id: int, *, by: int | None = None, notify: bool = False) -> None:
        """The bot is removed from a group. ``notify`` queues the my_chat_member update."""
        with self._lock:
            chat = self._chats[chat_id]
            if chat.type == "private":
                raise ValueError("use block() for private chats")
            chat.kicked = True
            chat.members[self.bot_id] = "kicked"
            if notify:
                uid = by if by is not None else (chat.creator or 1)
                self._queue_my_chat_member(chat, uid, "member", "kicked")

    def add_member_update(
        self, chat_id: int, *, status: str = "member", old_status: str = "left", by: int = 1
    ) -> int:
        """Queue a my_chat_member update (the bot's own status changed in ``chat_id``)."""
        with self._lock:
            chat = self._chats[chat_id]
            if chat.type == "private":
                chat.blocked = status == "kicked"
            else:
                chat.kicked = status in {"left", "kicked"}
                chat.members[self.bot_id] = status
            if status not in {"left", "kicked"}:
                chat.known = True
            return self._queue_my_chat_member(chat, by, old_status, status)

    def _queue_my_chat_member(self, chat: Chat, by: int, old: str, new: str) -> int:
        bot = self._bot_user()

        def can_post(status: str) -> bool | None:
            # A channel's administrator has its rights to post; a group's has none such.
            if chat.type != "channel" or status != "administrator":
                return None
            return chat.bot_can_post

        return self._queue(
            {
                "my_chat_member": {
                    "chat": chat.to_dict(),
                    "from": self._user(by),
                    "date": int(time.time()),
                    "old_chat_member": self._member_dict(bot, old, can_post=can_post(old)),
                    "new_chat_member": self._member_dict(bot, new, can_post=can_post(new)),
                }
            }
        )

    # ---------------------------------------------------------------- updates

    def _queue(self, payload: JSONDict) -> int:
        with self._lock:
            update_id = self._next_update_id
            self._next_update_id += 1
            self._updates.append({"update_id": update_id, **payload})
            self._updates_cond.notify_all()
            return update_id

    def _new_message_id(self, chat_id: int) -> int:
        mid = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = mid + 1
        return mid

    def _chat_for_update(self, chat_id: int) -> Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                return self.private(chat_id)
            raise ValueError(f"unknown group {chat_id}: register it with group()")
        return chat

    def _queue_message(self, chat: Chat, user_id: int, content: JSONDict) -> int:
        mid = self._new_message_id(chat.id)
        self._user_messages.setdefault(chat.id, set()).add(mid)
        message = {
            "message_id": mid,
            "from": self._user(user_id),
            "chat": chat.to_dict(),
            "date": int(time.time()),
            **content,
        }
        return self._queue({"message": message})

    def _sender(self, chat: Chat, user_id: int | None) -> int:
        if user_id is not None:
            return user_id
        if chat.type == "private":
            return chat.id
        raise ValueError("user_id is required for group chats")

    def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        entities: list[JSONDict] | None = None,
    ) -> int:
        """A user writes ``text`` to the bot; returns the update_id."""
        with self._lock:
            chat = self._chat_for_update(chat_id)
            uid = self._sender(chat, user_id)
            if chat.type == "private":
                chat.blocked = False  # a user who writes has (re)started the bot
            chat.known = True
            content: JSONDict = {"text": text}
            if entities is None and text.startswith("/"):
                cmd = text.split(maxsplit=1)[0] if text.strip() else text
                entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(cmd)}]
            if entities:
                content["entities"] = entities
            return self._queue_message(chat, uid, content)

    def send_sticker(self, chat_id: int, user_id: int | None = None) -> int:
        """A user sends a sticker (a non-text message); returns the update_id."""
        with self._lock:
            chat = self._chat_for_update(chat_id)
            uid = self._sender(chat, user_id)
            chat.known = True
            sticker = {
                "file_id": "CAACAgIAAxkBAAEfake",
                "file_unique_id": "AgADfake",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
            }
            return self._queue_message(chat, uid, {"sticker": sticker})

    def press(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        strict: bool = True,
    ) -> str:
        """A user presses the callback button ``data`` of a bot message; returns the query id.

        ``strict=False`` sends ``data`` even if no button carries it, as a modified client
        could (forged or stale callback data).
        """
        with self._lock:
            chat = self._chats[chat_id]
            uid = self._sender(chat, user_id)
            msg = self._bot_messages.get(chat_id, {}).get(message_id)
            if msg is None:
                raise ValueError(f"the bot has no message {message_id} in chat {chat_id}")
            buttons = [
                b
                for row in (msg.reply_markup or {}).get("inline_keyboard", [])
                for b in row
                if "callback_data" in b
            ]
            if strict and not any(b["callback_data"] == data for b in buttons):
                have = [b["callback_data"] for b in buttons]
                raise ValueError(f"message {message_id} has no button {data!r} (buttons: {have})")
            qid = str(self._next_query_id)
            self._next_query_id += 1
            self._callback_queries[qid] = {"chat_id": chat_id, "message_id": message_id}
            self._queue(
                {
                    "callback_query": {
                        "id": qid,
                        "from": self._user(uid),
                        "message": self._message_dict(msg),
                        "chat_instance": str(abs(chat_id) * 7919 % 10**18 + 10**17),
                        "data": data,
                    }
                }
            )
            return qid

    def inline(self, user_id: int, query: str, *, offset: str = "", chat_type: str = "") -> str:
        """A user types ``@bot query``; returns the inline query id."""
        with self._lock:
            qid = str(self._next_query_id)
            self._next_query_id += 1
            self._inline_queries[qid] = {"user_id": user_id, "query": query}
            iq: JSONDict = {
                "id": qid,
                "from": self._user(user_id),
                "query": query,
                "offset": offset,
            }
            if chat_type:
                iq["chat_type"] = chat_type
            self._queue({"inline_query": iq})
            return qid

    def next_update(self) -> JSONDict:
        """Takes the oldest queued update, as Telegram does to POST it to a webhook."""
        with self._lock:
            return self._updates.popleft()

    def updates_pending(self) -> int:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        with self._lock:
            return len(self._updates)

    # ---------------------------------------------------------------- what the bot did

    def sent(self, chat_id: int | None = None) -> list[SentMessage]:
        with self._lock:
            if chat_id is None:
                return list(self._sent)
            return [s for s in self._sent if s.chat_id == chat_id]

    def messages(self, chat_id: int) -> dict[int, StoredMessage]:
        with self._lock:
            return {
                k: dataclasses.replace(v) for k, v in self._bot_messages.get(chat_id, {}).items()
            }

    def answers(self, method: str | None = None) -> list[Answer]:
        with self._lock:
            return [a for a in self._answers if method is None or a.method == method]

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        with self._lock:
            return list(self._commands.get((self._scope_key(scope), language_code), []))

    def calls_of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def count(self, method: str, *, ok: bool | None = True) -> int:
        """Calls of ``method``: successful ones (default), failed ones (ok=False) or all (None)."""
        with self._lock:
            return sum(1 for c in self.calls if c.method == method and (ok is None or c.ok == ok))

    def max_per_window(
        self, method: str = "sendMessage", window: float = 1.0, *, chat_id: int | None = None
    ) -> int:
        """Max number of successful ``method`` calls arriving within any ``window`` seconds."""
        with self._lock:
            times = sorted(
                c.at
                for c in self.calls
                if c.method == method and c.ok and (chat_id is None or c.chat_id == chat_id)
            )
        best = 0
        lo = 0
        for hi, t in enumerate(times):
            while t - times[lo] >= window:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def _describe_calls(self, last: int = 20) -> str:
        with self._lock:
            calls = self.calls[-last:]
            pending = len(self._updates)
        lines = []
        for c in calls:
            extra = f" chat_id={c.chat_id}" if "chat_id" in c.params else ""
            result = "ok" if c.ok else f"{c.status} {c.response.get('description')}"
            lines.append(f"  {c.method}{extra} -> {result}")
        return f"last {len(calls)} calls:\n" + "\n".join(lines) + f"\nupdates pending: {pending}"

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"condition not met within {timeout} s; {self._describe_calls()}"
                )
            await asyncio.sleep(0.01)

    def wait_for_sync(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"condition not met within {timeout} s; {self._describe_calls()}"
                )
            time.sleep(0.01)

    # ---------------------------------------------------------------- fault injection

    def fail(
        self,
        method: str | None = None,
        *,
        chat_id: int | None = None,
        error: str,
        times: int | None = None,
        retry_after: int = 1,
        description: str | None = None,
        delay: float = 2.0,
    ) -> None:
        """Make matching calls fail.

        ``error``: "429", "403", "400", "500", "502" (nginx HTML page), "chat_not_found",
        "timeout" (sleep ``delay`` s, then answer normally) or any other HTTP status code.
        ``times``: only the next N matching calls (None: until clear_faults()).
        """
        if error not in {"timeout", "chat_not_found"} and not error.isdigit():
            raise ValueError(f"unknown error kind {error!r}")
        with self._lock:
            self._faults.append(
                _Fault(
                    method=method.lower() if method else None,
                    chat_id=chat_id,
                    error=error,
                    times=times,
                    retry_after=retry_after,
                    description=description,
                    delay=delay,
                )
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def flood_limit(self, per_second: int | None, *, retry_after: int = 1) -> None:
        """Answer 429 to sendMessage beyond ``per_second`` successful sends in the last second
        (Telegram's global limit is about 30). None switches it off."""
        with self._lock:
            self._flood_per_second = per_second
            self._flood_retry_after = retry_after
            self._recent_sends.clear()

    def _take_fault(self, method: str, params: JSONDict) -> _Fault | None:
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults:
                if fault.method is not None and fault.method != method.lower():
                    continue
                if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    # ---------------------------------------------------------------- request handling

    def _serve(self, handler: _Handler) -> None:
        at = time.monotonic()
        try:
            body = self._read_body(handler)
        except (OSError, ValueError):
            handler.close_connection = True
            return
        path = urlsplit(handler.path)
        parts = path.path.split("/")
        method_name = parts[2] if len(parts) == 3 else ""
        if len(parts) != 3 or not parts[1].startswith("bot"):
            self._reply(handler, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        if parts[1][3:] != self.token:
            resp: JSONDict = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            self._record(method_name, {}, resp, at, 401)
            self._reply(handler, 401, resp)
            return
        entry = self._methods.get(method_name.lower())
        if entry is None:
            resp = {"ok": False, "error_code": 404, "description": "Not Found"}
            self._record(method_name, {}, resp, at, 404)
            self._reply(handler, 404, resp)
            return
        api_name, func = entry
        try:
            params = self._parse_params(handler, path.query, body)
        except ValueError as exc:
            resp = _bad(f"can't parse request: {exc}").response()
            self._record(api_name, {}, resp, at, 400)
            self._reply(handler, 400, resp)
            return

        fault = self._take_fault(api_name, params)
        if fault is not None:
            if fault.error == "timeout":
                time.sleep(fault.delay)
            else:
                self._answer_fault(handler, fault, api_name, params, at)
                return

        status = 200
        try:
            result = func(params)
            resp = {"ok": True, "result": result}
        except ApiError as exc:
            status = exc.code
            resp = exc.response()
        except Exception:
            tb = traceback.format_exc()
            self.internal_errors.append(tb)
            print(f"fake telegram: internal error in {api_name}:\n{tb}", file=sys.stderr)
            status = 500
            resp = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        self._record(api_name, params, resp, at, status)
        self._reply(handler, status, resp)

    def _answer_fault(
        self, handler: _Handler, fault: _Fault, method: str, params: JSONDict, at: float
    ) -> None:
        if fault.error == "502":
            resp = {"ok": False, "error_code": 502, "description": "Bad Gateway"}
            self._record(method, params, resp, at, 502)
            self._reply_raw(handler, 502, _BAD_GATEWAY_HTML, "text/html")
            return
        if fault.error == "chat_not_found":
            err = _bad("chat not found")
        elif fault.error == "429":
            err = ApiError(
                429,
                fault.description or f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        else:
            code = int(fault.error)
            err = ApiError(
                code, fault.description or _FAULT_DESCRIPTIONS.get(code, "Internal Server Error")
            )
        resp = err.response()
        self._record(method, params, resp, at, err.code)
        self._reply(handler, err.code, resp)

    def _record(
        self, method: str, params: JSONDict, resp: JSONDict, at: float, status: int
    ) -> None:
        with self._lock:
            self.calls.append(Call(method, params, resp, at, status))

    def _reply(self, handler: _Handler, status: int, payload: JSONDict) -> None:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        self._reply_raw(handler, status, body, "application/json")

    @staticmethod
    def _reply_raw(handler: _Handler, status: int, body: bytes, ctype: str) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            handler.close_connection = True

    @staticmethod
    def _read_body(handler: _Handler) -> bytes:
        if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                line = handler.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while handler.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline(65537)
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length else b""

    @staticmethod
    def _parse_params(handler: _Handler, query: str, body: bytes) -> JSONDict:
        raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        ctype = handler.headers.get("Content-Type", "")
        kind = ctype.split(";", 1)[0].strip().lower()
        if body:
            if kind == "application/json":
                data = json.loads(body)
                if not isinstance(data, dict):
                    raise ValueError("JSON body must be an object")
                params = {**{k: _decode_field(k, v) for k, v in raw.items()}, **data}
                return _normalize(params)
            if kind == "multipart/form-data":
                msg = BytesParser(policy=HTTP).parsebytes(
                    f"Content-Type: {ctype}\r\n\r\n".encode() + body
                )
                for part in msg.iter_parts():  # type: ignore[attr-defined]
                    name = part.get_param("name", header="content-disposition")
                    payload = part.get_payload(decode=True) or b""
                    filename = part.get_filename()
                    if filename is not None:
                        raw[name] = _FilePart(filename, payload)
                    else:
                        raw[name] = payload.decode("utf-8")
            else:  # application/x-www-form-urlencoded
                raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        return _normalize({k: _decode_field(k, v) for k, v in raw.items()})

    # ---------------------------------------------------------------- validation helpers

    def _target_chat(self, params: JSONDict) -> Chat:
        """The chat a send/edit goes to, with Telegram's errors for unusable chats."""
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        chat = self._find_chat(chat_id)
        if chat is None:
            raise _bad("chat not found")
        if chat.migrated_to is not None:
            raise _bad(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if not chat.known:
            if chat.type == "private":
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise _bad("chat not found")
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat.kicked:
            if chat.type == "channel":
                raise ApiError(403, "Forbidden: bot is not a member of the channel chat")
            raise ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
        if chat.type == "channel" and not chat.bot_can_post:
            raise _bad("need administrator rights in the channel chat")
        return chat

    def _find_chat(self, chat_id: Any) -> Chat | None:
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for chat in self._chats.values():
                if chat.username and chat.username.lower() == chat_id[1:].lower():
                    return chat
            return None
        if not isinstance(chat_id, int):
            raise _bad("chat not found")
        return self._chats.get(chat_id)

    def _parse_text(
        self,
        text: Any,
        parse_mode: Any,
        entities: Any,
        *,
        empty_error: str = "message text is empty",
        long_error: str = "message is too long",
    ) -> tuple[str, list[JSONDict], str | None]:
        if text is None or text == "":
            raise _bad(empty_error)
        text = str(text)
        html = None
        mode = (parse_mode or "").lower() if isinstance(parse_mode, str) else ""
        if mode == "html":
            html = text
            try:
                plain, ents = parse_html(
                    text, reject_unknown_entities=self.reject_unknown_html_entities
                )
            except _HtmlError as exc:
                raise _bad(f"can't parse entities: {exc}") from None
        elif mode in {"", "markdown", "markdownv2"}:
            # Markdown is not parsed by the fake: the text is kept as sent.
            plain = text
            ents = list(entities) if isinstance(entities, list) else []
        else:
            raise _bad(f"unsupported parse_mode {parse_mode!r}")
        plain, ents = _strip_text(plain, ents)
        if not plain:
            raise _bad(empty_error)
        if utf16_len(plain) > MAX_MESSAGE_LEN:
            raise _bad(long_error)
        return plain, ents, html

    def _check_markup(self, markup: Any, *, inline_only: bool) -> JSONDict | None:
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            if inline_only:
                raise _bad("inline keyboard expected")
            if not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
                raise _bad("can't parse reply keyboard markup JSON object")
            return markup
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad(
                'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                self._check_button(button)
        if not any(rows):
            return None  # an empty keyboard is no keyboard
        return markup

    @staticmethod
    def _check_button(button: Any) -> None:
        if not isinstance(button, dict):
            raise _bad(
                "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            )
        text = button.get("text")
        if not isinstance(text, str):
            raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
        if not text.strip():
            raise _bad("BUTTON_TEXT_INVALID")
        actions = [a for a in _BUTTON_ACTIONS if a in button]
        if not actions:
            raise _bad(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline "
                "keyboard"
            )
        if len(actions) > 1:
            raise _bad(
                "can't parse inline keyboard button: exactly one of the optional fields must be "
                f"used, got {', '.join(actions)}"
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                raise _bad("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not re.match(r"(?i)(https?|tg)://\S+$", url):
                raise _bad("BUTTON_URL_INVALID")

    def _message_dict(self, msg: StoredMessage) -> JSONDict:
        chat = self._chats[msg.chat_id]
        d: JSONDict = {
            "message_id": msg.message_id,
            "from": self._bot_user(),
            "chat": chat.to_dict(),
            "date": msg.date,
            "text": msg.text,
        }
        if msg.entities:
            d["entities"] = msg.entities
        if msg.edit_date is not None:
            d["edit_date"] = msg.edit_date
        if msg.reply_markup is not None and "inline_keyboard" in msg.reply_markup:
            d["reply_markup"] = msg.reply_markup
        return d

    def _edit_target(self, params: JSONDict) -> StoredMessage:
        chat = self._target_chat(params)
        mid = params.get("message_id")
        if mid is None or mid == "":
            raise _bad("message identifier is not specified")
        msg = self._bot_messages.get(chat.id, {}).get(mid) if isinstance(mid, int) else None
        if msg is None:
            if isinstance(mid, int) and mid in self._user_messages.get(chat.id, set()):
                raise _bad("message can't be edited")
            raise _bad("message to edit not found")
        return msg

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if not scope:
            return '{"type":"default"}'
        return json.dumps(scope, sort_keys=True, separators=(",", ":"))

    def _check_scope(self, params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope")
        if scope:
            if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES:
                raise _bad("can't parse BotCommandScope JSON object")
            if scope["type"].startswith("chat") and "chat_id" not in scope:
                raise _bad("chat_id is empty")
            if scope["type"] == "chat_member" and "user_id" not in scope:
                raise _bad("user_id is empty")
        lang = params.get("language_code") or ""
        if lang and not re.fullmatch(r"[a-z]{2}", str(lang)):
            raise _bad("invalid language code specified")
        return self._scope_key(scope), str(lang)

    def _member_dict(
        self, user: JSONDict, status: str, *, can_post: bool | None = None
    ) -> JSONDict:
        """``can_post``: a channel administrator's rights to post and edit (None: a group's)."""
        d: JSONDict = {"status": status, "user": user}
        if status == "creator":
            d["is_anonymous"] = False
        elif status == "administrator":
            d.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
                can_pin_messages=True,
            )
            if can_post is not None:
                d.update(
                    can_post_messages=can_post,
                    can_edit_messages=can_post,
                    can_restrict_members=False,
                )
                d.pop("can_pin_messages")
        elif status == "restricted":
            d.update(
                is_member=True,
                can_change_info=False,
                can_invite_users=False,
                can_pin_messages=False,
                can_send_messages=False,
                can_send_polls=False,
                can_send_other_messages=False,
                can_add_web_page_previews=False,
                can_manage_topics=False,
                until_date=0,
                can_send_audios=False,
                can_send_documents=False,
                can_send_photos=False,
                can_send_videos=False,
                can_send_video_notes=False,
                can_send_voice_notes=False,
                can_edit_tag=False,
                can_react_to_messages=False,
            )
        elif status == "kicked":
            d["until_date"] = 0
        return d

    # ---------------------------------------------------------------- API methods (_m_<name>)

    def _m_getMe(self, p: JSONDict) -> JSONDict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_logOut(self, p: JSONDict) -> bool:
        return True

    def _m_close(self, p: JSONDict) -> bool:
        return True

    def _m_deleteWebhook(self, p: JSONDict) -> bool:
        with self._lock:
            self.webhook = None
            if p.get("drop_pending_updates") is True:
                self._updates.clear()
        return True

    def _m_setWebhook(self, p: JSONDict) -> bool:
        url = p.get("url")
        if not isinstance(url, str):
            raise _bad("bad webhook: URL must be a string")
        if not url:  # an empty URL removes the webhook, as deleteWebhook does
            return self._m_deleteWebhook(p)
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if (parts.port or 443) not in (443, 80, 88, 8443):
            raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        if (parts.hostname or "").endswith(".invalid"):  # RFC 2606: never resolves
            raise _bad("bad webhook: Failed to resolve host: Name or service not known")
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("bad webhook: Secret token contains unallowed characters")
        with self._lock:
            self.webhook = dict(p)
            if p.get("drop_pending_updates") is True:
                self._updates.clear()
            self._updates_cond.notify_all()  # a waiting getUpdates answers 409 Conflict
        return True

    def _m_getWebhookInfo(self, p: JSONDict) -> JSONDict:
        with self._lock:
            url = self.webhook["url"] if self.webhook else ""
            return {
                "url": url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }

    def _m_getUpdates(self, p: JSONDict) -> list[JSONDict]:
        offset = p.get("offset")
        limit = p.get("limit", 100)
        timeout = p.get("timeout", 0)
        allowed = p.get("allowed_updates")
        if not isinstance(offset, int | None):
            raise _bad("wrong parameter offset")
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise _bad("wrong parameter limit")
        if not isinstance(timeout, int | float) or isinstance(timeout, bool):
            raise _bad("wrong parameter timeout")
        limit = min(max(limit, 1), 100)
        timeout = min(max(float(timeout), 0.0), self.max_poll_timeout)
        deadline = time.monotonic() + timeout
        with self._updates_cond:
            if self.webhook is not None:
                raise ApiError(409, _WEBHOOK_ACTIVE)
            if allowed is not None:
                if not isinstance(allowed, list):
                    raise _bad("can't parse allowed updates")
                self._allowed_updates = frozenset(allowed) if allowed else _DEFAULT_UPDATE_TYPES
            if offset is not None:
                if offset < 0:
                    while len(self._updates) > -offset:
                        self._updates.popleft()
                else:
                    while self._updates and self._updates[0]["update_id"] < offset:
                        self._updates.popleft()
            self._poll_generation += 1
            generation = self._poll_generation
            self._updates_cond.notify_all()  # a waiting older poll answers 409 Conflict
            while True:
                # updates of types the bot did not ask for are dropped, like Telegram does
                if any(self._update_type(u) not in self._allowed_updates for u in self._updates):
                    self._updates = deque(
                        u for u in self._updates if self._update_type(u) in self._allowed_updates
                    )
                if self._updates or self._stopping:
                    return [self._updates[k] for k in range(min(limit, len(self._updates)))]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._updates_cond.wait(remaining)
                if self._poll_generation != generation:
                    raise ApiError(409, _FAULT_DESCRIPTIONS[409])
                if self.webhook is not None:
                    raise ApiError(409, _WEBHOOK_ACTIVE)

    @staticmethod
    def _update_type(update: JSONDict) -> str:
        return next(k for k in update if k != "update_id")

    def _m_setMyCommands(self, p: JSONDict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        for cmd in commands:
            if not isinstance(cmd, dict):
                raise _bad("can't parse BotCommand JSON object")
            name = cmd.get("command")
            if not isinstance(name, str) or not _COMMAND_RE.fullmatch(name):
                raise _bad("BOT_COMMAND_INVALID")
            desc = cmd.get("description")
            if not isinstance(desc, str) or not 1 <= len(desc.strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._check_scope(p)
        with self._lock:
            cleaned = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
            if cleaned:
                self._commands[key] = cleaned
            else:
                self._commands.pop(key, None)
        return True

    def _m_getMyCommands(self, p: JSONDict) -> list[JSONDict]:
        key = self._check_scope(p)
        with self._lock:
            return list(self._commands.get(key, []))

    def _m_deleteMyCommands(self, p: JSONDict) -> bool:
        key = self._check_scope(p)
        with self._lock:
            self._commands.pop(key, None)
        return True

    def _set_bot_text(self, p: JSONDict, field: str, limit: int) -> bool:
        value = p.get(field) or ""
        if len(str(value)) > limit:
            raise _bad(f"{field} is too long")
        lang = str(p.get("language_code") or "")
        with self._lock:
            self._bot_texts[(field, lang)] = str(value)
        return True

    def _get_bot_text(self, p: JSONDict, field: str) -> JSONDict:
        lang = str(p.get("language_code") or "")
        with self._lock:
            return {field: self._bot_texts.get((field, lang), "")}

    def _m_setMyDescription(self, p: JSONDict) -> bool:
        return self._set_bot_text(p, "description", 512)

    def _m_getMyDescription(self, p: JSONDict) -> JSONDict:
        return self._get_bot_text(p, "description")

    def _m_setMyShortDescription(self, p: JSONDict) -> bool:
        return self._set_bot_text(p, "short_description", 120)

    def _m_getMyShortDescription(self, p: JSONDict) -> JSONDict:
        return self._get_bot_text(p, "short_description")

    def _m_setMyName(self, p: JSONDict) -> bool:
        return self._set_bot_text(p, "name", 64)

    def _m_getMyName(self, p: JSONDict) -> JSONDict:
        return self._get_bot_text(p, "name")

    def _m_sendMessage(self, p: JSONDict) -> JSONDict:
        with self._lock:
            chat = self._target_chat(p)
            text, entities, html = self._parse_text(
                p.get("text"), p.get("parse_mode"), p.get("entities")
            )
            markup = self._check_markup(p.get("reply_markup"), inline_only=False)
            reply = p.get("reply_parameters")
            if isinstance(reply, dict):
                target = reply.get("message_id")
                exists = target in self._bot_messages.get(chat.id, {}) or target in (
                    self._user_messages.get(chat.id, set())
                )
                if not exists and not reply.get("allow_sending_without_reply"):
                    raise _bad("message to be replied not found")
            if self._flood_per_second is not None:
                now = time.monotonic()
                while self._recent_sends and now - self._recent_sends[0] >= 1.0:
                    self._recent_sends.popleft()
                if len(self._recent_sends) >= self._flood_per_second:
                    ra = self._flood_retry_after
                    raise ApiError(
                        429, f"Too Many Requests: retry after {ra}", {"retry_after": ra}
                    )
                self._recent_sends.append(now)
            msg = StoredMessage(
                chat_id=chat.id,
                message_id=self._new_message_id(chat.id),
                text=text,
                html=html,
                parse_mode=p.get("parse_mode"),
                entities=entities,
                reply_markup=markup,
                date=int(time.time()),
            )
            self._bot_messages.setdefault(chat.id, {})[msg.message_id] = msg
            self._sent.append(
                SentMessage(
                    chat_id=chat.id,
                    message_id=msg.message_id,
                    text=text,
                    parse_mode=msg.parse_mode,
                    reply_markup=markup,
                    entities=entities,
                    html=html,
                    params=p,
                    at=time.monotonic(),
                )
            )
            return self._message_dict(msg)

    def _m_sendPhoto(self, p: JSONDict) -> JSONDict:
        """A photo uploaded as a file part (the fake reads PNG only, for its size), or sent
        again by a file_id of one sent before. Read what was sent with ``photos()``."""
        with self._lock:
            chat = self._target_chat(p)
            photo = p.get("photo")
            if isinstance(photo, str) and photo.startswith("attach://"):
                photo = p.get(photo[len("attach://") :])
            if photo is None or photo == "":
                raise _bad("there is no photo in the request")
            if isinstance(photo, _FilePart):
                data = photo.data
                if len(data) > MAX_PHOTO_BYTES:
                    raise _bad("PHOTO_SAVE_FILE_INVALID")
            else:
                earlier = [s for s in self.photos() if photo in s.file_ids]
                if not earlier:
                    raise _bad("wrong file identifier/HTTP URL specified")
                data = earlier[0].data
            size = _png_size(data)
            if size is None:
                raise _bad("IMAGE_PROCESS_FAILED")
            width, height = size
            if width + height > 10000 or max(width, height) > 20 * min(width, height):
                raise _bad("PHOTO_INVALID_DIMENSIONS")
            markup = self._check_markup(p.get("reply_markup"), inline_only=False)
            caption: JSONDict = {}
            if p.get("caption"):
                text, entities, _html = self._parse_text(
                    p["caption"], p.get("parse_mode"), p.get("caption_entities")
                )
                if utf16_len(text) > MAX_CAPTION_LEN:
                    raise _bad("message caption is too long")
                caption["caption"] = text
                if entities:
                    caption["caption_entities"] = entities
            d: JSONDict = {
                "message_id": self._new_message_id(chat.id),
                "from": self._bot_user(),
                "chat": chat.to_dict(),
                "date": int(time.time()),
                "photo": _photo_sizes(data, width, height),
                **caption,
            }
            if markup is not None and "inline_keyboard" in markup:
                d["reply_markup"] = markup
            return d

    def photos(self, chat_id: int | None = None) -> list[SentPhoto]:
        """The photos sent successfully (to ``chat_id``), in order, with their bytes."""
        with self._lock:
            calls = [c for c in self.calls if c.method == "sendPhoto" and c.ok]
        out: list[SentPhoto] = []
        for c in calls:
            result = c.response["result"]
            if chat_id is not None and result["chat"]["id"] != chat_id:
                continue
            part = c.params.get("photo")
            if isinstance(part, str) and part.startswith("attach://"):
                part = c.params.get(part[len("attach://") :])
            if isinstance(part, _FilePart):
                data, filename = part.data, part["filename"]
            else:  # sent again by file_id
                data, filename = next(s for s in out if part in s.file_ids).data, ""
            size = _png_size(data) or (0, 0)
            out.append(
                SentPhoto(
                    chat_id=result["chat"]["id"],
                    message_id=result["message_id"],
                    data=data,
                    filename=filename,
                    width=size[0],
                    height=size[1],
                    file_ids=tuple(ps["file_id"] for ps in result["photo"]),
                    caption=result.get("caption", ""),
                    at=c.at,
                )
            )
        return out

    def _m_editMessageText(self, p: JSONDict) -> JSONDict | bool:
        with self._lock:
            if p.get("inline_message_id"):
                self._parse_text(p.get("text"), p.get("parse_mode"), p.get("entities"))
                self._check_markup(p.get("reply_markup"), inline_only=True)
                return True
            msg = self._edit_target(p)
            text, entities, html = self._parse_text(
                p.get("text"), p.get("parse_mode"), p.get("entities")
            )
            markup = self._check_markup(p.get("reply_markup"), inline_only=True)
            if (text, entities, markup) == (msg.text, msg.entities, msg.reply_markup):
                raise _bad(_NOT_MODIFIED[len("Bad Request: ") :])
            msg.text, msg.entities, msg.html = text, entities, html
            msg.parse_mode = p.get("parse_mode")
            msg.reply_markup = markup
            msg.edit_date = int(time.time())
            msg.edits += 1
            return self._message_dict(msg)

    def _m_editMessageReplyMarkup(self, p: JSONDict) -> JSONDict | bool:
        with self._lock:
            if p.get("inline_message_id"):
                self._check_markup(p.get("reply_markup"), inline_only=True)
                return True
            msg = self._edit_target(p)
            markup = self._check_markup(p.get("reply_markup"), inline_only=True)
            if markup == msg.reply_markup:
                raise _bad(_NOT_MODIFIED[len("Bad Request: ") :])
            msg.reply_markup = markup
            msg.edit_date = int(time.time())
            msg.edits += 1
            return self._message_dict(msg)

    def _m_deleteMessage(self, p: JSONDict) -> bool:
        with self._lock:
            chat = self._target_chat(p)
            mid = p.get("message_id")
            if mid is None or mid == "":
                raise _bad("message identifier is not specified")
            bot_msgs = self._bot_messages.get(chat.id, {})
            user_msgs = self._user_messages.get(chat.id, set())
            if mid in bot_msgs:
                del bot_msgs[mid]
            elif mid in user_msgs:
                user_msgs.discard(mid)
            else:
                raise _bad("message to delete not found")
            return True

    def _m_answerCallbackQuery(self, p: JSONDict) -> bool:
        with self._lock:
            qid = p.get("callback_query_id")
            query = self._callback_queries.get(str(qid)) if qid else None
            if query is None or query.get("answered"):
                raise _bad(_QUERY_TOO_OLD[len("Bad Request: ") :])
            text = p.get("text")
            if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_LEN:
                raise _bad("MESSAGE_TOO_LONG")
            url = p.get("url")
            if url and not re.match(r"(?i)(https?|tg)://\S+$", str(url)):
                raise _bad("URL_INVALID")
            query["answered"] = True
            self._answers.append(Answer("answerCallbackQuery", str(qid), p, time.monotonic()))
            return True

    def _m_answerInlineQuery(self, p: JSONDict) -> bool:
        with self._lock:
            qid = p.get("inline_query_id")
            query = self._inline_queries.get(str(qid)) if qid else None
            if query is None or query.get("answered"):
                raise _bad(_QUERY_TOO_OLD[len("Bad Request: ") :])
            results = p.get("results")
            if not isinstance(results, list):
                raise _bad("can't parse inline query results JSON object")
            if len(results) > 50:
                raise _bad("RESULTS_TOO_MUCH")
            seen: set[str] = set()
            for result in results:
                self._check_inline_result(result, seen)
            next_offset = p.get("next_offset")
            if next_offset is not None and len(str(next_offset).encode()) > 64:
                raise _bad("NEXT_OFFSET_INVALID")
            button = p.get("button")
            if button is not None:
                if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                    raise _bad("BUTTON_TEXT_INVALID")
                if "web_app" in button:
                    pass
                elif not _START_PARAM_RE.fullmatch(str(button.get("start_parameter", ""))):
                    raise _bad("START_PARAM_INVALID")
            query["answered"] = True
            self._answers.append(Answer("answerInlineQuery", str(qid), p, time.monotonic()))
            return True

    def _check_inline_result(self, result: Any, seen: set[str]) -> None:
        if not isinstance(result, dict):
            raise _bad("can't parse InlineQueryResult JSON object")
        rid = result.get("id")
        if not isinstance(rid, str) or not 1 <= len(rid.encode()) <= 64:
            raise _bad("RESULT_ID_INVALID")
        if rid in seen:
            raise _bad("RESULT_ID_DUPLICATE")
        seen.add(rid)
        rtype = result.get("type")
        if not isinstance(rtype, str) or not rtype:
            raise _bad('can\'t parse InlineQueryResult: Field "type" must be of type String')
        if rtype == "article":
            if not isinstance(result.get("title"), str) or not result["title"].strip():
                raise _bad('can\'t parse InlineQueryResult: Field "title" must be of type String')
            if "input_message_content" not in result:
                raise _bad(
                    'can\'t parse InlineQueryResult: Field "input_message_content" must be of '
                    "type Object"
                )
        content = result.get("input_message_content")
        if content is not None:
            if not isinstance(content, dict):
                raise _bad("can't parse InputMessageContent JSON object")
            if "message_text" in content or rtype == "article":
                self._parse_text(
                    content.get("message_text"),
                    content.get("parse_mode"),
                    content.get("entities"),
                    empty_error="MESSAGE_EMPTY",
                    long_error="MESSAGE_TOO_LONG",
                )
        if "reply_markup" in result:
            self._check_markup(result["reply_markup"], inline_only=True)

    def _m_sendChatAction(self, p: JSONDict) -> bool:
        with self._lock:
            self._target_chat(p)
            if p.get("action") not in _CHAT_ACTIONS:
                raise _bad("wrong parameter action in request")
            return True

    def _known_chat(self, p: JSONDict) -> Chat:
        chat_id = p.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        chat = self._find_chat(chat_id)
        if chat is None:
            raise _bad("chat not found")
        if chat.migrated_to is not None:
            raise _bad(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        return chat

    def _status_in(self, chat: Chat, user_id: int) -> str:
        if chat.type == "private":
            return "member"
        if user_id == self.bot_id:
            return chat.members.get(user_id, "administrator")
        return chat.members.get(user_id, "member")

    def _m_getChatMember(self, p: JSONDict) -> JSONDict:
        with self._lock:
            chat = self._known_chat(p)
            user_id = p.get("user_id")
            if not isinstance(user_id, int) or isinstance(user_id, bool):
                raise _bad("invalid user_id specified")
            if chat.type == "private" and user_id not in {chat.id, self.bot_id}:
                raise _bad("user not found")
            if chat.type != "private" and chat.kicked:
                raise ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
            user = self._bot_user() if user_id == self.bot_id else self._user(user_id)
            status = self._status_in(chat, user_id)
            if chat.type == "channel" and status == "administrator":
                can_post = chat.bot_can_post if user_id == self.bot_id else True
                return self._member_dict(user, status, can_post=can_post)
            if chat.type == "channel" and status == "member" and user_id not in chat.members:
                status = "left"  # a channel's readers are not members the API knows of
            return self._member_dict(user, status)

    def _m_getChatAdministrators(self, p: JSONDict) -> list[JSONDict]:
        with self._lock:
            chat = self._known_chat(p)
            if chat.type == "private":
                raise _bad("there are no administrators in the private chat")
            if chat.kicked:
                raise ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
            admins = [
                self._member_dict(self._user(uid), status)
                for uid, status in chat.members.items()
                if status in {"creator", "administrator"} and uid != self.bot_id
            ]
            if self._status_in(chat, self.bot_id) == "administrator":
                admins.append(self._member_dict(self._bot_user(), "administrator"))
            return admins

    def _m_getChat(self, p: JSONDict) -> JSONDict:
        with self._lock:
            chat = self._known_chat(p)
            d = chat.to_dict()
            d.pop("all_members_are_administrators", None)
            d.update(
                accent_color_id=0,
                max_reaction_count=11,
                accepted_gift_types={
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            )
            return d


def _decode_field(name: str, value: Any) -> Any:
    """Form fields: JSON-decode everything except the String-typed fields."""
    if not isinstance(value, str) or name in STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _normalize(params: JSONDict) -> JSONDict:
    """Telegram accepts integer ids as strings: normalise chat_id/message_id/user_id."""
    for key in ("chat_id", "message_id", "user_id"):
        value = params.get(key)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            params[key] = int(value)
    return params


MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_CAPTION_LEN = 1024
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class _FilePart(dict[str, Any]):
    """A file part of a multipart request, recorded as ``{"filename", "size"}`` (and equal to
    that dict) with its bytes in ``data``."""

    def __init__(self, filename: str, data: bytes) -> None:
        super().__init__(filename=filename, size=len(data))
        self.data = data


@dataclasses.dataclass(frozen=True)
class SentPhoto:
    """A successful sendPhoto: the image as uploaded, and the sizes Telegram made of it."""

    chat_id: int
    message_id: int
    data: bytes
    filename: str
    width: int
    height: int
    file_ids: tuple[str, ...]  # one per size, the largest last
    caption: str
    at: float


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's header; None for anything that is not a PNG."""
    if len(data) < 24 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return (width, height) if width and height else None


def _photo_sizes(data: bytes, width: int, height: int) -> list[JSONDict]:
    """The PhotoSize list Telegram answers with: the picture scaled to fit 90, 320, 800 and
    1280 pixels, as far as it is larger, smallest first."""
    key = hashlib.sha1(data).hexdigest()[:20]
    sizes = []
    for side in (90, 320, 800, 1280):
        scale = min(1.0, side / max(width, height))
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        sizes.append(
            {
                "file_id": f"AgACAgQAAxkDAAI{key}{side}",
                "file_unique_id": f"AQAD{key[:12]}{side}",
                "width": w,
                "height": h,
                "file_size": max(1, len(data) * w * h // (width * height)),
            }
        )
        if scale == 1.0:
            break
    return sizes


__all__ = [
    "Answer",
    "ApiError",
    "Call",
    "Chat",
    "FakeTelegram",
    "SentMessage",
    "StoredMessage",
    "parse_html",
    "utf16_len",
]
