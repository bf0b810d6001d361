"""Managing the catalog through the API: a product made by productCreate and skuCreate is
listed, bought and refunded exactly like a seeded one; every rule answers a typed userError
on its field; each write is audited and idempotent by key; categories never form a cycle.
On SQLite and PostgreSQL, in a shop of each module's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.gateway.checkout_helpers import BACKENDS, Shop
from tests.gateway.order_ops import (
    ask,
    complete,
    error_codes,
    order_shop,
    paid,
    read_order,
    resolve,
)
from tests.gateway.permission_cases import VIEWERS, ViewerCase, token_for

ERRORS = "userErrors { code field message }"
PRODUCT = "id slug name published archived options { name values } tags weightGrams"
PRODUCT_CREATE = f"""
mutation($input: ProductInput!, $key: String) {{
  productCreate(input: $input, idempotencyKey: $key) {{
    product {{ {PRODUCT} specifications {{ attribute {{ code }} display }} }}
    replayed {ERRORS}
  }}
}}"""
PRODUCT_UPDATE = f"""
mutation($id: ID!, $input: ProductInput!) {{
  productUpdate(productId: $id, input: $input) {{
    product {{ {PRODUCT} seo {{ title }} }} {ERRORS}
  }}
}}"""
PRODUCT_ARCHIVE = f"""
mutation($id: ID!) {{ productArchive(productId: $id) {{ product {{ {PRODUCT} }} {ERRORS} }} }}"""
SKU_CREATE = f"""
mutation($product: ID!, $input: SkuInput!, $key: String) {{
  skuCreate(productId: $product, input: $input, idempotencyKey: $key) {{
    sku {{ id code name active selectedOptions {{ name value }} price {{ sale {{ amount }} }} }}
    replayed {ERRORS}
  }}
}}"""
SKU_UPDATE = f"""
mutation($id: ID!, $input: SkuInput!) {{
  skuUpdate(skuId: $id, input: $input) {{ sku {{ id code name active purchaseLimit }} {ERRORS} }}
}}"""
STOCK_ADJUST = f"""
mutation($sku: ID!) {{
  stockAdjust(skuId: $sku, warehouseCode: "SH-01", delta: 20, reason: "first delivery") {{
    sku {{ id }} {ERRORS}
  }}
}}"""
CATEGORY_CREATE = f"""
mutation($input: CategoryInput!, $key: String) {{
  categoryCreate(input: $input, idempotencyKey: $key) {{
    category {{ id slug name parent {{ slug }} }} replayed {ERRORS}
  }}
}}"""
CATEGORY_UPDATE = f"""
mutation($id: ID!, $input: CategoryInput!) {{
  categoryUpdate(categoryId: $id, input: $input) {{ category {{ id slug name }} {ERRORS} }}
}}"""
CATEGORY_MOVE = f"""
mutation($id: ID!, $parent: ID) {{
  categoryMove(categoryId: $id, parentId: $parent) {{
    category {{ id slug parent {{ slug }} }} {ERRORS}
  }}
}}"""
ATTRIBUTE_DEFINE = f"""
mutation($input: AttributeDefineInput!, $key: String) {{
  attributeDefine(input: $input, idempotencyKey: $key) {{
    attribute {{ id code kind unit choices }} replayed {ERRORS}
  }}
}}"""
SUPPLIER_CREATE = f"""
mutation($name: String!, $key: String) {{
  supplierCreate(name: $name, idempotencyKey: $key) {{ supplier {{ id name }} replayed {ERRORS} }}
}}"""
AUDIT = """
query($id: ID!) { node(id: $id) { ... on Product { auditLog { action actor before after } } } }
"""
CATEGORY_ID = "{ categories { id slug attributes { id code kind } } }"


@pytest.fixture(scope="module", params=BACKENDS)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    yield from order_shop(tmp_path_factory, request.param, "catalog-manage")


def _admin(shop: Shop) -> str:
    return shop.staff_token("MANAGE_PRODUCTS")


def _mutate(shop: Shop, document: str, variables: dict[str, Any], name: str) -> dict[str, Any]:
    payload: dict[str, Any] = shop.query(document, variables, token=_admin(shop))[name]
    return payload


def _category(shop: Shop, slug: str) -> dict[str, Any]:
    categories = shop.query(CATEGORY_ID)["categories"]
    return next(c for c in categories if c["slug"] == slug)  # type: ignore[no-any-return]


def _new_phone(shop: Shop, key: str, **extra: Any) -> dict[str, Any]:
    phones = _category(shop, "phones-tablets")
    attribute = {a["code"]: a["id"] for a in phones["attributes"]}
    payload = _mutate(
        shop,
        PRODUCT_CREATE,
        {
            "key": key,
            "input": {
                "name": f"Kestrel Phone {key}",
                "description": "A phone made through the API.",
                "categoryId": phones["id"],
                "brand": "Kestrel",
                "options": [
                    {"name": "Colour", "values": ["Black", "White"]},
                    {"name": "Storage", "values": ["128 GB", "256 GB"]},
                ],
                "tags": ["new", "api"],
                "weightGrams": 420,
                "dimensions": {"lengthMm": 180, "widthMm": 90, "heightMm": 50},
                "specifications": [
                    {"attributeId": attribute["screen_size"], "number": "6.1"},
                    {"attributeId": attribute["has_5g"], "boolean": True},
                    {"attributeId": attribute["model"], "text": f"KP-{key}"},
                ],
                **extra,
            },
        },
        "productCreate",
    )
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload


def _new_sku(shop: Shop, product_id: str, code: str, colour: str, storage: str) -> dict[str, Any]:
    payload = _mutate(
        shop,
        SKU_CREATE,
        {
            "product": product_id,
            "input": {
                "name": f"{colour} {storage}",
                "code": code,
                "selectedOptions": [
                    {"name": "Colour", "value": colour},
                    {"name": "Storage", "value": storage},
                ],
                "price": {"list": "3999.00", "sale": "3799.00"},
            },
        },
        "skuCreate",
    )
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload["sku"]  # type: ignore[no-any-return]


def test_a_product_made_through_the_api_is_listed_bought_and_refunded(shop: Shop) -> None:
    created = _new_phone(shop, "e2e", published=True)
    product = created["product"]
    assert product["published"] is True and product["slug"] == "kestrel-phone-e2e"
    assert [s["display"] for s in product["specifications"]] == ["6.1 in", "Yes", "KP-e2e"]
    sku = _new_sku(shop, product["id"], "KP-E2E-BK-128", "Black", "128 GB")
    assert sku["price"]["sale"]["amount"] == "3799.00"
    stocked = shop.query(STOCK_ADJUST, {"sku": sku["id"]}, token=shop.staff_token("MANAGE_STOCK"))
    assert stocked["stockAdjust"]["userErrors"] == []

    # Listed and found, with the listing projection caught up (price, in stock).
    listed = shop.query(
        '{ products(first: 5, filter: {search: "Kestrel Phone e2e", inStock: true}) {'
        " edges { node { id priceRange { min { amount } } inStock } } } }"
    )["products"]["edges"]
    assert [e["node"]["id"] for e in listed] == [product["id"]]
    assert listed[0]["node"]["priceRange"]["min"]["amount"] == "3799.00"
    picked = shop.query(
        "query($slug: String!) { product(slug: $slug) { skuBySelectedOptions(selectedOptions:"
        ' [{name: "Storage", value: "128 GB"}, {name: "Colour", value: "Black"}]) { id } } }',
        {"slug": product["slug"]},
    )
    assert picked["product"]["skuBySelectedOptions"] == {"id": sku["id"]}

    # Bought, paid and refunded like any seeded product.
    token = shop.customer_token(3)
    cart = shop.create_cart([(sku["id"], 2)], token=token)
    assert cart["userErrors"] == [], cart["userErrors"]
    placed = shop.checkout(cart["cart"], "api-product", token=token)
    assert placed["userErrors"] == [], placed["userErrors"]
    order = paid(shop, placed["order"]["id"])
    line = order["lines"][0]
    assert line["sku"]["id"] == sku["id"] and line["quantity"] == 2
    request = ask(shop, order, "REFUND_ONLY", [(line["id"], 1)], buyer=3)
    assert request["userErrors"] == [], request["userErrors"]
    assert resolve(shop, request["request"]["id"], approve=True)["userErrors"] == []
    done = complete(shop, request["request"]["id"])
    assert done["userErrors"] == [] and done["request"]["status"] == "COMPLETED"
    assert done["request"]["refundAmount"]["amount"] == "3799.00"

    # A product with orders is archived, never deleted: the order still names it.
    archived = _mutate(shop, PRODUCT_ARCHIVE, {"id": product["id"]}, "productArchive")
    assert archived["userErrors"] == []
    assert archived["product"]["archived"] is True and archived["product"]["published"] is False
    assert read_order(shop, order["id"])["lines"][0]["productName"]
    again = _mutate(shop, PRODUCT_UPDATE, {"id": product["id"], "input": {"name": "X"}},
                    "productUpdate")  # fmt: skip
    assert error_codes(again) == ["PRODUCT_ARCHIVED"]
    gone = shop.query(
        '{ products(first: 5, filter: {search: "Kestrel Phone e2e"}) { totalCount } }'
    )
    assert gone["products"]["totalCount"] == 0


def test_create_and_update_are_audited_with_before_and_after(shop: Shop) -> None:
    product = _new_phone(shop, "audit")["product"]
    updated = _mutate(
        shop,
        PRODUCT_UPDATE,
        {"id": product["id"], "input": {"seoTitle": "Best phone", "weightGrams": None}},
        "productUpdate",
    )
    assert updated["userErrors"] == []
    assert updated["product"]["seo"]["title"] == "Best phone"
    assert updated["product"]["weightGrams"] is None
    log = shop.query(AUDIT, {"id": product["id"]}, token=_admin(shop))["node"]["auditLog"]
    assert [e["action"] for e in log] == ["product.update", "product.create"]
    assert log[0]["before"] == {"seo_title": None, "weight_grams": 420}
    assert log[0]["after"] == {"seo_title": "Best phone", "weight_grams": None}
    assert log[0]["actor"].startswith("staff:")


def test_a_retry_with_the_same_key_creates_once(shop: Shop) -> None:
    first = _new_phone(shop, "retry")
    second = _new_phone(shop, "retry")
    assert second["replayed"] is True and first["replayed"] is False
    assert second["product"]["id"] == first["product"]["id"]
    reused = _mutate(
        shop,
        PRODUCT_CREATE,
        {"key": "retry", "input": {"name": "Something else"}},
        "productCreate",
    )
    assert error_codes(reused) == ["IDEMPOTENCY_KEY_REUSED"]
    without_key = _mutate(
        shop, PRODUCT_CREATE, {"input": {"name": "Kestrel Phone retry"}}, "productCreate"
    )
    assert error_codes(without_key) == ["SLUG_TAKEN"]
    assert without_key["userErrors"][0]["field"] == ["input", "slug"]


@pytest.mark.parametrize(
    ("patch", "code", "field"),
    [
        ({"name": ""}, "INVALID_INPUT", ["input", "name"]),
        ({"slug": "Not A Slug"}, "INVALID_INPUT", ["input", "slug"]),
        ({"weightGrams": -1}, "INVALID_INPUT", ["input", "weightGrams"]),
        ({"options": [{"name": "Colour", "values": ["Red", "Red"]}]}, "INVALID_INPUT",
         ["input", "options", "0", "values"]),
        ({"categoryId": "Q2F0ZWdvcnk6OTk5OTk="}, "CATEGORY_NOT_FOUND", ["input", "categoryId"]),
        ({"supplierId": "U3VwcGxpZXI6OTk5OTk="}, "SUPPLIER_NOT_FOUND", ["input", "supplierId"]),
        ({"specifications": [{"attributeId": "QXR0cmlidXRlRGVmaW5pdGlvbjo5OTk5", "text": "x"}]},
         "ATTRIBUTE_INVALID", ["input", "specifications"]),
    ],
)  # fmt: skip
def test_invalid_product_input_is_a_user_error_on_its_field(
    shop: Shop, patch: dict[str, Any], code: str, field: list[str]
) -> None:
    payload = _mutate(
        shop, PRODUCT_CREATE, {"input": {"name": "Bad product", **patch}}, "productCreate"
    )
    assert payload["product"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, field)]


def test_a_specification_must_match_its_attribute_type(shop: Shop) -> None:
    product = _new_phone(shop, "typed")["product"]
    attribute = {a["code"]: a["id"] for a in _category(shop, "phones-tablets")["attributes"]}
    payload = _mutate(
        shop,
        PRODUCT_UPDATE,
        {
            "id": product["id"],
            "input": {"specifications": [{"attributeId": attribute["has_5g"], "text": "yes"}]},
        },
        "productUpdate",
    )
    assert error_codes(payload) == ["ATTRIBUTE_INVALID"]
    assert "BOOLEAN" in payload["userErrors"][0]["message"]


def test_sku_picks_must_match_the_options_and_differ_from_siblings(shop: Shop) -> None:
    product = _new_phone(shop, "picks")["product"]
    _new_sku(shop, product["id"], "KP-PICKS-1", "White", "256 GB")

    def create(picks: list[dict[str, str]], code: str) -> dict[str, Any]:
        return _mutate(
            shop,
            SKU_CREATE,
            {
                "product": product["id"],
                "input": {"name": "x", "code": code, "selectedOptions": picks,
                          "price": {"list": "10.00", "sale": "10.00"}},
            },
            "skuCreate",
        )  # fmt: skip

    assert error_codes(create([{"name": "Colour", "value": "White"}], "KP-PICKS-2")) == [
        "OPTIONS_INVALID"
    ]
    same = [{"name": "Colour", "value": "White"}, {"name": "Storage", "value": "256 GB"}]
    assert error_codes(create(same, "KP-PICKS-3")) == ["OPTIONS_TAKEN"]
    other = [{"name": "Colour", "value": "Black"}, {"name": "Storage", "value": "256 GB"}]
    assert error_codes(create(other, "KP-PICKS-1")) == ["CODE_TAKEN"]
    # Options that would strand the SKU's picks are refused.
    narrowed = _mutate(
        shop,
        PRODUCT_UPDATE,
        {"id": product["id"], "input": {"options": [{"name": "Colour", "values": ["White"]}]}},
        "productUpdate",
    )
    assert error_codes(narrowed) == ["OPTIONS_IN_USE"]
    priceless = _mutate(
        shop,
        SKU_CREATE,
        {"product": product["id"], "input": {"name": "x", "code": "KP-PICKS-9",
                                             "selectedOptions": other}},
        "skuCreate",
    )  # fmt: skip
    assert [e["field"] for e in priceless["userErrors"]] == [["input", "price"]]


def test_sku_update_changes_what_is_given(shop: Shop) -> None:
    product = _new_phone(shop, "skuupd")["product"]
    sku = _new_sku(shop, product["id"], "KP-SKUUPD-1", "Black", "128 GB")
    payload = _mutate(
        shop,
        SKU_UPDATE,
        {"id": sku["id"], "input": {"purchaseLimit": 2, "active": False}},
        "skuUpdate",
    )
    assert payload["userErrors"] == []
    assert payload["sku"] == {
        "id": sku["id"], "code": "KP-SKUUPD-1", "name": "Black 128 GB", "active": False,
        "purchaseLimit": 2,
    }  # fmt: skip


def test_categories_are_created_idempotently_and_never_moved_into_a_cycle(shop: Shop) -> None:
    parent = _mutate(
        shop, CATEGORY_CREATE, {"input": {"name": "Wearables"}, "key": "wear"}, "categoryCreate"
    )
    assert parent["userErrors"] == [] and parent["category"]["slug"] == "wearables"
    replay = _mutate(
        shop, CATEGORY_CREATE, {"input": {"name": "Wearables"}, "key": "wear"}, "categoryCreate"
    )
    assert replay["replayed"] is True and replay["category"]["id"] == parent["category"]["id"]
    child = _mutate(
        shop,
        CATEGORY_CREATE,
        {"input": {"name": "Smart Watches", "parentId": parent["category"]["id"]}},
        "categoryCreate",
    )
    assert child["category"]["parent"] == {"slug": "wearables"}
    cycle = _mutate(
        shop,
        CATEGORY_MOVE,
        {"id": parent["category"]["id"], "parent": child["category"]["id"]},
        "categoryMove",
    )
    assert error_codes(cycle) == ["CATEGORY_CYCLE"]
    onto_itself = _mutate(
        shop,
        CATEGORY_MOVE,
        {"id": parent["category"]["id"], "parent": parent["category"]["id"]},
        "categoryMove",
    )
    assert error_codes(onto_itself) == ["CATEGORY_CYCLE"]
    electronics = _category(shop, "electronics")
    moved = _mutate(
        shop, CATEGORY_MOVE, {"id": parent["category"]["id"], "parent": electronics["id"]},
        "categoryMove",
    )  # fmt: skip
    assert moved["userErrors"] == [] and moved["category"]["parent"] == {"slug": "electronics"}
    # The subtree moved with it: the watch category now carries Electronics' attributes.
    watches = _category(shop, "smart-watches")
    assert {a["code"] for a in watches["attributes"]} >= {"model", "warranty"}


def test_attributes_are_defined_typed_and_changed_by_code(shop: Shop) -> None:
    tvs = _category(shop, "tvs")
    created = _mutate(
        shop,
        ATTRIBUTE_DEFINE,
        {"input": {"categoryId": tvs["id"], "code": "hdr", "name": "HDR", "kind": "CHOICE",
                   "choices": ["HDR10", "Dolby Vision"]}},
        "attributeDefine",
    )  # fmt: skip
    assert created["userErrors"] == []
    assert created["attribute"]["choices"] == ["HDR10", "Dolby Vision"]
    changed = _mutate(
        shop,
        ATTRIBUTE_DEFINE,
        {"input": {"categoryId": tvs["id"], "code": "hdr", "name": "HDR", "kind": "CHOICE",
                   "choices": ["HDR10", "Dolby Vision", "HLG"]}},
        "attributeDefine",
    )  # fmt: skip
    assert changed["attribute"]["id"] == created["attribute"]["id"]
    bad = _mutate(
        shop,
        ATTRIBUTE_DEFINE,
        {"input": {"categoryId": tvs["id"], "code": "Bad Code", "name": "x", "kind": "TEXT",
                   "unit": "cm"}},
        "attributeDefine",
    )  # fmt: skip
    assert sorted(e["field"][-1] for e in bad["userErrors"]) == ["code", "unit"]


def test_an_attribute_defined_with_a_key_is_written_once(shop: Shop) -> None:
    """A retried attributeDefine (a lost answer) replays the first write: the same
    attribute, nothing written again, even after it was changed in between; the key with
    another definition is refused."""
    tvs = _category(shop, "tvs")
    mounting = {"categoryId": tvs["id"], "code": "mounting", "name": "Mounting",
             "kind": "CHOICE", "choices": ["Wall", "Stand"]}  # fmt: skip
    first = _mutate(
        shop, ATTRIBUTE_DEFINE, {"input": mounting, "key": "mounting-1"}, "attributeDefine"
    )
    assert first["userErrors"] == [] and first["replayed"] is False
    changed = {**mounting, "choices": ["Wall", "Stand", "Ceiling"]}
    assert (
        _mutate(shop, ATTRIBUTE_DEFINE, {"input": changed}, "attributeDefine")["userErrors"] == []
    )
    retried = _mutate(
        shop, ATTRIBUTE_DEFINE, {"input": mounting, "key": "mounting-1"}, "attributeDefine"
    )
    assert retried["userErrors"] == [] and retried["replayed"] is True
    assert retried["attribute"]["id"] == first["attribute"]["id"]
    # The retry wrote nothing: the change made in between stands.
    assert retried["attribute"]["choices"] == ["Wall", "Stand", "Ceiling"]
    reused = _mutate(
        shop, ATTRIBUTE_DEFINE, {"input": changed, "key": "mounting-1"}, "attributeDefine"
    )
    assert error_codes(reused) == ["IDEMPOTENCY_KEY_REUSED"]
    assert reused["userErrors"][0]["field"] == ["idempotencyKey"]
    too_long = _mutate(
        shop, ATTRIBUTE_DEFINE, {"input": mounting, "key": "k" * 201}, "attributeDefine"
    )
    assert error_codes(too_long) == ["INVALID_INPUT"]
    assert too_long["userErrors"][0]["field"] == ["idempotencyKey"]


def test_suppliers_have_unique_names(shop: Shop) -> None:
    made = _mutate(shop, SUPPLIER_CREATE, {"name": "Ningbo Parts Co.", "key": "np"},
                   "supplierCreate")  # fmt: skip
    assert made["userErrors"] == [] and made["supplier"]["name"] == "Ningbo Parts Co."
    again = _mutate(shop, SUPPLIER_CREATE, {"name": "Ningbo Parts Co."}, "supplierCreate")
    assert error_codes(again) == ["NAME_TAKEN"]


# The permission matrix for the creating mutations (their targets do not exist before the
# call, so permission_cases.MUTATION_CASES cannot read them back): every viewer without
# MANAGE_PRODUCTS is denied and nothing is created.
CREATES = {
    "productCreate": (PRODUCT_CREATE, lambda n: {"input": {"name": f"Denied {n}"}}),
    "skuCreate": (SKU_CREATE, None),
    "productUpdate": (PRODUCT_UPDATE, None),
    "productArchive": (PRODUCT_ARCHIVE, None),
    "skuUpdate": (SKU_UPDATE, None),
    "categoryCreate": (CATEGORY_CREATE, lambda n: {"input": {"name": f"Denied {n}"}}),
    "categoryUpdate": (CATEGORY_UPDATE, None),
    "categoryMove": (CATEGORY_MOVE, None),
    "attributeDefine": (ATTRIBUTE_DEFINE, None),
    "supplierCreate": (SUPPLIER_CREATE, lambda n: {"name": f"Denied {n}"}),
}


@pytest.mark.parametrize("viewer", VIEWERS, ids=[v.name for v in VIEWERS])
def test_catalog_mutations_need_manage_products(shop: Shop, viewer: ViewerCase) -> None:
    product = _new_phone(shop, f"perm-{viewer.name}")["product"]
    sku = _new_sku(shop, product["id"], f"KP-PERM-{viewer.name}", "Black", "128 GB")
    tvs = _category(shop, "tvs")
    targets: dict[str, dict[str, Any]] = {
        "skuCreate": {"product": product["id"], "input": {"name": "x", "code": f"D-{viewer.name}",
                      "price": {"list": "1.00", "sale": "1.00"}}},
        "productUpdate": {"id": product["id"], "input": {"name": "Denied"}},
        "productArchive": {"id": product["id"]},
        "skuUpdate": {"id": sku["id"], "input": {"name": "Denied"}},
        "categoryMove": {"id": tvs["id"], "parent": None},
        "categoryUpdate": {"id": tvs["id"], "input": {"position": 3}},
        "attributeDefine": {"input": {"categoryId": tvs["id"], "code": "denied", "name": "x",
                                      "kind": "TEXT"}},
    }  # fmt: skip
    allowed = viewer.holds_any(("MANAGE_PRODUCTS",))
    for name, (document, make) in CREATES.items():
        variables = make(viewer.name) if make else targets[name]
        result = shop.live.query(document, variables, token=token_for(shop.settings, viewer))
        assert "errors" not in result, result["errors"]
        payload = result["data"][name]
        codes = error_codes(payload)
        if allowed:
            assert "PERMISSION_DENIED" not in codes, (name, payload)
        else:
            assert codes == ["PERMISSION_DENIED"], (name, viewer.name, payload)
            assert all(v in (None, False) for k, v in payload.items() if k != "userErrors")
    if not allowed:
        log = shop.query(AUDIT, {"id": product["id"]}, token=_admin(shop))["node"]["auditLog"]
        assert [e["action"] for e in log] == ["product.create"]
