"""Small factories for the after-sales unit tests: records as the sources hand them out."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sources.catalog.records import BundleItem, FulfillmentMode, Product, ProductKind, Sku
from sources.orders.records import (
    AfterSalesKind,
    AfterSalesLine,
    AfterSalesRequest,
    AfterSalesStatus,
    LineDiscount,
    Order,
    OrderLine,
    OrderStatus,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def order(
    *,
    id: int = 1,
    status: OrderStatus = OrderStatus.PAID,
    total: str = "100.00",
    shipping: str = "0.00",
    deposit_due: str | None = None,
) -> Order:
    return Order(
        id=id,
        number=f"SO-20261125-{id:06d}",
        customer_id=7,
        cart_id=f"cart-{id}",
        order_ref=f"ref-{id}",
        status=status,
        currency="CNY",
        subtotal=Decimal(total),
        discount_total=Decimal("0.00"),
        shipping_total=Decimal(shipping),
        total=Decimal(total) + Decimal(shipping),
        deposit_due=Decimal(deposit_due) if deposit_due is not None else None,
        shipping_address=None,
        created_at=NOW,
        updated_at=NOW,
    )


def line(
    id: int,
    *,
    quantity: int,
    total: str,
    sku_id: int | None = None,
    product_id: int | None = None,
    unit_price: str | None = None,
    discounts: tuple[tuple[int, str], ...] = (),
    fulfillment: str = "WAREHOUSE",
    supplier_id: int | None = None,
    order_id: int = 1,
) -> OrderLine:
    price = Decimal(unit_price) if unit_price else Decimal(total) / quantity
    return OrderLine(
        id=id,
        order_id=order_id,
        sku_id=sku_id if sku_id is not None else 100 + id,
        product_id=product_id if product_id is not None else 1000 + id,
        product_name=f"Product {id}",
        sku_name=f"SKU {id}",
        quantity=quantity,
        unit_price=price,
        subtotal=price * quantity,
        discounts=tuple(LineDiscount(pid, f"Promotion {pid}", Decimal(a)) for pid, a in discounts),
        total=Decimal(total),
        deposit=None,
        fulfillment=fulfillment,
        supplier_id=supplier_id,
    )


def request(
    id: int,
    kind: AfterSalesKind,
    lines: list[tuple[int, int, str]],
    *,
    status: AfterSalesStatus = AfterSalesStatus.OPEN,
    refund: str | None = None,
    order_id: int = 1,
) -> AfterSalesRequest:
    items = tuple(AfterSalesLine(lid, qty, Decimal(amount)) for lid, qty, amount in lines)
    if refund is None and kind is not AfterSalesKind.EXCHANGE:
        refund = str(sum((i.refund_amount for i in items), Decimal(0)))
    return AfterSalesRequest(
        id=id,
        order_id=order_id,
        customer_id=7,
        kind=kind,
        status=status,
        reason="why",
        lines=items,
        refund_amount=Decimal(refund) if refund is not None else None,
        created_at=NOW,
        updated_at=NOW,
        resolution_note=None,
    )


def product(
    id: int,
    kind: ProductKind = ProductKind.PHYSICAL,
    *,
    fulfillment: FulfillmentMode = FulfillmentMode.WAREHOUSE,
    supplier_id: int | None = None,
) -> Product:
    return Product(
        id=id,
        slug=f"p-{id}",
        name=f"Product {id}",
        description="",
        kind=kind,
        fulfillment=fulfillment,
        is_published=True,
        category_id=None,
        brand=None,
        supplier_id=supplier_id,
        created_at=NOW,
        presale=None,
        price_min=None,
        price_max=None,
        currency="CNY",
        in_stock=True,
    )


def bundle_part(
    bundle_product_id: int, part: Product, sku_id: int, quantity: int = 1
) -> BundleItem:
    return BundleItem(
        bundle_product_id=bundle_product_id,
        quantity=quantity,
        sku=Sku(sku_id, part.id, f"SKU-{sku_id}", f"SKU {sku_id}", True, None),
        product=part,
    )
