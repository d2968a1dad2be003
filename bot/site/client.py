"""HTTP access to the WordPress site: bytes and headers only, no parsing."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from bot import __version__
from bot.errors import FetchError, NotModified

USER_AGENT = f"hrm-bot/{__version__} (Telegram alerts for Iran HRM reports; +https://iran-hrm.com)"


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


# What each transport failure means to someone reading a log or `hrm-bot status`; httpx's
# own messages are often empty ("ReadError: ") or name only the library's internals.
_MEANINGS: tuple[tuple[type[httpx.HTTPError], str], ...] = (
    (httpx.ConnectTimeout, "no connection within the time-out"),
    (httpx.TimeoutException, "no answer within the time-out"),
    (httpx.ConnectError, "cannot connect (no such host, refused or unreachable)"),
    (httpx.ReadError, "the connection was reset or closed while reading the answer"),
    (httpx.WriteError, "the connection was reset or closed while sending the request"),
    (httpx.RemoteProtocolError, "the server broke off the answer or did not speak HTTP"),
    (httpx.DecodingError, "the answer's compression is corrupt"),
    (httpx.TooManyRedirects, "too many redirects"),
    (httpx.UnsupportedProtocol, "a redirect to something other than http(s)"),
)


def describe(exc: httpx.HTTPError) -> str:
    """A sentence for a transport failure, with httpx's own detail when it has any."""
    meaning = next((text for kind, text in _MEANINGS if isinstance(exc, kind)), None)
    detail = " ".join(str(exc).split())
    if meaning is None:
        return f"{exc.__class__.__name__}: {detail}" if detail else exc.__class__.__name__
    return f"{meaning} ({detail})" if detail else meaning


def _same_site(url: httpx.URL, ours: httpx.URL) -> bool:
    """The same host and port, give or take "www." and http/https (WordPress redirects
    between those)."""
    if url.host.removeprefix("www.") != ours.host.removeprefix("www."):
        return False
    return url.port == ours.port or url.scheme != ours.scheme


class SiteClient:
    """GETs with timeouts, a size cap, gzip and conditional requests."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        max_bytes: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._base = httpx.URL(self.base_url)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"},
            follow_redirects=True,
            max_redirects=5,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> Response:
        """GET ``path``; raise NotModified on 304 and FetchError on anything not in ``ok``."""
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        url = self.base_url + path
        try:
            # One deadline for the whole exchange: a server that drips bytes slowly must not
            # hold a poll for longer than the timeout says.
            async with asyncio.timeout(self.timeout):
                return await self._fetch(url, params, headers, ok)
        except TimeoutError:
            raise FetchError(f"GET {path}: no complete answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"GET {path}: {describe(exc)}") from None

    async def _fetch(
        self,
        url: str,
        params: Mapping[str, str | int] | None,
        headers: dict[str, str],
        ok: tuple[int, ...],
    ) -> Response:
        path = url[len(self.base_url) :] or "/"
        async with self._client.stream("GET", url, params=params, headers=headers) as resp:
            if resp.history and not _same_site(resp.url, self._base):
                # A login wall or a parked domain elsewhere; whatever it serves is not ours.
                where = resp.url.copy_with(query=None, fragment=None)
                raise FetchError(f"GET {path}: redirected to another host, {where}")
            if resp.status_code == 304:
                raise NotModified(path)
            if resp.status_code not in ok:
                raise FetchError(f"GET {path}: HTTP {resp.status_code}", status=resp.status_code)
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(f"GET {path}: response of {declared} bytes is over the cap")
            chunks: list[bytes] = []
            size = 0
            # Decoded bytes are counted, so a small gzip bomb is stopped as well.
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(f"GET {path}: response over {self.max_bytes} bytes")
                chunks.append(chunk)
            return Response(resp.status_code, b"".join(chunks), dict(resp.headers))
