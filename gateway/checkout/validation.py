"""Every problem with a cart, all of them, not the first: each rule is a function of the
snapshot (and the pricing) that returns the problems it finds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal

from sources.catalog.records import FulfillmentMode, ProductKind
from sources.orders.records import CartLine

from ..errors import Problem, UserErrorCode
from ..stock.view import left_in_stock
from .pricing import CartPricing
from .snapshot import CartSnapshot

MAX_LINE_QUANTITY = 999

Rule = Callable[[CartSnapshot, CartPricing], list[Problem]]


def _line_problem(code: UserErrorCode, line: CartLine, message: str) -> Problem:
    return Problem(code, message, ("lines",), str(line.id))


def cart_not_empty(snapshot: CartSnapshot, _: CartPricing) -> list[Problem]:
    if snapshot.cart.lines:
        return []
    return [Problem(UserErrorCode.CART_EMPTY, "the cart has no lines", ("lines",))]


def lines_are_sellable(snapshot: CartSnapshot, _: CartPricing) -> list[Problem]:
    """SKU exists, its product is published and priced, the SKU is active, the quantity
    is sane and within the customer's purchase limit (counting earlier orders)."""
    problems: list[Problem] = []
    for line in snapshot.cart.lines:
        sku = snapshot.skus.get(line.sku_id)
        product = snapshot.product_of(line.sku_id)
        if sku is None or product is None:
            problems.append(
                _line_problem(UserErrorCode.SKU_NOT_FOUND, line, "this item no longer exists")
            )
            continue
        if not product.is_published or line.sku_id not in snapshot.prices:
            problems.append(
                _line_problem(
                    UserErrorCode.PRODUCT_UNAVAILABLE, line, f"{product.name} is not for sale"
                )
            )
        if not sku.is_active:
            problems.append(
                _line_problem(UserErrorCode.SKU_INACTIVE, line, f"{sku.name} is no longer sold")
            )
        if not 0 < line.quantity <= MAX_LINE_QUANTITY:
            problems.append(
                _line_problem(
                    UserErrorCode.INVALID_QUANTITY,
                    line,
                    f"quantity must be between 1 and {MAX_LINE_QUANTITY}",
                )
            )
        elif sku.purchase_limit is not None:
            earlier = snapshot.purchased.get(sku.id, 0)
            if earlier + line.quantity > sku.purchase_limit:
                left = max(sku.purchase_limit - earlier, 0)
                problems.append(
                    _line_problem(
                        UserErrorCode.PURCHASE_LIMIT_EXCEEDED,
                        line,
                        f"at most {sku.purchase_limit} per customer; {left} left for you",
                    )
                )
    return problems


def stock_is_available(snapshot: CartSnapshot, _: CartPricing) -> list[Problem]:
    """Warehouse stock, or the supplier's feed for drop-ship; bundles need every part.
    Demand is summed per SKU over the whole cart: a bundle and its part bought as a line of
    its own compete for the same units."""
    demand: Counter[int] = Counter()
    for sku_id, quantity, _supplier in reservation_items(snapshot):
        demand[sku_id] += quantity
    problems: list[Problem] = []
    for line in snapshot.cart.lines:
        product = snapshot.product_of(line.sku_id)
        if product is None or line.quantity <= 0:
            continue
        if product.kind is ProductKind.BUNDLE:
            parts = snapshot.bundles.get(product.id, [])
            missing = [
                item.sku.name
                for item in parts
                if not item.sku.is_active
                or not item.product.is_published
                or _available(snapshot, item.sku.id) < demand[item.sku.id]
            ]
            if missing or not parts:
                problems.append(
                    _line_problem(
                        UserErrorCode.BUNDLE_INCOMPLETE,
                        line,
                        f"part of this bundle is unavailable: {', '.join(missing) or 'no parts'}",
                    )
                )
            continue
        available = _available(snapshot, line.sku_id)
        if available < demand[line.sku_id]:
            problems.append(
                Problem(
                    UserErrorCode.INSUFFICIENT_STOCK,
                    left_in_stock(available),
                    ("lines",),
                    str(line.id),
                    units_left=available,
                )
            )
    return problems


def _available(snapshot: CartSnapshot, sku_id: int) -> int:
    level = snapshot.stock.get(sku_id)
    return level.available if level else 0


def presale_window_is_open(snapshot: CartSnapshot, _: CartPricing) -> list[Problem]:
    problems: list[Problem] = []
    for line in snapshot.cart.lines:
        product = snapshot.product_of(line.sku_id)
        if product is None or product.presale is None:
            continue
        if snapshot.now < product.presale.starts_at:
            problems.append(
                _line_problem(
                    UserErrorCode.PRESALE_NOT_STARTED,
                    line,
                    f"the presale opens at {product.presale.starts_at.isoformat()}",
                )
            )
        elif snapshot.now >= product.presale.ends_at:
            problems.append(
                _line_problem(UserErrorCode.PRESALE_ENDED, line, "the presale has ended")
            )
    return problems


def delivery_is_possible(snapshot: CartSnapshot, pricing: CartPricing) -> list[Problem]:
    """Goods need a deliverable shipping address; services need the address to be in
    their service area (a bundle's service part too)."""
    address = snapshot.cart.shipping_address
    services = _service_products(snapshot)
    if not pricing.needs_shipping and not services:
        return []
    if address is None:
        return [
            Problem(
                UserErrorCode.SHIPPING_ADDRESS_REQUIRED,
                "a shipping address is required",
                ("shippingAddress",),
            )
        ]
    problems: list[Problem] = []
    region = snapshot.region
    if pricing.needs_shipping and (region is None or not region.is_deliverable):
        problems.append(
            Problem(
                UserErrorCode.REGION_NOT_DELIVERABLE,
                f"we do not deliver to {address.region}",
                ("shippingAddress", "region"),
            )
        )
    for line, product_id, name in services:
        if address.region not in snapshot.service_areas.get(product_id, []):
            problems.append(
                _line_problem(
                    UserErrorCode.SERVICE_AREA_UNAVAILABLE,
                    line,
                    f"{name} is not available in {address.region}",
                )
            )
    return problems


def _service_products(snapshot: CartSnapshot) -> list[tuple[CartLine, int, str]]:
    found: list[tuple[CartLine, int, str]] = []
    for line in snapshot.cart.lines:
        product = snapshot.product_of(line.sku_id)
        if product is None:
            continue
        if product.kind is ProductKind.SERVICE:
            found.append((line, product.id, product.name))
        for item in (
            snapshot.bundles.get(product.id, []) if product.kind is ProductKind.BUNDLE else []
        ):
            if item.product.kind is ProductKind.SERVICE:
                found.append((line, item.product.id, item.product.name))
    return found


def coupons_apply(_: CartSnapshot, pricing: CartPricing) -> list[Problem]:
    messages = {
        "COUPON_NOT_FOUND": "no such coupon",
        "COUPON_EXPIRED": "this coupon is not valid now",
        "COUPON_NOT_APPLICABLE": "this coupon does not apply to this cart",
        "COUPON_USAGE_LIMIT_REACHED": "this coupon has been used up",
        "COUPON_NOT_COMBINABLE": "this coupon cannot be combined with the other offers",
    }
    return [
        Problem(
            UserErrorCode(problem.value), f"{code}: {messages[problem.value]}", ("couponCodes",)
        )
        for code, problem in pricing.coupon_problems
    ]


def customer_may_buy(snapshot: CartSnapshot, _: CartPricing) -> list[Problem]:
    if snapshot.customer is not None and snapshot.customer.is_blocked:
        return [Problem(UserErrorCode.CUSTOMER_BLOCKED, "this account cannot place orders")]
    return []


RULES: tuple[Rule, ...] = (
    cart_not_empty,
    lines_are_sellable,
    stock_is_available,
    presale_window_is_open,
    delivery_is_possible,
    coupons_apply,
    customer_may_buy,
)


def validate(snapshot: CartSnapshot, pricing: CartPricing) -> list[Problem]:
    return [problem for rule in RULES for problem in rule(snapshot, pricing)]


def price_changed(pricing: CartPricing, expected_total: Decimal) -> list[Problem]:
    if pricing.total == expected_total:
        return []
    return [
        Problem(
            UserErrorCode.PRICE_CHANGED,
            f"the total is now {pricing.total} {pricing.currency}",
            ("expectedTotal",),
        )
    ]


def reservation_items(snapshot: CartSnapshot) -> list[tuple[int, int, int | None]]:
    """(sku, quantity, supplier for drop-ship) to reserve: bundles reserve their parts."""
    wanted: Counter[tuple[int, int | None]] = Counter()
    for line in snapshot.cart.lines:
        product = snapshot.product_of(line.sku_id)
        if product is None:
            continue
        if product.kind is ProductKind.BUNDLE:
            for item in snapshot.bundles.get(product.id, []):
                supplier = _supplier(item.product.fulfillment, item.product.supplier_id)
                wanted[(item.sku.id, supplier)] += item.quantity * line.quantity
        else:
            wanted[(line.sku_id, _supplier(product.fulfillment, product.supplier_id))] += (
                line.quantity
            )
    return [(sku_id, qty, supplier) for (sku_id, supplier), qty in sorted(wanted.items(), key=str)]


def _supplier(mode: FulfillmentMode, supplier_id: int | None) -> int | None:
    return supplier_id if mode is FulfillmentMode.DROPSHIP else None
