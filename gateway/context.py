"""Everything one request carries: who asks, its loaders, the sources, settings, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from .auth import Viewer
from .loaders import Loaders
from .media.storage import MediaStorage
from .metrics import Metrics, RequestStats
from .payments.cashier import Cashier
from .settings import Settings
from .sources import Sources

if TYPE_CHECKING:
    from .ratelimit.limiter import ThrottleStatus


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
    response: Response | None = None  # headers and status a resolver or extension sets
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
