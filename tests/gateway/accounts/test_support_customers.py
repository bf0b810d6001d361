"""Customers for support staff (MANAGE_CUSTOMERS): find them by part of an email or name,
block and unblock them (audited, with the reason), and a blocked customer's checkout is
refused with CUSTOMER_BLOCKED until they are unblocked."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import LiveGateway

from .identity_provider import IdentityProvider
from .test_address_book import HOME

SEARCH = """
query($search: String, $after: String) {
  customers(first: 2, search: $search, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id email blocked } }
  }
}"""
BLOCK = """
mutation($id: ID!, $reason: String!) {
  customerBlock(customerId: $id, reason: $reason) {
    customer { id blocked } userErrors { code field message }
  }
}"""
UNBLOCK = """
mutation($id: ID!, $reason: String!) {
  customerUnblock(customerId: $id, reason: $reason) {
    customer { id blocked } userErrors { code field message }
  }
}"""
AUDIT = """
query($id: ID!) {
  node(id: $id) { ... on Customer { blocked } }
  auditLog: customerAuditLog(customerId: $id) { action actor reason before after }
}"""
BUYABLE = """
query { products(first: 30, filter: {inStock: true, kind: PHYSICAL}) {
  edges { node { presale { deposit { amount } } skus { id active stock { available } } } } } }
"""
CART = """
mutation($sku: ID!, $address: AddressInput!) {
  cartCreate(input: {lines: [{skuId: $sku, quantity: 1}], shippingAddress: $address}) {
    cart { id cost { total { amount } } } userErrors { code }
  }
}"""
ADD_ADDRESS = """
mutation($a: AddressInput!) { customerAddressCreate(address: $a) { userErrors { code } } }
"""
CHECKOUT = """
mutation($cart: ID!, $key: String!, $total: Decimal!) {
  checkoutComplete(cartId: $cart, idempotencyKey: $key, expectedTotal: $total) {
    order { id } userErrors { code message }
  }
}"""


def _staff(provider: IdentityProvider, *permissions: str) -> str:
    return provider.token(
        f"staff-{uuid.uuid4().hex[:6]}", kind="staff", permissions=list(permissions)
    )


def _new_customer(live: LiveGateway, provider: IdentityProvider, label: str) -> tuple[str, str]:
    """(token, global id) of a customer signed up through the identity provider."""
    subject = f"{label}|{uuid.uuid4().hex}"
    token = provider.token(subject, email=f"{label}-{subject[-8:]}@example.com", name=label)
    viewer = live.query("query { viewer { id } }", token=token)["data"]["viewer"]
    return token, viewer["id"]


def _checkout_variables(live: LiveGateway, token: str, key: str) -> dict[str, str]:
    """A cart of one unit of a SKU in stock, shipped to HOME, ready to check out."""
    products = live.query(BUYABLE)["data"]["products"]["edges"]
    sku = next(
        s["id"]
        for e in products
        if e["node"]["presale"] is None
        for s in e["node"]["skus"]
        if s["active"] and s["stock"]["available"] >= 3
    )
    cart = live.query(CART, {"sku": sku, "address": HOME}, token=token)["data"]["cartCreate"]
    assert cart["userErrors"] == [], cart
    total = cart["cart"]["cost"]["total"]["amount"]
    return {"cart": cart["cart"]["id"], "key": key, "total": total}


def _codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def test_support_staff_find_customers_by_email_or_name(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    support = _staff(provider, "MANAGE_CUSTOMERS")

    found = live.query(SEARCH, {"search": "CUSTOMER1"}, token=support)["data"]["customers"]
    rest = live.query(
        SEARCH, {"search": "customer1", "after": found["pageInfo"]["endCursor"]}, token=support
    )["data"]["customers"]

    emails = [e["node"]["email"] for e in found["edges"] + rest["edges"]]
    assert found["totalCount"] >= 11  # customer1, customer10..19 of the demo shop
    assert all("customer1" in email for email in emails)
    assert len(set(emails)) == len(emails) == 4


@pytest.mark.parametrize("permissions", [(), ("MANAGE_ORDERS",), ("MANAGE_PRODUCTS",)])
def test_without_manage_customers_the_list_is_empty_and_blocking_denied(
    live: LiveGateway, provider: IdentityProvider, permissions: tuple[str, ...]
) -> None:
    _, customer_id = _new_customer(live, provider, "bystander")
    staff = _staff(provider, *permissions)

    listed = live.query(SEARCH, {}, token=staff)["data"]["customers"]
    blocked = live.query(BLOCK, {"id": customer_id, "reason": "try"}, token=staff)
    admin = _staff(provider, "MANAGE_CUSTOMERS")
    state = live.query(AUDIT, {"id": customer_id}, token=admin)["data"]
    state = {"blocked": state["node"]["blocked"], "auditLog": state["auditLog"]}

    assert listed["totalCount"] == 0 and listed["edges"] == []
    assert _codes(blocked["data"]["customerBlock"]) == ["PERMISSION_DENIED"]
    assert blocked["data"]["customerBlock"]["customer"] is None
    assert state == {"blocked": False, "auditLog": []}


def test_a_customer_cannot_block_anyone_nor_read_another_customer(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    token, _ = _new_customer(live, provider, "curious")
    _, other = _new_customer(live, provider, "other")

    blocked = live.query(BLOCK, {"id": other, "reason": "x"}, token=token)
    read = live.query(AUDIT, {"id": other}, token=token)
    listed = live.query(SEARCH, {}, token=token)["data"]["customers"]

    assert _codes(blocked["data"]["customerBlock"]) == ["PERMISSION_DENIED"]
    assert read["data"] == {"node": None, "auditLog": None}
    assert listed["totalCount"] == 0


def test_a_blocked_customer_cannot_check_out_until_unblocked(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    token, customer_id = _new_customer(live, provider, "buyer")
    support = _staff(provider, "MANAGE_CUSTOMERS")
    checkout = _checkout_variables(live, token, "blocked-1")

    blocked = live.query(BLOCK, {"id": customer_id, "reason": "chargebacks"}, token=support)
    refused = live.query(CHECKOUT, checkout, token=token)["data"]["checkoutComplete"]
    unblocked = live.query(UNBLOCK, {"id": customer_id, "reason": "resolved"}, token=support)
    placed = live.query(CHECKOUT, {**checkout, "key": "blocked-2"}, token=token)
    audit = live.query(AUDIT, {"id": customer_id}, token=support)["data"]["auditLog"]

    assert blocked["data"]["customerBlock"]["customer"]["blocked"] is True
    assert refused["order"] is None and _codes(refused) == ["CUSTOMER_BLOCKED"]
    assert unblocked["data"]["customerUnblock"]["customer"]["blocked"] is False
    assert placed["data"]["checkoutComplete"]["order"] is not None, placed
    assert [(e["action"], e["reason"], e["after"]) for e in audit] == [
        ("customer.unblock", "resolved", {"is_blocked": False}),
        ("customer.block", "chargebacks", {"is_blocked": True}),
    ]
    assert all(e["actor"].startswith("staff:staff-") for e in audit)


def test_blocking_needs_a_reason_and_a_customer(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    support = _staff(provider, "MANAGE_CUSTOMERS")
    _, customer_id = _new_customer(live, provider, "reasonless")

    no_reason = live.query(BLOCK, {"id": customer_id, "reason": "  "}, token=support)
    nobody = live.query(BLOCK, {"id": "Q3VzdG9tZXI6OTk5OTk5", "reason": "x"}, token=support)

    assert _codes(no_reason["data"]["customerBlock"]) == ["INVALID_INPUT"]
    assert _codes(nobody["data"]["customerBlock"]) == ["CUSTOMER_NOT_FOUND"]


def test_support_staff_see_the_address_book_but_not_the_orders(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    token, customer_id = _new_customer(live, provider, "booked")
    live.query(ADD_ADDRESS, {"a": HOME}, token=token)
    placed = live.query(CHECKOUT, _checkout_variables(live, token, "seen-1"), token=token)
    assert placed["data"]["checkoutComplete"]["order"] is not None, placed
    support = _staff(provider, "MANAGE_CUSTOMERS")
    orders_staff = _staff(provider, "MANAGE_ORDERS")

    seen = live.query(
        "query($id: ID!) { node(id: $id) { ... on Customer {"
        " addresses { address { city } } orders(first: 5) { totalCount } } } }",
        {"id": customer_id},
        token=support,
    )["data"]["node"]

    by_order_staff = live.query(
        "query($id: ID!) { node(id: $id) { ... on Customer { orders(first: 5) { totalCount } } } }",
        {"id": customer_id},
        token=orders_staff,
    )["data"]["node"]

    assert seen == {"addresses": [{"address": {"city": "Shanghai"}}], "orders": {"totalCount": 0}}
    assert by_order_staff == {"orders": {"totalCount": 1}}


def test_a_page_of_customers_with_their_address_books_costs_two_calls(
    live: LiveGateway, provider: IdentityProvider
) -> None:
    support = _staff(provider, "MANAGE_CUSTOMERS")
    query = (
        "query { customers(first: 20) { edges { node { email blocked"
        " addresses { isDefault address { city } } } } } }"
    )

    result, calls = live.calls_during(query, token=support)

    assert "errors" not in result, result["errors"]
    assert len(result["data"]["customers"]["edges"]) == 20
    assert calls == {"orders.list_customers": 1, "orders.addresses_by_customer_ids": 1}
