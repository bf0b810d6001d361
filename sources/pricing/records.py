"""Plain records the pricing source hands out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sources.common.batches import BatchRefusal
from sources.common.fast_init import fast_inits
from sources.common.translations import Translation


class PromotionKind(StrEnum):
    PERCENTAGE = "PERCENTAGE"
    FIXED_AMOUNT = "FIXED_AMOUNT"
    THRESHOLD = "THRESHOLD"
    BUY_X_GET_Y = "BUY_X_GET_Y"


class PromotionScope(StrEnum):
    ORDER = "ORDER"
    PRODUCTS = "PRODUCTS"
    CATEGORIES = "CATEGORIES"


@dataclass(frozen=True, slots=True)
class Price:
    sku_id: int
    currency: str
    list_amount: Decimal
    sale_amount: Decimal


@dataclass(frozen=True, slots=True)
class Promotion:
    id: int
    name: str
    kind: PromotionKind
    description: str
    scope: PromotionScope
    starts_at: datetime | None
    ends_at: datetime | None
    coupon_code: str | None
    priority: int
    is_exclusive: bool
    percent: Decimal | None
    amount: Decimal | None
    threshold: Decimal | None
    buy_quantity: int | None
    get_quantity: int | None
    currency: str
    product_ids: frozenset[int]
    category_ids: frozenset[int]
    # Coupon limits (None: unlimited) and the merchandising team's pause switch; defaulted so
    # records built before they existed still construct.
    usage_limit: int | None = None
    per_customer_limit: int | None = None
    is_active: bool = True
    translations: tuple[Translation, ...] = ()  # name and terms in other languages

    @property
    def coupon_required(self) -> bool:
        return self.coupon_code is not None

    def is_live(self, at: datetime) -> bool:
        """Active and inside its window (``starts_at`` inclusive, ``ends_at`` exclusive)."""
        return self.not_live_because(at) is None

    def not_live_because(self, at: datetime) -> str | None:
        """Why it is not live at ``at``: "NOT_STARTED", "ENDED" or "PAUSED" (a window
        reason first: a paused promotion that has ended has ended); None when live."""
        if self.starts_at is not None and at < self.starts_at:
            return "NOT_STARTED"
        if self.ends_at is not None and at >= self.ends_at:
            return "ENDED"
        return None if self.is_active else "PAUSED"

    def targets(self, product_id: int, category_path: tuple[int, ...]) -> bool:
        if self.scope is PromotionScope.ORDER:
            return True
        if self.scope is PromotionScope.PRODUCTS:
            return product_id in self.product_ids
        return any(cid in self.category_ids for cid in category_path)


@dataclass(frozen=True, slots=True)
class PriceChange:
    """One SKU's new list and sale price; ``ref`` is the caller's (an index, a file line)."""

    sku_id: int
    currency: str
    list_amount: Decimal
    sale_amount: Decimal
    ref: int = 0
    # What the shop pays for it (finance views only); None leaves the cost as it is.
    cost_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PriceBatch:
    """What a batch of price changes did: the price before each change (None: the SKU had
    none), in the order asked; ``replayed`` when an earlier batch with the same key did it;
    ``refusal`` when nothing was applied (BatchRefusal)."""

    before: tuple[Price | None, ...]
    replayed: bool = False
    refusal: BatchRefusal | None = None


@dataclass(frozen=True, slots=True)
class PromotionFields:
    """A promotion's writable terms. On create None means "not set"; on update None leaves a
    term as it is and ``clear`` names the nullable terms to empty (e.g. "ends_at")."""

    name: str | None = None
    kind: PromotionKind | None = None
    description: str | None = None
    scope: PromotionScope | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    coupon_code: str | None = None
    usage_limit: int | None = None
    per_customer_limit: int | None = None
    priority: int | None = None
    is_exclusive: bool | None = None
    is_active: bool | None = None
    percent: Decimal | None = None
    amount: Decimal | None = None
    threshold: Decimal | None = None
    buy_quantity: int | None = None
    get_quantity: int | None = None
    product_ids: tuple[int, ...] | None = None
    category_ids: tuple[int, ...] | None = None
    clear: tuple[str, ...] = ()
    translations: tuple[Translation, ...] | None = None  # replaces all when set


@dataclass(frozen=True, slots=True)
class PromotionProblem:
    """Why a promotion is refused: ``code`` NEVER_APPLIES (the engine could never discount
    anything with it), CONTRADICTORY (its terms say two things), TAKEN (its coupon code
    is another's) or NOT_FOUND; ``field`` is the term at fault."""

    code: str
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class PromotionWrite:
    id: int | None = None
    problems: tuple[PromotionProblem, ...] = ()
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class CouponBatch:
    """Codes made for a coupon promotion; ``problems`` when none were."""

    promotion_id: int | None = None
    codes: tuple[str, ...] = ()
    problems: tuple[PromotionProblem, ...] = ()
    replayed: bool = False


# Every record above: a cheaper __init__ (sources/common/fast_init.py).
fast_inits(globals())
