"""The mutations' inputs fuzzed on a shop of their own (production gateway): quantities of
any size and sign, decimals and their impostors, real, forged and foreign ids, unicode and
huge strings. Every answer is well-formed with no unexpected exception, and after every
example the databases hold: stock never negative, reserved never above on hand, line
discounts sum to the order's discount, no order without its reservation."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.invariants import violations
from tests.fuzz.support import PRODUCTION_SECRET, WEIRD_TEXT, check_response, examples
from tests.gateway.checkout_helpers import (
    CART_CREATE,
    CART_LINES_UPDATE,
    CHECKOUT,
    Shop,
    address,
    open_shop,
    sku_gid,
)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    yield from open_shop(
        "sqlite",
        tmp_path_factory.mktemp("fuzz-shop"),
        environment="production",
        jwt_secret=PRODUCTION_SECRET,
        rate_limit={"enabled": False},
    )


@pytest.fixture(scope="module")
def sku_ids(shop: Shop) -> list[str]:
    return [sku_gid(s.id) for s in shop.plain_skus()[:30]]


def forged(kind: str, pk: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{pk}".encode()).decode()


def ids(real: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(real),
        st.sampled_from(real),  # mostly real: the checkout is reached
        st.builds(forged, st.sampled_from(["Sku", "Product", "Cart", "Order"]), WEIRD_TEXT),
        st.integers(-(2**70), 2**70).map(lambda n: forged("Sku", str(n))),
        WEIRD_TEXT,
    )


QUANTITIES = st.one_of(
    st.integers(-3, 5), st.integers(-(2**31), 2**31 - 1), st.just(2**31 - 1), st.just(-(2**31))
)
AMOUNTS = st.one_of(
    st.decimals(min_value=-(10**12), max_value=10**12, places=2).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    WEIRD_TEXT,
)


def send(shop: Shop, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    response: httpx.Response = shop.live.client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    return check_response(response)


@pytest.fixture(scope="module")
def tokens(shop: Shop) -> list[str]:
    return [shop.customer_token(n) for n in (1, 2, 3, 50)]  # 50 is blocked


@examples(60)
@given(data=st.data())
def test_cart_and_checkout_inputs(
    shop: Shop, sku_ids: list[str], tokens: list[str], data: st.DataObject
) -> None:
    token = data.draw(st.sampled_from(tokens))
    lines = data.draw(
        st.lists(st.fixed_dictionaries({"skuId": ids(sku_ids), "quantity": QUANTITIES}), max_size=4)
    )
    coupons = data.draw(
        st.lists(
            st.one_of(st.sampled_from(["WELCOME10", "SAVE50", "VIP20"]), WEIRD_TEXT), max_size=3
        )
    )
    where = data.draw(
        st.one_of(
            st.just(address()),
            st.builds(
                lambda region, city, line1: address(region, city=city, line1=line1),
                st.one_of(st.sampled_from(["CN-SH", "CN-BJ", "CN-XZ"]), WEIRD_TEXT),
                WEIRD_TEXT,
                WEIRD_TEXT,
            ),
        )
    )
    created = send(
        shop,
        CART_CREATE,
        {"input": {"lines": lines, "couponCodes": coupons, "shippingAddress": where}},
        token,
    )
    cart = ((created.get("data") or {}).get("cartCreate") or {}).get("cart")
    if cart is not None and cart["lines"] and data.draw(st.booleans()):
        line = cart["lines"][0]
        updated = send(
            shop,
            CART_LINES_UPDATE,
            {
                "cartId": cart["id"],
                "lines": [{"lineId": line["id"], "quantity": data.draw(QUANTITIES)}],
            },
            token,
        )
        cart = ((updated.get("data") or {}).get("cartLinesUpdate") or {}).get("cart") or cart
    if cart is not None:
        total = data.draw(st.one_of(st.just(cart["cost"]["total"]["amount"]), AMOUNTS))
        key = data.draw(st.one_of(st.uuids().map(str), WEIRD_TEXT))
        send(shop, CHECKOUT, {"cartId": cart["id"], "key": key, "total": total}, token)
    assert violations(shop.urls) == []


STOCK_ADJUST = """mutation($sku: ID!, $wh: String!, $delta: Int!, $reason: String!, $key: String) {
  stockAdjust(skuId: $sku, warehouseCode: $wh, delta: $delta, reason: $reason,
              idempotencyKey: $key) { sku { id } userErrors { code field } } }"""
PRICE_SET = """mutation($sku: ID!, $list: Decimal!, $sale: Decimal!) {
  priceSet(skuId: $sku, list: $list, sale: $sale) { sku { id } userErrors { code field } } }"""


@examples(50)
@given(data=st.data())
def test_staff_stock_and_price_inputs(shop: Shop, sku_ids: list[str], data: st.DataObject) -> None:
    token = shop.staff_token("MANAGE_STOCK", "MANAGE_PRICES")
    if data.draw(st.booleans()):
        variables = {
            "sku": data.draw(ids(sku_ids)),
            "wh": data.draw(st.one_of(st.sampled_from(["SH-01", "BJ-01", "GZ-01"]), WEIRD_TEXT)),
            "delta": data.draw(QUANTITIES),
            "reason": data.draw(WEIRD_TEXT),
            "key": data.draw(st.one_of(st.none(), st.uuids().map(str), WEIRD_TEXT)),
        }
        send(shop, STOCK_ADJUST, variables, token)
    else:
        variables = {
            "sku": data.draw(ids(sku_ids)),
            "list": data.draw(AMOUNTS),
            "sale": data.draw(AMOUNTS),
        }
        send(shop, PRICE_SET, variables, token)
    assert violations(shop.urls) == []
