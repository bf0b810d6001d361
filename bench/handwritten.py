"""The floor: a hand-written Starlette endpoint per screen, straight from the stores.

No GraphQL, no loaders, no per-field resolution: each endpoint knows its screen, calls the
stores' batch methods in as few waves as the data dependencies allow (``asyncio.gather``
within a wave), builds the response dict by hand and serialises it with orjson. The body is
exactly the gateway's (``{"data": ...}``, the same field names, ids, money strings and
timestamps); the benchmark checks that before it measures anything.

Stores are built the gateway's way (``Sources.from_settings``), so the same database URLs,
pool size and simulated source latency apply, and their calls are counted with the
gateway's ``Metrics.count_calls``, served on ``/metrics``.

Run it with ``uvicorn --factory bench.handwritten:create_app`` (settings from the
environment, like the gateway).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import gc
import os
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.metrics import Metrics
from gateway.settings import Settings, load_settings
from gateway.sources import Sources
from sources.catalog.records import Category, Product, ProductFilter, ProductSort, Sku
from sources.common.money import quantize
from sources.inventory.records import StockLevel
from sources.orders.records import OrderLine
from sources.pricing.records import Price, Promotion

Json = dict[str, Any]

LISTING_SIZE = 50
LARGE_SIZE = 250  # bench.queries.LARGE_SIZE
ORDERS_SIZE = 10  # bench.queries.ORDERS_SIZE
CATEGORY_PAGE_SIZE = 5


def gid(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode()


def money(amount: Decimal, currency: str) -> Json:
    return {"amount": str(quantize(amount)), "currency": currency}


def timestamp(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def price_range(skus: list[Sku], prices: dict[int, Price], currency: str) -> Json:
    chosen = [s for s in skus if s.is_active] or skus
    amounts = [prices[s.id].sale_amount for s in chosen if s.id in prices] or [Decimal(0)]
    return {"min": money(min(amounts), currency), "max": money(max(amounts), currency)}


def page_info(has_next_page: bool, cursors: list[str]) -> Json:
    """A forward page's ``pageInfo`` as the contract spells it."""
    return {
        "hasNextPage": has_next_page,
        "hasPreviousPage": False,
        "startCursor": cursors[0] if cursors else None,
        "endCursor": cursors[-1] if cursors else None,
    }


def in_stock(skus: list[Sku], stock: dict[int, StockLevel]) -> bool:
    return any(stock[s.id].in_stock for s in skus if s.is_active)


def sku_price(sku: Sku, prices: dict[int, Price]) -> Json:
    price = prices.get(sku.id)
    if price is None:
        raise RuntimeError(f"SKU {sku.id} has no price")
    return {
        "list": money(price.list_amount, price.currency),
        "sale": money(price.sale_amount, price.currency),
    }


def stock_level(level: StockLevel) -> Json:
    return {"available": level.available, "inStock": level.in_stock}


def ids_of(items: Iterable[Sku]) -> list[int]:
    return list(dict.fromkeys(s.id for s in items))


class Handwritten:
    def __init__(self, settings: Settings, sources: Sources) -> None:
        self.settings = settings
        self.currency = settings.currency
        self.catalog = sources.catalog
        self.inventory = sources.inventory
        self.pricing = sources.pricing
        self.orders = sources.orders

    async def listing(self) -> Json:
        now = datetime.now(UTC)
        page = await self.catalog.list_products(
            first=LISTING_SIZE, filter=ProductFilter(), sort=ProductSort.NEWEST
        )
        products = page.products
        product_ids = [p.id for p in products]
        category_ids = list({p.category_id for p in products if p.category_id is not None})
        skus_by_product, categories = await asyncio.gather(
            self.catalog.skus_by_product_ids(product_ids),
            self.catalog.categories_by_ids(category_ids),
        )
        sku_ids = ids_of(s for skus in skus_by_product.values() for s in skus)
        paths = {p.id: _path(p, categories) for p in products}
        prices, stock, promotions = await asyncio.gather(
            self.pricing.prices_by_sku_ids(sku_ids, self.currency),
            self.inventory.stock_by_sku_ids(sku_ids),
            self.pricing.promotions_for_products(paths, now),
        )
        edges = []
        for product, cursor in zip(products, page.cursors, strict=True):
            skus = skus_by_product.get(product.id, [])
            category = categories.get(product.category_id) if product.category_id else None
            edges.append(
                {
                    "cursor": cursor,
                    "node": {
                        "id": gid("Product", product.id),
                        "slug": product.slug,
                        "name": product.name,
                        "kind": product.kind.value,
                        "inStock": in_stock(skus, stock),
                        "category": (
                            {"id": gid("Category", category.id), "name": category.name}
                            if category
                            else None
                        ),
                        "priceRange": price_range(skus, prices, self.currency),
                        "promotions": [
                            {"id": gid("Promotion", p.id), "name": p.name, "kind": p.kind.value}
                            for p in promotions.get(product.id, [])
                        ],
                        "skus": [
                            {
                                "id": gid("Sku", s.id),
                                "code": s.code,
                                "name": s.name,
                                "price": sku_price(s, prices),
                                "stock": stock_level(stock[s.id]),
                            }
                            for s in skus
                        ],
                    },
                }
            )
        cursors = page.cursors
        return {
            "data": {
                "products": {
                    "totalCount": page.total_count,
                    "pageInfo": page_info(page.has_next_page, cursors),
                    "edges": edges,
                }
            }
        }

    async def large(self) -> Json:
        page = await self.catalog.list_products(
            first=LARGE_SIZE, filter=ProductFilter(), sort=ProductSort.NEWEST
        )
        skus_by_product = await self.catalog.skus_by_product_ids([p.id for p in page.products])
        sku_ids = ids_of(s for skus in skus_by_product.values() for s in skus)
        prices, stock = await asyncio.gather(
            self.pricing.prices_by_sku_ids(sku_ids, self.currency),
            self.inventory.stock_by_sku_ids(sku_ids),
        )
        edges = [
            {
                "node": {
                    "id": gid("Product", product.id),
                    "name": product.name,
                    "skus": [
                        {
                            "id": gid("Sku", s.id),
                            "code": s.code,
                            "price": sku_price(s, prices),
                            "stock": stock_level(stock[s.id]),
                        }
                        for s in skus_by_product.get(product.id, [])
                    ],
                }
            }
            for product in page.products
        ]
        return {"data": {"products": {"edges": edges}}}

    async def detail(self, slug: str) -> Json:
        now = datetime.now(UTC)
        product = (await self.catalog.products_by_slugs([slug])).get(slug)
        if product is None or not product.is_published:
            return {"data": {"product": None}}
        pid = product.id
        # Wave 2: everything keyed by the product (the category comes with its ancestors,
        # the bundle's parts with their SKUs and products).
        skus_by_product, categories, bundles = await asyncio.gather(
            self.catalog.skus_by_product_ids([pid]),
            self.catalog.categories_by_ids([product.category_id] if product.category_id else []),
            self.catalog.bundle_items_by_product_ids([pid]),
        )
        skus = skus_by_product.get(pid, [])
        category = categories.get(product.category_id) if product.category_id else None
        parent = categories.get(category.parent_id) if category and category.parent_id else None
        items = [i for i in bundles.get(pid, []) if i.product.is_published]
        # Wave 3: prices and stock of every SKU on the page, the product's promotions.
        sku_ids = ids_of([*skus, *(i.sku for i in items)])
        prices, stock, promotions = await asyncio.gather(
            self.pricing.prices_by_sku_ids(sku_ids, self.currency),
            self.inventory.stock_by_sku_ids(sku_ids),
            self.pricing.promotions_for_products({pid: category.path if category else ()}, now),
        )
        presale = product.presale
        return {
            "data": {
                "product": {
                    "id": gid("Product", pid),
                    "slug": product.slug,
                    "name": product.name,
                    "description": product.description,
                    "kind": product.kind.value,
                    "fulfillment": product.fulfillment.value,
                    "published": product.is_published,
                    "brand": product.brand,
                    "inStock": in_stock(skus, stock),
                    "presale": (
                        {
                            "deposit": money(presale.deposit, presale.currency),
                            "startsAt": timestamp(presale.starts_at),
                            "endsAt": timestamp(presale.ends_at),
                            "shipsFrom": timestamp(presale.ships_from),
                        }
                        if presale
                        else None
                    ),
                    "category": (
                        {
                            "id": gid("Category", category.id),
                            "slug": category.slug,
                            "name": category.name,
                            "parent": (
                                {
                                    "id": gid("Category", parent.id),
                                    "slug": parent.slug,
                                    "name": parent.name,
                                }
                                if parent
                                else None
                            ),
                        }
                        if category
                        else None
                    ),
                    "priceRange": price_range(skus, prices, self.currency),
                    "skus": [
                        {
                            "id": gid("Sku", s.id),
                            "code": s.code,
                            "name": s.name,
                            "active": s.is_active,
                            "purchaseLimit": s.purchase_limit,
                            "price": sku_price(s, prices),
                            "stock": stock_level(stock[s.id]),
                        }
                        for s in skus
                    ],
                    "bundleItems": [
                        {
                            "quantity": item.quantity,
                            "sku": {
                                "id": gid("Sku", item.sku.id),
                                "code": item.sku.code,
                                "name": item.sku.name,
                                "product": {
                                    "id": gid("Product", item.product.id),
                                    "slug": item.product.slug,
                                    "name": item.product.name,
                                },
                                "price": sku_price(item.sku, prices),
                                "stock": stock_level(stock[item.sku.id]),
                            },
                        }
                        for item in items
                    ],
                    "promotions": [_promotion(p) for p in promotions.get(pid, [])],
                }
            }
        }

    async def categories(self) -> Json:
        categories = await self.catalog.all_categories()
        by_id = {c.id: c for c in categories}
        pages = await self.catalog.products_in_categories(
            [c.id for c in categories], first=CATEGORY_PAGE_SIZE
        )
        products = [p for page in pages.values() for p in page.products]
        skus_by_product = await self.catalog.skus_by_product_ids(
            list(dict.fromkeys(p.id for p in products))
        )
        chosen = [
            s
            for skus in skus_by_product.values()
            for s in ([s for s in skus if s.is_active] or skus)
        ]
        prices = await self.pricing.prices_by_sku_ids(ids_of(chosen), self.currency)
        out = []
        for c in categories:
            page = pages[c.id]
            parent = by_id.get(c.parent_id) if c.parent_id is not None else None
            out.append(
                {
                    "id": gid("Category", c.id),
                    "slug": c.slug,
                    "name": c.name,
                    "parent": {"id": gid("Category", parent.id)} if parent else None,
                    "products": {
                        "totalCount": page.total_count,
                        "edges": [
                            {
                                "node": {
                                    "id": gid("Product", p.id),
                                    "name": p.name,
                                    "priceRange": price_range(
                                        skus_by_product.get(p.id, []), prices, self.currency
                                    ),
                                }
                            }
                            for p in page.products
                        ],
                    },
                }
            )
        return {"data": {"categories": out}}

    async def orders_view(self) -> Json:
        """The back office's page of orders (bench.queries.ORDERS, as MANAGE_ORDERS and
        MANAGE_STOCK staff read it): three waves, the page, what hangs off each order, the
        SKUs of its lines with their stock."""
        page = await self.orders.list_orders(first=ORDERS_SIZE)
        ids = [o.id for o in page.orders]
        customers, lines, shipments, payments, requests = await asyncio.gather(
            self.orders.customers_by_ids(list(dict.fromkeys(o.customer_id for o in page.orders))),
            self.orders.order_lines_by_order_ids(ids),
            self.orders.shipments_by_order_ids(ids),
            self.orders.payments_by_order_ids(ids),
            self.orders.after_sales_by_order_ids(ids),
        )
        sku_ids = list(dict.fromkeys(line.sku_id for ls in lines.values() for line in ls))
        skus, stock = await asyncio.gather(
            self.catalog.skus_by_ids(sku_ids), self.inventory.stock_by_sku_ids(sku_ids)
        )

        def line_ref(by_id: dict[int, OrderLine], line_id: int) -> Json:
            return {"id": gid("OrderLine", by_id[line_id].id)}

        edges = []
        for order, cursor in zip(page.orders, page.cursors, strict=True):
            c = order.currency
            own = lines.get(order.id, [])
            by_id = {line.id: line for line in own}
            customer = customers.get(order.customer_id)
            edges.append(
                {
                    "cursor": cursor,
                    "node": {
                        "id": gid("Order", order.id),
                        "number": order.number,
                        "status": order.status.value,
                        "createdAt": timestamp(order.created_at),
                        "cost": {
                            "subtotal": money(order.subtotal, c),
                            "shippingTotal": money(order.shipping_total, c),
                            "total": money(order.total, c),
                        },
                        "customer": (
                            {
                                "id": gid("Customer", customer.id),
                                "email": customer.email,
                                "name": customer.name,
                            }
                            if customer
                            else None
                        ),
                        "lines": [
                            {
                                "id": gid("OrderLine", line.id),
                                "productName": line.product_name,
                                "quantity": line.quantity,
                                "unitPrice": money(line.unit_price, c),
                                "total": money(line.total, c),
                                "sku": {
                                    "id": gid("Sku", line.sku_id),
                                    "code": skus[line.sku_id].code,
                                    "stock": {
                                        "available": stock[line.sku_id].available,
                                        "warehouses": [
                                            {
                                                "warehouseCode": w.warehouse_code,
                                                "available": w.available,
                                            }
                                            for w in stock[line.sku_id].warehouses
                                        ],
                                    },
                                },
                            }
                            for line in own
                        ],
                        "shipments": [
                            {
                                "id": gid("Shipment", s.id),
                                "source": s.source.label,  # staff see the supplier
                                "status": s.status.value,
                                "trackingNumber": s.tracking_number,
                                "items": [
                                    {
                                        "quantity": i.quantity,
                                        "line": line_ref(by_id, i.order_line_id),
                                    }
                                    for i in s.lines
                                    if i.order_line_id in by_id
                                ],
                            }
                            for s in shipments.get(order.id, [])
                        ],
                        "payments": [
                            {"stage": p.stage.value, "amount": money(p.amount, c)}
                            for p in payments.get(order.id, [])
                        ],
                        "afterSalesRequests": [
                            {
                                "id": gid("AfterSalesRequest", r.id),
                                "kind": r.kind.value,
                                "status": r.status.value,
                                "refundAmount": (
                                    money(r.refund_amount, c)
                                    if r.refund_amount is not None
                                    else None
                                ),
                                "items": [
                                    {
                                        "quantity": i.quantity,
                                        "line": line_ref(by_id, i.order_line_id),
                                    }
                                    for i in r.lines
                                    if i.order_line_id in by_id
                                ],
                            }
                            for r in requests.get(order.id, [])
                        ],
                    },
                }
            )
        cursors = page.cursors
        return {
            "data": {
                "orders": {
                    "totalCount": page.total_count,
                    "pageInfo": {
                        "hasNextPage": page.has_next_page,
                        "endCursor": cursors[-1] if cursors else None,
                    },
                    "edges": edges,
                }
            }
        }


def _path(product: Product, categories: dict[int, Category]) -> tuple[int, ...]:
    if product.category_id is None:
        return ()
    category = categories.get(product.category_id)
    return category.path if category else ()


def _promotion(p: Promotion) -> Json:
    return {
        "id": gid("Promotion", p.id),
        "name": p.name,
        "kind": p.kind.value,
        "description": p.description,
        "startsAt": timestamp(p.starts_at),
        "endsAt": timestamp(p.ends_at),
        "couponRequired": p.coupon_required,
    }


def _json(body: Json) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


# Set (``python -m bench --floor-gc-tuned``): the served floor's collector is set as the
# gateway's process sets its own (gateway/asgi.py), so the comparison is of the code alone.
GC_TUNED_ENV = "BENCH_FLOOR_GC_TUNED"


def create_app(settings: Settings | None = None, *, sources: Sources | None = None) -> Starlette:
    settings = settings or load_settings()
    sources = sources or Sources.from_settings(settings)
    metrics = Metrics()
    for store in sources.stores():
        metrics.count_calls(store)
    handwritten = Handwritten(settings, sources)

    async def listing(_: Request) -> Response:
        return _json(await handwritten.listing())

    async def large(_: Request) -> Response:
        return _json(await handwritten.large())

    async def product(request: Request) -> Response:
        return _json(await handwritten.detail(request.query_params["slug"]))

    async def categories(_: Request) -> Response:
        return _json(await handwritten.categories())

    async def orders(_: Request) -> Response:
        return _json(await handwritten.orders_view())

    async def healthz(_: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def metrics_endpoint(_: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await sources.close()

    app = Starlette(
        routes=[
            Route("/listing", listing),
            Route("/large", large),
            Route("/product", product),
            Route("/categories", categories),
            Route("/orders", orders),
            Route("/healthz", healthz),
            Route("/metrics", metrics_endpoint),
        ],
        lifespan=lifespan,
    )
    if os.environ.get(GC_TUNED_ENV) == "1":
        gc.collect()  # gateway/asgi.py's three lines, after the app is built
        gc.freeze()
        gc.set_threshold(10_000, 10, 10)
    return app


class _Remembered:
    """A store whose every answer is kept after its first call (keyed by the arguments,
    moments in time left out: the listing passes ``now`` to promotions), so the in-memory
    endpoint builds each response from records already in memory: no SQL, no drivers."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._answers: dict[tuple[str, str], Any] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)
        if not callable(method):
            return method

        async def remembered(*args: Any, **kwargs: Any) -> Any:
            kept = [a for a in args if not isinstance(a, datetime)]
            key = (name, repr((kept, sorted(kwargs.items()))))
            if key not in self._answers:
                self._answers[key] = await method(*args, **kwargs)
            return self._answers[key]

        return remembered


def create_memory_app(settings: Settings | None = None) -> Starlette:
    """The physical limit of this web stack: the floor's endpoints (the same JSON, built by
    the same code) over records read once and then kept in memory. What is left per request
    is Starlette, building the response dicts and orjson."""
    settings = settings or load_settings()
    sources = Sources.from_settings(settings)
    remembered = dataclasses.replace(
        sources,
        catalog=_Remembered(sources.catalog),
        inventory=_Remembered(sources.inventory),
        pricing=_Remembered(sources.pricing),
        orders=_Remembered(sources.orders),
    )
    app = create_app(settings, sources=remembered)
    return app
