"""The tabs GraphiQL opens on: every operation is valid against the schema, and each runs on
the demo shop as its comments promise, with the token its headers tell how to print (the
very command written there, run through the CLI)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse, validate

from gateway.graphiql.examples import (
    BACK_OFFICE_ORDERS,
    CART_AND_CHECKOUT,
    DEMO_SKU_ID,
    EXAMPLES,
    LOW_STOCK,
    NOTES_KEY,
    STOREFRONT,
    TOKEN_NOTE,
    Example,
)
from gateway.schema import build_schema
from tests.conftest import LiveGateway
from tests.gateway.checkout_helpers import Shop, open_shop


def _operations(example: Example) -> dict[str, OperationDefinitionNode]:
    document = parse(example.query)
    return {
        node.name.value: node
        for node in document.definitions
        if isinstance(node, OperationDefinitionNode) and node.name is not None
    }


def _ask(
    live: LiveGateway, example: Example, operation: str, token: str | None = None, **extra: Any
) -> dict[str, Any]:
    """One operation of a tab as GraphiQL sends it: the tab's document, its variables."""
    variables = {**(example.variables or {}), **extra}
    return live.query(example.query, variables, token=token, operation_name=operation)


def _token_command(example: Example) -> list[str]:
    """The `gateway token ...` arguments the tab's headers tell the reader to run."""
    note = example.headers[TOKEN_NOTE]
    command = shlex.split(note)
    assert command[0] == ".venv/bin/gateway", note
    return command[1:]


def _run_token_command(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    urls: dict[str, str],
    argv: list[str],
) -> str:
    from gateway.cli import main

    for name, url in urls.items():
        monkeypatch.setenv(f"{name.upper()}_DATABASE_URL", url)
    capsys.readouterr()
    assert main(argv) == 0, capsys.readouterr().err
    return capsys.readouterr().out.strip().splitlines()[-1]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.title)
def test_every_example_is_valid_against_the_schema(example: Example) -> None:
    errors = validate(build_schema()._schema, parse(example.query))
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.title)
def test_every_example_has_a_value_for_each_required_variable(example: Example) -> None:
    given = set(example.variables or {})
    for name, operation in _operations(example).items():
        for definition in operation.variable_definitions or ():
            required = definition.type.kind == "non_null_type"
            if required and definition.default_value is None:
                assert definition.variable.name.value in given, (name, definition.variable)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.title)
def test_the_headers_explain_the_token_and_send_nothing_until_edited(example: Example) -> None:
    tab = example.tab()
    headers = json.loads(tab["headers"])  # GraphiQL's headers editor only takes JSON
    assert all(name.startswith(NOTES_KEY) for name in headers), headers
    assert headers[TOKEN_NOTE].startswith(".venv/bin/gateway token ")
    assert headers["// Authorization"].startswith("Bearer ")


def test_the_first_tab_is_the_storefront_listing_with_one_operation() -> None:
    assert EXAMPLES[0] is STOREFRONT
    assert list(_operations(STOREFRONT)) == ["StorefrontProducts"]  # Ctrl-Enter runs it


def test_the_storefront_example_lists_demo_products_anonymously(gateway: LiveGateway) -> None:
    result = _ask(gateway, STOREFRONT, "StorefrontProducts")
    assert "errors" not in result, result
    products = result["data"]["products"]
    names = [edge["node"]["name"] for edge in products["edges"]]
    assert len(names) == 5 and all(names), names
    assert products["totalCount"] > 5
    assert all(edge["node"]["inStock"] for edge in products["edges"])


def test_the_low_stock_example_lists_skus_with_the_printed_staff_token(
    gateway: LiveGateway,
    sqlite_shop: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = _run_token_command(monkeypatch, capsys, sqlite_shop, _token_command(LOW_STOCK))
    result = _ask(gateway, LOW_STOCK, "LowStock", token)
    assert "errors" not in result, result
    edges = result["data"]["lowStock"]["edges"]
    assert edges, "the demo shop has SKUs under 10 units"
    assert all(e["available"] < LOW_STOCK.variables["threshold"] for e in edges)  # type: ignore[index]
    assert edges[0]["node"]["stock"]["warehouses"] is not None  # staff detail is shown
    anonymous = _ask(gateway, LOW_STOCK, "LowStock")
    assert anonymous["data"]["lowStock"] is None  # as the headers note says


def test_the_cart_example_sku_is_a_plain_one_of_the_default_demo_shop(
    gateway: LiveGateway,
) -> None:
    """The session shop has `gateway seed`'s default 240 products, as `make run` seeds."""
    result = gateway.client.post(
        "/graphql",
        json={
            "query": "query($id: ID!) { node(id: $id) { ... on Sku { active purchaseLimit"
            " product { name kind fulfillment presale { startsAt } }"
            " stock { available } } } }",
            "variables": {"id": DEMO_SKU_ID},
        },
        headers={"Accept-Language": "en"},  # the name as the catalogue writes it
    ).json()
    sku = result["data"]["node"]
    assert sku["product"]["name"] == "Sable Soymilk Maker Mini"
    assert sku["product"]["kind"] == "PHYSICAL" and sku["product"]["presale"] is None
    assert sku["active"] and sku["purchaseLimit"] is None
    assert sku["stock"]["available"] >= 100


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """A demo shop of this module's own: the cart tab places an order."""
    yield from open_shop("sqlite", tmp_path_factory.mktemp("graphiql-shop"))


def test_the_cart_tab_places_an_order_the_back_office_tab_then_shows(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live = shop.live
    created = _ask(live, CART_AND_CHECKOUT, "CartCreate")["data"]["cartCreate"]
    assert created["userErrors"] == []
    cart = created["cart"]
    assert cart["validation"] == {"ok": True, "errors": []}
    assert [line["quantity"] for line in cart["lines"]] == [1]
    pasted = {"cartId": cart["id"], "expectedTotal": cart["cost"]["total"]["amount"]}

    reviewed = _ask(live, CART_AND_CHECKOUT, "CartReview", **pasted)["data"]["cart"]
    assert reviewed["cost"] == cart["cost"]

    anonymous = _ask(live, CART_AND_CHECKOUT, "CheckoutComplete", **pasted)
    assert [e["code"] for e in anonymous["data"]["checkoutComplete"]["userErrors"]] == [
        "LOGIN_REQUIRED"
    ]
    customer = _run_token_command(monkeypatch, capsys, shop.urls, _token_command(CART_AND_CHECKOUT))
    placed = _ask(live, CART_AND_CHECKOUT, "CheckoutComplete", customer, **pasted)
    payload = placed["data"]["checkoutComplete"]
    assert payload["userErrors"] == []
    order = payload["order"]
    assert order["status"] == "PENDING_PAYMENT"
    again = _ask(live, CART_AND_CHECKOUT, "CheckoutComplete", customer, **pasted)
    assert again["data"]["checkoutComplete"]["order"]["id"] == order["id"]  # idempotent

    staff = _run_token_command(monkeypatch, capsys, shop.urls, _token_command(BACK_OFFICE_ORDERS))
    listed = _ask(live, BACK_OFFICE_ORDERS, "BackOfficeOrders", staff)
    assert "errors" not in listed, listed
    nodes = [edge["node"] for edge in listed["data"]["orders"]["edges"]]
    assert [n["number"] for n in nodes] == [order["number"]]
    assert nodes[0]["customer"]["email"] == "customer1@example.com"
    assert nodes[0]["lines"][0]["sku"]["stock"]["warehouses"]  # live stock per warehouse
    assert _ask(live, BACK_OFFICE_ORDERS, "BackOfficeOrders")["data"]["orders"]["edges"] == []


def test_the_graphiql_page_lists_every_tab_and_the_pinned_versions() -> None:
    root = Path(__file__).resolve().parents[2]
    section = (root / "docs" / "graphiql.md").read_text()
    for example in EXAMPLES:
        for name in _operations(example):
            assert f"`{name}`" in section, name
    lock = json.loads((root / "gateway" / "graphiql" / "package-lock.json").read_text())
    for package in ("graphiql", "@graphiql/plugin-explorer", "react", "react-dom"):
        version = lock["packages"][f"node_modules/{package}"]["version"]
        assert f"| {version} |" in section, (package, version)
