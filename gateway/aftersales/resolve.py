"""afterSalesRequestResolve and afterSalesRequestComplete: staff move a request along, once.

OPEN -> APPROVED or REJECTED is a conditional move in the orders source: of two staff
resolving one request at once, one wins and the other is told INVALID_STATUS_TRANSITION.
A refund above REFUND_SECOND_APPROVAL_ABOVE takes two approvals by two staff members
(OPEN -> AWAITING_SECOND_APPROVAL -> APPROVED, see four_eyes.py); the first approver
trying the second is PERMISSION_DENIED.
With an idempotency key a retry replays the first answer; the same key with other
arguments is IDEMPOTENCY_KEY_REUSED. APPROVED -> COMPLETED closes a request; for a RETURN
that is when the goods are back, so their units go back on the shelf (once per request,
whatever the retries) as the request is closed. Given the cashier, a completed RETURN or
REFUND_ONLY gives its refund back through the providers the order was paid with, keyed by
the request (so a retried completion refunds once)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sources.catalog.records import BundleItem, Product, ProductKind
from sources.common.idempotency import IdempotencyKeyReused, fingerprint
from sources.orders.errors import SameApprover
from sources.orders.records import (
    AfterSalesKind,
    AfterSalesRequest,
    AfterSalesStatus,
    OrderLine,
    Shipment,
)

from ..errors import Problem, UserErrorCode
from ..payments.cashier import Cashier
from ..payments.refunding import refund_order
from ..sources import Sources
from . import four_eyes
from .refunds import REFUNDING_KINDS

_SINGLE_APPROVAL = four_eyes.Move(AfterSalesStatus.APPROVED, (four_eyes.OPEN, four_eyes.AWAITING))
MAX_NOTE = 1000
MAX_KEY = 200
_DEFAULT_COMPLETION_NOTE = {
    AfterSalesKind.RETURN: "goods received back",
    AfterSalesKind.REFUND_ONLY: "refund paid",
    AfterSalesKind.EXCHANGE: "replacement sent",
}


@dataclass(frozen=True, slots=True)
class ResolveOutcome:
    request: AfterSalesRequest | None
    problems: list[Problem]
    replayed: bool = False


def _refused(code: UserErrorCode, message: str, *field: str) -> ResolveOutcome:
    return ResolveOutcome(None, [Problem(code, message, field or None)])


def _not_found() -> ResolveOutcome:
    return _refused(
        UserErrorCode.AFTER_SALES_REQUEST_NOT_FOUND, "no such after-sales request", "requestId"
    )


async def _status_refusal(
    sources: Sources, request_id: int, to: AfterSalesStatus
) -> ResolveOutcome:
    current = (await sources.orders.after_sales_by_ids([request_id])).get(request_id)
    if current is None:
        return _not_found()
    if current.status is to is four_eyes.AWAITING:
        return _refused(
            UserErrorCode.INVALID_STATUS_TRANSITION,
            "another staff member approved this request meanwhile; it now awaits a second "
            "approval (approve it again to give it)",
            "requestId",
        )
    return _refused(
        UserErrorCode.INVALID_STATUS_TRANSITION,
        f"a request that is {current.status.value} cannot become {to.value}",
        "requestId",
    )


async def resolve_request(
    sources: Sources,
    request_id: int | None,
    *,
    approve: bool,
    note: str,
    idempotency_key: str | None,
    actor: str,
    now: datetime,
    second_approval_above: Decimal | None = None,
) -> ResolveOutcome:
    """``second_approval_above``: refunds above it need two staff members (None: never)."""
    problems: list[Problem] = []
    if len(note) > MAX_NOTE or "\x00" in note:
        problems.append(
            Problem(UserErrorCode.INVALID_INPUT, f"note: at most {MAX_NOTE} characters", ("note",))
        )
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_KEY:
        problems.append(
            Problem(
                UserErrorCode.INVALID_INPUT,
                f"idempotencyKey must be 1 to {MAX_KEY} characters",
                ("idempotencyKey",),
            )
        )
    if problems:
        return ResolveOutcome(None, problems)
    if request_id is None:
        return _not_found()
    move = four_eyes.REJECTION
    if approve:
        found = (await sources.orders.after_sales_by_ids([request_id])).get(request_id)
        if found is None:
            return _not_found()
        above = second_approval_above
        move = four_eyes.approval(found, above) if above is not None else _SINGLE_APPROVAL
    to = move.to
    try:
        request, replayed = await sources.orders.transition_after_sales(
            request_id,
            to=to,
            allowed_from=move.allowed_from,
            distinct_actor=move.distinct_actor,
            actor=actor,
            note=note.strip(),
            now=now,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint({"request": request_id, "approve": approve, "note": note})
            if idempotency_key is not None
            else None,
        )
    except IdempotencyKeyReused:
        return _refused(
            UserErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this idempotency key was used with other arguments",
            "idempotencyKey",
        )
    except SameApprover:
        return _refused(
            UserErrorCode.PERMISSION_DENIED,
            "you gave this refund its first approval: a refund this large needs a second "
            "approval by another staff member with MANAGE_AFTER_SALES",
            "requestId",
        )
    if request is None:
        return await _status_refusal(sources, request_id, to)
    return ResolveOutcome(request, [], replayed)


def restock_items(
    request: AfterSalesRequest,
    lines: Mapping[int, OrderLine],
    products: Mapping[int, Product],
    bundles: Mapping[int, Sequence[BundleItem]],
    shipments: Sequence[Shipment],
) -> list[tuple[int, str, int]]:
    """(SKU, warehouse code, units) a received return puts back: each returned unit goes
    back to the warehouse whose parcel carried it (a bundle's physical parts to the first
    warehouse that shipped the bundle). Services and drop-shipped goods (the supplier's
    stock, not ours) go back to no shelf of ours."""
    items: dict[tuple[int, str], int] = {}

    def add(sku_id: int, code: str, units: int) -> None:
        if units > 0:
            items[(sku_id, code)] = items.get((sku_id, code), 0) + units

    for returned in request.lines:
        line = lines.get(returned.order_line_id)
        if line is None:
            continue
        product = products.get(line.product_id)
        kind = product.kind if product else ProductKind.PHYSICAL
        if kind is ProductKind.SERVICE:
            continue
        carried = [
            (shipment.source.warehouse_code, item.quantity)
            for shipment in shipments
            if shipment.source.warehouse_code is not None
            for item in shipment.lines
            if item.order_line_id == line.id
        ]
        if not carried:
            continue
        if kind is ProductKind.BUNDLE:
            code = carried[0][0]
            assert code is not None
            for part in bundles.get(line.product_id, ()):
                if part.product.kind is not ProductKind.SERVICE:
                    add(part.sku.id, code, part.quantity * returned.quantity)
            continue
        left = returned.quantity
        for code, units in carried:
            assert code is not None
            taken = min(left, units)
            add(line.sku_id, code, taken)
            left -= taken
    return [(sku, code, units) for (sku, code), units in sorted(items.items())]


async def restock_return(
    sources: Sources, request: AfterSalesRequest, *, actor: str, now: datetime
) -> list[tuple[int, str, int]]:
    """Put a received return back on the shelf; applied once per request by the inventory
    (keyed by the request), so a retried or doubled completion restocks once."""
    orders, catalog = sources.orders, sources.catalog
    lines = {
        line.id: line
        for line in (await orders.order_lines_by_order_ids([request.order_id]))[request.order_id]
    }
    shipments = (await orders.shipments_by_order_ids([request.order_id]))[request.order_id]
    products = await catalog.products_by_ids(sorted({line.product_id for line in lines.values()}))
    bundle_ids = [pid for pid, p in products.items() if p.kind is ProductKind.BUNDLE]
    bundles = await catalog.bundle_items_by_product_ids(bundle_ids) if bundle_ids else {}
    items = restock_items(request, lines, products, bundles, shipments)
    if items:
        await sources.inventory.restock(
            return_ref=f"after-sales:{request.id}", items=items, actor=actor, now=now
        )
    return items


async def refund_request(
    sources: Sources, cashier: Cashier | None, request: AfterSalesRequest, now: datetime
) -> None:
    if cashier is None or request.kind not in REFUNDING_KINDS or not request.refund_amount:
        return
    order = (await sources.orders.orders_by_ids([request.order_id])).get(request.order_id)
    if order is not None:
        await refund_order(
            sources,
            cashier,
            order,
            amount=request.refund_amount,
            key=f"as-{request.id}",
            reason=f"after-sales request {request.id}: {request.reason}"[:500],
            now=now,
        )


async def complete_request(
    sources: Sources,
    request_id: int | None,
    *,
    note: str,
    actor: str,
    now: datetime,
    cashier: Cashier | None = None,
) -> ResolveOutcome:
    if len(note) > MAX_NOTE or "\x00" in note:
        return _refused(UserErrorCode.INVALID_INPUT, f"note: at most {MAX_NOTE} characters", "note")
    orders = sources.orders
    request = (
        (await orders.after_sales_by_ids([request_id])).get(request_id) if request_id else None
    )
    if request is None:
        return _not_found()
    if request.status is AfterSalesStatus.COMPLETED and request.kind is AfterSalesKind.RETURN:
        # A completion cut short between its two steps finishes here; the restock is keyed
        # by the request, so when nothing was lost this changes nothing.
        await restock_return(sources, request, actor=actor, now=now)
    if request.status is AfterSalesStatus.COMPLETED:
        await refund_request(sources, cashier, request, now)
    if request.status is not AfterSalesStatus.APPROVED:
        return _refused(
            UserErrorCode.INVALID_STATUS_TRANSITION,
            f"a request that is {request.status.value} cannot become COMPLETED",
            "requestId",
        )
    # The move first: of two staff completing at once only the one that moved it restocks.
    done, _ = await orders.transition_after_sales(
        request.id,
        to=AfterSalesStatus.COMPLETED,
        allowed_from=[AfterSalesStatus.APPROVED],
        actor=actor,
        note=note.strip() or _DEFAULT_COMPLETION_NOTE[request.kind],
        now=now,
    )
    if done is None:
        return await _status_refusal(sources, request.id, AfterSalesStatus.COMPLETED)
    if done.kind is AfterSalesKind.RETURN:
        await restock_return(sources, done, actor=actor, now=now)
    await refund_request(sources, cashier, done, now)
    return ResolveOutcome(done, [])
