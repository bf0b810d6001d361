"""Small factories for the pricing tests: promotion records, cart lines, promotion rows."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sources.pricing.engine import CartLine
from sources.pricing.records import Promotion, PromotionKind, PromotionScope

AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def promotion(
    id: int = 1,
    *,
    kind: PromotionKind = PromotionKind.PERCENTAGE,
    scope: PromotionScope = PromotionScope.ORDER,
    percent: str | None = None,
    amount: str | None = None,
    threshold: str | None = None,
    buy: int | None = None,
    get: int | None = None,
    code: str | None = None,
    priority: int = 0,
    exclusive: bool = False,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    products: Iterable[int] = (),
    categories: Iterable[int] = (),
    usage_limit: int | None = None,
    per_customer_limit: int | None = None,
    is_active: bool = True,
) -> Promotion:
    return Promotion(
        id=id,
        name=f"promotion {id}",
        kind=kind,
        description="",
        scope=scope,
        starts_at=starts_at,
        ends_at=ends_at,
        coupon_code=code,
        priority=priority,
        is_exclusive=exclusive,
        percent=_decimal(percent),
        amount=_decimal(amount),
        threshold=_decimal(threshold),
        buy_quantity=buy,
        get_quantity=get,
        currency="CNY",
        product_ids=frozenset(products),
        category_ids=frozenset(categories),
        usage_limit=usage_limit,
        per_customer_limit=per_customer_limit,
        is_active=is_active,
    )


def percentage(id: int, percent: str, **kw: Any) -> Promotion:
    return promotion(id, kind=PromotionKind.PERCENTAGE, percent=percent, **kw)


def fixed(id: int, amount: str, **kw: Any) -> Promotion:
    return promotion(id, kind=PromotionKind.FIXED_AMOUNT, amount=amount, **kw)


def line(
    line_id: str,
    price: str,
    quantity: int = 1,
    *,
    sku: int | None = None,
    product: int = 1,
    categories: tuple[int, ...] = (),
) -> CartLine:
    """A cart line; the SKU defaults to one of its own, derived from the line id."""
    return CartLine(
        line_id=line_id,
        sku_id=sku if sku is not None else zlib.crc32(line_id.encode()),
        product_id=product,
        category_path=categories,
        unit_price=Decimal(price),
        quantity=quantity,
    )


def promotion_row(id: int, **values: Any) -> dict[str, Any]:
    """A ``promotions`` row: a 10% order coupon unless told otherwise."""
    row: dict[str, Any] = {
        "id": id,
        "name": f"promotion {id}",
        "kind": "PERCENTAGE",
        "description": "",
        "scope": "ORDER",
        "starts_at": None,
        "ends_at": None,
        "coupon_code": f"CODE{id}",
        "usage_limit": None,
        "per_customer_limit": None,
        "priority": 0,
        "is_exclusive": False,
        "is_active": True,
        "percent": Decimal("10"),
        "amount": None,
        "threshold": None,
        "buy_quantity": None,
        "get_quantity": None,
        "currency": "CNY",
    }
    row.update(values)
    return row


def _decimal(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None
