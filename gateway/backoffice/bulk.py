"""priceSetBulk, stockAdjustBulk and productPublishBulk: up to 1,000 items checked by the
very rules of the single writes (one function each, shared), applied in one source call
per source method, audited per item, with one idempotency key for the whole request.

Each item is reported on its own. By default the valid items apply and the others say
why not; with ``atomic`` one refused item means nothing applies (and the request says so).
Cached copies of exactly the touched SKUs and products are dropped, once per request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sources.catalog.records import Product, PublishChange, Sku
from sources.common.batches import BatchKey, BatchRefusal
from sources.common.idempotency import fingerprint
from sources.inventory.adjust_many import StockChange
from sources.pricing.records import PriceChange

from ..cache import invalidation
from ..cache.keys import LISTING_KINDS, Kind
from ..errors import Problem, UserErrorCode
from ..sources import Sources
from .catalog_writes import key_problems, price_problems, refusal_problem, stock_change_problems
from .listing import refresh_listings

MAX_BULK_ITEMS = 1000
Item = TypeVar("Item", "PriceItem", "StockItem")
Change = TypeVar("Change", PriceChange, StockChange)


@dataclass(frozen=True, slots=True)
class PriceItem:
    sku_id: int | None
    list_amount: Decimal
    sale_amount: Decimal


@dataclass(frozen=True, slots=True)
class StockItem:
    sku_id: int | None
    warehouse_code: str
    delta: int
    reason: str


@dataclass(frozen=True, slots=True)
class PublishItem:
    product_id: int | None
    published: bool


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    index: int
    problems: list[Problem]
    applied: bool = False
    sku: Sku | None = None
    product: Product | None = None


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    problems: list[Problem]  # about the request as a whole
    items: list[ItemOutcome] = field(default_factory=list)
    replayed: bool = False


def _request_problems(count: int, idempotency_key: str | None) -> list[Problem]:
    problems = key_problems(idempotency_key)
    if not 1 <= count <= MAX_BULK_ITEMS:
        problems.insert(
            0,
            Problem(
                UserErrorCode.INVALID_INPUT,
                f"a bulk request takes 1 to {MAX_BULK_ITEMS} items, got {count}",
                ("items",),
            ),
        )
    return problems


def _key(operation: str, idempotency_key: str | None, request: Any) -> BatchKey | None:
    """Bulk keys live beside the single writes' keys, in their own namespace."""
    if idempotency_key is None:
        return None
    return BatchKey(f"{operation}:{idempotency_key}", fingerprint({"request": request}))


_KEY_REUSED = Problem(
    UserErrorCode.IDEMPOTENCY_KEY_REUSED,
    "this idempotency key was used with another request",
    ("idempotencyKey",),
)


def _atomic_refusal(refused: int, total: int) -> Problem:
    return Problem(
        UserErrorCode.INVALID_INPUT,
        f"atomic: {refused} of {total} items were refused, so none was applied",
        ("items",),
    )


def _not_found(name: str, code: UserErrorCode, what: str) -> Problem:
    return Problem(code, f"no such {what}", (name,))


async def _skus(sources: Sources, ids: Sequence[int | None]) -> dict[int, Sku]:
    wanted = sorted({i for i in ids if i is not None})
    return await sources.catalog.skus_by_ids(wanted) if wanted else {}


def _check_sku_items(
    items: Sequence[Item],
    skus: dict[int, Sku],
    problems_of: Callable[[Item], list[Problem]],
    change_of: Callable[[Item, Sku, int], Change],
) -> tuple[list[ItemOutcome], list[Change]]:
    """Each item against its SKU and the single write's rules: an outcome per item, and
    the changes of those with no problem (``ref`` is the item's index)."""
    outcomes: list[ItemOutcome] = []
    changes: list[Change] = []
    for index, item in enumerate(items):
        found = skus.get(item.sku_id) if item.sku_id is not None else None
        item_problems = problems_of(item)
        if found is None:
            item_problems.insert(0, _not_found("skuId", UserErrorCode.SKU_NOT_FOUND, "SKU"))
        outcomes.append(ItemOutcome(index, item_problems, sku=found))
        if found is not None and not item_problems:
            changes.append(change_of(item, found, index))
    return outcomes, changes


async def _sku_writes_done(
    sources: Sources, touched: Sequence[Sku], currency: str, kind: Kind
) -> None:
    """After prices (``Kind.PRICE``) or stock (``Kind.STOCK``) changed: the touched
    products' listing projection, then the cached copies of exactly the touched entities,
    once for the whole request."""
    product_ids = {s.product_id for s in touched}
    prices = kind is Kind.PRICE
    await refresh_listings(sources, product_ids, currency, prices=prices, stock=not prices)
    entities: list[tuple[Kind, object]] = [
        (kind, f"{currency}:{s.id}" if prices else s.id) for s in touched
    ]
    entities += [(Kind.PRODUCT, pid) for pid in sorted(product_ids)]
    await invalidation.invalidate(sources, entities, LISTING_KINDS)


async def set_prices(
    sources: Sources,
    items: Sequence[PriceItem],
    *,
    atomic: bool,
    idempotency_key: str | None,
    currency: str,
    actor: str,
    now: datetime,
) -> BulkOutcome:
    problems = _request_problems(len(items), idempotency_key)
    if problems:
        return BulkOutcome(problems)
    skus = await _skus(sources, [i.sku_id for i in items])
    outcomes, changes = _check_sku_items(
        items,
        skus,
        lambda item: price_problems(item.list_amount, item.sale_amount),
        lambda item, sku, index: PriceChange(
            sku.id, currency, item.list_amount, item.sale_amount, ref=index
        ),
    )
    refused = len(items) - len(changes)
    if atomic and refused:
        return BulkOutcome([_atomic_refusal(refused, len(items))], outcomes)
    if not changes:
        return BulkOutcome([], outcomes)
    request = [[i.sku_id, str(i.list_amount), str(i.sale_amount)] for i in items]
    key = _key("priceSetBulk", idempotency_key, [request, atomic, currency])
    batch = await sources.pricing.set_prices(changes, actor=actor, now=now, key=key)
    if batch.refusal is BatchRefusal.KEY_REUSED:
        return BulkOutcome([_KEY_REUSED])
    applied = {c.ref for c in changes}
    outcomes = [replace(o, applied=o.index in applied) for o in outcomes]
    if not batch.replayed:
        touched = [skus[c.sku_id] for c in changes]
        await _sku_writes_done(sources, touched, currency, Kind.PRICE)
    return BulkOutcome([], outcomes, replayed=batch.replayed)


async def adjust_stock(
    sources: Sources,
    items: Sequence[StockItem],
    *,
    atomic: bool,
    idempotency_key: str | None,
    currency: str,
    actor: str,
    now: datetime,
) -> BulkOutcome:
    problems = _request_problems(len(items), idempotency_key)
    if problems:
        return BulkOutcome(problems)
    skus = await _skus(sources, [i.sku_id for i in items])
    outcomes, changes = _check_sku_items(
        items,
        skus,
        lambda item: stock_change_problems(item.delta, item.reason),
        lambda item, sku, index: StockChange(
            sku.id, item.warehouse_code, item.delta, item.reason.strip(), ref=index
        ),
    )
    refused = len(items) - len(changes)
    if atomic and refused:
        return BulkOutcome([_atomic_refusal(refused, len(items))], outcomes)
    if not changes:
        return BulkOutcome([], outcomes)
    request = [[i.sku_id, i.warehouse_code, i.delta, i.reason] for i in items]
    key = _key("stockAdjustBulk", idempotency_key, [request, atomic])
    batch = await sources.inventory.adjust_stock_many(
        changes, actor=actor, now=now, atomic=atomic, key=key
    )
    if batch.refusal is BatchRefusal.KEY_REUSED:
        return BulkOutcome([_KEY_REUSED])
    by_index = {o.index: o for o in outcomes}
    applied: list[Sku] = []
    for change, result in zip(changes, batch.results, strict=True):
        outcome = by_index[change.ref]
        if result.refusal is not None:
            problem = refusal_problem(result.refusal, change.warehouse_code)
            by_index[change.ref] = replace(outcome, problems=[problem])
        elif batch.refusal is None:
            by_index[change.ref] = replace(outcome, applied=True)
            applied.append(skus[change.sku_id])
    outcomes = [by_index[i] for i in range(len(items))]
    if batch.refusal is BatchRefusal.REFUSED_ITEMS:
        refused = sum(1 for o in outcomes if o.problems)
        return BulkOutcome([_atomic_refusal(refused, len(items))], outcomes)
    if applied and not batch.replayed:
        await _sku_writes_done(sources, applied, currency, Kind.STOCK)
    return BulkOutcome([], outcomes, replayed=batch.replayed)


async def publish_products(
    sources: Sources,
    items: Sequence[PublishItem],
    *,
    atomic: bool,
    idempotency_key: str | None,
    actor: str,
    now: datetime,
) -> BulkOutcome:
    problems = _request_problems(len(items), idempotency_key)
    if problems:
        return BulkOutcome(problems)
    if atomic and any(item.product_id is None for item in items):
        return await _refused_publish(sources, items)
    changes = [
        PublishChange(item.product_id, item.published, ref=i)
        for i, item in enumerate(items)
        if item.product_id is not None
    ]
    request = [[i.product_id, i.published] for i in items]
    key = _key("productPublishBulk", idempotency_key, [request, atomic])
    batch = await sources.catalog.set_published_many(
        changes, actor=actor, now=now, atomic=atomic, key=key
    )
    if batch.refusal is BatchRefusal.KEY_REUSED:
        return BulkOutcome([_KEY_REUSED])
    if batch.refusal is BatchRefusal.REFUSED_ITEMS:
        return await _refused_publish(sources, items)
    products: dict[int, Product | None] = dict.fromkeys(range(len(items)))
    for change, product in zip(changes, batch.products, strict=True):
        products[change.ref] = product
    outcomes = [
        ItemOutcome(
            i, [] if products[i] else [_NO_PRODUCT], applied=bool(products[i]), product=products[i]
        )
        for i in range(len(items))
    ]
    touched = {p.id: p for p in products.values() if p is not None}
    if touched and not batch.replayed:
        entities: list[tuple[Kind, object]] = []
        for product in touched.values():
            entities += [(Kind.PRODUCT, product.id), (Kind.PRODUCT_SLUG, product.slug)]
        await invalidation.invalidate(sources, entities, LISTING_KINDS)
    return BulkOutcome([], outcomes, replayed=batch.replayed)


_NO_PRODUCT = Problem(UserErrorCode.PRODUCT_NOT_FOUND, "no such product", ("productId",))


async def _refused_publish(sources: Sources, items: Sequence[PublishItem]) -> BulkOutcome:
    """Atomic, and some product does not exist: say which (one read; nothing written)."""
    ids = [i.product_id for i in items if i.product_id is not None]
    found = await sources.catalog.products_by_ids(ids) if ids else {}
    outcomes = [
        ItemOutcome(i, [] if item.product_id in found else [_NO_PRODUCT])
        for i, item in enumerate(items)
    ]
    refused = sum(1 for o in outcomes if o.problems)
    return BulkOutcome([_atomic_refusal(refused, len(items))], outcomes)
