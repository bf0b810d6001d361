"""The checkout's rules as plain Python, without a server or a database: a cart snapshot
built from records goes through pricing and validation, so each rule's verdict (and the
fact that every rule reports, not just the first) is checked in milliseconds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from gateway.checkout.pricing import price
from gateway.checkout.snapshot import CartSnapshot
from gateway.checkout.validation import price_changed, reservation_items, validate
from gateway.errors import UserErrorCode
from sources.catalog.records import (
    BundleItem,
    FulfillmentMode,
    Presale,
    Product,
    ProductKind,
    Sku,
)
from sources.inventory.records import StockLevel, WarehouseStock
from sources.orders.checkout_attempts import cart_fingerprint
from sources.orders.records import Address, Cart, CartLine, CartStatus, Customer, Region
from sources.pricing.records import Price

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FREE_OVER = Decimal("199.00")
SHANGHAI = Address("Li Wei", "13800138000", "CN", "CN-SH", "Shanghai", "1 Renmin Road")
LHASA = replace(SHANGHAI, region="CN-XZ", city="Lhasa")
REGIONS = {
    "CN-SH": Region("CN-SH", "CN", "Shanghai", True, Decimal("10.00")),
    "CN-XZ": Region("CN-XZ", "CN", "Tibet", False, None),
}


def product(pid: int, **kw: object) -> Product:
    values: dict[str, object] = {
        "id": pid,
        "slug": f"p{pid}",
        "name": f"Product {pid}",
        "description": "",
        "kind": ProductKind.PHYSICAL,
        "fulfillment": FulfillmentMode.WAREHOUSE,
        "is_published": True,
        "category_id": None,
        "brand": None,
        "supplier_id": None,
        "created_at": NOW - timedelta(days=100),
        "presale": None,
        "price_min": None,
        "price_max": None,
        "currency": "CNY",
        "in_stock": True,
        **kw,
    }
    return Product(**values)  # type: ignore[arg-type]


def sku(sid: int, pid: int, **kw: object) -> Sku:
    values: dict[str, object] = {
        "id": sid,
        "product_id": pid,
        "code": f"S{sid}",
        "name": f"SKU {sid}",
        "is_active": True,
        "purchase_limit": None,
        **kw,
    }
    return Sku(**values)  # type: ignore[arg-type]


def stock(sid: int, on_hand: int, supplier: int = 0) -> StockLevel:
    return StockLevel(sid, (WarehouseStock("SH-01", on_hand, 0),), supplier)


class Shop:
    """A tiny catalogue: products 1..n with one SKU each (SKU id = 10 x product id)."""

    def __init__(self) -> None:
        self.products: dict[int, Product] = {}
        self.skus: dict[int, Sku] = {}
        self.prices: dict[int, Price] = {}
        self.stock: dict[int, StockLevel] = {}
        self.bundles: dict[int, list[BundleItem]] = {}
        self.service_areas: dict[int, list[str]] = {}
        self.purchased: dict[int, int] = {}

    def add(self, pid: int, amount: str, on_hand: int = 100, **kw: object) -> int:
        sku_kw = {k: kw.pop(k) for k in ("is_active", "purchase_limit") if k in kw}
        self.products[pid] = product(pid, **kw)
        sid = pid * 10
        self.skus[sid] = sku(sid, pid, **sku_kw)
        self.prices[sid] = Price(sid, "CNY", Decimal(amount), Decimal(amount))
        self.stock[sid] = stock(sid, on_hand)
        return sid

    def snapshot(
        self,
        lines: list[tuple[int, int]],
        *,
        address: Address | None = SHANGHAI,
        customer: Customer | None = None,
        coupons: tuple[str, ...] = (),
    ) -> CartSnapshot:
        cart = Cart(
            id="cart",
            customer_id=customer.id if customer else None,
            status=CartStatus.OPEN,
            lines=tuple(CartLine(n + 1, sid, qty) for n, (sid, qty) in enumerate(lines)),
            coupon_codes=coupons,
            shipping_address=address,
            order_id=None,
            created_at=NOW,
            updated_at=NOW,
        )
        return CartSnapshot(
            cart=cart,
            customer=customer,
            now=NOW,
            currency="CNY",
            skus=self.skus,
            products=self.products,
            categories={},
            prices=self.prices,
            stock=self.stock,
            bundles=self.bundles,
            service_areas=self.service_areas,
            region=REGIONS.get(address.region) if address else None,
            promotions=[],
            coupon_usage={},
            purchased=self.purchased,
        )


def problems(snapshot: CartSnapshot) -> list[tuple[UserErrorCode, str | None]]:
    found = validate(snapshot, price(snapshot, free_shipping_over=FREE_OVER))
    return sorted((p.code, p.line_id) for p in found)


def test_every_problem_of_a_cart_is_reported_not_just_the_first() -> None:
    shop = Shop()
    retired = shop.add(1, "50.00", is_active=False)
    short = shop.add(2, "50.00", on_hand=1)
    ended = shop.add(
        3,
        "80.00",
        presale=Presale(
            Decimal("10.00"), "CNY", NOW - timedelta(days=30), NOW - timedelta(days=1), NOW
        ),
    )
    limited = shop.add(4, "20.00", purchase_limit=2)
    shop.purchased = {limited: 1}
    blocked = Customer(9, "c9@example.com", "Blocked", is_blocked=True)
    snapshot = shop.snapshot(
        [(retired, 1), (short, 2), (ended, 1), (limited, 2)], address=LHASA, customer=blocked
    )
    assert problems(snapshot) == sorted(
        [
            (UserErrorCode.SKU_INACTIVE, "1"),
            (UserErrorCode.INSUFFICIENT_STOCK, "2"),
            (UserErrorCode.PRESALE_ENDED, "3"),
            (UserErrorCode.PURCHASE_LIMIT_EXCEEDED, "4"),
            (UserErrorCode.REGION_NOT_DELIVERABLE, None),
            (UserErrorCode.CUSTOMER_BLOCKED, None),
        ]
    )


def test_a_clean_cart_has_no_problem_and_ships_free_over_the_threshold() -> None:
    shop = Shop()
    cheap, dear = shop.add(1, "20.00"), shop.add(2, "300.00")
    small = shop.snapshot([(cheap, 1)])
    assert problems(small) == []
    assert price(small, free_shipping_over=FREE_OVER).shipping_total == Decimal("10.00")
    large = shop.snapshot([(cheap, 1), (dear, 1)])
    priced = price(large, free_shipping_over=FREE_OVER)
    assert priced.shipping_total == Decimal("0.00")
    assert priced.total == Decimal("320.00")


def test_services_alone_ship_nothing_but_need_their_service_area() -> None:
    shop = Shop()
    install = shop.add(1, "99.00", kind=ProductKind.SERVICE)
    shop.service_areas = {1: ["CN-BJ"]}
    snapshot = shop.snapshot([(install, 1)])
    assert price(snapshot, free_shipping_over=FREE_OVER).shipping_total == Decimal("0.00")
    assert problems(snapshot) == [(UserErrorCode.SERVICE_AREA_UNAVAILABLE, "1")]
    assert problems(shop.snapshot([(install, 1)], address=None)) == [
        (UserErrorCode.SHIPPING_ADDRESS_REQUIRED, None)
    ]


def test_an_empty_cart_is_one_problem() -> None:
    assert problems(Shop().snapshot([])) == [(UserErrorCode.CART_EMPTY, None)]


def test_the_deposit_due_is_the_sum_of_the_presale_deposits() -> None:
    shop = Shop()
    window = Presale(Decimal("30.00"), "CNY", NOW - timedelta(days=1), NOW + timedelta(days=9), NOW)
    presale = shop.add(1, "500.00", presale=window)
    plain = shop.add(2, "40.00")
    priced = price(shop.snapshot([(presale, 2), (plain, 1)]), free_shipping_over=FREE_OVER)
    assert priced.deposit_due == Decimal("60.00")
    assert price(shop.snapshot([(plain, 1)]), free_shipping_over=FREE_OVER).deposit_due is None


def test_a_changed_total_is_reported_with_the_new_total() -> None:
    shop = Shop()
    snapshot = shop.snapshot([(shop.add(1, "250.00"), 1)])
    priced = price(snapshot, free_shipping_over=FREE_OVER)
    assert price_changed(priced, Decimal("250.00")) == []
    (problem,) = price_changed(priced, Decimal("240.00"))
    assert problem.code is UserErrorCode.PRICE_CHANGED
    assert "250.00" in problem.message


def test_bundles_reserve_their_parts_and_drop_ship_its_supplier() -> None:
    shop = Shop()
    part = shop.add(1, "100.00")
    service = shop.add(2, "50.00", kind=ProductKind.SERVICE)
    bundle = shop.add(3, "140.00", kind=ProductKind.BUNDLE)
    shop.bundles = {
        3: [
            BundleItem(3, 1, shop.skus[part], shop.products[1]),
            BundleItem(3, 1, shop.skus[service], shop.products[2]),
        ]
    }
    dropship = shop.add(4, "60.00", fulfillment=FulfillmentMode.DROPSHIP, supplier_id=7)
    items = reservation_items(shop.snapshot([(bundle, 2), (part, 1), (dropship, 3)]))
    assert sorted(items) == [(part, 3, None), (service, 2, None), (dropship, 3, 7)]


def test_the_fingerprint_is_the_carts_content_not_its_order() -> None:
    shop = Shop()
    a, b = shop.add(1, "10.00"), shop.add(2, "20.00")
    cart = shop.snapshot([(a, 1), (b, 2)], coupons=("save50", "VIP20")).cart
    same = replace(cart, lines=tuple(reversed(cart.lines)), coupon_codes=("vip20", "SAVE50"))
    assert cart_fingerprint(cart) == cart_fingerprint(same)
    assert cart_fingerprint(cart) != cart_fingerprint(replace(cart, shipping_address=LHASA))
    assert cart_fingerprint(cart) != cart_fingerprint(replace(cart, lines=cart.lines[:1]))
