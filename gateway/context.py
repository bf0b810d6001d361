"""Everything one request carries: who asks, its loaders, the sources, settings, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Send

from .auth import Viewer
from .loaders import Loaders
from .media.storage import MediaStorage
from .metrics import Metrics, RequestStats
from .payments.cashier import Cashier
from .settings import Settings
from .sources import Sources

if TYPE_CHECKING:
    from .ratelimit.limiter import ThrottleStatus


class ResponseHead:
    """The status and headers a resolver or extension sets on a POSTed operation's answer
    (the rate limit's 429 and ``Retry-After``), sent with its JSON body as strawberry's
    view sends them: 200 unless set, ``Content-Length`` and ``Content-Type`` first."""

    __slots__ = ("headers", "status_code")

    def __init__(self) -> None:
        self.status_code: int | None = None
        self.headers = MutableHeaders(raw=[])

    async def send(self, send: Send, body: bytes) -> None:
        headers = [
            (b"content-length", str(len(body)).encode("latin-1")),
            (b"content-type", b"application/json"),
            *self.headers.raw,
        ]
        status = self.status_code or 200
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@dataclass
class GatewayContext:
    request: Request
    settings: Settings
    sources: Sources
    metrics: Metrics
    loaders: Loaders
    viewer: Viewer
    stats: RequestStats
    now: datetime  # one moment per request: promotions and presale windows agree
    request_id: str
    # headers and status a resolver or extension sets
    response: Response | ResponseHead | None = None
    query_cost: int = 0  # computed before execution (gateway/limits.py)
    throttle: ThrottleStatus | None = None  # the rate limit's budget left (gateway/ratelimit)
    cashier: Cashier | None = None  # the payment providers (gateway/payments)
    media: MediaStorage | None = None  # where product images are stored (gateway/media)

    @cached_property
    def media_base_url(self) -> str:
        """Where /media is served: MEDIA_PUBLIC_URL, else this request's own origin (worked
        out once per request: a listing prints fifty image addresses)."""
        configured = self.settings.media.public_url
        if configured:
            return configured
        return str(self.request.base_url).rstrip("/")
