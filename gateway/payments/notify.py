"""``POST /payments/<provider>/notify``: a provider's asynchronous notification.

The signature is checked first with the provider's key (bad or missing: 400 and a log
line, nothing read further, nothing changed). A verified notification is applied by
``settle_trade`` (idempotent) and answered in the provider's format: accepted when the
shop has taken it into account (applied, a duplicate, flagged for staff, refunded as
late), refused when it must come again (a trade the shop does not know yet, a source down)
so the provider's own retries carry it until the shop can act.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..sources import Sources
from .cashier import Cashier
from .paying import Settled, settle_trade
from .provider import BadNotification, NotifyAnswer

log = logging.getLogger("gateway.payments")
MAX_NOTIFICATION_BYTES = 64 * 1024
_ACCEPTED = frozenset(
    {Settled.APPLIED, Settled.DUPLICATE, Settled.NOT_PAID, Settled.FLAGGED, Settled.LATE}
)


def _response(answer: NotifyAnswer) -> Response:
    return Response(answer.body, status_code=answer.status_code, media_type=answer.media_type)


async def notify_endpoint(request: Request, *, sources: Sources, cashier: Cashier) -> Response:
    name = str(request.path_params.get("provider", ""))
    provider = cashier.provider(name)
    if provider is None or provider.name == "manual":
        return JSONResponse({"error": "unknown payment provider"}, status_code=404)
    body = await request.body()
    if len(body) > MAX_NOTIFICATION_BYTES:
        return JSONResponse({"error": "notification too large"}, status_code=413)
    try:
        trade = provider.verify_notification(request.headers, body)
    except BadNotification as exc:
        log.warning("rejected %s notification from %s: %s", name, request.client, exc)
        answer = provider.answer(False)
        return Response(answer.body, status_code=400, media_type=answer.media_type)
    try:
        settled = await settle_trade(sources, cashier, provider.name, trade, datetime.now(UTC))
    except Exception:  # a source down: the provider's retries bring it again
        log.exception("%s notification for %s not applied", name, trade.out_trade_no)
        answer = provider.answer(False)
        return Response(answer.body, status_code=503, media_type=answer.media_type)
    log.info("%s notification for %s: %s", name, trade.out_trade_no, settled.value)
    return _response(provider.answer(settled in _ACCEPTED))
