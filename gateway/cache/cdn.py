"""A CDN in front of the gateway: the tags a cacheable response carries, and the purge hook
that tells the CDN which tags a write made stale.

The response cache already knows every entity a response showed (gateway/cache/tags.py);
the same knowledge, as `Surrogate-Key` (Fastly, Varnish xkey) and `Cache-Tag` (Cloudflare)
headers, lets a CDN hold a listing for minutes and still drop it the moment one of its
prices changes. The purge is sent from a background task with retries: a slow or dead CDN
API never slows the write that caused it, and a purge that finally fails is logged and
bounded by the response's `s-maxage` anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import orjson
import structlog

from .keys import KeySpace, Kind

if TYPE_CHECKING:
    import httpx

log = structlog.get_logger("gateway.cdn")
# Fastly and Cloudflare both cap the header at 16 KB; stay well under it. Past this, a
# response is tagged by the kinds of data it showed: coarser purges, never missed ones.
MAX_TAG_HEADER_BYTES = 8_000
PURGE_ATTEMPTS = 5
PURGE_TIMEOUT_SECONDS = 5.0  # per attempt


def kind_tag(kind: Kind) -> str:
    return f"kind:{kind.value}"


def surrogate_tags(keys: KeySpace, entity_keys: Iterable[str], kinds: Iterable[Kind]) -> list[str]:
    """The CDN tags of a response: its entity keys without the cache's prefix and version
    (``Product:12``, ``Price:CNY:40``), then one tag per kind of data it showed."""
    kind_tags = sorted({kind_tag(kind) for kind in kinds})
    entity_tags = sorted(key.removeprefix(keys.base) for key in entity_keys)
    if sum(len(tag) + 1 for tag in entity_tags) + sum(len(t) + 1 for t in kind_tags) > (
        MAX_TAG_HEADER_BYTES
    ):
        every_kind = {keys.kind_of(key) for key in entity_keys} | set(kinds)
        return sorted({kind_tag(kind) for kind in every_kind if kind is not None})
    return entity_tags + kind_tags


class PurgeHook:
    """POSTs ``{"tags": [...]}`` to the configured URL for each invalidation.

    Header values may hold ``{tags}``, replaced by the space-separated tags, for CDN APIs
    that take them in a header (Fastly's ``Surrogate-Key``)."""

    def __init__(
        self, url: str, headers: Mapping[str, str], timeout: float = PURGE_TIMEOUT_SECONDS
    ) -> None:
        # Imported here: every gateway imports this module for the tags; only one that
        # purges a CDN needs the HTTP client (a tenth of a second of each process's start).
        import httpx

        self.url = url
        self.headers = dict(headers)
        self._client: httpx.AsyncClient = httpx.AsyncClient(timeout=timeout)
        self._pending: set[asyncio.Task[None]] = set()

    def purge(self, tags: list[str]) -> None:
        """Schedule the purge and return at once."""
        if not tags:
            return
        task = asyncio.get_running_loop().create_task(self._send(tags))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send(self, tags: list[str]) -> None:
        import httpx
        import stamina

        joined = " ".join(tags)
        headers = {name: value.replace("{tags}", joined) for name, value in self.headers.items()}
        headers["Content-Type"] = "application/json"
        body = orjson.dumps({"tags": tags})
        try:
            async for attempt in stamina.retry_context(
                on=httpx.HTTPError, attempts=PURGE_ATTEMPTS, wait_initial=0.1, wait_max=5.0
            ):
                with attempt:
                    response = await self._client.post(self.url, content=body, headers=headers)
                    response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("cdn purge failed", tags=len(tags), error=str(exc))

    async def drain(self) -> None:
        """Wait for the purges in flight (shutdown, and tests that look right after)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def close(self, grace: float = 2.0) -> None:
        """Give the purges in flight a moment, then stop: their responses expire anyway."""
        if self._pending:
            _, late = await asyncio.wait(set(self._pending), timeout=grace)
            for task in late:
                task.cancel()
        await self._client.aclose()
