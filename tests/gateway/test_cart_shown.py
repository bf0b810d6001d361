"""A cart mutation whose payload does not ask for ``validation`` prices its cart through the
request's loaders and the shared cache (gateway/checkout/shown.py): with the cache warm it
asks the catalog, pricing and inventory sources nothing, and answers exactly as the sources
of truth do. ``validation`` asked for, the cart query and ``checkoutComplete`` still read
the sources; with no shared cache every read goes to them as before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import serve, settings_for
from tests.gateway.checkout_helpers import (
    CART_CREATE,
    CHECKOUT,
    USER_ERRORS,
    Shop,
    SkuFacts,
    address,
    codes,
    open_shop,
    sku_gid,
)

# What the bench's storefront asks for (bench/checkout.py): the cart's lines and cost.
SHOWN_FIELDS = """
  id
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
"""
SHOWN_CREATE = f"""
mutation CartCreate($input: CartCreateInput!) {{
  cartCreate(input: $input) {{ cart {{ {SHOWN_FIELDS} }} {USER_ERRORS} }}
}}"""
SHOWN_ADDRESS_SET = f"""
mutation CartShippingAddressSet($cartId: ID!, $address: AddressInput!) {{
  cartShippingAddressSet(cartId: $cartId, address: $address) {{
    cart {{ {SHOWN_FIELDS} }} {USER_ERRORS}
  }}
}}"""
SHOWN_LINES_ADD = f"""
mutation CartLinesAdd($cartId: ID!, $lines: [CartLineInput!]!) {{
  cartLinesAdd(cartId: $cartId, lines: $lines) {{ cart {{ {SHOWN_FIELDS} }} {USER_ERRORS} }}
}}"""
TRUTH_QUERY = f"query Cart($id: ID!) {{ cart(id: $id) {{ {SHOWN_FIELDS} }} }}"

# The checkout proper still reads every source of truth (test_checkout_orders pins it).
CHECKOUT_TRUTH = {"catalog.cart_catalog", "inventory.cart_stock", "pricing.pricing_for_checkout"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    yield from open_shop(request.param, tmp_path_factory.mktemp("cart-shown-shop"))


def _input(skus: list[int], coupons: list[str] | None = None) -> dict[str, Any]:
    lines = [{"skuId": sku_gid(s), "quantity": 1} for s in skus]
    return {"input": {"lines": lines, "shippingAddress": address("CN-SH"), "couponCodes": coupons}}


def _without_ids(cart: dict[str, Any]) -> dict[str, Any]:
    """A cart's answer with its own ids left out (two carts of the same lines compare)."""
    return {
        "lines": [{k: v for k, v in line.items() if k != "id"} for line in cart["lines"]],
        "cost": cart["cost"],
    }


def _variety(shop: Shop) -> list[list[int]]:
    """Carts of three SKUs covering every kind of SKU the demo shop sells: bundles,
    services, drop-ship, presale, purchase limits, unpublished and retired ones."""
    by_kind: dict[tuple[Any, ...], list[SkuFacts]] = {}
    for s in shop.skus():
        key = (s.kind, s.fulfillment, s.is_presale, s.purchase_limit is not None)
        key += (s.is_published, s.is_active, s.sale is not None)
        by_kind.setdefault(key, []).append(s)
    picked = [s.id for group in by_kind.values() for s in group[:3]]
    return [picked[i : i + 3] for i in range(0, len(picked), 3)]


def test_a_shown_cart_answers_as_the_sources_of_truth_do(shop: Shop) -> None:
    token = shop.customer_token(21)
    for skus in _variety(shop):
        for coupons in (None, ["WELCOME10"]):
            variables = _input(skus, coupons)
            truth = shop.query(CART_CREATE, variables, token=token)["cartCreate"]
            shown = shop.query(SHOWN_CREATE, variables, token=token)["cartCreate"]
            assert shown["userErrors"] == truth["userErrors"], skus
            assert _without_ids(shown["cart"]) == _without_ids(truth["cart"]), skus
            again = shop.query(TRUTH_QUERY, {"id": shown["cart"]["id"]}, token=token)["cart"]
            assert again == shown["cart"], skus


def test_a_warm_checkout_asks_the_catalog_pricing_and_inventory_only_at_complete(
    shop: Shop,
) -> None:
    token = shop.customer_token(22)
    skus = [s.id for s in shop.plain_skus()[-3:]]
    live = shop.live
    # A buyer who browsed them (any cart mutation or page leaves them cached).
    browsed = live.query(SHOWN_CREATE, {"input": {"lines": _input(skus)["input"]["lines"]}})
    assert "errors" not in browsed, browsed["errors"]

    created, create_calls = live.calls_during(
        SHOWN_CREATE, {"input": {"lines": _input(skus)["input"]["lines"]}}, token=token
    )
    cart = created["data"]["cartCreate"]["cart"]
    assert create_calls == {"orders.create_cart_with_buyer": 1}
    addressed, address_calls = live.calls_during(
        SHOWN_ADDRESS_SET, {"cartId": cart["id"], "address": address("CN-SH")}, token=token
    )
    assert address_calls == {"orders.set_owned_cart_address": 1}
    total = addressed["data"]["cartShippingAddressSet"]["cart"]["cost"]["total"]["amount"]
    placed, checkout_calls = live.calls_during(
        CHECKOUT, {"cartId": cart["id"], "key": "shown-warm", "total": total}, token=token
    )
    assert placed["data"]["checkoutComplete"]["userErrors"] == []
    assert CHECKOUT_TRUTH <= set(checkout_calls), checkout_calls

    # Asking for the cart's validation reads the sources, cache or not.
    _, with_validation = live.calls_during(CART_CREATE, _input(skus), token=token)
    assert CHECKOUT_TRUTH <= set(with_validation), with_validation


def test_a_price_changed_behind_the_gateway_is_caught_at_complete(shop: Shop) -> None:
    """The cached price a cart mutation shows may lag a change made in the pricing
    database without an invalidation (bounded by the TTL); the checkout reads the source
    and answers PRICE_CHANGED, never charging the shown total."""
    token = shop.customer_token(23)
    sku = shop.plain_skus()[-4]
    lines = _input([sku.id])["input"]["lines"]
    shown = shop.query(SHOWN_CREATE, {"input": {"lines": lines}}, token=token)["cartCreate"]
    shop.sql(
        "pricing",
        "UPDATE prices SET sale_amount = sale_amount - 1 WHERE sku_id = :s",
        {"s": sku.id},
    )
    cart = shop.query(
        SHOWN_ADDRESS_SET, {"cartId": shown["cart"]["id"], "address": address("CN-SH")}, token=token
    )["cartShippingAddressSet"]["cart"]
    placed = shop.query(
        CHECKOUT,
        {"cartId": cart["id"], "key": "behind-its-back", "total": cart["cost"]["total"]["amount"]},
        token=token,
    )["checkoutComplete"]
    assert codes(placed["userErrors"]) == ["PRICE_CHANGED"]


def test_with_no_shared_cache_a_cart_mutation_reads_the_sources(shop: Shop) -> None:
    token = shop.customer_token(24)
    skus = [s.id for s in shop.plain_skus()[-7:-4]]
    for live in serve(settings_for(shop.urls, cache={"enabled": False}, sweep_interval_seconds=0)):
        created, calls = live.calls_during(SHOWN_CREATE, _input(skus), token=token)
        assert created["data"]["cartCreate"]["userErrors"] == []
        assert CHECKOUT_TRUTH <= set(calls), calls
        added, add_calls = live.calls_during(
            SHOWN_LINES_ADD,
            {"cartId": created["data"]["cartCreate"]["cart"]["id"], "lines": []},
            token=token,
        )
        assert "errors" not in added, added["errors"]
        assert CHECKOUT_TRUTH <= set(add_calls), add_calls
