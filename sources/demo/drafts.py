"""The drafted catalogue: products with their SKUs, prices and stock as plain Python
objects, decided before any row exists, so ids, prices, stock and the listing projection
(``ProductDraft.is_in_stock``, ``ProductDraft.price_range``) agree by construction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from sources.common.money import quantize

from .catalog_data import SERVICE_OFFERS

MIN_PRICE = Decimal("9.90")
MAX_PRICE = Decimal("19999.00")


class Role(Enum):
    PHYSICAL = "physical"
    DROPSHIP = "dropship"
    SERVICE = "service"
    BUNDLE = "bundle"
    PRESALE_OPEN = "presale-open"
    PRESALE_UPCOMING = "presale-upcoming"
    PRESALE_ENDED = "presale-ended"


PRESALE_ROLES = (Role.PRESALE_OPEN, Role.PRESALE_UPCOMING, Role.PRESALE_ENDED)


@dataclass(frozen=True, slots=True)
class CatalogueMix:
    """How many products of each special kind a shop of ``size`` products gets."""

    size: int
    services: int
    bundles: int
    dropship: int
    presale_open: int
    presale_upcoming: int
    presale_ended: int
    unpublished: int
    sold_out: int
    discontinued: int

    @classmethod
    def for_size(cls, size: int) -> CatalogueMix:
        return cls(
            size=size,
            services=max(len(SERVICE_OFFERS), size // 30),
            bundles=max(4, size // 40),
            dropship=max(6, size // 15),
            presale_open=max(3, size // 60),
            presale_upcoming=max(1, size // 400),
            presale_ended=max(1, size // 400),
            unpublished=max(1, round(size * 0.05)),
            sold_out=max(2, size // 60),
            discontinued=max(1, size // 120),
        )


# Small enough for quick tests, large enough that every leaf category gets a product.
MIN_PRODUCTS = 60


@dataclass(frozen=True, slots=True)
class PresaleTerms:
    deposit: Decimal
    starts_at: datetime
    ends_at: datetime
    ships_from: datetime


@dataclass(slots=True)
class SkuDraft:
    label: str
    list_amount: Decimal
    sale_amount: Decimal
    cost_amount: Decimal
    is_active: bool = True
    purchase_limit: int | None = None
    warehouse_stock: dict[int, int] = field(default_factory=dict)  # warehouse id -> on hand
    supplier_available: int | None = None  # drop-ship feed; None: not drop-shipped
    id: int = 0  # assigned once the whole catalogue is drafted

    @property
    def available(self) -> int:
        return sum(self.warehouse_stock.values()) + (self.supplier_available or 0)


@dataclass(slots=True)
class ProductDraft:
    id: int
    role: Role
    code: str
    name: str
    description: str
    category: str  # leaf category slug
    brand: str | None
    created_at: datetime
    stamp: datetime  # when its prices and stock were last touched
    skus: list[SkuDraft]
    supplier: str | None = None
    is_published: bool = True
    presale: PresaleTerms | None = None
    service_regions: tuple[str, ...] = ()
    bundle_of: tuple[SkuDraft, ...] = ()
    installs: tuple[str, ...] = ()  # services: categories whose products they install
    option_name: str | None = None  # what its SKUs' labels are values of ("Colour")

    @property
    def kind(self) -> str:
        return {Role.SERVICE: "SERVICE", Role.BUNDLE: "BUNDLE"}.get(self.role, "PHYSICAL")

    @property
    def fulfillment(self) -> str:
        return "DROPSHIP" if self.role is Role.DROPSHIP else "WAREHOUSE"

    @property
    def is_in_stock(self) -> bool:
        """The listing projection: some active SKU can be shipped now."""
        return any(s.is_active and s.available > 0 for s in self.skus)

    @property
    def price_range(self) -> tuple[Decimal | None, Decimal | None]:
        prices = [s.sale_amount for s in self.skus if s.is_active]
        return (min(prices), max(prices)) if prices else (None, None)


def nice_price(amount: Decimal) -> Decimal:
    """Round to a price a shop would print (29.90, 459.00, 2999.00) within the shop's range."""
    if amount < 100:
        price = max(amount.to_integral_value(ROUND_HALF_UP), Decimal(10)) - Decimal("0.10")
    elif amount < 1000:
        price = (amount / 10).to_integral_value(ROUND_HALF_UP) * 10 - 1
    else:
        price = (amount / 100).to_integral_value(ROUND_HALF_UP) * 100 - 1
    return quantize(min(max(price, MIN_PRICE), MAX_PRICE))
