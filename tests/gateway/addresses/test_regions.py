"""The regions an address form offers (``shop.regions``), and an address's region typed the
way a buyer types it: the ISO 3166-2 code or the name in any of the shop's languages,
stored as the code. Unknown is INVALID_INPUT naming the accepted forms; only a known region
the shop does not serve is REGION_NOT_DELIVERABLE."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.checkout.addresses import _iso_directory
from tests.conftest import LiveGateway, serve

SHOP = """{ shop { languages regions {
  code country name names { language text } isDeliverable shippingRate { amount currency }
} } }"""
CART = """
mutation($lines: [CartLineInput!]) {
  cartCreate(input: {lines: $lines}) { cart { id } userErrors { code } }
}"""
SET = """
mutation($cartId: ID!, $address: AddressInput!) {
  cartShippingAddressSet(cartId: $cartId, address: $address) {
    cart { shippingAddress { region } validation { errors { code field } } }
    userErrors { code field message }
  }
}"""
GOODS = """{ products(first: 10, filter: {kind: PHYSICAL, inStock: true}) {
  edges { node { skus { id stock { inStock } } } }
} }"""
ADDRESS = {
    "name": "Li Wei",
    "phone": "13800138000",
    "country": "CN",
    "region": "CN-SH",
    "city": "Shanghai",
    "line1": "88 Century Avenue",
    "postalCode": "200120",
}


def _cart(live: LiveGateway, *, goods: bool = False) -> str:
    lines = None
    if goods:
        products = live.query(GOODS)["data"]["products"]["edges"]
        sku = next(s for e in products for s in e["node"]["skus"] if s["stock"]["inStock"])
        lines = [{"skuId": sku["id"], "quantity": 1}]
    payload = live.query(CART, {"lines": lines})["data"]["cartCreate"]
    assert payload["userErrors"] == []
    return str(payload["cart"]["id"])


def _set(live: LiveGateway, cart_id: str, **changes: str) -> dict[str, Any]:
    result = live.query(SET, {"cartId": cart_id, "address": {**ADDRESS, **changes}})
    return dict(result["data"]["cartShippingAddressSet"])


def test_the_shop_lists_its_regions_named_in_its_languages(live: LiveGateway) -> None:
    shop = live.query(SHOP)["data"]["shop"]
    regions = {r["code"]: r for r in shop["regions"]}

    assert shop["languages"] == ["zh-CN", "en"]
    assert len(regions) == 31, "every province-level region of the mainland the shop set up"
    assert regions["CN-SH"] == {
        "code": "CN-SH",
        "country": "CN",
        "name": "上海市",
        "names": [{"language": "zh-CN", "text": "上海市"}, {"language": "en", "text": "Shanghai"}],
        "isDeliverable": True,
        "shippingRate": {"amount": "10.00", "currency": "CNY"},
    }
    assert regions["CN-XZ"]["names"] == [
        {"language": "zh-CN", "text": "西藏自治区"},
        {"language": "en", "text": "Tibet"},
    ]
    assert (regions["CN-XZ"]["isDeliverable"], regions["CN-XZ"]["shippingRate"]) == (False, None)
    assert all(r["names"][0]["text"] != r["names"][1]["text"] for r in regions.values()), (
        "each region has a Chinese name of its own"
    )


TYPED = ["CN-SH", "cn-sh", "Shanghai", "上海", "上海市", " shanghai shi "]


@pytest.mark.parametrize("typed", TYPED)
def test_a_region_is_taken_by_its_code_or_any_of_its_names(live: LiveGateway, typed: str) -> None:
    payload = _set(live, _cart(live), region=typed)

    assert payload["userErrors"] == []
    assert payload["cart"]["shippingAddress"]["region"] == "CN-SH"


def test_an_unknown_region_is_invalid_input_naming_the_accepted_forms(live: LiveGateway) -> None:
    payload = _set(live, _cart(live), region="Atlantis")

    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["shippingAddress", "region"])
    assert "ISO 3166-2" in error["message"] and "上海" in error["message"]
    assert "Atlantis" in error["message"]
    assert payload["cart"]["shippingAddress"] is None, "nothing half-set"


@pytest.mark.parametrize("typed", ["Tibet", "西藏", "CN-XZ"])
def test_only_a_known_region_the_shop_does_not_serve_is_not_deliverable(
    live: LiveGateway, typed: str
) -> None:
    payload = _set(live, _cart(live, goods=True), region=typed)

    assert payload["userErrors"] == []
    assert payload["cart"]["shippingAddress"]["region"] == "CN-XZ"
    assert {"code": "REGION_NOT_DELIVERABLE", "field": ["shippingAddress", "region"]} in (
        payload["cart"]["validation"]["errors"]
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "021 6888 8888"}, "phone"),  # a Shanghai landline, not a mobile
        ({"postalCode": "2001"}, "postalCode"),
        ({"postalCode": "20O120"}, "postalCode"),
    ],
)
def test_a_phone_or_postal_code_a_courier_cannot_use_is_refused(
    live: LiveGateway, changes: dict[str, str], field: str
) -> None:
    payload = _set(live, _cart(live), **changes)

    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_INPUT", ["shippingAddress", field])
    ]


def test_a_mobile_number_in_another_form_is_accepted(live: LiveGateway) -> None:
    payload = _set(live, _cart(live), phone="+86 138 0013 8000")

    assert payload["userErrors"] == []


def test_iso_codes_and_names_ask_no_source_and_the_shops_own_names_ask_once(
    live: LiveGateway,
) -> None:
    cart_id = _cart(live)

    def calls(region: str) -> dict[str, int]:
        variables = {"cartId": cart_id, "address": {**ADDRESS, "region": region}}
        return live.calls_during(SET, variables)[1]

    assert "orders.regions" not in calls("CN-SH")
    assert "orders.regions" not in calls("上海")
    assert calls("Tibet").get("orders.regions") == 1, "the shop's own English name"


def test_a_gateway_loads_its_delivery_countries_address_data_before_it_serves(
    live: LiveGateway,
) -> None:
    """Otherwise each worker's first buyer with an address waits 0.1-0.3 s for pycountry."""
    _iso_directory.cache_clear()
    started = serve(live.settings)
    next(started)
    try:
        assert _iso_directory.cache_info().currsize == 1, "CN, the demo shop's one country"
        misses = _iso_directory.cache_info().misses
        _set(live, _cart(live), region="上海")
        assert _iso_directory.cache_info().misses == misses
    finally:
        next(started, None)  # runs on to its stop; close() would leave it serving


@pytest.mark.parametrize(
    ("region", "postal_code"),
    [("CN-HK", "200120"), ("香港", "100080"), ("CN-MO", "999077")],
)
def test_a_postal_code_of_another_region_is_refused_where_googles_data_knows_the_regions_codes(
    live: LiveGateway, region: str, postal_code: str
) -> None:
    payload = _set(live, _cart(live), region=region, postalCode=postal_code)

    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["shippingAddress", "postalCode"])
    assert postal_code in error["message"], "the message names what was typed"
    assert "is not a postal code of" in error["message"]
    assert ("999077" if "HK" in error["message"] else "999078") in error["message"], (
        "and the region's own code"
    )
    assert payload["cart"]["shippingAddress"] is None, "nothing half-set"


@pytest.mark.parametrize(
    ("region", "postal_code"),
    [("CN-HK", "999077"), ("Macao", "999078"), ("CN-TW", "100"), ("台湾", "10048")],
)
def test_a_regions_own_postal_code_form_is_taken_even_where_it_is_not_six_digits(
    live: LiveGateway, region: str, postal_code: str
) -> None:
    payload = _set(live, _cart(live), region=region, postalCode=postal_code)

    assert payload["userErrors"] == []
    assert payload["cart"]["shippingAddress"]["region"] in {"CN-HK", "CN-MO", "CN-TW"}


def test_a_mainland_postal_code_is_checked_for_its_form_only(live: LiveGateway) -> None:
    # Google's data gives the mainland's provinces no postal-code prefixes (only examples,
    # and Inner Mongolia's include 750306, a Ningxia-looking code), so a Beijing code on a
    # Shanghai address is not refused: docs/addresses.md says so.
    payload = _set(live, _cart(live), region="CN-SH", postalCode="100080")

    assert payload["userErrors"] == []
