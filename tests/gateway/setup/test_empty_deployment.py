"""docs/operations.md, done: a deployment that starts empty. On a fresh PostgreSQL
database, as an operator would: ``gateway migrate``, ``gateway init``, a catalog brought
from Shopify (``gateway import products`` on its product CSV: products, SKUs, prices and
stock), a later price change imported, ``gateway serve`` in production behind an identity
provider's JWKS, a staff token from the provider, a customer who signs up at the
provider, and the first order. No demo data anywhere.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from sources.catalog import models as catalog
from sources.common.db import Database
from sources.orders import models as orders
from tests.gateway.accounts.identity_provider import IdentityProvider, identity_provider
from tests.pg import create_temp_database, drop_database, postgres_available

from .cli import REPO, Run, gateway, same_database_env

pytestmark = pytest.mark.long(seconds=30)  # tests/ordering.py: started first on a worker

SHOP = """
[shop]
name = "Harbour Tea"
currency = "CNY"
languages = ["zh-CN", "en"]
free_shipping_over = "299.00"

[[regions]]
code = "CN-SH"
name = "Shanghai"
country = "CN"
shipping_rate = "8.00"

[[warehouses]]
code = "SH-01"
name = "Harbour Tea Shanghai"
region = "CN-SH"
priority = 1
"""
HOME = {
    "name": "Chen Jing",
    "phone": "13900000000",
    "country": "CN",
    "region": "CN-SH",
    "city": "Shanghai",
    "line1": "9 Fuxing Road",
}


@pytest.fixture
def database() -> Iterator[str]:
    if (reason := postgres_available()) is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI: {reason}")
        pytest.skip(f"PostgreSQL not reachable: {reason}")
    url = asyncio.run(create_temp_database())
    try:
        yield url
    finally:
        asyncio.run(drop_database(url))


def _ok(run: Run) -> list[str]:
    assert run.returncode == 0, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr
    return run.stdout.splitlines()


# The shop's catalog as Shopify exports it (a subset of its columns, in its order).
SHOPIFY_EXPORT = """\
Handle,Title,Body (HTML),Vendor,Type,Tags,Published,Option1 Name,Option1 Value,\
Variant SKU,Variant Grams,Variant Inventory Qty,Variant Price,Variant Compare At Price,Status
west-lake-longjing,West Lake Longjing,<p>Spring green tea.</p>,Harbour Tea,Tea,"green, spring",\
true,Weight,50 g,LJ-50G,60,40,118.00,128.00,active
west-lake-longjing,,,,,,,,100 g,LJ-100G,110,20,238.00,,
"""


async def _counts(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        async with db.connect() as conn:
            return {
                name: int(await conn.scalar(select(func.count()).select_from(model)) or 0)
                for name, model in (
                    ("products", catalog.Product),
                    ("customers", orders.Customer),
                    ("staff", orders.StaffMember),
                    ("orders", orders.Order),
                )
            }
    finally:
        await db.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve"],
        env={**base, "PYTHONPATH": str(REPO), **env},
        cwd=cwd,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_ready(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "gateway serve exited"
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("gateway serve did not become ready")


def _query(
    url: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]  # type: ignore[no-any-return]


def _environment(url: str, provider: IdentityProvider, port: int) -> dict[str, str]:
    settings = provider.settings()
    return {
        **same_database_env(url),
        "GATEWAY_ENV": "production",
        "GATEWAY_PORT": str(port),
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_JWT_ALGORITHM": settings["jwt_algorithm"],
        "GATEWAY_JWT_JWKS_URL": settings["jwt_jwks_url"],
        "GATEWAY_JWT_ISSUER": settings["jwt_issuer"],
        "GATEWAY_JWT_AUDIENCE": settings["jwt_audience"],
        "GATEWAY_CUSTOMER_SUBJECTS": "identity-provider",
    }


def test_an_empty_shop_on_postgresql_takes_its_first_order(database: str, tmp_path: Path) -> None:
    with identity_provider() as provider:
        port = _free_port()
        env = _environment(database, provider, port)
        shop_file = tmp_path / "shop.toml"
        shop_file.write_text(SHOP)

        # 1. Databases, the shop's essentials.
        assert len(_ok(gateway("migrate", env=env, cwd=tmp_path))) == 4
        assert _ok(gateway("init", str(shop_file), env=env, cwd=tmp_path))[0].startswith(
            "shop: Harbour Tea (CNY"
        )

        # 2. A catalog brought from Shopify (products, SKUs, prices, stock into the
        #    shop's only warehouse), then a price changed with a price import.
        export = tmp_path / "products_export.csv"
        export.write_text(SHOPIFY_EXPORT)
        imported = gateway("import", "products", str(export), "--no-progress", env=env,
                           cwd=tmp_path)  # fmt: skip
        assert "2 rows, 2 applied, 0 refused" in _ok(imported)[0]
        prices = tmp_path / "prices.csv"
        prices.write_text("sku,list,sale\nLJ-100G,238.00,228.00\n")
        imported = gateway("import", "prices", str(prices), "--no-progress", env=env, cwd=tmp_path)
        assert "1 applied, 0 refused" in _ok(imported)[0]

        # 3. The gateway, in production.
        url = f"http://127.0.0.1:{port}"
        process = _serve(env, tmp_path)
        try:
            _wait_ready(url, process)
            _first_order(url, provider)
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr

    assert asyncio.run(_counts(database)) == {
        "products": 1,
        "customers": 1,
        "staff": 0,
        "orders": 1,
    }


def _first_order(url: str, provider: IdentityProvider) -> None:
    # The storefront sees the catalog priced and in stock.
    listing = _query(
        url,
        "{ products(first: 5) { totalCount edges { node { name skus { id code "
        "price { sale { amount currency } } stock { available } } } } } }",
    )["products"]
    assert listing["totalCount"] == 1
    skus = {s["code"]: s for s in listing["edges"][0]["node"]["skus"]}
    assert skus["LJ-100G"]["price"]["sale"] == {"amount": "228.00", "currency": "CNY"}
    assert skus["LJ-100G"]["stock"]["available"] == 20

    # A customer signs up at the identity provider; the shop meets them on first use.
    customer = provider.token("idp|chen", email="chen.jing@example.com", name="陈静")
    viewer = _query(url, "{ viewer { id email name } }", token=customer)["viewer"]
    assert viewer["email"] == "chen.jing@example.com"
    added = _query(
        url,
        "mutation($a: AddressInput!) { customerAddressCreate(address: $a, isDefault: true) {"
        " userErrors { code } } }",
        {"a": HOME},
        token=customer,
    )
    assert added["customerAddressCreate"]["userErrors"] == []

    # The cart ships to the default address; shipping is the region's rate.
    cart = _query(
        url,
        "mutation($sku: ID!) { cartCreate(input: {lines: [{skuId: $sku, quantity: 1}],"
        " shipToDefaultAddress: true}) {"
        " cart { id shippingAddress { city } cost { shippingTotal { amount } total { amount } } }"
        " userErrors { code } } }",
        {"sku": skus["LJ-100G"]["id"]},
        token=customer,
    )["cartCreate"]
    assert cart["userErrors"] == []
    assert cart["cart"]["shippingAddress"] == {"city": "Shanghai"}
    assert cart["cart"]["cost"]["shippingTotal"]["amount"] == "8.00"
    placed = _query(
        url,
        "mutation($cart: ID!, $total: Decimal!) { checkoutComplete(cartId: $cart,"
        ' idempotencyKey: "first-order", expectedTotal: $total) {'
        " order { id number status } userErrors { code message } } }",
        {"cart": cart["cart"]["id"], "total": cart["cart"]["cost"]["total"]["amount"]},
        token=customer,
    )["checkoutComplete"]
    assert placed["userErrors"] == [], placed
    assert placed["order"]["status"] == "PENDING_PAYMENT"

    # Staff, from the same identity provider, see it and take the payment.
    staff = provider.token("idp|ops-1", kind="staff", permissions=["MANAGE_ORDERS"])
    listed = _query(url, "{ orders(first: 5) { totalCount edges { node { id } } } }", token=staff)
    assert listed["orders"]["totalCount"] == 1
    paid = _query(
        url,
        "mutation($id: ID!) { orderMarkPaid(orderId: $id) { order { status }"
        " userErrors { code } } }",
        {"id": placed["order"]["id"]},
        token=staff,
    )["orderMarkPaid"]
    assert paid == {"order": {"status": "PAID"}, "userErrors": []}
