"""Carts and what they cost, as storefronts show them."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import strawberry

from sources.orders.records import Address as AddressRecord
from sources.orders.records import Cart as CartRecord
from sources.orders.records import LineDiscount

from ..checkout import hints as hint_rules
from ..checkout.evaluate import CartEvaluation, evaluate_cart
from ..checkout.holds import hold_ref, live_until
from ..checkout.snapshot import KnownBuyer, KnownCatalog
from .cart_hints import PromotionHint, PromotionNotApplied, not_applied_list
from .catalog import Sku
from .common import Info, Money
from .errors import UserError, user_errors
from .inventory import stock_view
from .node import Node, encode_id
from .pricing import Promotion


@strawberry.type(
    description="A postal address in the shop's country, as stored on a cart or order."
)
class Address:
    name: str = strawberry.field(description="The recipient's name.")
    phone: str = strawberry.field(
        description=(
            "The recipient's mobile number, as given (a mainland number: 11 digits "
            "starting with 1)."
        )
    )
    country: str = strawberry.field(description="The country, an ISO 3166-1 alpha-2 code (CN).")
    region: str = strawberry.field(
        description=(
            "The province-level region, an ISO 3166-2 code (CN-SH for Shanghai); "
            "`shop.regions` names it."
        )
    )
    city: str = strawberry.field(description="The city or district.")
    line1: str = strawberry.field(description="Street, building and door number.")
    postal_code: str | None = strawberry.field(
        description="The postal code (six digits in CN); null when not given."
    )

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


@strawberry.input(
    description=(
        "A postal address to ship to. Problems come back as userErrors on the "
        "field at fault (INVALID_INPUT, REGION_NOT_DELIVERABLE)."
    )
)
class AddressInput:
    name: str = strawberry.field(description="The recipient's name.")
    phone: str = strawberry.field(
        description=(
            "The recipient's mobile number: 11 digits starting with 1 (a leading "
            "+86 or spaces are accepted)."
        )
    )
    country: str = strawberry.field(description="The country, an ISO 3166-1 alpha-2 code (CN).")
    region: str = strawberry.field(
        description=(
            "The province-level region: its ISO 3166-2 code (CN-SH) or its name in "
            "one of the shop's languages (Shanghai, 上海, 上海市); stored as the code. "
            "`shop.regions` lists them."
        )
    )
    city: str = strawberry.field(description="The city or district.")
    line1: str = strawberry.field(description="Street, building and door number.")
    postal_code: str | None = strawberry.field(
        default=None,
        description=(
            "The postal code, optional: six digits in CN, or the region's own form where "
            "Google's address data has one (Hong Kong 999077, Macao 999078, Taiwan 3 to 6 "
            "digits), which it must then match; mainland provinces are checked for the form "
            "only."
        ),
    )

    def to_record(self) -> AddressRecord:
        return AddressRecord(
            name=self.name.strip(),
            phone=self.phone.strip(),
            country=self.country.strip().upper(),
            region=self.region.strip(),  # a name or a code: checkout/addresses.py
            city=self.city.strip(),
            line1=self.line1.strip(),
            postal_code=self.postal_code.strip() if self.postal_code else None,
        )


@strawberry.type(description="The part of a discount one promotion gives a line.")
class DiscountAllocation:
    amount: Money = strawberry.field(
        description="The discount, a positive amount in the shop's currency."
    )
    promotion_id: strawberry.Private[int]

    @strawberry.field(description="The promotion that gives it.")
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


@strawberry.type(
    description="Money owed for a cart or order; every amount is in the shop's currency."
)
class CartCost:
    subtotal: Money = strawberry.field(
        description="Lines' unit prices times quantities, before discounts."
    )
    discount_total: Money = strawberry.field(
        description="All discounts applied (lines and order), as a positive amount."
    )
    shipping_total: Money = strawberry.field(
        description=(
            "Shipping, zero when the goods reach the shop's free-shipping threshold"
            " or no address is set."
        )
    )
    total: Money = strawberry.field(
        description="What the buyer pays: subtotal minus discounts plus shipping."
    )
    deposit_due: Money | None = strawberry.field(
        description=(
            "For a presale, the deposit to pay now (the balance follows when the "
            "presale ends); null otherwise."
        )
    )


@strawberry.type(description="Whether the cart could be ordered now, and if not, why.")
class CheckoutValidation:
    ok: bool = strawberry.field(description="True when checkoutComplete would accept the cart now.")
    errors: list[UserError] = strawberry.field(
        description="What stands in the way (the userErrors checkoutComplete would answer)."
    )


@strawberry.type(description="One SKU in a cart, its quantity and price now.")
class CartLine:
    id: strawberry.ID = strawberry.field(
        description="The line's id, used by cartLinesUpdate and cartLinesRemove."
    )
    quantity: int = strawberry.field(description="Units of the SKU.")
    unit_price: Money = strawberry.field(description="The SKU's sale price now, per unit.")
    discounts: list[DiscountAllocation] = strawberry.field(
        description="The discounts on this line, per promotion."
    )
    total: Money = strawberry.field(
        description="Unit price times quantity, minus this line's discounts."
    )
    reserved_until: datetime | None = strawberry.field(
        default=None,
        description="Until when this line's units are held for the cart (UTC): a "
        "flash-sale product's (Product.reserveOnAdd) stock is held from the moment it is "
        "added, for CART_RESERVATION_TTL, extended once by the buyer's next activity on the "
        "cart. Null when the line holds nothing (not a flash-sale item, or the hold lapsed "
        "and its units went back: checkout then takes them again if they are still there).",
    )
    sku_id: strawberry.Private[int]
    cart: strawberry.Private[Cart]

    @strawberry.field(
        description=(
            "Promotions that cover this line's product but give it nothing, each with the "
            "first reason that holds, in the order the engine applies promotions. Lists live "
            "ones, the shop's shared coupons, coupons typed into the cart, and promotions "
            "that ended or start within PROMOTION_HINTS_HORIZON_DAYS; one that applied to "
            "the cart is not listed on its other lines."
        )
    )
    async def promotions_not_applied(self, info: Info) -> list[PromotionNotApplied]:
        view = await self.cart.hint_view(info)
        if "not_applied" not in self.cart.memo:
            self.cart.memo["not_applied"] = hint_rules.not_applied(view)
        reasons = self.cart.memo["not_applied"].get(int(self.id), [])
        return not_applied_list(reasons, view.promotions)

    @strawberry.field(description="The SKU being bought.")
    async def sku(self, info: Info) -> Sku:
        record = await info.context.loaders.catalog.sku.load(self.sku_id)
        if record is None:
            raise RuntimeError(f"SKU {self.sku_id} is gone")
        return Sku.from_record(record)


@strawberry.type(
    description=(
        "A buyer's cart: lines, coupons and where it ships. Anonymous carts are"
        " reachable by whoever holds their id; a signed-in customer's only by "
        "them."
    )
)
class Cart(Node):
    coupon_codes: list[str] = strawberry.field(
        description="The coupon codes applied, in the order given."
    )
    shipping_address: Address | None = strawberry.field(
        description="Where the cart ships; null until set."
    )
    record: strawberry.Private[CartRecord]
    memo: strawberry.Private[dict[str, Any]]

    @classmethod
    def from_record(
        cls,
        record: CartRecord,
        known: KnownCatalog | None = None,
        known_buyer: KnownBuyer | None = None,
        shown: bool = False,
    ) -> Cart:
        """``known``, ``known_buyer``: catalog records, and the buyer and region, the
        mutation read in this request, reused by the evaluation rather than read again.
        ``shown``: a cart mutation's payload that does not ask for ``validation``, priced
        through the request's loaders and the shared cache (checkout/shown.py)."""
        return cls(
            id=encode_id("Cart", record.id),
            coupon_codes=list(record.coupon_codes),
            shipping_address=Address.from_record(record.shipping_address),
            record=record,
            memo={"known": known, "known_buyer": known_buyer, "shown": shown},
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
                    known_buyer=self.memo.get("known_buyer"),
                    shown=ctx.loaders if self.memo.get("shown") else None,
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
            # A discount's ``promotion`` field: the promotions the cart was priced with.
            promotion = info.context.loaders.pricing.promotion
            for record in result.snapshot.promotions:
                promotion.prime(record.id, record)
        return result

    async def hint_view(self, info: Info) -> hint_rules.HintView:
        """The promotions hints need, read and priced once per cart per request, and only
        when a hint field is asked for (a checkout never reads them)."""
        if "hints" not in self.memo:
            evaluation = await self.evaluation(info)
            ctx = info.context
            self.memo["hints"] = asyncio.ensure_future(
                hint_rules.load_hint_view(ctx.sources, evaluation, ctx.settings.promotion_hints)
            )
        view: hint_rules.HintView = await self.memo["hints"]
        return view

    @strawberry.field(description="The cart's lines, in the order added.")
    async def lines(self, info: Info) -> list[CartLine]:
        evaluation = await self.evaluation(info)
        pricing, held = evaluation.pricing, evaluation.snapshot.holds
        currency = pricing.currency
        lines = []
        for line in self.record.lines:
            hold = held.get(hold_ref(self.record.id, line.sku_id)) if held else None
            priced = pricing.lines[line.id]
            lines.append(
                CartLine(
                    id=strawberry.ID(str(line.id)),
                    quantity=line.quantity,
                    unit_price=Money.of(priced.unit_price, currency),
                    discounts=allocations(priced.discounts, currency),
                    total=Money.of(priced.total, currency),
                    reserved_until=live_until(hold, info.context.now),
                    sku_id=line.sku_id,
                    cart=self,
                )
            )
        return lines

    @strawberry.field(
        description=(
            "Promotions the cart nearly qualifies for (凑单), each with what unlocks it, the "
            "largest saving first, at most PROMOTION_HINTS_LIMIT. Computed by the promotion "
            "engine on the cart as it would be, so doing what a hint says applies it."
        )
    )
    async def promotion_hints(self, info: Info) -> list[PromotionHint]:
        view = await self.hint_view(info)
        found = hint_rules.hints(view, info.context.settings.promotion_hints)
        return [
            PromotionHint.of(
                hint,
                view.promotions[hint.promotion_id],
                view.pricing.currency,
                view.snapshot.product_of(hint.sku_id) if hint.sku_id is not None else None,
            )
            for hint in found
        ]

    @strawberry.field(
        description="What the cart costs if ordered now, with discounts and shipping."
    )
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
        problems = stock_view(info).shown((await self.evaluation(info)).problems)
        return CheckoutValidation(ok=not problems, errors=user_errors(problems))


@strawberry.input(description="A SKU and how many units of it to add.")
class CartLineInput:
    sku_id: strawberry.ID = strawberry.field(description="The SKU's id (Sku.id).")
    quantity: int = strawberry.field(
        description="Units to add (at least 1, within the SKU's purchase limit)."
    )


@strawberry.input(description="A new quantity for a line already in the cart.")
class CartLineUpdateInput:
    line_id: strawberry.ID = strawberry.field(description="The line's id (CartLine.id).")
    quantity: int = strawberry.field(description="The new quantity; 0 removes the line.")


@strawberry.input(description="What a new cart starts with; every part is optional.")
class CartCreateInput:
    lines: list[CartLineInput] | None = strawberry.field(
        default=None, description="SKUs and quantities to add."
    )
    coupon_codes: list[str] | None = strawberry.field(
        default=None, description="Coupon codes to apply."
    )
    shipping_address: AddressInput | None = strawberry.field(
        default=None, description="Where it ships (same rules as cartShippingAddressSet)."
    )
    ship_to_default_address: bool | None = strawberry.field(
        default=None,
        description="Without shippingAddress: ship to the signed-in customer's default "
        "address (their address book's), if they have one.",
    )


@strawberry.type(description="The cart after a cart mutation, with what could not be done.")
class CartPayload:
    cart: Cart | None = strawberry.field(
        default=None, description="The cart as it is now; null when the cart was not found."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=(
            "What could not be done, with `field` and `lineId` pointing at the "
            "input at fault: CART_NOT_FOUND, CART_COMPLETED, SKU_NOT_FOUND, "
            "SKU_INACTIVE, PRODUCT_UNAVAILABLE, INVALID_QUANTITY, "
            "PURCHASE_LIMIT_EXCEEDED, INSUFFICIENT_STOCK, PRESALE_NOT_STARTED, "
            "PRESALE_ENDED, COUPON_*, INVALID_INPUT, REGION_NOT_DELIVERABLE, "
            "SERVICE_AREA_UNAVAILABLE, LOGIN_REQUIRED, ADDRESS_NOT_FOUND."
        ),
    )
