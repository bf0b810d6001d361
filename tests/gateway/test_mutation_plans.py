"""A one-field mutation runs from its plan (gateway/mutation_plans.py) and answers exactly
as graphql-core's standard execution does: the same storefront mutations, sent in the same
order to two freshly seeded shops, one per executor, give the same answers (ids, order
numbers and times aside), userErrors, GraphQL errors and null propagation included."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.checkout_helpers import (
    CART_ADDRESS_SET,
    CART_CREATE,
    CART_LINES_ADD,
    CART_LINES_UPDATE,
    CHECKOUT,
    ORDER_CANCEL,
    Shop,
    address,
    global_id,
    open_shop,
    sku_gid,
)

# Each its own (a cart's token and an order's number are drawn at random; ids of rows a
# test made depend on nothing but the order of the requests, the same in both shops).
_RANDOM = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{4}-\d\d-\d\dT[\d:.]+"
)
_VOLATILE = {"id", "number", "createdAt", "lineId"}


def _same_shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<v>" if k in _VOLATILE else _same_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_same_shape(v) for v in value]
    if isinstance(value, str):
        return _RANDOM.sub("<v>", value)
    return value


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Shop]]:
    opened: dict[str, Shop] = {}
    generators = []
    for executor in ("standard", "breadth-first"):
        directory: Path = tmp_path_factory.mktemp(f"mutation-plans-{executor}")
        generator = open_shop("sqlite", directory, executor=executor)
        opened[executor] = next(generator)
        generators.append(generator)
    yield opened
    for generator in generators:
        next(generator, None)  # runs on to its stop; close() would leave it serving


def _script(shop: Shop) -> list[dict[str, Any]]:
    """The storefront's checkout with its mistakes, as JSON answers (errors included)."""
    skus = [s for s in shop.plain_skus() if s.available >= 5][:3]
    token = shop.customer_token(1)
    other = shop.customer_token(2)
    answers: list[dict[str, Any]] = []

    def send(query: str, variables: dict[str, Any], who: str | None = token) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {who}"} if who else {}
        response = shop.live.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        answer: dict[str, Any] = response.json()
        answers.append({"status": response.status_code, **answer})
        return answer

    lines = [{"skuId": s.gid, "quantity": 1} for s in skus]
    cart = send(CART_CREATE, {"input": {"lines": lines}})["data"]["cartCreate"]["cart"]
    cart_id = cart["id"]
    send(CART_CREATE, {"input": {"lines": [{"skuId": sku_gid(999_999), "quantity": 1}]}})
    send(CART_CREATE, {"input": {"lines": [{"skuId": skus[0].gid, "quantity": 0}]}})
    send(CART_LINES_ADD, {"cartId": cart_id, "lines": [{"skuId": skus[0].gid, "quantity": 1}]})
    send(CART_LINES_UPDATE, {"cartId": cart_id, "lines": [{"lineId": "bad", "quantity": 1}]})
    send(CART_ADDRESS_SET, {"cartId": cart_id, "address": address(phone="12")})
    send(CART_ADDRESS_SET, {"cartId": cart_id, "address": address(region="Atlantis")})
    send(CART_ADDRESS_SET, {"cartId": global_id("Sku", 1), "address": address()})
    send(CART_ADDRESS_SET, {"cartId": "not base64 at all", "address": address()})
    send(CART_ADDRESS_SET, {"cartId": cart_id, "address": address()}, who=other)
    addressed = send(CART_ADDRESS_SET, {"cartId": cart_id, "address": address()})
    total = addressed["data"]["cartShippingAddressSet"]["cart"]["cost"]["total"]["amount"]
    send(CHECKOUT, {"cartId": cart_id, "key": "k-1", "total": "0.01"})
    send(CHECKOUT, {"cartId": cart_id, "key": "k-2", "total": total}, who=None)
    placed = send(CHECKOUT, {"cartId": cart_id, "key": "k-3", "total": total})
    send(CHECKOUT, {"cartId": cart_id, "key": "k-3", "total": total})  # the same key again
    send(CHECKOUT, {"cartId": cart_id, "key": "k-4", "total": total})  # completed
    order_id = placed["data"]["checkoutComplete"]["order"]["id"]
    send(ORDER_CANCEL, {"id": order_id, "reason": "changed my mind"}, who=other)
    send(ORDER_CANCEL, {"id": order_id, "reason": "changed my mind"})
    # A variable of the wrong type, a field no payload has: refused before execution.
    send(CHECKOUT, {"cartId": cart_id, "key": "k-5", "total": "many"})
    send("mutation { cartCreate(input: {}) { nope } }", {})
    # Two root fields: standard execution, one after the other.
    send(
        "mutation { a: cartCreate(input: {}) { cart { id lines { id } } userErrors { code } } "
        "b: cartCreate(input: {}) { userErrors { code } } }",
        {},
    )
    # A staff mutation without the permission: the field's error, data null.
    send(
        'mutation { orderCancel(orderId: "T3JkZXI6MQ==", reason: "x") { order { id } } }',
        {},
        who=None,
    )
    return answers


def test_one_field_mutations_answer_as_standard_execution_does(shops: dict[str, Shop]) -> None:
    standard = _script(shops["standard"])
    planned = _script(shops["breadth-first"])
    assert len(standard) == len(planned)
    for i, (a, b) in enumerate(zip(standard, planned, strict=True)):
        assert _same_shape(b) == _same_shape(a), f"request {i}"
    # The second shop planned every one-field mutation that reached execution.
    metrics = shops["breadth-first"].live.client.get("/metrics").text
    planned_count = _metric(metrics, 'gateway_executions_total{executor="breadth-first",reason=""}')
    assert planned_count >= 18
    assert _metric(metrics, 'gateway_executions_total{executor="standard",reason="mutation"}') == 1
    # What the script exercised: a placed order, userErrors and GraphQL errors.
    assert planned[13]["data"]["checkoutComplete"]["order"] is not None
    assert any(a.get("errors") for a in planned)
    assert any(
        (a.get("data") or {}).get(k, {}) and a["data"][k].get("userErrors")
        for a in planned
        for k in (a.get("data") or {})
    )


def _metric(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
