"""The gateway behind PgBouncer in transaction mode, set up as docs/deployment.md says:
each database URL ends in ``?prepared_statement_cache_size=0``. A private PgBouncer (its
own port, at most two server connections per database, so every request shares them)
sits in front of the test PostgreSQL; a listing, carts and concurrent checkouts go
through it, and every order a buyer is told about is in the database. Without the
setting, asyncpg's named prepared statements collide on the shared server connections:
the reason the setting exists: a read whose statement was prepared on one server
connection and meets another fails.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from gateway.settings import SOURCE_NAMES
from sources.common.db import Database
from tests.conftest import _migrate_and_seed, require_postgres, serve, settings_for
from tests.gateway.checkout_helpers import CART_CREATE, CHECKOUT, Shop, address, run
from tests.pg import ADMIN_DATABASE, USER, create_temp_database, drop_database
from tests.pgbouncer import PrivatePgBouncer, private_pgbouncer

PRODUCTS = 60
BUYERS = 4
LISTING = """{ products(first: 20, sort: NEWEST) { totalCount edges { node {
  slug name priceRange { min { amount } } inStock
  skus { code price { sale { amount } } stock { available } } } } }
  categories { slug } }"""
SQUARE = text("SELECT CAST(:n AS integer) * CAST(:n AS integer)")


@pytest.fixture
def bouncer() -> Any:
    require_postgres()
    with private_pgbouncer(server_connections=2) as pooler:
        yield pooler


def _checkout(url: str, token: str, sku_gid: str, key: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=60, headers=headers) as client:
        cart_input = {"lines": [{"skuId": sku_gid, "quantity": 1}], "shippingAddress": address()}
        created = client.post(
            "/graphql", json={"query": CART_CREATE, "variables": {"input": cart_input}}
        ).json()
        payload = created["data"]["cartCreate"]
        assert payload["userErrors"] == [], created
        cart = payload["cart"]
        variables = {"cartId": cart["id"], "key": key, "total": cart["cost"]["total"]["amount"]}
        placed = client.post("/graphql", json={"query": CHECKOUT, "variables": variables})
        assert placed.status_code == 200, placed.text
        return placed.json()  # type: ignore[no-any-return]


def test_a_listing_carts_and_checkouts_work_through_pgbouncer_in_transaction_mode(
    bouncer: PrivatePgBouncer,
) -> None:
    url = run(create_temp_database)
    try:
        direct = dict.fromkeys(SOURCE_NAMES, url)
        run(lambda: _migrate_and_seed(direct, products=PRODUCTS))
        database = make_url(url).database or ""
        pooled = bouncer.url_for(database, prepared_statement_cache_size="0")
        settings = settings_for(
            dict.fromkeys(SOURCE_NAMES, pooled),
            cache={"enabled": False},  # every read reaches PostgreSQL through the pooler
            db_pool_size=3,
            sweep_interval_seconds=0,
            rate_limit={"enabled": False},
        )
        for live in serve(settings):
            shop = Shop("postgresql", direct, live)
            with ThreadPoolExecutor(max_workers=4) as pool:
                listings = list(pool.map(live.query, [LISTING] * 4))
            for listing in listings:
                assert "errors" not in listing, listing
                assert len(listing["data"]["products"]["edges"]) == 20
                assert listing["data"]["categories"]
            assert all(listing == listings[0] for listing in listings)

            skus = shop.plain_skus()[:BUYERS]
            stock_before = {s.id: s.available for s in skus}
            tokens = [shop.customer_token(n + 1) for n in range(BUYERS)]
            with ThreadPoolExecutor(max_workers=BUYERS) as pool:
                keys = [f"pgb-{n}" for n in range(BUYERS)]
                gids = [s.gid for s in skus]
                placed = list(pool.map(_checkout, [live.url] * BUYERS, tokens, gids, keys))
            numbers = []
            for body in placed:
                assert "errors" not in body, body
                result = body["data"]["checkoutComplete"]
                assert result["userErrors"] == [], result
                numbers.append(result["order"]["number"])
            assert len(set(numbers)) == BUYERS
            found = shop.scalar(
                "orders",
                "SELECT COUNT(*) FROM orders WHERE number = ANY(:numbers)",
                {"numbers": numbers},
            )
            assert found == BUYERS
            stock_after = {s.id: s.available for s in shop.skus() if s.id in stock_before}
            assert stock_after == {sku: n - 1 for sku, n in stock_before.items()}
        # It was the pooler that carried them, not a direct connection.
        assert bouncer.logins(database) > 0
    finally:
        run(lambda: drop_database(url))


@pytest.mark.parametrize("setting", [True, False], ids=["with-setting", "without"])
def test_a_read_that_meets_another_server_connection_needs_the_setting(
    bouncer: PrivatePgBouncer, setting: bool
) -> None:
    """In transaction mode each statement outside a transaction may run on a different
    server connection. Made so here, step by step (two server connections; two other
    clients hold one each in turn): the gateway's second read of a statement meets a
    server connection its first read never saw."""
    query = {"prepared_statement_cache_size": "0"} if setting else {}

    async def choreography() -> None:
        async def holder() -> asyncpg.Connection:
            conn = await asyncpg.connect(
                host="127.0.0.1",
                port=bouncer.port,
                user=USER,
                database=ADMIN_DATABASE,
                statement_cache_size=0,
            )
            await conn.execute("BEGIN; SELECT 1")  # holds a server connection until COMMIT
            return conn

        db = Database(bouncer.url_for(ADMIN_DATABASE, **query), pool_size=1)
        first = await holder()  # server connection X
        try:
            async with db.connect() as conn:  # the other one, Y
                assert (await conn.execute(SQUARE, {"n": 3})).scalar() == 9
            second = await holder()  # Y: the only one idle
            await first.execute("COMMIT")
            async with db.connect() as conn:  # X: the only one idle
                assert (await conn.execute(SQUARE, {"n": 4})).scalar() == 16
            await second.execute("COMMIT")
            await second.close()
        finally:
            await first.close()
            await db.dispose()

    if setting:
        run(choreography)
        return
    with pytest.raises(DBAPIError, match=r"prepared statement .* does not exist"):
        run(choreography)
