"""Carts and what they cost, as storefronts show them."""

from __future__ import annotations

import asyncio
from typing import Any

import strawberry

from sources.orders.records import Address as AddressRecord
from sources.orders.records import Cart as CartRecord
from sources.orders.records import LineDiscount

from ..checkout.evaluate import CartEvaluation, evaluate_cart
from ..checkout.snapshot import KnownCatalog
from .catalog import Sku
from .common import Info, Money
from .errors import UserError, user_errors
from .node import Node, encode_id
from .pricing import Promotion


@strawberry.type
class Address:
    name: str
    phone: str
    country: str
    region: str
    city: str
    line1: str
    postal_code: str | None

    @classmethod
    def from_record(cls, record: AddressRecord | None) -> Address | None:
        if record is None:
            return None
        return cls(
            name=record.name,
            phone=record.phone,
            country=record.country,
            region=record.region,
            city=record.city,
            line1=record.line1,
            postal_code=record.postal_code,
        )


@strawberry.input
class AddressInput:
    name: str
    phone: str
    country: str
    region: str
    city: str
    line1: str
    postal_code: str | None = None

    def to_record(self) -> AddressRecord:
        return AddressRecord(
            name=self.name.strip(),
            phone=self.phone.strip(),
            country=self.country.strip().upper(),
            region=self.region.strip().upper(),
            city=self.city.strip(),
            line1=self.line1.strip(),
            postal_code=self.postal_code.strip() if self.postal_code else None,
        )


@strawberry.type
class DiscountAllocation:
    amount: Money
    promotion_id: strawberry.Private[int]

    @strawberry.field
    async def promotion(self, info: Info) -> Promotion:
        record = await info.context.loaders.pricing.promotion.load(self.promotion_id)
        if record is None:
            raise RuntimeError(f"promotion {self.promotion_id} is gone")
        return Promotion.from_record(record)


def allocations(discounts: Any, currency: str) -> list[DiscountAllocation]:
    """From the engine's (promotion id, amount) pairs or an order's LineDiscount rows."""
    result: list[DiscountAllocation] = []
    for item in discounts:
        pid, amount = (item.promotion_id, item.amount) if isinstance(item, LineDiscount) else item
        result.append(DiscountAllocation(amount=Money.of(amount, currency), promotion_id=pid))
    return result


@strawberry.type
class CartCost:
    subtotal: Money
    discount_total: Money
    shipping_total: Money
    total: Money
    deposit_due: Money | None


@strawberry.type
class CheckoutValidation:
    ok: bool
    errors: list[UserError]


@strawberry.type
class CartLine:
    id: strawberry.ID
    quantity: int
    unit_price: Money
    discounts: list[DiscountAllocation]
    total: Money
    sku_id: strawberry.Private[int]

    @strawberry.field
    async def sku(self, info: Info) -> Sku:
        record = await info.context.loaders.catalog.sku.load(self.sku_id)
        if record is None:
            raise RuntimeError(f"SKU {self.sku_id} is gone")
        return Sku.from_record(record)


@strawberry.type
class Cart(Node):
    coupon_codes: list[str]
    shipping_address: Address | None
    record: strawberry.Private[CartRecord]
    memo: strawberry.Private[dict[str, Any]]

    @classmethod
    def from_record(cls, record: CartRecord, known: KnownCatalog | None = None) -> Cart:
        """``known``: catalog records the mutation read in this request, reused by the
        evaluation rather than read again."""
        return cls(
            id=encode_id("Cart", record.id),
            coupon_codes=list(record.coupon_codes),
            shipping_address=Address.from_record(record.shipping_address),
            record=record,
            memo={"known": known},
        )

    async def evaluation(self, info: Info) -> CartEvaluation:
        """Priced and validated once per cart per request, however many fields ask."""
        if "evaluation" not in self.memo:
            ctx = info.context
            self.memo["evaluation"] = asyncio.ensure_future(
                evaluate_cart(
                    ctx.sources,
                    self.record,
                    customer_id=ctx.viewer.customer_id,
                    currency=ctx.settings.currency,
                    free_shipping_over=ctx.settings.free_shipping_over,
                    now=ctx.now,
                    known=self.memo.get("known"),
                )
            )
        result: CartEvaluation = await self.memo["evaluation"]
        if not self.memo.get("primed"):
            # The lines' ``sku`` field asks for records the evaluation just read.
            self.memo["primed"] = True
            catalog = info.context.loaders.catalog
            for sku in result.snapshot.skus.values():
                catalog.sku.prime(sku.id, sku)
            for product in result.snapshot.products.values():
                catalog.product.prime(product.id, product)
        return result

    @strawberry.field
    async def lines(self, info: Info) -> list[CartLine]:
        pricing = (await self.evaluation(info)).pricing
        currency = pricing.currency
        lines = []
        for line in self.record.lines:
            priced = pricing.lines[line.id]
            lines.append(
                CartLine(
                    id=strawberry.ID(str(line.id)),
                    quantity=line.quantity,
                    unit_price=Money.of(priced.unit_price, currency),
                    discounts=allocations(priced.discounts, currency),
                    total=Money.of(priced.total, currency),
                    sku_id=line.sku_id,
                )
            )
        return lines

    @strawberry.field
    async def cost(self, info: Info) -> CartCost:
        p = (await self.evaluation(info)).pricing
        return CartCost(
            subtotal=Money.of(p.subtotal, p.currency),
            discount_total=Money.of(p.discount_total, p.currency),
            shipping_total=Money.of(p.shipping_total, p.currency),
            total=Money.of(p.total, p.currency),
            deposit_due=Money.of(p.deposit_due, p.currency) if p.deposit_due is not None else None,
        )

    @strawberry.field(description="Computed now, against the sources of truth.")
    async def validation(self, info: Info) -> CheckoutValidation:
        problems = (await self.evaluation(info)).problems
        return CheckoutValidation(ok=not problems, errors=user_errors(problems))


@strawberry.input
class CartLineInput:
    sku_id: strawberry.ID
    quantity: int


@strawberry.input
class CartLineUpdateInput:
    line_id: strawberry.ID
    quantity: int


@strawberry.input
class CartCreateInput:
    lines: list[CartLineInput] | None = None
    coupon_codes: list[str] | None = None
    shipping_address: AddressInput | None = None
    ship_to_default_address: bool | None = strawberry.field(
        default=None,
        description="Without shippingAddress: ship to the signed-in customer's default "
        "address (their address book's), if they have one.",
    )


@strawberry.type
class CartPayload:
    cart: Cart | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
