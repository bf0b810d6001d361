"""The headers that say which language an answer is in.

``Content-Language`` names it and ``Vary: Accept-Language`` tells a browser or CDN that the
same URL answers differently for another Accept-Language: both only on an answer that
showed translatable text (a product, category, brand or promotion name), so a cart or a
checkout's answer stays one cache entry whatever the buyer's browser asks for.
"""

from __future__ import annotations

from starlette.types import Message, Send

from .request import RequestLanguage


def _vary_with_language(value: bytes) -> bytes:
    names = [v.strip() for v in value.split(b",") if v.strip()]
    if not any(n.lower() == b"accept-language" for n in names):
        names.append(b"Accept-Language")
    return b", ".join(names)


def with_language_headers(send: Send, language: RequestLanguage) -> Send:
    async def send_with_language(message: Message) -> None:
        if message["type"] == "http.response.start" and language.is_shown:
            headers = [
                (k, v)
                for k, v in message.get("headers", [])
                if k.lower() not in (b"content-language", b"vary")
            ]
            vary = b", ".join(v for k, v in message.get("headers", []) if k.lower() == b"vary")
            headers.append((b"content-language", language.language.encode("latin-1")))
            headers.append((b"vary", _vary_with_language(vary)))
            message = {**message, "headers": headers}
        await send(message)

    return send_with_language
