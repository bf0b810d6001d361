"""The HTTP client of the gateway's calls to its source services: aiohttp's.

A source call is a small POST to one known service, fourteen of them per checkout, so the
client's own work per request is what remote sources cost over embedded ones. httpx (its
URL and header models, httpcore's pool, h11's pure-Python parser, anyio's stream layers)
spent about a millisecond of CPU per call. aiohttp's client, with its C parser
(``aiohttp._http_parser``, llhttp), one session and connector per source and the defaults
that cost per call turned off, spends about 0.13 ms (uvloop; a hand-written client on
httptools measured 0.04 ms), and keeps framing, pooling, TLS and half-closed connections a
maintained library's business: measured in bench/RESULTS.md, "Remote checkout at 14 calls".

- **Pool.** aiohttp's ``TCPConnector``: keep-alive connections, at most ``limit`` (the
  caller's semaphore bounds the calls anyway), a connection the service closed while idle
  dropped when the loop sees its EOF. A request on a connection that dies before its
  answer (the service closed it just as the request left: ``ServerDisconnectedError``) is
  sent once more at once, on a new connection; a read may repeat, a write carries its
  request key, so the service answers it once either way.
- **Time.** A connect timeout here (one ``ClientTimeout`` for the session, none per call);
  the caller's ``asyncio.timeout`` bounds the whole call. A call cancelled or timed out
  mid-answer closes its connection (aiohttp's release of an unread answer).
- **TLS** for ``https://`` URLs, with the caller's ``ssl.SSLContext``.
- No cookies, no decompression, no ``Accept``/``Accept-Encoding``/``User-Agent`` added per
  request: the fixed headers are the session's.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec
from aiohttp import hdrs
from yarl import URL

# What a call can fail with before the service answers (aiohttp's connect errors are
# OSErrors too): the caller retries these like a 502.
TRANSPORT_ERRORS = (aiohttp.ClientError, OSError, TimeoutError)


@dataclass(frozen=True, slots=True)
class Reply:
    status_code: int
    content: bytes
    headers: Mapping[str, str]  # aiohttp's (case-insensitive), kept as it is

    def json(self) -> Any:
        return msgspec.json.decode(self.content)


class SourceHTTP:
    """Keep-alive connections to one ``base_url`` (``http://`` or ``https://``). The
    session is opened on the first call: aiohttp binds it to the running event loop."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        connect_timeout_s: float = 2.0,
        ssl_context: ssl.SSLContext | None = None,
        limit: int = 32,
    ) -> None:
        url = URL(base_url.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url = str(url)
        self._headers = {"user-agent": "gateway-source-client", **(headers or {})}
        self._connect_timeout_s = connect_timeout_s
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}  # parsed once per path

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._limit, limit_per_host=0, ssl=self._ssl)
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=self._headers,
            skip_auto_headers=(hdrs.ACCEPT, hdrs.ACCEPT_ENCODING, hdrs.USER_AGENT),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._connect_timeout_s),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self._session

    def _url(self, path: str) -> URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = URL(self.base_url + path)
        return url

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """One request and its whole answer. Raises one of ``TRANSPORT_ERRORS``."""
        session = self._session
        if session is None or session.closed:
            session = self._open()
        url = self._url(path)
        data = body or None
        try:
            async with session.request(method, url, data=data, headers=headers) as response:
                return Reply(response.status, await response.read(), response.headers)
        except aiohttp.ServerDisconnectedError:
            # Closed by the service as the request left: once more, on a new connection.
            async with session.request(method, url, data=data, headers=headers) as response:
                return Reply(response.status, await response.read(), response.headers)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
