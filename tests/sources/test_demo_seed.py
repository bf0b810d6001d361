"""The demo shop generator: deterministic, complete enough to demo every storefront and
checkout case, and consistent with itself (the listing projection matches prices and stock).

Schemas here come from the models' ``create_all``; tests/sources/test_migrations.py covers
the migrations themselves.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import DeclarativeBase

from sources.catalog.models import Base as CatalogBase
from sources.common.db import Database
from sources.demo.seed import (
    DEMO_COUPON_CODES,
    DEMO_STAFF,
    MIN_PRODUCTS,
    SeedSummary,
    build_demo_shop,
    is_seeded,
    seed_demo_shop,
)
from sources.inventory.models import Base as InventoryBase
from sources.orders.models import Base as OrdersBase
from sources.orders.models import Customer
from sources.pricing.models import Base as PricingBase
from tests.pg import temp_database

NOW = datetime(2025, 6, 1, 8, 30, tzinfo=UTC)
BASES: dict[str, type[DeclarativeBase]] = {
    "catalog": CatalogBase,
    "inventory": InventoryBase,
    "pricing": PricingBase,
    "orders": OrdersBase,
}
PERMISSIONS = {
    "MANAGE_PRODUCTS",
    "MANAGE_PRICES",
    "MANAGE_STOCK",
    "MANAGE_ORDERS",
    "MANAGE_AFTER_SALES",
    "VIEW_FINANCE",
    "MANAGE_CUSTOMERS",
}

Rows = dict[str, list[dict[str, Any]]]
MakeDatabases = Callable[[str], Awaitable[dict[str, Database]]]


async def create_databases(directory: Path) -> dict[str, Database]:
    """Fresh, empty SQLite databases for the four sources."""
    dbs = {source: Database(f"sqlite+aiosqlite:///{directory / source}.db") for source in BASES}
    for source, base in BASES.items():
        async with dbs[source].begin() as conn:
            await conn.run_sync(base.metadata.create_all)
    return dbs


@pytest.fixture
async def make_databases(tmp_path: Path) -> AsyncIterator[MakeDatabases]:
    """Fresh databases per name, disposed after the test."""
    opened: list[Database] = []

    async def make(name: str) -> dict[str, Database]:
        dbs = await create_databases(tmp_path / name)
        opened.extend(dbs.values())
        return dbs

    yield make
    for db in opened:
        await db.dispose()


async def read_all(dbs: dict[str, Database]) -> Rows:
    """Every row of every table, in primary-key order, as the databases hold them."""
    rows: Rows = {}
    for source, base in BASES.items():
        async with dbs[source].connect() as conn:
            for table in base.metadata.sorted_tables:
                result = await conn.execute(select(table).order_by(*table.primary_key.columns))
                rows[table.name] = [dict(row._mapping) for row in result]
    return rows


def _comparable(rows: Rows) -> Rows:
    """The rows with the triggers' bookkeeping as what it means: the product counts
    folded per listing key (how many rows a key is spread over depends on how many
    statements wrote the products), the change version left out (it only has to grow)."""
    counts: Counter[tuple[Any, ...]] = Counter()
    for row in rows["product_counts"]:
        key = (row["category_id"], row["kind"], row["in_stock"], row["is_published"])
        counts[key] += row["product_count"]
    folded = [{"key": key, "count": n} for key, n in sorted(counts.items()) if n]
    return {
        **{name: table for name, table in rows.items() if name != "catalog_changes"},
        "product_counts": folded,
    }


@dataclass
class SeededShop:
    summary: SeedSummary
    rows: Rows

    def by_id(self, table: str, key: str = "id") -> dict[Any, dict[str, Any]]:
        return {row[key]: row for row in self.rows[table]}

    def skus_of(self) -> dict[int, list[dict[str, Any]]]:
        skus: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for sku in self.rows["skus"]:
            skus[sku["product_id"]].append(sku)
        return skus

    def warehouse_available(self) -> Counter[int]:
        available: Counter[int] = Counter()
        for item in self.rows["stock_items"]:
            available[item["sku_id"]] += item["on_hand"] - item["reserved"]
        return available


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> SeededShop:
    """The default shop, seeded once for the read-only tests of this module."""

    async def seed() -> SeededShop:
        dbs = await create_databases(tmp_path_factory.mktemp("demo"))
        try:
            summary = await seed_demo_shop(dbs, now=NOW)
            return SeededShop(summary, await read_all(dbs))
        finally:
            for db in dbs.values():
                await db.dispose()

    return asyncio.run(seed())


async def test_seeding_twice_gives_identical_rows(make_databases: MakeDatabases) -> None:
    first, second = await make_databases("first"), await make_databases("second")
    await seed_demo_shop(first, now=NOW)
    await seed_demo_shop(second, now=NOW)

    rows = await read_all(first)
    assert rows == await read_all(second)
    assert all(rows[table] for table in ("products", "skus", "prices", "stock_items"))


async def test_is_seeded_is_false_until_the_shop_is_written(
    make_databases: MakeDatabases,
) -> None:
    dbs = await make_databases("shop")
    assert not await is_seeded(dbs)
    await seed_demo_shop(dbs, products=MIN_PRODUCTS, now=NOW)
    assert await is_seeded(dbs)


async def test_summary_counts_the_rows_written(demo: SeededShop) -> None:
    assert demo.summary == SeedSummary(
        products=len(demo.rows["products"]),
        skus=len(demo.rows["skus"]),
        categories=len(demo.rows["categories"]),
        customers=len(demo.rows["customers"]),
        staff=len(demo.rows["staff_members"]),
        promotions=len(demo.rows["promotions"]),
        warehouses=len(demo.rows["warehouses"]),
    )
    assert demo.summary.products == 240
    assert "240 products" in str(demo.summary)


async def test_categories_form_a_tree_with_products_in_its_leaves(demo: SeededShop) -> None:
    categories = demo.by_id("categories")
    assert len(categories) >= 8
    for category in categories.values():
        parent = categories.get(category["parent_id"])
        prefix = parent["path"] if parent else ""
        assert category["path"] == f"{prefix}{category['id']}/"
    roots = [c for c in categories.values() if c["parent_id"] is None]
    assert len(roots) >= 4
    assert max(c["path"].count("/") for c in categories.values()) >= 3  # three levels

    parents = {c["parent_id"] for c in categories.values()}
    leaves = set(categories) - parents
    used = Counter(p["category_id"] for p in demo.rows["products"])
    assert set(used) == leaves  # products only in leaves, and no leaf left empty


async def test_shop_sells_every_kind_of_product(demo: SeededShop) -> None:
    products = demo.rows["products"]
    assert len(products) >= 200
    kinds = Counter(p["kind"] for p in products)
    assert set(kinds) == {"PHYSICAL", "SERVICE", "BUNDLE"}
    assert kinds["PHYSICAL"] > len(products) * 0.8
    assert {p["fulfillment"] for p in products} == {"WAREHOUSE", "DROPSHIP"}
    assert len(demo.rows["brands"]) >= 5
    assert all(p["brand_id"] is not None for p in products)

    skus = demo.skus_of()
    assert all(1 <= len(skus[p["id"]]) <= 4 for p in products if p["kind"] == "PHYSICAL")
    assert len(demo.rows["skus"]) > len(products)


async def test_services_list_their_regions_and_never_run_out(demo: SeededShop) -> None:
    services = [p for p in demo.rows["products"] if p["kind"] == "SERVICE"]
    regions = demo.by_id("regions", key="code")
    areas: dict[int, set[str]] = defaultdict(set)
    for area in demo.rows["service_areas"]:
        areas[area["product_id"]].add(area["region_code"])
    assert set(areas) == {s["id"] for s in services}
    for codes in areas.values():
        assert 3 <= len(codes) < len(regions)
        assert all(regions[code]["is_deliverable"] for code in codes)

    available = demo.warehouse_available()
    for service in services:
        assert all(available[sku["id"]] >= 10_000 for sku in demo.skus_of()[service["id"]])


async def test_a_bundle_is_one_physical_and_one_service_sku(demo: SeededShop) -> None:
    products, skus = demo.by_id("products"), demo.by_id("skus")
    items: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in demo.rows["bundle_items"]:
        items[item["bundle_product_id"]].append(item)
    bundles = [p for p in products.values() if p["kind"] == "BUNDLE"]
    assert bundles and set(items) == {b["id"] for b in bundles}
    for bundle in bundles:
        parts = sorted(
            products[skus[i["sku_id"]]["product_id"]]["kind"] for i in items[bundle["id"]]
        )
        assert parts == ["PHYSICAL", "SERVICE"]
        assert len(demo.skus_of()[bundle["id"]]) == 1  # sold as its own SKU


async def test_presales_are_open_upcoming_and_ended_relative_to_now(demo: SeededShop) -> None:
    presales = [p for p in demo.rows["products"] if p["presale_deposit"] is not None]
    states = Counter(
        "upcoming"
        if p["presale_starts_at"] > NOW
        else "ended"
        if p["presale_ends_at"] < NOW
        else "open"
        for p in presales
    )
    assert states["open"] >= 3 and states["upcoming"] >= 1 and states["ended"] >= 1
    for p in presales:
        assert p["created_at"] < p["presale_starts_at"] < p["presale_ends_at"]
        assert p["presale_ends_at"] < p["presale_ships_from"]
        assert Decimal(0) < p["presale_deposit"] < p["price_min"]
        assert p["fulfillment"] == "WAREHOUSE"
    presale_ids = {p["id"] for p in presales}
    limits = {s["purchase_limit"] for s in demo.rows["skus"] if s["product_id"] in presale_ids}
    assert None not in limits


async def test_drop_ship_products_have_only_supplier_stock(demo: SeededShop) -> None:
    dropship = [p for p in demo.rows["products"] if p["fulfillment"] == "DROPSHIP"]
    assert dropship and all(p["supplier_id"] is not None for p in dropship)
    assert all(
        p["supplier_id"] is None for p in demo.rows["products"] if p["fulfillment"] != "DROPSHIP"
    )
    dropship_skus = {s["id"] for p in dropship for s in demo.skus_of()[p["id"]]}
    fed = {row["sku_id"] for row in demo.rows["supplier_stock"]}
    assert fed == dropship_skus
    assert not dropship_skus & {row["sku_id"] for row in demo.rows["stock_items"]}
    assert any(row["available"] == 0 for row in demo.rows["supplier_stock"])


async def test_shop_has_unpublished_inactive_sold_out_and_limited_items(
    demo: SeededShop,
) -> None:
    products, skus = demo.rows["products"], demo.rows["skus"]
    unpublished = [p for p in products if not p["is_published"]]
    assert 0.03 <= len(unpublished) / len(products) <= 0.08

    assert any(not s["is_active"] for s in skus)
    by_product = demo.skus_of()
    assert any(all(not s["is_active"] for s in by_product[p["id"]]) for p in products)
    assert any(
        any(s["is_active"] for s in group) and any(not s["is_active"] for s in group)
        for group in by_product.values()
    )

    stocked = demo.warehouse_available()
    warehoused = {row["sku_id"] for row in demo.rows["stock_items"]}
    assert any(stocked[sku_id] == 0 for sku_id in warehoused)
    assert any(0 < stocked[sku_id] <= 3 for sku_id in warehoused)  # low stock

    limited = [s for s in skus if s["purchase_limit"] is not None]
    assert 0.05 <= len(limited) / len(skus) <= 0.2
    assert all(s["purchase_limit"] > 0 for s in limited)


async def test_stock_spreads_over_warehouses(demo: SeededShop) -> None:
    warehouses = demo.by_id("warehouses")
    assert {w["code"] for w in warehouses.values()} >= {"SH-01", "BJ-01"}
    places: dict[int, set[int]] = defaultdict(set)
    for row in demo.rows["stock_items"]:
        assert 0 <= row["reserved"] <= row["on_hand"]
        places[row["sku_id"]].add(row["warehouse_id"])
    counts = Counter(len(p) for p in places.values())
    assert counts[1] and counts[len(warehouses)]  # some in one warehouse, some everywhere


async def test_every_sku_has_a_realistic_cny_price(demo: SeededShop) -> None:
    prices = demo.rows["prices"]
    assert sorted(p["sku_id"] for p in prices) == sorted(demo.by_id("skus"))
    for price in prices:
        assert price["currency"] == "CNY"
        amounts = (price["list_amount"], price["sale_amount"], price["cost_amount"])
        assert all(a.as_tuple().exponent == -2 for a in amounts)
        assert Decimal("9.90") <= price["sale_amount"] <= price["list_amount"]
        assert price["list_amount"] <= Decimal("19999.00")
        assert Decimal(0) < price["cost_amount"] < price["sale_amount"]
    assert any(p["sale_amount"] < p["list_amount"] for p in prices)  # some on sale


async def test_promotions_cover_every_kind_scope_and_window(demo: SeededShop) -> None:
    promotions = demo.rows["promotions"]
    assert {p["kind"] for p in promotions} == {
        "PERCENTAGE",
        "FIXED_AMOUNT",
        "THRESHOLD",
        "BUY_X_GET_Y",
    }
    assert {p["scope"] for p in promotions} == {"ORDER", "PRODUCTS", "CATEGORIES"}
    assert all(p["currency"] == "CNY" for p in promotions)
    codes = {p["coupon_code"]: p for p in promotions if p["coupon_code"]}
    assert set(codes) == set(DEMO_COUPON_CODES) >= {"WELCOME10", "SAVE50", "VIP20"}
    assert all(c["usage_limit"] and c["per_customer_limit"] for c in codes.values())
    assert [p["coupon_code"] for p in promotions if p["is_exclusive"]] == ["VIP20"]

    def window(p: dict[str, Any]) -> str:
        if p["starts_at"] and p["starts_at"] > NOW:
            return "future"
        return "expired" if p["ends_at"] and p["ends_at"] < NOW else "live"

    assert Counter(window(p) for p in promotions).keys() == {"future", "expired", "live"}
    assert any(not p["is_active"] for p in promotions)

    for p in promotions:
        kind = p["kind"]
        if kind == "PERCENTAGE":
            assert Decimal(0) < p["percent"] < 100
        elif kind == "FIXED_AMOUNT":
            assert p["amount"] > 0
        elif kind == "THRESHOLD":
            assert p["threshold"] > 0 and (p["amount"] or p["percent"])
        else:
            assert p["buy_quantity"] == 2 and p["get_quantity"] == 1

    products, categories = demo.by_id("products"), demo.by_id("categories")
    targets: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for target in demo.rows["promotion_targets"]:
        targets[target["promotion_id"]].append(target)
    for p in promotions:
        if p["scope"] == "ORDER":
            assert not targets[p["id"]]
        elif p["scope"] == "PRODUCTS":
            assert targets[p["id"]]
            assert all(products[t["product_id"]]["is_published"] for t in targets[p["id"]])
        else:
            assert targets[p["id"]]
            assert all(t["category_id"] in categories for t in targets[p["id"]])


async def test_customers_have_a_deliverable_address_and_one_is_blocked(
    demo: SeededShop,
) -> None:
    customers = demo.rows["customers"]
    assert [c["email"] for c in customers] == [f"customer{n}@example.com" for n in range(1, 51)]
    assert [c["email"] for c in customers if c["is_blocked"]] == ["customer50@example.com"]
    assert all(c["name"] for c in customers)

    regions = demo.by_id("regions", key="code")
    addresses = demo.rows["addresses"]
    assert sorted(a["customer_id"] for a in addresses) == [c["id"] for c in customers]
    assert all(regions[a["region"]]["is_deliverable"] and a["is_default"] for a in addresses)
    assert addresses[0]["region"] == "CN-SH"


async def test_regions_cover_china_with_a_few_remote_ones_not_served(demo: SeededShop) -> None:
    regions = demo.by_id("regions", key="code")
    assert 15 <= len(regions) <= 31
    assert {"CN-SH", "CN-BJ", "CN-GD", "CN-ZJ", "CN-JS"} <= set(regions)
    assert not regions["CN-XZ"]["is_deliverable"] and regions["CN-XZ"]["shipping_rate"] is None
    served = [r for r in regions.values() if r["is_deliverable"]]
    assert len(served) > len(regions) * 0.8
    assert all(Decimal("10.00") <= r["shipping_rate"] <= Decimal("25.00") for r in served)


async def test_staff_accounts_carry_their_permissions(demo: SeededShop) -> None:
    staff = {s["email"]: set(s["permissions"].split(",")) for s in demo.rows["staff_members"]}
    assert staff == {member.email: set(member.permissions) for member in DEMO_STAFF}
    assert staff["admin@example.com"] == PERMISSIONS
    assert staff["catalog@example.com"] == {"MANAGE_PRODUCTS", "MANAGE_PRICES"}
    assert staff["stock@example.com"] == {"MANAGE_STOCK"}
    assert staff["support@example.com"] == {
        "MANAGE_ORDERS",
        "MANAGE_AFTER_SALES",
        "MANAGE_CUSTOMERS",
    }
    assert staff["finance@example.com"] == {"VIEW_FINANCE"}


async def test_listing_projection_matches_prices_and_stock(demo: SeededShop) -> None:
    prices = demo.by_id("prices", key="sku_id")
    warehouse = demo.warehouse_available()
    supplier: Counter[int] = Counter()
    for row in demo.rows["supplier_stock"]:
        supplier[row["sku_id"]] += row["available"]

    skus = demo.skus_of()
    for product in demo.rows["products"]:
        active = [s for s in skus[product["id"]] if s["is_active"]]
        sale = [prices[s["id"]]["sale_amount"] for s in active]
        assert product["currency"] == "CNY"
        assert product["price_min"] == (min(sale) if sale else None)
        assert product["price_max"] == (max(sale) if sale else None)
        if product["kind"] == "SERVICE":
            assert product["in_stock"] == bool(active)
        in_stock = any(warehouse[s["id"]] + supplier[s["id"]] > 0 for s in active)
        assert product["in_stock"] == in_stock, product["name"]
    flags = Counter(p["in_stock"] for p in demo.rows["products"])
    assert flags[True] and flags[False]


async def test_products_have_readable_unique_slugs_and_a_year_of_history(
    demo: SeededShop,
) -> None:
    products = demo.rows["products"]
    slugs = [p["slug"] for p in products]
    assert len(set(slugs)) == len(slugs)
    for p in products:
        assert p["slug"].endswith(f"-{p['id']}")
        assert p["slug"].replace("-", "").isalnum() and p["slug"] == p["slug"].lower()
        assert p["name"] and p["description"].endswith(".")
    created = [p["created_at"] for p in products]
    assert len(set(created)) == len(created)
    assert all(NOW - timedelta(days=366) < c < NOW for c in created)
    assert max(created) - min(created) > timedelta(days=300)


async def test_windows_follow_the_clock_when_now_is_not_given(
    make_databases: MakeDatabases,
) -> None:
    dbs = await make_databases("today")
    await seed_demo_shop(dbs, products=MIN_PRODUCTS)
    today = datetime.now(UTC)
    rows = await read_all(dbs)
    assert any(
        p["presale_starts_at"] <= today < p["presale_ends_at"]
        for p in rows["products"]
        if p["presale_deposit"] is not None
    )
    welcome = next(p for p in rows["promotions"] if p["coupon_code"] == "WELCOME10")
    assert welcome["starts_at"] <= today


def test_a_shop_too_small_for_every_case_or_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        build_demo_shop(products=MIN_PRODUCTS - 1, now=NOW)
    with pytest.raises(ValueError, match="timezone"):
        build_demo_shop(products=MIN_PRODUCTS, now=datetime(2025, 6, 1))


@pytest.mark.parametrize("size", [MIN_PRODUCTS, 1_000])
def test_every_special_case_exists_at_any_size(size: int) -> None:
    shop = build_demo_shop(products=size, now=NOW)
    rows = {
        table.name: table_rows for tables in shop.tables.values() for table, table_rows in tables
    }
    products = rows["products"]
    assert len(products) == size
    assert {p["kind"] for p in products} == {"PHYSICAL", "SERVICE", "BUNDLE"}
    assert any(p["fulfillment"] == "DROPSHIP" for p in products)
    assert any(not p["is_published"] for p in products)
    assert any(p["price_min"] is None for p in products)  # every SKU discontinued
    assert any(p["presale_deposit"] and p["presale_starts_at"] > NOW for p in products)
    assert any(p["presale_deposit"] and p["presale_ends_at"] < NOW for p in products)
    assert rows["bundle_items"] and rows["service_areas"] and rows["supplier_stock"]


async def test_postgresql_gets_the_same_shop_and_keeps_counting_ids(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        # One database holds all four sources' tables here (their names do not clash);
        # creating four would triple this test's time for no extra coverage.
        url = await stack.enter_async_context(temp_database())
        postgres = {source: Database(url) for source in BASES}
        sqlite = await create_databases(tmp_path)
        for db in (*postgres.values(), *sqlite.values()):
            stack.push_async_callback(db.dispose)
        for source, base in BASES.items():
            async with postgres[source].begin() as conn:
                await conn.run_sync(base.metadata.create_all)

        await seed_demo_shop(postgres, products=MIN_PRODUCTS, now=NOW)
        await seed_demo_shop(sqlite, products=MIN_PRODUCTS, now=NOW)
        assert _comparable(await read_all(postgres)) == _comparable(await read_all(sqlite))

        async with postgres["orders"].begin() as conn:
            new_id = await conn.scalar(
                insert(Customer)
                .values(email="new@example.com", name="New Buyer", created_at=NOW)
                .returning(Customer.id)
            )
        assert new_id == 51
