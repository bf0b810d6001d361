"""The permission matrix's data: what schema.graphql guards, who asks, and for every guarded
field and mutation the request that reaches it.

The guarded fields and mutations are read from the exported schema (every
``@requiresPermission(anyOf: [...])``), never listed by hand here: a guard added to the
schema without a case below fails the suite until someone says how to reach it.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import graphql
from sqlalchemy import select

from gateway.auth import Permission, ViewerKind, issue_token
from gateway.settings import Settings
from sources.catalog import models as catalog
from sources.common.db import Database
from sources.inventory import models as inventory
from sources.pricing import models as pricing

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schema.graphql"

# ---------------------------------------------------------------------------------------
# What the schema guards


def parse_schema(sdl: str | None = None) -> graphql.GraphQLSchema:
    return graphql.build_schema(sdl if sdl is not None else SCHEMA_PATH.read_text())


def guards(schema: graphql.GraphQLSchema) -> dict[str, tuple[str, ...]]:
    """Every ``Type.field`` carrying @requiresPermission, with its anyOf list, read from the
    field definitions' AST (introspection does not show applied directives)."""
    found: dict[str, tuple[str, ...]] = {}
    for type_ in schema.type_map.values():
        if type_.name.startswith("__") or not isinstance(
            type_, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType
        ):
            continue
        for name, field in type_.fields.items():
            node = field.ast_node
            for directive in (node.directives if node else ()) or ():
                if directive.name.value != "requiresPermission":
                    continue
                args = {a.name.value: a.value for a in directive.arguments or ()}
                value = args.get("anyOf")
                assert isinstance(value, graphql.ListValueNode), f"{type_.name}.{name}"
                found[f"{type_.name}.{name}"] = tuple(
                    v.value for v in value.values if isinstance(v, graphql.EnumValueNode)
                )
    return found


def guarded_fields(schema: graphql.GraphQLSchema) -> dict[str, tuple[str, ...]]:
    mutation = schema.mutation_type.name if schema.mutation_type else "Mutation"
    return {k: v for k, v in guards(schema).items() if not k.startswith(f"{mutation}.")}


def guarded_mutations(schema: graphql.GraphQLSchema) -> dict[str, tuple[str, ...]]:
    mutation = schema.mutation_type.name if schema.mutation_type else "Mutation"
    return {k: v for k, v in guards(schema).items() if k.startswith(f"{mutation}.")}


# ---------------------------------------------------------------------------------------
# Who asks

ALL_PERMISSIONS = tuple(p.value for p in Permission)


@dataclass(frozen=True)
class ViewerCase:
    name: str
    kind: ViewerKind
    permissions: tuple[str, ...] = ()

    def holds_any(self, any_of: tuple[str, ...]) -> bool:
        return self.kind is ViewerKind.STAFF and bool(set(any_of) & set(self.permissions))


VIEWERS: tuple[ViewerCase, ...] = (
    ViewerCase("anonymous", ViewerKind.ANONYMOUS),
    ViewerCase("customer", ViewerKind.CUSTOMER),
    ViewerCase("staff-without-permissions", ViewerKind.STAFF),
    *(ViewerCase(f"staff-{p}", ViewerKind.STAFF, (p,)) for p in ALL_PERMISSIONS),
)
ADMIN = ViewerCase("admin", ViewerKind.STAFF, ALL_PERMISSIONS)
DEMO_CUSTOMER_ID = 1  # customer1@example.com in the demo shop


def token_for(settings: Settings, viewer: ViewerCase) -> str | None:
    if viewer.kind is ViewerKind.ANONYMOUS:
        return None
    if viewer.kind is ViewerKind.CUSTOMER:
        return issue_token(settings, kind=ViewerKind.CUSTOMER, subject=str(DEMO_CUSTOMER_ID))
    return issue_token(
        settings,
        kind=ViewerKind.STAFF,
        subject=f"test-{viewer.name}",
        permissions=list(viewer.permissions),
    )


# ---------------------------------------------------------------------------------------
# Objects of the seeded shop that carry data behind each guard


def global_id(type_name: str, pk: int | str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode()


@dataclass(frozen=True)
class Samples:
    """Rows picked from the sources' own databases, not learnt through the gateway."""

    dropship_slug: str  # published, with a supplier, and its SKUs have cost prices
    dropship_id: str
    stocked_slug: str  # published warehouse product with stock rows
    stocked_skus: tuple[str, ...]  # one SKU (with SH-01 stock) of each stocked product
    spare_products: tuple[str, ...]  # other published warehouse products, by id
    pool_skus: tuple[str, ...]  # every SKU of the stocked products but the last two spares
    sparse_skus: tuple[tuple[str, str], ...]  # (SKU, a warehouse it has no stock row in)
    sold_out_id: str  # published warehouse product, nothing in stock, an active SKU
    supplier_fed_sku: str  # a drop-ship SKU whose supplier reports stock
    bundle_slug: str
    bundle_id: str
    unpublished_slug: str
    unpublished_id: str
    category_id: str
    warehouse: str = "SH-01"


def load_samples(urls: dict[str, str]) -> Samples:
    return asyncio.run(_load_samples(urls))


async def _load_samples(urls: dict[str, str]) -> Samples:
    cat_db, inv_db, price_db = (Database(urls[n]) for n in ("catalog", "inventory", "pricing"))
    try:
        async with cat_db.connect() as conn:
            products = (
                await conn.execute(select(catalog.Product).order_by(catalog.Product.id))
            ).all()
            skus = (await conn.execute(select(catalog.Sku).order_by(catalog.Sku.id))).all()
        async with inv_db.connect() as conn:
            stock_rows = (
                await conn.execute(
                    select(inventory.StockItem.sku_id, inventory.Warehouse.code).join(
                        inventory.Warehouse,
                        inventory.Warehouse.id == inventory.StockItem.warehouse_id,
                    )
                )
            ).all()
            fed = {
                sku_id
                for (sku_id,) in await conn.execute(
                    select(inventory.SupplierStock.sku_id).where(
                        inventory.SupplierStock.available > 0
                    )
                )
            }
        async with price_db.connect() as conn:
            costed = {
                sku_id
                for (sku_id,) in await conn.execute(
                    select(pricing.Price.sku_id).where(pricing.Price.cost_amount.is_not(None))
                )
            }
    finally:
        for db in (cat_db, inv_db, price_db):
            await db.dispose()
    in_warehouse = {sku_id for sku_id, code in stock_rows if code == "SH-01"}
    warehouses_of: dict[int, set[str]] = {}
    for sku_id, code in stock_rows:
        warehouses_of.setdefault(sku_id, set()).add(code)
    skus_of: dict[int, list[Any]] = {}
    for sku in skus:
        skus_of.setdefault(sku.product_id, []).append(sku)

    def first(condition: Callable[[Any], bool], what: str) -> Any:
        for product in products:
            if condition(product):
                return product
        raise AssertionError(f"the demo shop has no {what}")

    dropship = first(
        lambda p: (
            p.is_published
            and p.supplier_id is not None
            and any(s.id in costed for s in skus_of.get(p.id, []))
        ),
        "published drop-ship product with cost prices",
    )
    warehouse_products = [
        p
        for p in products
        if p.is_published
        and p.kind == "PHYSICAL"
        and p.supplier_id is None
        and p.presale_deposit is None
        and skus_of.get(p.id)
        and all(s.id in in_warehouse and s.is_active for s in skus_of[p.id])
    ]
    assert len(warehouse_products) >= 6, "the demo shop has too few stocked products"
    stocked = max(warehouse_products[:6], key=lambda p: len(skus_of[p.id]))
    bundle = first(lambda p: p.is_published and p.kind == "BUNDLE", "published bundle")
    sold_out = first(
        lambda p: (
            p.is_published
            and p.kind == "PHYSICAL"
            and p.supplier_id is None
            and p.presale_deposit is None
            and not p.in_stock
            and any(s.is_active for s in skus_of.get(p.id, []))
        ),
        "sold-out product",
    )
    unpublished = first(lambda p: not p.is_published, "unpublished product")
    category = first(lambda p: p.is_published and p.category_id is not None, "category")
    pool = [
        s
        for p in warehouse_products
        if p not in warehouse_products[-2:] or p.id == stocked.id
        for s in skus_of[p.id]
    ]
    sparse = [
        (global_id("Sku", s.id), min({"SH-01", "BJ-01", "GZ-01"} - warehouses_of[s.id]))
        for p in products
        if p.is_published and p.kind == "PHYSICAL" and p.supplier_id is None
        for s in skus_of.get(p.id, [])
        if s not in pool and s.id in warehouses_of and len(warehouses_of[s.id]) < 3
    ]
    return Samples(
        dropship_slug=dropship.slug,
        dropship_id=global_id("Product", dropship.id),
        stocked_slug=stocked.slug,
        stocked_skus=tuple(global_id("Sku", skus_of[p.id][0].id) for p in warehouse_products),
        spare_products=tuple(
            global_id("Product", p.id) for p in warehouse_products if p.id != stocked.id
        ),
        pool_skus=tuple(global_id("Sku", s.id) for s in pool),
        sparse_skus=tuple(sparse),
        sold_out_id=global_id("Product", sold_out.id),
        supplier_fed_sku=global_id(
            "Sku",
            min(
                s.id
                for p in products
                if p.is_published and p.supplier_id is not None
                for s in skus_of.get(p.id, [])
                if s.id in fed and s.is_active
            ),
        ),
        bundle_slug=bundle.slug,
        bundle_id=global_id("Product", bundle.id),
        unpublished_slug=unpublished.slug,
        unpublished_id=global_id("Product", unpublished.id),
        category_id=global_id("Category", category.category_id),
    )


def unpublished_slugs_and_codes(catalog_url: str) -> tuple[list[str], list[str]]:
    """Slugs of the unpublished products and codes of their SKUs, read from the catalog's
    own database, so the tests do not learn them through the gateway they check."""

    async def read() -> tuple[list[str], list[str]]:
        db = Database(catalog_url)
        try:
            async with db.connect() as conn:
                hidden = select(catalog.Product.id).where(catalog.Product.is_published.is_(False))
                slugs = await conn.execute(
                    select(catalog.Product.slug).where(catalog.Product.id.in_(hidden))
                )
                codes = await conn.execute(
                    select(catalog.Sku.code).where(catalog.Sku.product_id.in_(hidden))
                )
                return [s for (s,) in slugs], [c for (c,) in codes]
        finally:
            await db.dispose()

    return asyncio.run(read())


# ---------------------------------------------------------------------------------------
# Guarded fields: a query reaching each, the guarded value aliased ``guarded``


def _is_null(value: Any) -> bool:
    return value is None


def _not_null(value: Any) -> bool:
    return value is not None


def _empty_connection(value: Any) -> bool:
    return value is None or (value["totalCount"] == 0 and value["edges"] == [])


@dataclass(frozen=True)
class FieldCase:
    query: str
    variables: Callable[[Samples], dict[str, Any]]
    shows: Callable[[Any], bool] = _not_null  # what a value carrying data looks like
    hides: Callable[[Any], bool] = _is_null  # what a viewer without permission reads


def _dropship(samples: Samples) -> dict[str, Any]:
    return {"slug": samples.dropship_slug}


def _stocked(samples: Samples) -> dict[str, Any]:
    return {"slug": samples.stocked_slug}


FIELD_CASES: dict[str, FieldCase] = {
    "Query.lowStock": FieldCase(
        "query { guarded: lowStock(threshold: 1000000, first: 3) { totalCount } }",
        lambda s: {},
    ),
    "Query.orders": FieldCase(
        # A staff listing reads as empty, not null, without the permission.
        "query { guarded: orders(first: 5) { totalCount edges { node { id } } } }",
        lambda s: {},
        shows=lambda v: v is not None and v["totalCount"] >= 1 and len(v["edges"]) >= 1,
        hides=_empty_connection,
    ),
    "Query.customers": FieldCase(
        # Like orders: empty, not null, without the permission.
        "query { guarded: customers(first: 5) { totalCount edges { node { id email } } } }",
        lambda s: {},
        shows=lambda v: v is not None and v["totalCount"] >= 1 and len(v["edges"]) >= 1,
        hides=_empty_connection,
    ),
    "Query.afterSalesAuditLog": FieldCase(
        "query { guarded: afterSalesAuditLog("
        'requestId: "QWZ0ZXJTYWxlc1JlcXVlc3Q6MQ==") { action } }',
        lambda s: {},
    ),
    "Query.customerAuditLog": FieldCase(
        'query { guarded: customerAuditLog(customerId: "Q3VzdG9tZXI6MQ==") { action } }',
        lambda s: {},
    ),
    "Product.supplier": FieldCase(
        "query($slug: String!) { product(slug: $slug) { guarded: supplier { id name } } }",
        _dropship,
        shows=lambda v: v is not None and bool(v["name"]),
    ),
    "Product.auditLog": FieldCase(
        "query($slug: String!) { product(slug: $slug) { guarded: auditLog { action } } }",
        _stocked,
    ),
    "Product.translations": FieldCase(
        "query($slug: String!) { product(slug: $slug) {"
        " guarded: translations { language name } } }",
        _stocked,
        shows=lambda v: v is not None and bool(v) and all(t["name"] for t in v),
    ),
    "Promotion.translations": FieldCase(
        'query { node(id: "UHJvbW90aW9uOjE=") { ... on Promotion {'
        " guarded: translations { language name } } } }",
        lambda s: {},
        shows=lambda v: v is not None and bool(v) and all(t["name"] for t in v),
    ),
    "Sku.costPrice": FieldCase(
        "query($slug: String!) { product(slug: $slug) {"
        " skus { guarded: costPrice { amount currency } } } }",
        _dropship,
        shows=lambda v: v is not None and Decimal(v["amount"]) > 0,
    ),
    "Sku.auditLog": FieldCase(
        "query($slug: String!) { product(slug: $slug) { skus { guarded: auditLog { action } } } }",
        _stocked,
    ),
    "StockLevel.onHand": FieldCase(
        "query($slug: String!) { product(slug: $slug) { skus { stock { guarded: onHand } } } }",
        _stocked,
        shows=lambda v: isinstance(v, int) and v > 0,
    ),
    "StockLevel.reserved": FieldCase(
        "query($slug: String!) { product(slug: $slug) { skus { stock { guarded: reserved } } } }",
        _stocked,
    ),
    "StockLevel.warehouses": FieldCase(
        "query($slug: String!) { product(slug: $slug) {"
        " skus { stock { guarded: warehouses { warehouseCode onHand reserved } } } } }",
        _stocked,
        shows=lambda v: bool(v) and all(w["warehouseCode"] and w["onHand"] >= 0 for w in v),
    ),
    # The permission shop holds one open request (see open_after_sales_request);
    # test_after_sales.py checks the listing in depth.
    "Query.afterSalesRequests": FieldCase(
        "query { guarded: afterSalesRequests(first: 5) { totalCount edges { node { id } } } }",
        lambda s: {},
        shows=lambda v: v is not None and v["totalCount"] >= 1 and len(v["edges"]) >= 1,
        hides=_empty_connection,
    ),
    # The permission shop's paid order has a parcel to ship (see open_after_sales_request);
    # test_shipping_deadlines.py checks the listing in depth.
    "Query.shipmentsDue": FieldCase(
        'query { guarded: shipmentsDue(before: "2100-01-01T00:00:00Z", first: 5)'
        " { totalCount edges { node { id shipBy overdue } } } }",
        lambda s: {},
        shows=lambda v: v is not None and v["totalCount"] >= 1 and len(v["edges"]) >= 1,
        hides=_empty_connection,
    ),
    "Query.settlement": FieldCase(
        'query { guarded: settlement(from: "2000-01-01T00:00:00Z", to: "2001-01-01T00:00:00Z")'
        " { currency totals { paid { amount } } } }",
        lambda s: {},
    ),
}


PLACE_ORDER_CART = """
mutation Cart($sku: ID!) {
  cartCreate(input: {
    lines: [{skuId: $sku, quantity: 1}]
    shippingAddress: {name: "Wang Wei", phone: "13800000000", country: "CN",
                      region: "CN-SH", city: "Shanghai", line1: "1 Century Avenue"}
  }) {
    cart { id cost { total { amount } } }
    userErrors { code message }
  }
}
"""
PLACE_ORDER = """
mutation Checkout($cart: ID!, $total: Decimal!) {
  checkoutComplete(cartId: $cart, idempotencyKey: "permission-matrix", expectedTotal: $total) {
    order { id }
    userErrors { code message }
  }
}
"""


def place_order(live: Any, samples: Samples) -> tuple[str, str]:
    """(cart id, order id) of an order customer1 places through the storefront API, on a
    stocked SKU, so staff listings of orders have something to show."""
    token = token_for(live.settings, VIEWERS[1])
    stocked = live.query(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Sku { stock { available } } } }",
        {"ids": list(samples.stocked_skus)},
    )
    sku = next(n["id"] for n in stocked["data"]["nodes"] if n and n["stock"]["available"] > 1)
    created = live.query(PLACE_ORDER_CART, {"sku": sku}, token=token)
    assert "errors" not in created, created["errors"]
    cart = created["data"]["cartCreate"]["cart"]
    assert cart, created
    placed = live.query(
        PLACE_ORDER, {"cart": cart["id"], "total": cart["cost"]["total"]["amount"]}, token=token
    )
    assert "errors" not in placed, placed["errors"]
    order = placed["data"]["checkoutComplete"]["order"]
    assert order, placed
    return cart["id"], order["id"]


MARK_PAID = """
mutation Paid($order: ID!) {
  orderMarkPaid(orderId: $order) { order { id lines { id } } userErrors { code message } }
}
"""
ASK = """
mutation Ask($input: AfterSalesRequestInput!) {
  afterSalesRequestCreate(input: $input) { request { id } userErrors { code message } }
}
"""


def open_after_sales_request(live: Any, order_id: str) -> str:
    """An open refund request on the order (paid first, by an admin), asked by customer1."""
    paid = live.query(MARK_PAID, {"order": order_id}, token=token_for(live.settings, ADMIN))
    assert "errors" not in paid, paid["errors"]
    payload = paid["data"]["orderMarkPaid"]
    assert payload["userErrors"] == [], payload
    line = payload["order"]["lines"][0]["id"]
    request = {
        "orderId": order_id,
        "kind": "REFUND_ONLY",
        "lines": [{"orderLineId": line, "quantity": 1}],
        "reason": "arrived scratched",
    }
    asked = live.query(ASK, {"input": request}, token=token_for(live.settings, VIEWERS[1]))
    assert "errors" not in asked, asked["errors"]
    created = asked["data"]["afterSalesRequestCreate"]
    assert created["userErrors"] == [], created
    return created["request"]["id"]  # type: ignore[no-any-return]


def uncached_settings(urls: dict[str, str], **overrides: Any) -> Settings:
    """Settings with the shared cache off: every request pays its own source calls, so a
    count of calls says what the request needs, not what an earlier test left cached."""
    from tests.conftest import settings_for

    if "cache" in Settings.model_fields:
        overrides.setdefault("cache", {"enabled": False})
    return settings_for(urls, **overrides)


def guarded_values(data: Any) -> list[Any]:
    """Every value the response holds under the ``guarded`` alias, at any depth."""
    found: list[Any] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "guarded":
                found.append(value)
            else:
                found.extend(guarded_values(value))
    elif isinstance(data, list):
        for item in data:
            found.extend(guarded_values(item))
    return found


# ---------------------------------------------------------------------------------------
# Guarded mutations: sample arguments, and how to read the target back (as an admin)

SKU_STATE = """
query SkuState($id: ID!) {
  node(id: $id) {
    ... on Sku {
      price { list { amount } sale { amount } }
      stock { onHand reserved warehouses { warehouseCode onHand } }
      auditLog { action actor reason before after }
      product { published }
    }
  }
}
"""

PRODUCT_STATE = """
query ProductState($id: ID!) {
  node(id: $id) {
    ... on Product {
      published
      auditLog { action actor before after }
      skus { price { sale { amount } } stock { onHand } }
    }
  }
}
"""


@dataclass(frozen=True)
class MutationCase:
    document: str  # its payload aliased ``result``
    state_query: str  # reads the target by ``$id``
    target: Callable[[Samples, int], str]  # the n-th target object's id
    variables: Callable[[str, dict[str, Any]], dict[str, Any]]  # (target, state before)
    applied: Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], bool]
    action: str  # the audit entry's action


def _plus(amount: str, extra: str) -> str:
    return str(Decimal(amount) + Decimal(extra))


def _warehouse(state: dict[str, Any], code: str) -> int:
    return next(w["onHand"] for w in state["stock"]["warehouses"] if w["warehouseCode"] == code)


MUTATION_CASES: dict[str, MutationCase] = {
    "Mutation.stockAdjust": MutationCase(
        document="""
        mutation($skuId: ID!, $warehouseCode: String!, $delta: Int!, $reason: String!) {
          result: stockAdjust(skuId: $skuId, warehouseCode: $warehouseCode, delta: $delta,
                              reason: $reason) {
            sku { id stock { onHand } }
            userErrors { code field message }
          }
        }""",
        state_query=SKU_STATE,
        target=lambda s, n: s.stocked_skus[n],
        variables=lambda target, before: {
            "skuId": target,
            "warehouseCode": "SH-01",
            "delta": 3,
            "reason": "permission matrix",
        },
        applied=lambda before, after, _: (
            _warehouse(after, "SH-01") == _warehouse(before, "SH-01") + 3
        ),
        action="stock.adjust",
    ),
    "Mutation.priceSet": MutationCase(
        document="""
        mutation($skuId: ID!, $list: Decimal!, $sale: Decimal!) {
          result: priceSet(skuId: $skuId, list: $list, sale: $sale) {
            sku { id price { list { amount } sale { amount } } }
            userErrors { code field message }
          }
        }""",
        state_query=SKU_STATE,
        target=lambda s, n: s.stocked_skus[-1 - n],
        variables=lambda target, before: {
            "skuId": target,
            "list": _plus(before["price"]["list"]["amount"], "10.00"),
            "sale": _plus(before["price"]["sale"]["amount"], "10.00"),
        },
        applied=lambda before, after, variables: (
            Decimal(after["price"]["list"]["amount"]) == Decimal(variables["list"])
            and Decimal(after["price"]["sale"]["amount"]) == Decimal(variables["sale"])
        ),
        action="price.set",
    ),
    "Mutation.productPublish": MutationCase(
        document="""
        mutation($productId: ID!, $published: Boolean!) {
          result: productPublish(productId: $productId, published: $published) {
            product { id published }
            userErrors { code field message }
          }
        }""",
        state_query=PRODUCT_STATE,
        target=lambda s, n: s.spare_products[n],
        variables=lambda target, before: {
            "productId": target,
            "published": not before["published"],
        },
        applied=lambda before, after, _: after["published"] is (not before["published"]),
        action="product.publish",
    ),
}


# The bulk forms, with one item on the case's target (a denied request answers results:
# null); their targets never meet the single forms' (see tests/gateway/test_bulk.py too).
MUTATION_CASES |= {
    "Mutation.stockAdjustBulk": MutationCase(
        document="""
        mutation($skuId: ID!) {
          result: stockAdjustBulk(items: [{skuId: $skuId, warehouseCode: "SH-01", delta: 3,
                                           reason: "permission matrix"}]) {
            results { index applied sku { id } userErrors { code } }
            userErrors { code field message }
          }
        }""",
        state_query=SKU_STATE,
        target=lambda s, n: s.stocked_skus[2 + n],
        variables=lambda target, before: {"skuId": target},
        applied=lambda before, after, _: (
            _warehouse(after, "SH-01") == _warehouse(before, "SH-01") + 3
        ),
        action="stock.adjust",
    ),
    "Mutation.priceSetBulk": MutationCase(
        document="""
        mutation($skuId: ID!, $list: Decimal!, $sale: Decimal!) {
          result: priceSetBulk(items: [{skuId: $skuId, list: $list, sale: $sale}]) {
            results { index applied sku { id } userErrors { code } }
            userErrors { code field message }
          }
        }""",
        state_query=SKU_STATE,
        target=lambda s, n: s.stocked_skus[-3 - n],
        variables=lambda target, before: {
            "skuId": target,
            "list": _plus(before["price"]["list"]["amount"], "10.00"),
            "sale": _plus(before["price"]["sale"]["amount"], "10.00"),
        },
        applied=lambda before, after, variables: (
            Decimal(after["price"]["sale"]["amount"]) == Decimal(variables["sale"])
        ),
        action="price.set",
    ),
    "Mutation.productPublishBulk": MutationCase(
        document="""
        mutation($productId: ID!, $published: Boolean!) {
          result: productPublishBulk(items: [{productId: $productId, published: $published}]) {
            results { index applied product { id published } userErrors { code } }
            userErrors { code field message }
          }
        }""",
        state_query=PRODUCT_STATE,
        target=lambda s, n: s.spare_products[2 + n],
        variables=lambda target, before: {
            "productId": target,
            "published": not before["published"],
        },
        applied=lambda before, after, _: after["published"] is (not before["published"]),
        action="product.publish",
    ),
}


# Managing the catalog: productUpdate through the matrix here (its target exists before the
# call); the creating ones and the rest in their own module's viewer matrix.
PRODUCT_DETAILS_STATE = """
query ProductDetails($id: ID!) {
  node(id: $id) {
    ... on Product { name tags seo { title } auditLog { action actor before after } }
  }
}
"""
MUTATION_CASES |= {
    "Mutation.productUpdate": MutationCase(
        document="""
        mutation($productId: ID!, $input: ProductInput!) {
          result: productUpdate(productId: $productId, input: $input) {
            product { id name tags }
            userErrors { code field message }
          }
        }""",
        state_query=PRODUCT_DETAILS_STATE,
        target=lambda s, n: s.spare_products[4 + n],
        variables=lambda target, before: {
            "productId": target,
            "input": {"name": before["name"] + " (renamed)", "tags": ["permission-matrix"]},
        },
        applied=lambda before, after, variables: (
            after["name"] == variables["input"]["name"] and after["tags"] == ["permission-matrix"]
        ),
        action="product.update",
    ),
}
_CATALOG_MATRIX = "test_catalog_manage.py::test_catalog_mutations_need_manage_products"

# Order and after-sales mutations act on orders in states this module's catalog samples do
# not make (paid, shipped, with requests): their whole viewer matrix lives with them.
_CATALOG_MUTATIONS = (
    "productCreate", "productArchive", "skuCreate", "skuUpdate", "categoryCreate",
    "categoryUpdate", "categoryMove", "attributeDefine", "supplierCreate",
)  # fmt: skip
_PROMOTION_MATRIX = (
    "test_promotions_manage.py::test_promotion_and_warehouse_mutations_need_their_permission"
)
_PROMOTION_MUTATIONS = (
    "promotionCreate", "promotionUpdate", "promotionEnd", "couponCodesGenerate", "warehouseCreate",
)  # fmt: skip
_MEDIA_MATRIX = "test_media.py::test_media_mutations_need_manage_products"
_MEDIA_MUTATIONS = ("productMediaAdd", "productMediaReorder", "productMediaRemove")
MUTATIONS_TESTED_ELSEWHERE: dict[str, str] = {
    **{f"Mutation.{name}": _CATALOG_MATRIX for name in _CATALOG_MUTATIONS},
    **{f"Mutation.{name}": _MEDIA_MATRIX for name in _MEDIA_MUTATIONS},
    **{f"Mutation.{name}": _PROMOTION_MATRIX for name in _PROMOTION_MUTATIONS},
    "Mutation.orderMarkPaid": "test_order_lifecycle.py::test_order_mutations_need_manage_orders",
    "Mutation.shipmentMarkShipped": (
        "test_order_lifecycle.py::test_order_mutations_need_manage_orders"
    ),
    "Mutation.shipmentMarkDelivered": (
        "test_order_lifecycle.py::test_order_mutations_need_manage_orders"
    ),
    "Mutation.serviceAppointmentComplete": (
        "test_service_appointments.py::test_completing_an_appointment_needs_manage_orders"
    ),
    "Mutation.afterSalesRequestResolve": (
        "test_after_sales.py::test_after_sales_mutations_need_manage_after_sales"
    ),
    "Mutation.afterSalesRequestComplete": (
        "test_after_sales.py::test_after_sales_mutations_need_manage_after_sales"
    ),
    # A customer's audit log is staff-only, and the matrix reads state as every viewer.
    "Mutation.customerBlock": (
        "accounts/test_support_customers.py::"
        "test_without_manage_customers_the_list_is_empty_and_blocking_denied"
    ),
    "Mutation.customerUnblock": (
        "accounts/test_support_customers.py::test_a_blocked_customer_cannot_check_out_until_unblocked"
    ),
}
