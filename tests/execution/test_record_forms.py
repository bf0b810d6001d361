"""Record forms (gateway/execution/records.py): leaves completed straight from records
answer as the strawberry types do, and never carry a staff-only field.

The tables are checked against the schema (every field they name exists, takes no
arguments and has no field extension, so no permission guard is ever bypassed), then
listings that select the record-form types' fields, inline (every field from the table,
aliases and ``__typename`` included) and mixed with staff-only fields (which make the
position build the strawberry object and run the guarded resolver), are compared with
standard execution for a buyer and for staff.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest

from gateway.auth import ANONYMOUS
from gateway.execution.records import registered_forms

from .test_differential_gateway import CUSTOMER, STAFF, Harness

INLINE = """
{ products(first: 8, sort: PRICE_DESC) { edges { node { id
    category { __typename id slug name label: name }
    priceRange { min { amount currency __typename } max { amount } }
    promotions { id name kind description startsAt endsAt couponRequired __typename }
    skus { code
      price { __typename list { amount currency } sale { amount cur: currency } asOf }
      stock { available inStock status }
    }
} } } }
"""

WITH_STAFF_FIELDS = """
{ products(first: 8, filter: { kind: BUNDLE }) { edges { node { id
    category { name parent { name } }
    promotions { id name translations { language name } }
    skus { code
      price { sale { amount } }
      stock { available onHand reserved warehouses { warehouseCode available } status }
    }
    bundleItems { sku { price { list { amount } } stock { inStock onHand } } }
} } } }
"""


@pytest.fixture(scope="module")
def harness(sqlite_shop: dict[str, str]) -> Iterator[Harness]:
    harness = Harness(sqlite_shop)
    yield harness
    harness.close()


def test_the_tables_name_only_plain_fields_of_their_types() -> None:
    from gateway.schema import schema

    forms = registered_forms()
    assert {"Money", "PriceRange", "Price", "StockLevel", "Promotion", "Category"} <= set(forms)
    for type_name, form in forms.items():
        type_ = schema._schema.get_type(type_name)
        assert type_ is not None, type_name
        for field_name in form.fields:
            field = type_.fields[field_name]  # type: ignore[union-attr]
            assert not field.args, f"{type_name}.{field_name}"
            definition = field.extensions["strawberry-definition"]
            assert not definition.extensions, f"{type_name}.{field_name} is guarded"
        assert form.serialized <= set(form.fields)


@pytest.mark.parametrize(
    "amount",
    ["0.005", "0.015", "-0.005", "-2.675", "1.2345", "0", "10", "1E+2", "9" * 26 + ".995"],
)
def test_money_amounts_round_as_the_money_type_does(amount: str) -> None:
    """The table's amount, quantized through a context of its own (catalog_records.py),
    is what the schema's Money serializes (``str`` of its quantized amount): the same
    half-up rounding, and an amount past the precision refused alike."""
    from gateway.schema.common import Money

    written = registered_forms()["Money"].fields["amount"]
    try:
        expected: object = str(Money.of(Decimal(amount), "CNY").amount)
    except InvalidOperation:
        expected = InvalidOperation
    try:
        found: object = written((Decimal(amount), "CNY"), None)
    except InvalidOperation:
        found = InvalidOperation
    assert found == expected


def _nodes(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in response["data"]["products"]["edges"]]


@pytest.mark.parametrize(
    "viewer", [ANONYMOUS, CUSTOMER, STAFF], ids=["anonymous", "customer", "staff"]
)
def test_inline_records_answer_as_standard_execution(harness: Harness, viewer: Any) -> None:
    response = harness.compare(INLINE, {}, viewer, calls=True)
    assert "errors" not in response
    nodes = _nodes(response)
    assert any(node["promotions"] for node in nodes)
    sku = nodes[0]["skus"][0]
    assert sku["price"]["__typename"] == "Price"
    assert set(sku["price"]["sale"]) == {"amount", "cur"}
    assert nodes[0]["category"]["label"] == nodes[0]["category"]["name"]


@pytest.mark.parametrize("viewer", [CUSTOMER, STAFF], ids=["customer", "staff"])
def test_staff_only_fields_beside_records_stay_guarded(harness: Harness, viewer: Any) -> None:
    response = harness.compare(WITH_STAFF_FIELDS, {}, viewer)
    nodes = _nodes(response)
    assert nodes
    stocks = [sku["stock"] for node in nodes for sku in node["skus"]]
    stocks += [item["sku"]["stock"] for node in nodes for item in node["bundleItems"]]
    translations = [p["translations"] for node in nodes for p in node["promotions"]]
    if viewer is STAFF:
        assert all(isinstance(s["onHand"], int) for s in stocks)
        assert all(isinstance(s["warehouses"], list) for s in stocks if "warehouses" in s)
        assert all(isinstance(t, list) for t in translations)
    else:
        assert all(s["onHand"] is None and s.get("reserved") is None for s in stocks)
        assert all(s.get("warehouses") is None for s in stocks)
        assert all(t is None for t in translations)


# Products, edges and SKUs kept as records (ObjectPlan.keeps_records): every plain field
# of the three tables, then the same listing with staff-only fields and resolvers beside
# them (the positions then build the strawberry objects and run the guarded resolvers).
RECORD_PARENTS = """
{ products(first: 8, sort: PRICE_DESC) { totalCount pageInfo { endCursor }
  edges { cursor __typename node { __typename id slug name description kind fulfillment
    published brand tags weightGrams archived reserveOnAdd inStock
    category { name } priceRange { min { amount } } promotions { name }
    media(first: 1) { id } specifications { display }
    skus { __typename id code name active purchaseLimit selectedOptions { name value }
      image { id } price { sale { amount } } stock { available inStock } }
} } } }
"""

RECORD_PARENTS_WITH_STAFF_FIELDS = """
{ products(first: 8, filter: { kind: BUNDLE }) { edges { cursor node { id name
    supplier { name } translations { language name } seo { title }
    skus { code costPrice { amount } product { slug } stock { onHand } }
} } } }
"""


@pytest.mark.parametrize(
    "viewer", [ANONYMOUS, CUSTOMER, STAFF], ids=["anonymous", "customer", "staff"]
)
def test_records_as_parents_answer_as_standard_execution(harness: Harness, viewer: Any) -> None:
    response = harness.compare(RECORD_PARENTS, {}, viewer, calls=True)
    assert "errors" not in response
    nodes = _nodes(response)
    assert nodes and all(node["skus"] for node in nodes)
    assert any(sku["selectedOptions"] for node in nodes for sku in node["skus"])


@pytest.mark.parametrize("viewer", [CUSTOMER, STAFF], ids=["customer", "staff"])
def test_staff_only_fields_beside_record_parents_stay_guarded(
    harness: Harness, viewer: Any
) -> None:
    response = harness.compare(RECORD_PARENTS_WITH_STAFF_FIELDS, {}, viewer, calls=True)
    nodes = _nodes(response)
    assert nodes
    costs = [sku["costPrice"] for node in nodes for sku in node["skus"]]
    if viewer is STAFF:
        assert all(isinstance(node["translations"], list) for node in nodes)
        assert any(cost is not None for cost in costs)
    else:
        assert all(node["supplier"] is None and node["translations"] is None for node in nodes)
        assert all(cost is None for cost in costs)
        assert all(sku["stock"]["onHand"] is None for node in nodes for sku in node["skus"])
