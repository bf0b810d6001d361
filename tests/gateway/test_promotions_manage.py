"""Promotions and coupon codes from the back office: judged by the engine's rules before
they are saved, applied at checkout like the seeded ones, ended on request; generated codes
unique, unguessable and limited per code; warehouses added. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.gateway.checkout_helpers import BACKENDS, Goods, Shop, codes, global_id, sku_gid
from tests.gateway.order_ops import error_codes, order_shop
from tests.gateway.permission_cases import VIEWERS, ViewerCase, token_for

ERRORS = "userErrors { code field message }"
PROMOTION = "id name kind startsAt endsAt couponRequired"
CREATE = f"""
mutation($input: PromotionInput!, $key: String) {{
  promotionCreate(input: $input, idempotencyKey: $key) {{
    promotion {{ {PROMOTION} }} replayed {ERRORS}
  }}
}}"""
UPDATE = f"""
mutation($id: ID!, $input: PromotionInput!) {{
  promotionUpdate(promotionId: $id, input: $input) {{ promotion {{ {PROMOTION} }} {ERRORS} }}
}}"""
END = f"""
mutation($id: ID!) {{
  promotionEnd(promotionId: $id) {{ promotion {{ {PROMOTION} }} {ERRORS} }}
}}"""
GENERATE = f"""
mutation($id: ID!, $count: Int!, $limit: Int!, $prefix: String!, $key: String) {{
  couponCodesGenerate(promotionId: $id, count: $count, usageLimit: $limit, prefix: $prefix,
                      idempotencyKey: $key) {{
    codes replayed promotion {{ id }} {ERRORS}
  }}
}}"""
WAREHOUSE = f"""
mutation($input: WarehouseInput!, $key: String) {{
  warehouseCreate(input: $input, idempotencyKey: $key) {{
    warehouse {{ id code name regionCode }} replayed {ERRORS}
  }}
}}"""
PAGE_PROMOTIONS = "query($id: ID!) { node(id: $id) { ... on Product { promotions { id } } } }"


@pytest.fixture(scope="module", params=BACKENDS)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    yield from order_shop(tmp_path_factory, request.param, "promotions-manage")


@pytest.fixture(scope="module")
def goods(shop: Shop) -> Goods:
    return Goods(shop.plain_skus())


def _pricing(shop: Shop) -> str:
    return shop.staff_token("MANAGE_PRICES")


def _create(shop: Shop, key: str | None = None, **terms: Any) -> dict[str, Any]:
    payload: dict[str, Any] = shop.query(
        CREATE, {"input": terms, "key": key}, token=_pricing(shop)
    )["promotionCreate"]
    return payload


@pytest.mark.parametrize(
    ("terms", "code", "field"),
    [
        ({"kind": "PERCENTAGE"}, "PROMOTION_NEVER_APPLIES", ["input", "percent"]),
        ({"kind": "PERCENTAGE", "percent": "150"}, "PROMOTION_NEVER_APPLIES",
         ["input", "percent"]),
        ({"kind": "FIXED_AMOUNT", "amount": "10", "percent": "5"}, "PROMOTION_CONTRADICTORY",
         ["input", "percent"]),
        ({"kind": "THRESHOLD", "threshold": "100", "amount": "150"}, "PROMOTION_CONTRADICTORY",
         ["input", "amount"]),
        ({"kind": "THRESHOLD", "threshold": "100", "amount": "20", "percent": "5"},
         "PROMOTION_CONTRADICTORY", ["input", "amount"]),
        ({"kind": "PERCENTAGE", "percent": "10", "endsAt": "2001-01-01T00:00:00Z"},
         "PROMOTION_NEVER_APPLIES", ["input", "endsAt"]),
        ({"kind": "PERCENTAGE", "percent": "10", "startsAt": "2100-02-01T00:00:00Z",
          "endsAt": "2100-01-01T00:00:00Z"}, "PROMOTION_CONTRADICTORY", ["input", "endsAt"]),
        ({"kind": "PERCENTAGE", "percent": "10", "scope": "PRODUCTS"},
         "PROMOTION_NEVER_APPLIES", ["input", "productIds"]),
        ({"kind": "PERCENTAGE", "percent": "10", "usageLimit": 5}, "PROMOTION_CONTRADICTORY",
         ["input", "usageLimit"]),
        ({"kind": "BUY_X_GET_Y", "buyQuantity": 2}, "PROMOTION_NEVER_APPLIES",
         ["input", "getQuantity"]),
        ({"kind": "PERCENTAGE", "percent": "10", "scope": "PRODUCTS",
          "productIds": [global_id("Product", 999_999)]}, "PRODUCT_NOT_FOUND",
         ["input", "productIds"]),
    ],
)  # fmt: skip
def test_a_promotion_that_can_never_apply_or_contradicts_itself_is_refused(
    shop: Shop, terms: dict[str, Any], code: str, field: list[str]
) -> None:
    payload = _create(shop, name="Bad deal", **terms)
    assert payload["promotion"] is None
    assert (code, field) in [(e["code"], e["field"]) for e in payload["userErrors"]], payload


def test_a_new_promotion_applies_at_checkout_and_ends_on_request(shop: Shop, goods: Goods) -> None:
    sku = goods.take()
    product = global_id("Product", sku.product_id)
    made = _create(
        shop, "ten-off", name="Ten off this product", kind="FIXED_AMOUNT", amount="10.00",
        scope="PRODUCTS", productIds=[product], priority=100,
    )  # fmt: skip
    assert made["userErrors"] == [] and made["promotion"]["couponRequired"] is False
    again = _create(
        shop, "ten-off", name="Ten off this product", kind="FIXED_AMOUNT", amount="10.00",
        scope="PRODUCTS", productIds=[product], priority=100,
    )  # fmt: skip
    assert again["replayed"] is True and again["promotion"]["id"] == made["promotion"]["id"]
    promotion_id = made["promotion"]["id"]
    shown = shop.query(PAGE_PROMOTIONS, {"id": product})["node"]["promotions"]
    assert promotion_id in [p["id"] for p in shown]

    cart = shop.create_cart([(sku.id, 1)])["cart"]
    names = [d["promotion"]["id"] for d in cart["lines"][0]["discounts"]]
    assert promotion_id in names

    updated = shop.query(
        UPDATE, {"id": promotion_id, "input": {"amount": "12.00", "percent": "5"}},
        token=_pricing(shop),
    )["promotionUpdate"]  # fmt: skip
    assert codes(updated["userErrors"]) == ["PROMOTION_CONTRADICTORY"]
    ended = shop.query(END, {"id": promotion_id}, token=_pricing(shop))["promotionEnd"]
    assert ended["userErrors"] == [] and ended["promotion"]["endsAt"] is not None
    after = shop.create_cart([(sku.id, 1)])["cart"]
    assert promotion_id not in [d["promotion"]["id"] for d in after["lines"][0]["discounts"]]


def test_generated_codes_are_unique_unguessable_and_limited_per_code(
    shop: Shop, goods: Goods
) -> None:
    made = _create(
        shop, name="Welcome 15%", kind="PERCENTAGE", percent="15", couponCode="WELCOME-BASE",
        perCustomerLimit=1,
    )  # fmt: skip
    assert made["userErrors"] == []
    promotion_id = made["promotion"]["id"]
    variables = {"id": promotion_id, "count": 50, "limit": 1, "prefix": "WEL-", "key": "batch1"}
    generated = shop.query(GENERATE, variables, token=_pricing(shop))["couponCodesGenerate"]
    assert generated["userErrors"] == []
    batch = generated["codes"]
    assert len(batch) == len(set(batch)) == 50
    assert all(c.startswith("WEL-") and len(c) == 16 for c in batch)
    replay = shop.query(GENERATE, variables, token=_pricing(shop))["couponCodesGenerate"]
    assert replay["replayed"] is True and replay["codes"] == batch
    # The page shows the promotion once, never its thousands of codes.
    sku = goods.take()
    shown = shop.query(PAGE_PROMOTIONS, {"id": global_id("Product", sku.product_id)})
    ids = [p["id"] for p in shown["node"]["promotions"]]
    assert ids.count(promotion_id) == 1 and len(ids) == len(set(ids))

    # A code buys once; the second buyer is told it is used up.
    code = batch[0]
    first = shop.buy([(sku.id, 1)], token=shop.customer_token(4), key="code-1", coupons=[code])
    assert first["cost"]["discountTotal"]["amount"] != "0.00"
    second = shop.create_cart([(sku.id, 1)], token=shop.customer_token(5), coupons=[code])
    assert "COUPON_USAGE_LIMIT_REACHED" in codes(second["userErrors"]) + codes(
        second["cart"]["validation"]["errors"] if second["cart"] else []
    )
    # Ending the promotion ends its codes.
    shop.query(END, {"id": promotion_id}, token=_pricing(shop))
    late = shop.create_cart([(sku.id, 1)], token=shop.customer_token(6), coupons=[batch[1]])
    assert "COUPON_EXPIRED" in codes(late["userErrors"]) + codes(
        late["cart"]["validation"]["errors"] if late["cart"] else []
    )


def test_codes_need_a_coupon_promotion_and_sane_arguments(shop: Shop) -> None:
    automatic = _create(shop, name="Storewide", kind="PERCENTAGE", percent="1")
    promotion_id = automatic["promotion"]["id"]
    refused = shop.query(
        GENERATE, {"id": promotion_id, "count": 3, "limit": 1, "prefix": ""},
        token=_pricing(shop),
    )["couponCodesGenerate"]  # fmt: skip
    assert codes(refused["userErrors"]) == ["PROMOTION_CONTRADICTORY"]
    assert refused["codes"] is None
    bad = shop.query(
        GENERATE, {"id": promotion_id, "count": 0, "limit": 0, "prefix": "no spaces"},
        token=_pricing(shop),
    )["couponCodesGenerate"]  # fmt: skip
    assert sorted(e["field"][0] for e in bad["userErrors"]) == ["count", "prefix", "usageLimit"]


def test_a_new_warehouse_takes_stock(shop: Shop, goods: Goods) -> None:
    made = shop.query(
        WAREHOUSE,
        {"input": {"code": "CD-01", "name": "Chengdu", "regionCode": "CN-SC"}},
        token=shop.staff_token("MANAGE_STOCK"),
    )["warehouseCreate"]
    assert made["userErrors"] == [] and made["warehouse"]["code"] == "CD-01"
    again = shop.query(
        WAREHOUSE,
        {"input": {"code": "CD-01", "name": "Again", "regionCode": "CN-SC"}},
        token=shop.staff_token("MANAGE_STOCK"),
    )["warehouseCreate"]
    assert error_codes(again) == ["CODE_TAKEN"]
    sku = goods.take()
    adjusted = shop.query(
        'mutation($sku: ID!) { stockAdjust(skuId: $sku, warehouseCode: "CD-01", delta: 7,'
        ' reason: "opening") { userErrors { code } } }',
        {"sku": sku_gid(sku.id)},
        token=shop.staff_token("MANAGE_STOCK"),
    )
    assert adjusted["stockAdjust"]["userErrors"] == []
    assert {"CD-01": 7}.items() <= {
        w["warehouseCode"]: w["available"] for w in shop.staff_stock(sku.id)["warehouses"]
    }.items()


def test_a_warehouse_created_with_a_key_is_created_once(shop: Shop) -> None:
    """A retried warehouseCreate (its answer lost) gets the warehouse the first request
    created, not CODE_TAKEN, and nothing is written twice; the key with other input is
    refused."""
    token = shop.staff_token("MANAGE_STOCK")
    wuhan = {"code": "WH-01", "name": "Wuhan", "regionCode": "CN-HB"}

    def create(input: dict[str, Any], key: str | None) -> dict[str, Any]:
        payload: dict[str, Any] = shop.query(WAREHOUSE, {"input": input, "key": key}, token=token)[
            "warehouseCreate"
        ]
        return payload

    first = create(wuhan, "wh-wuhan")
    assert first["userErrors"] == [] and first["replayed"] is False
    retried = create(wuhan, "wh-wuhan")
    assert retried["userErrors"] == [] and retried["replayed"] is True
    assert retried["warehouse"] == first["warehouse"]
    assert error_codes(create(wuhan, None)) == ["CODE_TAKEN"]  # no key: a second create
    reused = create({**wuhan, "name": "Wuhan East"}, "wh-wuhan")
    assert error_codes(reused) == ["IDEMPOTENCY_KEY_REUSED"]
    assert reused["userErrors"][0]["field"] == ["idempotencyKey"]
    assert reused["warehouse"] is None
    assert error_codes(create({**wuhan, "code": "WH-02"}, "k" * 201)) == ["INVALID_INPUT"]
    made = shop.scalar("inventory", "SELECT COUNT(*) FROM warehouses WHERE code LIKE 'WH-0%'")
    audited = shop.scalar(
        "inventory",
        "SELECT COUNT(*) FROM inventory_audit WHERE action = 'warehouse.create'"
        " AND entity_id IN (SELECT id FROM warehouses WHERE code LIKE 'WH-0%')",
    )
    assert (made, audited) == (1, 1)


@pytest.mark.parametrize("viewer", VIEWERS, ids=[v.name for v in VIEWERS])
def test_promotion_and_warehouse_mutations_need_their_permission(
    shop: Shop, viewer: ViewerCase
) -> None:
    coupon = _create(
        shop, name=f"Perm {viewer.name}", kind="PERCENTAGE", percent="5",
        couponCode=f"PERM-{viewer.name.upper()}"[:60].replace("_", "-"),
    )  # fmt: skip
    promotion_id = coupon["promotion"]["id"]
    cases = {
        "promotionCreate": (CREATE, {"input": {"name": "x", "kind": "PERCENTAGE",
                                               "percent": "1"}}, "MANAGE_PRICES"),
        "promotionUpdate": (UPDATE, {"id": promotion_id, "input": {"name": "y"}},
                            "MANAGE_PRICES"),
        "couponCodesGenerate": (GENERATE, {"id": promotion_id, "count": 1, "limit": 1,
                                           "prefix": ""}, "MANAGE_PRICES"),
        "promotionEnd": (END, {"id": promotion_id}, "MANAGE_PRICES"),
        "warehouseCreate": (WAREHOUSE, {"input": {"code": f"P-{abs(hash(viewer.name)) % 9999}",
                                                  "name": "p", "regionCode": "CN-SH"}},
                            "MANAGE_STOCK"),
    }  # fmt: skip
    for name, (document, variables, permission) in cases.items():
        result = shop.live.query(document, variables, token=token_for(shop.settings, viewer))
        assert "errors" not in result, result["errors"]
        payload = result["data"][name]
        if viewer.holds_any((permission,)):
            assert payload["userErrors"] == [], (name, payload)
        else:
            assert error_codes(payload) == ["PERMISSION_DENIED"], (name, payload)
            assert all(v in (None, False) for k, v in payload.items() if k != "userErrors")
