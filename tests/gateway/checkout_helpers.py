"""What the cart and checkout tests share: a freshly seeded shop of their own (the session
shop is read by others and must not change), the storefront's requests as a real client
sends them, and the shop's facts read straight from the sources' databases, so a test finds
its SKUs, customers and coupons by what they are, not by hard-coded ids."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import text

from gateway.auth import ViewerKind, issue_token
from gateway.settings import SOURCE_NAMES, Settings
from sources.common.db import Database
from tests.conftest import (
    LiveGateway,
    _migrate_and_seed,
    require_postgres,
    serve,
    settings_for,
    sqlite_urls,
)
from tests.pg import create_temp_database, drop_database

T = TypeVar("T")
PRODUCTS = 60
BACKENDS = ("sqlite", "postgresql")

# ---------------------------------------------------------------------------------------
# The storefront's requests
# ---------------------------------------------------------------------------------------

USER_ERRORS = "userErrors { code field message lineId }"
CART_FIELDS = """
  id
  couponCodes
  shippingAddress { name region city }
  lines {
    id quantity
    sku { id }
    unitPrice { amount currency }
    discounts { amount { amount } promotion { id name } }
    total { amount }
  }
  cost {
    subtotal { amount } discountTotal { amount } shippingTotal { amount }
    total { amount currency } depositDue { amount }
  }
  validation { ok errors { code field message lineId } }
"""
ORDER_FIELDS = """
  id number status createdAt
  lines {
    id productName quantity
    sku { id }
    unitPrice { amount }
    discounts { amount { amount } promotion { id } }
    total { amount }
  }
  cost { subtotal { amount } discountTotal { amount } shippingTotal { amount } total { amount } }
  shippingAddress { region }
  customer { id email }
"""

CART_CREATE = f"""
mutation CartCreate($input: CartCreateInput!) {{
  cartCreate(input: $input) {{ cart {{ {CART_FIELDS} }} {USER_ERRORS} }}
}}"""
CART_LINES_ADD = f"""
mutation CartLinesAdd($cartId: ID!, $lines: [CartLineInput!]!) {{
  cartLinesAdd(cartId: $cartId, lines: $lines) {{ cart {{ {CART_FIELDS} }} {USER_ERRORS} }}
}}"""
CART_LINES_UPDATE = f"""
mutation CartLinesUpdate($cartId: ID!, $lines: [CartLineUpdateInput!]!) {{
  cartLinesUpdate(cartId: $cartId, lines: $lines) {{ cart {{ {CART_FIELDS} }} {USER_ERRORS} }}
}}"""
CART_LINES_REMOVE = f"""
mutation CartLinesRemove($cartId: ID!, $lineIds: [ID!]!) {{
  cartLinesRemove(cartId: $cartId, lineIds: $lineIds) {{ cart {{ {CART_FIELDS} }} {USER_ERRORS} }}
}}"""
CART_COUPONS_SET = f"""
mutation CartCouponsSet($cartId: ID!, $codes: [String!]!) {{
  cartCouponsSet(cartId: $cartId, couponCodes: $codes) {{ cart {{ {CART_FIELDS} }} {USER_ERRORS} }}
}}"""
CART_ADDRESS_SET = f"""
mutation CartShippingAddressSet($cartId: ID!, $address: AddressInput!) {{
  cartShippingAddressSet(cartId: $cartId, address: $address) {{
    cart {{ {CART_FIELDS} }} {USER_ERRORS}
  }}
}}"""
CART_QUERY = f"query Cart($id: ID!) {{ cart(id: $id) {{ {CART_FIELDS} }} }}"
CHECKOUT = f"""
mutation CheckoutComplete($cartId: ID!, $key: String!, $total: Decimal!) {{
  checkoutComplete(cartId: $cartId, idempotencyKey: $key, expectedTotal: $total) {{
    order {{ {ORDER_FIELDS} }} {USER_ERRORS}
  }}
}}"""
ORDER_CANCEL = f"""
mutation OrderCancel($id: ID!, $reason: String!) {{
  orderCancel(orderId: $id, reason: $reason) {{ order {{ id number status }} {USER_ERRORS} }}
}}"""
ORDER_QUERY = f"query Order($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"
VIEWER_ORDERS = """
query MyOrders($first: Int) {
  viewer { id email orders(first: $first) { totalCount edges { node { id number createdAt } } } }
}"""
STOCK_QUERY = """
query Stock($ids: [ID!]!) {
  nodes(ids: $ids) {
    id
    ... on Sku { stock { available onHand reserved warehouses { warehouseCode available } } }
  }
}"""


def global_id(type_name: str, pk: int | str) -> str:
    """A Relay id the way the gateway spells it."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode()


def sku_gid(sku_id: int) -> str:
    return global_id("Sku", sku_id)


def address(region: str = "CN-SH", **overrides: str) -> dict[str, str]:
    """A shipping address as the storefront's form sends it."""
    return {
        "name": "Wang Wei",
        "phone": "13800138000",
        "country": "CN",
        "region": region,
        "city": "Shanghai",
        "line1": "1 Renmin Road",
        "postalCode": "200000",
        **overrides,
    }


def codes(errors: list[dict[str, Any]] | None) -> list[str]:
    return sorted(e["code"] for e in errors or [])


def money(value: dict[str, Any] | None) -> Decimal:
    assert value is not None
    return Decimal(value["amount"])


# ---------------------------------------------------------------------------------------
# Running coroutines from sync tests (the live server owns its own loop)
# ---------------------------------------------------------------------------------------


def run(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a loop of its own, also when called from inside a
    running loop (then on a worker thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


# ---------------------------------------------------------------------------------------
# The shop: its databases, its server, and what it holds
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SkuFacts:
    """One SKU as the checkout sees it, read from the four sources."""

    id: int
    product_id: int
    product_name: str
    kind: str
    fulfillment: str
    is_published: bool
    is_active: bool
    purchase_limit: int | None
    presale_starts_at: datetime | None
    presale_ends_at: datetime | None
    supplier_id: int | None
    category_id: int | None
    sale: Decimal | None
    available: int  # warehouse on_hand - reserved, summed
    supplier_available: int  # the drop-ship feed

    @property
    def gid(self) -> str:
        return sku_gid(self.id)

    @property
    def is_presale(self) -> bool:
        return self.presale_starts_at is not None


@dataclass
class Shop:
    """A seeded shop of one test module, its live gateway, and SQL on its databases."""

    backend: str
    urls: dict[str, str]
    live: LiveGateway
    _customers: dict[str, int] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.live.settings

    # -- SQL -----------------------------------------------------------------------------

    def sql(self, source: str, statement: str, params: dict[str, Any] | None = None) -> list[Any]:
        """Run one statement on a source's database (committed); its rows, if any."""

        async def go() -> list[Any]:
            db = Database(self.urls[source], pool_size=1)
            try:
                async with db.begin() as conn:
                    result = await conn.execute(text(statement), params or {})
                    return list(result.all()) if result.returns_rows else []
            finally:
                await db.dispose()

        return run(go)

    def scalar(self, source: str, statement: str, params: dict[str, Any] | None = None) -> Any:
        rows = self.sql(source, statement, params)
        return rows[0][0] if rows else None

    # -- tokens --------------------------------------------------------------------------

    def customer_id(self, email: str) -> int:
        if not self._customers:  # one query for all of them: races need forty tokens
            self._customers.update(
                (e, int(i)) for e, i in self.sql("orders", "SELECT email, id FROM customers")
            )
        assert email in self._customers, f"no customer {email}"
        return self._customers[email]

    def customer_token(self, number: int) -> str:
        cid = self.customer_id(f"customer{number}@example.com")
        return issue_token(self.settings, kind=ViewerKind.CUSTOMER, subject=str(cid))

    def staff_token(self, *permissions: str) -> str:
        return issue_token(
            self.settings, kind=ViewerKind.STAFF, subject="1", permissions=list(permissions)
        )

    # -- what the shop holds -------------------------------------------------------------

    def skus(self) -> list[SkuFacts]:
        catalog = self.sql(
            "catalog",
            """SELECT s.id, s.product_id, p.name, p.kind, p.fulfillment, p.is_published,
                      s.is_active, s.purchase_limit, p.presale_starts_at, p.presale_ends_at,
                      p.supplier_id, p.category_id
               FROM skus s JOIN products p ON p.id = s.product_id ORDER BY s.id""",
        )
        prices = dict(self.sql("pricing", "SELECT sku_id, sale_amount FROM prices"))
        stock = dict(
            self.sql(
                "inventory",
                "SELECT sku_id, SUM(on_hand - reserved) FROM stock_items GROUP BY sku_id",
            )
        )
        feed = dict(
            self.sql(
                "inventory", "SELECT sku_id, SUM(available) FROM supplier_stock GROUP BY sku_id"
            )
        )
        return [
            SkuFacts(
                id=r[0],
                product_id=r[1],
                product_name=r[2],
                kind=r[3],
                fulfillment=r[4],
                is_published=bool(r[5]),
                is_active=bool(r[6]),
                purchase_limit=r[7],
                presale_starts_at=_utc(r[8]),
                presale_ends_at=_utc(r[9]),
                supplier_id=r[10],
                category_id=r[11],
                sale=Decimal(str(prices[r[0]])) if r[0] in prices else None,
                available=int(stock.get(r[0]) or 0),
                supplier_available=int(feed.get(r[0]) or 0),
            )
            for r in catalog
        ]

    def plain_skus(
        self, *, min_available: int = 20, exclude: set[int] | None = None
    ) -> list[SkuFacts]:
        """Sellable warehouse goods with no special rule: published, active, priced, no
        presale, no purchase limit, well stocked, not a bundle part. Cheapest first is not
        promised; id order is."""
        parts = {row[0] for row in self.sql("catalog", "SELECT sku_id FROM bundle_items")}
        return [
            s
            for s in self.skus()
            if s.kind == "PHYSICAL"
            and s.fulfillment == "WAREHOUSE"
            and s.is_published
            and s.is_active
            and s.sale is not None
            and not s.is_presale
            and s.purchase_limit is None
            and s.available >= min_available
            and s.id not in parts
            and s.id not in (exclude or set())
        ]

    def bundle_parts(self) -> dict[int, list[tuple[int, int]]]:
        """{bundle product id: [(part SKU id, quantity)]}."""
        parts: dict[int, list[tuple[int, int]]] = {}
        for product_id, sku_id, quantity in self.sql(
            "catalog", "SELECT bundle_product_id, sku_id, quantity FROM bundle_items ORDER BY 1, 2"
        ):
            parts.setdefault(int(product_id), []).append((int(sku_id), int(quantity)))
        return parts

    def service_areas(self) -> dict[int, set[str]]:
        """{service product id: regions it serves}."""
        areas: dict[int, set[str]] = {}
        for product_id, region in self.sql(
            "catalog", "SELECT product_id, region_code FROM service_areas"
        ):
            areas.setdefault(int(product_id), set()).add(region)
        return areas

    def deliverable_regions(self) -> list[str]:
        return [
            code
            for (code,) in self.sql(
                "orders", "SELECT code FROM regions WHERE is_deliverable ORDER BY code"
            )
        ]

    def coupon(self, code: str) -> dict[str, Any]:
        rows = self.sql(
            "pricing",
            "SELECT id, usage_limit, per_customer_limit, scope FROM promotions "
            "WHERE coupon_code = :c",
            {"c": code},
        )
        assert rows, f"no coupon {code}"
        pid, limit, per_customer, scope = rows[0]
        return {"id": pid, "usage_limit": limit, "per_customer_limit": per_customer, "scope": scope}

    def set_available(self, sku_id: int, *per_warehouse: int) -> None:
        """Make exactly ``per_warehouse[i]`` units free in the SKU's i-th warehouse row (by
        warehouse id) and none in the others."""
        rows = self.sql(
            "inventory",
            "SELECT warehouse_id FROM stock_items WHERE sku_id = :s ORDER BY warehouse_id",
            {"s": sku_id},
        )
        assert len(rows) >= len(per_warehouse), f"SKU {sku_id} has {len(rows)} warehouse rows"
        for index, (warehouse_id,) in enumerate(rows):
            free = per_warehouse[index] if index < len(per_warehouse) else 0
            self.sql(
                "inventory",
                "UPDATE stock_items SET on_hand = reserved + :free "
                "WHERE sku_id = :s AND warehouse_id = :w",
                {"free": free, "s": sku_id, "w": warehouse_id},
            )

    def stock_rows(self, sku_id: int) -> list[tuple[int, int, int]]:
        """(warehouse id, on_hand, reserved) of a SKU, by warehouse id."""
        return [
            (int(w), int(o), int(r))
            for w, o, r in self.sql(
                "inventory",
                "SELECT warehouse_id, on_hand, reserved FROM stock_items WHERE sku_id = :s "
                "ORDER BY warehouse_id",
                {"s": sku_id},
            )
        ]

    def available(self, sku_id: int) -> int:
        return sum(on_hand - reserved for _, on_hand, reserved in self.stock_rows(sku_id))

    # -- the storefront ------------------------------------------------------------------

    def query(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        result = self.live.query(query, variables, token=token)
        assert "errors" not in result, result["errors"]
        return result["data"]  # type: ignore[no-any-return]

    def create_cart(
        self,
        lines: list[tuple[int | str, int]] | None = None,
        *,
        token: str | None = None,
        coupons: list[str] | None = None,
        ship_to: str | None = "CN-SH",
    ) -> dict[str, Any]:
        """cartCreate as a storefront sends it; the payload (cart and userErrors)."""
        payload: dict[str, Any] = {
            "lines": [
                {"skuId": sku if isinstance(sku, str) else sku_gid(sku), "quantity": qty}
                for sku, qty in lines or []
            ]
        }
        if coupons is not None:
            payload["couponCodes"] = coupons
        if ship_to is not None:
            payload["shippingAddress"] = address(ship_to)
        return self.query(CART_CREATE, {"input": payload}, token=token)["cartCreate"]  # type: ignore[no-any-return]

    def checkout(
        self, cart: dict[str, Any], key: str, *, token: str | None, total: str | None = None
    ) -> dict[str, Any]:
        """checkoutComplete with the total the buyer was shown."""
        variables = {
            "cartId": cart["id"],
            "key": key,
            "total": total if total is not None else cart["cost"]["total"]["amount"],
        }
        return self.query(CHECKOUT, variables, token=token)["checkoutComplete"]  # type: ignore[no-any-return]

    def buy(
        self, lines: list[tuple[int, int]], *, token: str, key: str, **kw: Any
    ) -> dict[str, Any]:
        """A whole checkout that must succeed: the order."""
        created = self.create_cart(lines, token=token, **kw)
        assert created["userErrors"] == [], created["userErrors"]
        placed = self.checkout(created["cart"], key, token=token)
        assert placed["userErrors"] == [], placed["userErrors"]
        assert placed["order"] is not None
        return placed["order"]  # type: ignore[no-any-return]

    def staff_stock(self, sku_id: int) -> dict[str, Any]:
        data = self.query(
            STOCK_QUERY, {"ids": [sku_gid(sku_id)]}, token=self.staff_token("MANAGE_STOCK")
        )
        return data["nodes"][0]["stock"]  # type: ignore[no-any-return]


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def open_shop(backend: str, directory: Path, **overrides: Any) -> Iterator[Shop]:
    """A freshly seeded shop on ``backend`` and a live gateway over it, for one module.

    The in-process sweeper is off (tests that race it call ``sweep`` themselves), so
    nothing releases stock behind a test's back."""
    overrides.setdefault("sweep_interval_seconds", 0)
    if backend == "sqlite":
        urls = sqlite_urls(directory)
        run(lambda: _migrate_and_seed(urls, products=PRODUCTS))
        yield from _serve(backend, urls, overrides)
        return
    require_postgres()
    # The four sources share one database here: small pools keep the server within the
    # connections a shared PostgreSQL allows (4 engines x (2 + 2 overflow)).
    overrides.setdefault("db_pool_size", 2)
    url = run(create_temp_database)
    try:
        urls = dict.fromkeys(SOURCE_NAMES, url)
        run(lambda: _migrate_and_seed(urls, products=PRODUCTS))
        yield from _serve(backend, urls, overrides)
    finally:
        run(lambda: drop_database(url))


def _serve(backend: str, urls: dict[str, str], overrides: dict[str, Any]) -> Iterator[Shop]:
    for live in serve(settings_for(urls, **overrides)):
        yield Shop(backend, urls, live)


# ---------------------------------------------------------------------------------------
# Many buyers at once
# ---------------------------------------------------------------------------------------


async def post_all(
    base_url: str, requests: list[tuple[str, dict[str, Any], str | None]]
) -> list[dict[str, Any]]:
    """Send every (query, variables, token) at once, each on its own connection; the
    JSON bodies in request order."""
    limits = httpx.Limits(max_connections=len(requests) + 1)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:

        async def one(query: str, variables: dict[str, Any], token: str | None) -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            assert response.status_code == 200, response.text
            return response.json()  # type: ignore[no-any-return]

        return list(await asyncio.gather(*(one(q, v, t) for q, v, t in requests)))


class Goods:
    """Plain SKUs handed out one per use and one per product (a test that unpublishes a
    product must not take another test's SKU with it), so no test sees another's changes."""

    def __init__(self, skus: list[SkuFacts], *, set_aside: int = 0) -> None:
        seen: set[int] = set()
        self._common: list[SkuFacts] = []
        self.taken: list[SkuFacts] = []
        self._skus = []
        for sku in skus:
            if sku.product_id not in seen:
                seen.add(sku.product_id)
                self._skus.append(sku)
        # The first few, chosen the same whichever tests run: for counts that depend on
        # which SKUs are bought (promotions shown, warehouses touched).
        self.set_aside = self._skus[:set_aside]
        del self._skus[:set_aside]

    def take(
        self, *, cheaper_than: Decimal | None = None, dearer_than: Decimal | None = None
    ) -> SkuFacts:
        for index, sku in enumerate(self._skus):
            assert sku.sale is not None
            if cheaper_than is not None and sku.sale >= cheaper_than:
                continue
            if dearer_than is not None and sku.sale <= dearer_than:
                continue
            self.taken.append(self._skus.pop(index))
            return self.taken[-1]
        raise AssertionError("the demo shop ran out of plain SKUs for these tests")

    def common(
        self, *, cheaper_than: Decimal | None = None, dearer_than: Decimal | None = None
    ) -> SkuFacts:
        """A SKU that tests only buy, never change: shared between them."""
        for sku in self._common:
            assert sku.sale is not None
            if (cheaper_than is None or sku.sale < cheaper_than) and (
                dearer_than is None or sku.sale > dearer_than
            ):
                return sku
        sku = self.take(cheaper_than=cheaper_than, dearer_than=dearer_than)
        self._common.append(sku)
        return sku
