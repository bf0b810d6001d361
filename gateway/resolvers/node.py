"""``node`` and ``nodes``: any object by its global id, with the same visibility rules as
the typed queries, so no object leaks through the generic path."""

import asyncio
from typing import Annotated

import strawberry

from ..auth import Permission
from ..checkout import carts
from ..ids import row_id
from ..schema.cart import Cart
from ..schema.catalog import Category, Product, Sku, visible
from ..schema.common import BadUserInput, Info
from ..schema.node import Node, decode_id
from ..schema.orders import Customer, Order, may_see_customer
from ..schema.pricing import Promotion
from . import aftersales
from .customers import customer_address_node

MAX_NODES = 100


async def node(
    info: Info,
    id: Annotated[
        strawberry.ID,
        strawberry.argument(description="A global id, as any type's `id` field gives it."),
    ],
) -> Node | None:
    type_name, pk = decode_id(id)
    if type_name == "Cart":
        cart = await carts.cart_for(info.context.sources, pk, info.context.viewer.customer_id)
        return Cart.from_record(cart) if cart else None
    key = row_id(pk)
    if key is None:
        raise BadUserInput(f"{id!r} is not a valid ID", code="INVALID_ID")
    loaders = info.context.loaders
    if type_name == "Product":
        product = visible(info, await loaders.catalog.product.load(key))
        return Product.from_record(product) if product else None
    if type_name == "Sku":
        sku = await loaders.catalog.sku.load(key)
        if sku is None:
            return None
        owner = visible(info, await loaders.catalog.product.load(sku.product_id))
        return Sku.from_record(sku, owner) if owner else None
    if type_name == "Category":
        category = await loaders.catalog.category.load(key)
        return Category.from_record(category) if category else None
    if type_name == "Customer":
        viewer = info.context.viewer
        if not (may_see_customer(viewer, key) or viewer.has(Permission.MANAGE_CUSTOMERS)):
            return None
        customer = await loaders.orders.customer.load(key)
        return Customer.from_record(customer) if customer else None
    if type_name == "Order":
        order = await loaders.orders.order.load(key)
        if order is None or not may_see_customer(info.context.viewer, order.customer_id):
            return None
        return Order.from_record(order)
    if type_name == "AfterSalesRequest":
        return await aftersales.after_sales_node(info, key)
    if type_name == "CustomerAddress":
        return await customer_address_node(info, key)
    if type_name == "Promotion":
        promotion = await loaders.pricing.promotion.load(key)
        return Promotion.from_record(promotion) if promotion else None
    return None


async def nodes(
    info: Info,
    ids: Annotated[list[strawberry.ID], strawberry.argument(description="At most 100 global ids.")],
) -> list[Node | None]:
    if len(ids) > MAX_NODES:
        raise BadUserInput(f"at most {MAX_NODES} ids per nodes query")
    return list(await asyncio.gather(*(node(info, i) for i in ids)))
