"""GET /media/<key>: an original, or with ``w``, ``h`` and ``f`` a resized copy, made on
the first request for it, stored beside the original and served from storage after that.

Sizes are rounded up to a fixed set of steps (images.STEPS), so the copies of one image
are a handful, whatever sizes clients ask for; a process makes each copy once even under
concurrent requests for it (one lock per copy). Keys are unguessable, and responses are
immutable: a changed image is a new key.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict

from starlette.requests import Request
from starlette.responses import Response

from .images import EXTENSIONS, FORMATS, ImageFormat, draw_demo, resize, step
from .storage import MediaStorage, is_valid_key

CACHE_FOREVER = "public, max-age=31536000, immutable"
DEMO = re.compile(r"^demo/p(\d+)-(\d+)-([0-9a-f]{6})\.png$")
_TYPES = {ext: FORMATS[fmt] for fmt, ext in EXTENSIONS.items()}


def url_for(base: str, key: str, *, width: int | None, height: int | None, fmt: str | None) -> str:
    """The address of an image, or of its copy within (width, height) in ``fmt``."""
    query = "&".join(
        f"{name}={value}"
        for name, value in (("w", step(width)), ("h", step(height)), ("f", fmt and fmt.lower()))
        if value
    )
    return f"{base.rstrip('/')}/media/{key}" + (f"?{query}" if query else "")


class MediaEndpoint:
    def __init__(self, storage: MediaStorage) -> None:
        self.storage = storage
        self._locks: OrderedDict[str, asyncio.Lock] = OrderedDict()

    async def original(self, key: str) -> bytes | None:
        data = await self.storage.get(key)
        if data is None and (demo := DEMO.match(key)):
            # The demo shop's pictures are drawn on first request, not at seed time (the
            # suite seeds many shops), then kept like any upload.
            data = draw_demo(f"Product {demo.group(1)}", demo.group(3))
            await self.storage.put(key, data, "image/png")
        return data

    async def serve(self, request: Request) -> Response:
        key = request.path_params["key"]
        if not is_valid_key(key) or key.startswith("derived/"):
            return Response("not found", status_code=404)
        try:
            width = _size(request.query_params.get("w"))
            height = _size(request.query_params.get("h"))
            fmt = request.query_params.get("f")
            target = ImageFormat(fmt.upper()) if fmt else None
        except ValueError:
            return Response("w and h are sizes in pixels; f is webp, jpeg or png", 400)
        if width is None and height is None and target is None:
            data = await self.original(key)
            if data is None:
                return Response("not found", status_code=404)
            return Response(data, media_type=_type(key), headers={"Cache-Control": CACHE_FOREVER})
        if target is None:
            target = _format_of(key)
        width, height = step(width), step(height)
        copy_key = f"derived/{key}/{width or 0}x{height or 0}.{EXTENSIONS[target.value]}"
        data = await self.storage.get(copy_key)
        if data is None:
            data = await self._make(key, copy_key, width, height, target)
            if data is None:
                return Response("not found", status_code=404)
        return Response(
            data, media_type=FORMATS[target.value], headers={"Cache-Control": CACHE_FOREVER}
        )

    async def _make(
        self, key: str, copy_key: str, width: int | None, height: int | None, fmt: ImageFormat
    ) -> bytes | None:
        lock = self._locks.setdefault(copy_key, asyncio.Lock())
        while len(self._locks) > 1024:  # bounded: an idle lock is cheap to remake
            self._locks.popitem(last=False)
        async with lock:
            made = await self.storage.get(copy_key)  # another request made it meanwhile
            if made is not None:
                return made
            original = await self.original(key)
            if original is None:
                return None
            made = await asyncio.to_thread(
                resize, original, max_width=width, max_height=height, fmt=fmt
            )
            await self.storage.put(copy_key, made, FORMATS[fmt.value])
            return made


def _size(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    size = int(value)
    if not 1 <= size <= 10_000:
        raise ValueError(value)
    return size


def _type(key: str) -> str:
    return _TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")


def _format_of(key: str) -> ImageFormat:
    ext = key.rsplit(".", 1)[-1]
    return {"jpg": ImageFormat.JPEG, "png": ImageFormat.PNG}.get(ext, ImageFormat.WEBP)
