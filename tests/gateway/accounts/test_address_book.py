"""A customer's address book through the API: add, change, delete, a default new carts ship
to; each book its owner's alone, whichever id another customer sends."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import LiveGateway

from .identity_provider import IdentityProvider

HOME = {
    "name": "Li Wei",
    "phone": "13800000000",
    "country": "CN",
    "region": "CN-SH",
    "city": "Shanghai",
    "line1": "88 Century Avenue",
    "postalCode": "200120",
}
OFFICE = {**HOME, "city": "Hangzhou", "region": "CN-ZJ", "line1": "1 West Lake Road"}

BOOK = "query { viewer { addresses { id isDefault address { city line1 } } } }"
CREATE = """
mutation($address: AddressInput!, $isDefault: Boolean!) {
  customerAddressCreate(address: $address, isDefault: $isDefault) {
    address { id isDefault address { city } }
    userErrors { code field message }
  }
}"""
UPDATE = """
mutation($id: ID!, $address: AddressInput, $isDefault: Boolean) {
  customerAddressUpdate(addressId: $id, address: $address, isDefault: $isDefault) {
    address { id isDefault address { city line1 } }
    userErrors { code field message }
  }
}"""
DELETE = """
mutation($id: ID!) {
  customerAddressDelete(addressId: $id) { deletedAddressId userErrors { code field } }
}"""
NODE = "query($id: ID!) { node(id: $id) { id ... on CustomerAddress { address { city } } } }"


def _customer(provider: IdentityProvider) -> str:
    subject = f"book|{uuid.uuid4().hex}"
    return provider.token(subject, email=f"{subject[5:]}@example.com", name="Book Keeper")


def _add(live: LiveGateway, token: str, address: dict[str, Any], *, default: bool) -> str:
    result = live.query(CREATE, {"address": address, "isDefault": default}, token=token)
    payload = result["data"]["customerAddressCreate"]
    assert payload["userErrors"] == [], payload
    return str(payload["address"]["id"])


def test_a_customer_keeps_addresses_and_picks_the_default(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    token = _customer(provider)

    home = _add(live, token, HOME, default=False)
    office = _add(live, token, OFFICE, default=True)
    changed = live.query(
        UPDATE, {"id": home, "address": {**HOME, "line1": "99 Century Avenue"}}, token=token
    )
    book = live.query(BOOK, token=token)["data"]["viewer"]["addresses"]

    assert changed["data"]["customerAddressUpdate"]["address"]["address"]["line1"] == (
        "99 Century Avenue"
    )
    assert [(a["id"], a["isDefault"], a["address"]["city"]) for a in book] == [
        (office, True, "Hangzhou"),
        (home, False, "Shanghai"),
    ]


def test_a_cart_ships_to_the_default_address_when_asked(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    token = _customer(provider)
    _add(live, token, HOME, default=False)
    _add(live, token, OFFICE, default=True)
    shipped = "shippingAddress { city region }"

    asked = live.query(
        "mutation { cartCreate(input: {shipToDefaultAddress: true})"
        f" {{ cart {{ {shipped} }} }} }}",
        token=token,
    )["data"]["cartCreate"]["cart"]
    plain = live.query(
        f"mutation {{ cartCreate(input: {{}}) {{ cart {{ id {shipped} }} }} }}", token=token
    )["data"]["cartCreate"]["cart"]
    later = live.query(
        "mutation($id: ID!) { cartShippingAddressUseDefault(cartId: $id) {"
        f" cart {{ {shipped} }} userErrors {{ code }} }} }}",
        {"id": plain["id"]},
        token=token,
    )["data"]["cartShippingAddressUseDefault"]

    assert asked["shippingAddress"] == {"city": "Hangzhou", "region": "CN-ZJ"}
    assert plain["shippingAddress"] is None
    assert later == {"cart": {"shippingAddress": {"city": "Hangzhou", "region": "CN-ZJ"}},
                     "userErrors": []}  # fmt: skip


def test_the_default_address_needs_a_signed_in_customer_with_one(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    token = _customer(provider)
    create = (
        "mutation { cartCreate(input: {shipToDefaultAddress: true})"
        " { cart { id shippingAddress { city } } } }"
    )
    use = (
        "mutation($id: ID!) { cartShippingAddressUseDefault(cartId: $id) { userErrors { code } } }"
    )

    bookless = live.query(create, token=token)["data"]["cartCreate"]["cart"]
    anonymous = live.query(create)["data"]["cartCreate"]["cart"]
    no_default = live.query(use, {"id": bookless["id"]}, token=token)
    not_signed_in = live.query(use, {"id": anonymous["id"]})

    assert bookless["shippingAddress"] is None and anonymous["shippingAddress"] is None
    assert no_default["data"]["cartShippingAddressUseDefault"]["userErrors"] == [
        {"code": "ADDRESS_NOT_FOUND"}
    ]
    assert not_signed_in["data"]["cartShippingAddressUseDefault"]["userErrors"] == [
        {"code": "LOGIN_REQUIRED"}
    ]


def test_another_customer_can_neither_read_nor_change_an_address(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    owner, other = _customer(provider), _customer(provider)
    address = _add(live, owner, HOME, default=True)

    read = live.query(NODE, {"id": address}, token=other)
    changed = live.query(UPDATE, {"id": address, "address": OFFICE}, token=other)
    made_default = live.query(UPDATE, {"id": address, "isDefault": True}, token=other)
    deleted = live.query(DELETE, {"id": address}, token=other)
    anonymous = live.query(DELETE, {"id": address})

    assert read["data"]["node"] is None
    for result, name in (
        (changed, "customerAddressUpdate"),
        (made_default, "customerAddressUpdate"),
        (deleted, "customerAddressDelete"),
    ):
        assert [e["code"] for e in result["data"][name]["userErrors"]] == ["ADDRESS_NOT_FOUND"]
    assert [e["code"] for e in anonymous["data"]["customerAddressDelete"]["userErrors"]] == [
        "LOGIN_REQUIRED"
    ]
    assert live.query(BOOK, token=other)["data"]["viewer"]["addresses"] == []
    owned = live.query(BOOK, token=owner)["data"]["viewer"]["addresses"]
    assert [(a["id"], a["address"]["city"]) for a in owned] == [(address, "Shanghai")]
    assert live.query(NODE, {"id": address}, token=owner)["data"]["node"] == {
        "id": address,
        "address": {"city": "Shanghai"},
    }


def test_deleting_the_default_moves_it_to_the_oldest(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    token = _customer(provider)
    home = _add(live, token, HOME, default=False)
    office = _add(live, token, OFFICE, default=True)

    deleted = live.query(DELETE, {"id": office}, token=token)
    book = live.query(BOOK, token=token)["data"]["viewer"]["addresses"]

    assert deleted["data"]["customerAddressDelete"] == {
        "deletedAddressId": office,
        "userErrors": [],
    }
    assert [(a["id"], a["isDefault"]) for a in book] == [(home, True)]


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ({**HOME, "name": " "}, ["address", "name"]),
        ({**HOME, "country": "China"}, ["address", "country"]),
        ({**HOME, "phone": "1" * 40}, ["address", "phone"]),
        ({**HOME, "postalCode": "9" * 20}, ["address", "postalCode"]),
    ],
)
def test_a_bad_address_is_a_user_error_on_its_field(
    live: LiveGateway, provider: IdentityProvider, address: dict[str, Any], field: list[str]
) -> None:
    token = _customer(provider)

    result = live.query(CREATE, {"address": address, "isDefault": False}, token=token)

    payload = result["data"]["customerAddressCreate"]
    assert payload["address"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("INVALID_INPUT", field)]
    assert live.query(BOOK, token=token)["data"]["viewer"]["addresses"] == []


def test_an_address_id_that_is_no_address_is_not_found(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    token = _customer(provider)

    for bad in ("not-an-id", "Q3VzdG9tZXI6MQ==", "Q3VzdG9tZXJBZGRyZXNzOjk5OTk5"):
        result = live.query(DELETE, {"id": bad}, token=token)
        codes = [e["code"] for e in result["data"]["customerAddressDelete"]["userErrors"]]
        assert codes == ["ADDRESS_NOT_FOUND"], bad
