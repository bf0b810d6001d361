"""Fetching an image by URL for productMediaAdd (imports name their pictures by URL).

Only http(s); never more than the upload limit read; and unless allowed, never an address
inside the network the gateway runs in (loopback, private, link-local: the cloud's
metadata service), so a URL cannot make the gateway reach what only it can reach.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from .images import UploadRefused


async def _is_private(host: str) -> bool:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None)
    except socket.gaierror as exc:
        raise UploadRefused(f"cannot resolve {host}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return True
    return False


async def fetch_image(
    url: str, *, max_bytes: int, timeout_seconds: float, allow_private: bool
) -> bytes:
    # Imported here: the schema imports this module, and only a fetch needs the client.
    import httpx

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UploadRefused("the URL must be http(s)://host/...")
    if not allow_private and await _is_private(parts.hostname):
        raise UploadRefused("the URL points inside the shop's own network")
    try:
        async with (
            httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise UploadRefused(f"the URL answered {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRefused(f"the file is over {max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise UploadRefused(f"the URL could not be fetched ({type(exc).__name__})") from exc
