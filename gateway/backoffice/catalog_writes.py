"""priceSet, stockAdjust and productPublish: the rules, the audited write, then the cached
copies it made stale are dropped in every gateway process (before the payload is read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sources.catalog.records import Product, Sku
from sources.inventory.adjust import AdjustmentRefusal

from ..cache import invalidation
from ..errors import Problem, UserErrorCode
from ..sources import Sources
from .listing import refresh_product_listing

MAX_AMOUNT = Decimal("99999999.99")
MAX_STOCK_DELTA = 1_000_000
MAX_REASON = 2_000


@dataclass(frozen=True, slots=True)
class Outcome:
    problems: list[Problem]
    sku: Sku | None = None
    product: Product | None = None


def _amount_problems(name: str, value: Decimal) -> list[Problem]:
    if not value.is_finite() or value <= 0 or value > MAX_AMOUNT:
        return [Problem(UserErrorCode.INVALID_INPUT, f"{name} must be a positive amount", (name,))]
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        return [Problem(UserErrorCode.INVALID_INPUT, f"{name} has more than two decimals", (name,))]
    return []


def price_problems(list_amount: Decimal, sale_amount: Decimal) -> list[Problem]:
    """The rules of a price, for priceSet, priceSetBulk and price imports alike."""
    problems = _amount_problems("list", list_amount) + _amount_problems("sale", sale_amount)
    if not problems and sale_amount > list_amount:
        problems.append(
            Problem(UserErrorCode.INVALID_INPUT, "sale must not exceed list", ("sale",))
        )
    return problems


def stock_change_problems(delta: int, reason: str) -> list[Problem]:
    """The rules of a stock adjustment, for stockAdjust, stockAdjustBulk and stock imports
    alike (the stock rules, never below reserved, are the inventory source's)."""
    problems: list[Problem] = []
    if delta == 0 or abs(delta) > MAX_STOCK_DELTA:
        problems.append(
            Problem(
                UserErrorCode.INVALID_INPUT,
                f"delta must be non-zero and at most {MAX_STOCK_DELTA} in size",
                ("delta",),
            )
        )
    if not reason.strip():
        problems.append(Problem(UserErrorCode.INVALID_INPUT, "a reason is required", ("reason",)))
    elif len(reason) > MAX_REASON:
        problems.append(
            Problem(
                UserErrorCode.INVALID_INPUT,
                f"the reason is longer than {MAX_REASON} characters",
                ("reason",),
            )
        )
    return problems


def refusal_problem(refusal: AdjustmentRefusal, warehouse_code: str) -> Problem:
    """What the inventory source's refusal of an adjustment means to staff."""
    if refusal is AdjustmentRefusal.WAREHOUSE_NOT_FOUND:
        return Problem(
            UserErrorCode.WAREHOUSE_NOT_FOUND,
            f"no warehouse with code {warehouse_code!r}",
            ("warehouseCode",),
        )
    if refusal is AdjustmentRefusal.BELOW_RESERVED:
        return Problem(
            UserErrorCode.INSUFFICIENT_STOCK,
            "the adjustment would take on-hand stock below what is reserved",
            ("delta",),
        )
    return Problem(
        UserErrorCode.IDEMPOTENCY_KEY_REUSED,
        "this idempotency key was used with other arguments",
        ("idempotencyKey",),
    )


def key_problems(idempotency_key: str | None) -> list[Problem]:
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        return [
            Problem(
                UserErrorCode.INVALID_INPUT,
                "idempotencyKey must be 1 to 200 characters",
                ("idempotencyKey",),
            )
        ]
    return []


async def set_price(
    sources: Sources,
    *,
    sku_id: int | None,
    list_amount: Decimal,
    sale_amount: Decimal,
    currency: str,
    actor: str,
    now: datetime,
) -> Outcome:
    problems = price_problems(list_amount, sale_amount)
    sku = (await sources.catalog.skus_by_ids([sku_id])).get(sku_id) if sku_id else None
    if sku is None:
        problems.insert(0, Problem(UserErrorCode.SKU_NOT_FOUND, "no such SKU", ("skuId",)))
    if problems:
        return Outcome(problems)
    assert sku is not None
    await sources.pricing.set_price(
        sku_id=sku.id,
        currency=currency,
        list_amount=list_amount,
        sale_amount=sale_amount,
        actor=actor,
        now=now,
    )
    await refresh_product_listing(sources, sku.product_id, currency)
    await invalidation.price_changed(
        sources, sku_id=sku.id, product_id=sku.product_id, currency=currency
    )
    return Outcome([], sku=sku)


async def adjust_stock(
    sources: Sources,
    *,
    sku_id: int | None,
    warehouse_code: str,
    delta: int,
    reason: str,
    idempotency_key: str | None,
    currency: str,
    actor: str,
    now: datetime,
) -> Outcome:
    problems = stock_change_problems(delta, reason) + key_problems(idempotency_key)
    sku = (await sources.catalog.skus_by_ids([sku_id])).get(sku_id) if sku_id else None
    if sku is None:
        problems.insert(0, Problem(UserErrorCode.SKU_NOT_FOUND, "no such SKU", ("skuId",)))
    if problems:
        return Outcome(problems)
    assert sku is not None
    result = await sources.inventory.adjust_stock(
        sku_id=sku.id,
        warehouse_code=warehouse_code,
        delta=delta,
        actor=actor,
        reason=reason.strip(),
        now=now,
        idempotency_key=idempotency_key,
    )
    if result.refusal is not None:
        return Outcome([refusal_problem(result.refusal, warehouse_code)], sku=sku)
    if not result.replayed:
        await refresh_product_listing(sources, sku.product_id, currency)
        await invalidation.stock_changed(sources, sku_ids=[sku.id], product_id=sku.product_id)
    return Outcome([], sku=sku)


async def publish_product(
    sources: Sources, *, product_id: int | None, published: bool, actor: str, now: datetime
) -> Outcome:
    product = None
    if product_id is not None and published:
        current = (await sources.catalog.products_by_ids([product_id])).get(product_id)
        if current is not None and current.archived_at is not None:
            return Outcome(
                [
                    Problem(
                        UserErrorCode.PRODUCT_ARCHIVED,
                        "an archived product is withdrawn for good",
                        ("productId",),
                    )
                ]
            )
    if product_id is not None:
        product = await sources.catalog.set_published(
            product_id=product_id, published=published, actor=actor, now=now
        )
    if product is None:
        return Outcome(
            [Problem(UserErrorCode.PRODUCT_NOT_FOUND, "no such product", ("productId",))]
        )
    await invalidation.product_changed(sources, product_id=product.id, slug=product.slug)
    return Outcome([], product=product)
