"""Who sees and changes what: the permission matrix, generated from schema.graphql.

Every field and mutation carrying ``@requiresPermission`` is tried by every kind of viewer
(anonymous, a customer, staff with no permission, staff with each single permission). A
guarded field reads as null (a staff listing: empty) without a listed permission, with no
error, and carries data with one; a guarded mutation answers PERMISSION_DENIED and changes
nothing without one, and applies with one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.auth import ViewerKind
from tests.conftest import LiveGateway, _migrate_and_seed, serve, settings_for, sqlite_urls

from .permission_cases import (
    ADMIN,
    ALL_PERMISSIONS,
    FIELD_CASES,
    MUTATION_CASES,
    MUTATIONS_TESTED_ELSEWHERE,
    VIEWERS,
    Samples,
    ViewerCase,
    guarded_fields,
    guarded_mutations,
    guarded_values,
    load_samples,
    open_after_sales_request,
    parse_schema,
    place_order,
    token_for,
    uncached_settings,
    unpublished_slugs_and_codes,
)

SCHEMA = parse_schema()
GUARDED_FIELDS = guarded_fields(SCHEMA)
GUARDED_MUTATIONS = guarded_mutations(SCHEMA)
VIEWER_IDS = [v.name for v in VIEWERS]


@dataclass
class Shop:
    live: LiveGateway
    samples: Samples


@pytest.fixture(scope="module")
def samples(sqlite_shop: dict[str, str]) -> Samples:
    return load_samples(sqlite_shop)


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """A shop of its own (the session shop is read-only), with a paid order and an open
    after-sales request in it, so the staff listings of both have something to show."""
    urls = sqlite_urls(Path(tmp_path_factory.mktemp("permissions-shop")))
    asyncio.run(_migrate_and_seed(urls, products=60))
    # English, the base text: productUpdate's case renames a product by the name it read.
    for live in serve(settings_for(urls, languages={"default": "en"})):
        shop = Shop(live, load_samples(urls))
        mutations = SCHEMA.mutation_type.fields if SCHEMA.mutation_type else {}
        if "checkoutComplete" in mutations:
            _, order_id = place_order(live, shop.samples)
            if "afterSalesRequestCreate" in mutations:
                open_after_sales_request(live, order_id)
        yield shop


@pytest.fixture(scope="module")
def uncached(sqlite_shop: dict[str, str]) -> Iterator[LiveGateway]:
    """The session shop behind a gateway without the shared cache, so a count of source
    calls is what the request needs, not what an earlier test left cached."""
    yield from serve(uncached_settings(sqlite_shop))


def _as(gateway: LiveGateway, viewer: ViewerCase) -> str | None:
    return token_for(gateway.settings, viewer)


def test_the_schema_guards_something_and_only_with_known_permissions() -> None:
    assert GUARDED_FIELDS, "schema.graphql has no @requiresPermission field: the parser broke"
    assert GUARDED_MUTATIONS, "schema.graphql has no guarded mutation: the parser broke"
    for coordinate, any_of in {**GUARDED_FIELDS, **GUARDED_MUTATIONS}.items():
        assert any_of, f"{coordinate} is guarded by an empty anyOf list"
        unknown = set(any_of) - set(ALL_PERMISSIONS)
        assert not unknown, f"{coordinate} names unknown permissions {unknown}"


def test_every_guard_has_a_case_and_every_case_a_guard() -> None:
    missing = sorted(set(GUARDED_FIELDS) - set(FIELD_CASES)) + sorted(
        set(GUARDED_MUTATIONS) - set(MUTATION_CASES) - set(MUTATIONS_TESTED_ELSEWHERE)
    )
    assert not missing, f"add a case to tests/gateway/permission_cases.py for {missing}"
    stale = sorted(set(FIELD_CASES) - set(GUARDED_FIELDS)) + sorted(
        set(MUTATION_CASES) - set(GUARDED_MUTATIONS)
    )
    assert not stale, f"cases for fields the schema no longer guards: {stale}"


# ---------------------------------------------------------------------------------------
# Fields


@pytest.mark.parametrize("viewer", VIEWERS, ids=VIEWER_IDS)
@pytest.mark.parametrize("coordinate", sorted(GUARDED_FIELDS))
def test_a_guarded_field_reads_null_without_a_listed_permission(
    writable: Shop, coordinate: str, viewer: ViewerCase
) -> None:
    case = FIELD_CASES.get(coordinate)
    if case is None:
        pytest.fail(f"{coordinate} is guarded but has no case in permission_cases.FIELD_CASES")
    any_of = GUARDED_FIELDS[coordinate]
    live = writable.live
    result = live.query(case.query, case.variables(writable.samples), token=_as(live, viewer))
    assert "errors" not in result, result["errors"]
    values = guarded_values(result["data"])
    assert values, f"the case for {coordinate} never reached the field: {result['data']}"
    if viewer.holds_any(any_of):
        assert any(case.shows(v) for v in values), (
            f"{viewer.name} holds one of {any_of} but {coordinate} read {values}"
        )
    else:
        assert all(case.hides(v) for v in values), (
            f"{viewer.name} lacks {any_of} but {coordinate} read {values}"
        )


# ---------------------------------------------------------------------------------------
# Mutations


def _state(gateway: LiveGateway, query: str, target: str) -> dict[str, Any]:
    result = gateway.query(query, {"id": target}, token=_as(gateway, ADMIN))
    assert "errors" not in result, result["errors"]
    node = result["data"]["node"]
    assert node, f"the admin cannot read {target}"
    return node  # type: ignore[no-any-return]


def _mutation_params(*, allowed: bool) -> list[Any]:
    params = []
    for coordinate in sorted(set(GUARDED_MUTATIONS) - set(MUTATIONS_TESTED_ELSEWHERE)):
        for viewer in VIEWERS:
            if viewer.holds_any(GUARDED_MUTATIONS[coordinate]) is allowed:
                params.append(pytest.param(coordinate, viewer, id=f"{coordinate}-{viewer.name}"))
    return params


@pytest.mark.parametrize(("coordinate", "viewer"), _mutation_params(allowed=False))
def test_a_guarded_mutation_without_permission_is_denied_and_changes_nothing(
    writable: Shop, coordinate: str, viewer: ViewerCase
) -> None:
    gateway, samples = writable.live, writable.samples
    case = MUTATION_CASES.get(coordinate)
    if case is None:
        pytest.fail(f"{coordinate} is guarded but has no case in permission_cases.MUTATION_CASES")
    # Target 0 is never changed by an allowed viewer, so its audit log stays empty.
    target = case.target(samples, 0)
    before = _state(gateway, case.state_query, target)
    result = gateway.query(
        case.document, case.variables(target, before), token=_as(gateway, viewer)
    )
    assert "errors" not in result, result["errors"]
    payload = result["data"]["result"]
    assert [e["code"] for e in payload["userErrors"]] == ["PERMISSION_DENIED"]
    assert all(v is None for k, v in payload.items() if k != "userErrors"), payload
    after = _state(gateway, case.state_query, target)
    assert after == before
    assert after["auditLog"] == []


@pytest.mark.parametrize(("coordinate", "viewer"), _mutation_params(allowed=True))
def test_a_guarded_mutation_with_permission_applies(
    writable: Shop, coordinate: str, viewer: ViewerCase
) -> None:
    gateway, samples = writable.live, writable.samples
    case = MUTATION_CASES[coordinate]
    allowed = [v for v in VIEWERS if v.holds_any(GUARDED_MUTATIONS[coordinate])]
    target = case.target(samples, 1 + allowed.index(viewer))
    before = _state(gateway, case.state_query, target)
    variables = case.variables(target, before)
    result = gateway.query(case.document, variables, token=_as(gateway, viewer))
    assert "errors" not in result, result["errors"]
    payload = result["data"]["result"]
    assert payload["userErrors"] == []
    after = _state(gateway, case.state_query, target)
    assert case.applied(before, after, variables), (before, after)
    newest = after["auditLog"][0]
    assert newest["action"] == case.action
    assert newest["actor"] == f"staff:test-{viewer.name}"
    assert len(after["auditLog"]) == len(before["auditLog"]) + 1


# ---------------------------------------------------------------------------------------
# Unpublished products and what is never loaded


PRODUCT_BY_SLUG = "query($slug: String!) { product(slug: $slug) { id slug published } }"
PRODUCT_BY_ID = "query($id: ID!) { node(id: $id) { id ... on Product { published } } }"
COUNT = "query { products(first: 1) { totalCount } }"


@pytest.mark.parametrize("viewer", VIEWERS, ids=VIEWER_IDS)
def test_unpublished_products_exist_only_for_product_managers(
    gateway: LiveGateway, samples: Samples, viewer: ViewerCase
) -> None:
    token = _as(gateway, viewer)
    by_slug = gateway.query(PRODUCT_BY_SLUG, {"slug": samples.unpublished_slug}, token=token)
    by_id = gateway.query(PRODUCT_BY_ID, {"id": samples.unpublished_id}, token=token)
    assert "errors" not in by_slug and "errors" not in by_id
    if viewer.holds_any(("MANAGE_PRODUCTS",)):
        assert by_slug["data"]["product"] == {
            "id": samples.unpublished_id,
            "slug": samples.unpublished_slug,
            "published": False,
        }
        assert by_id["data"]["node"] == {"id": samples.unpublished_id, "published": False}
    else:
        assert by_slug["data"]["product"] is None
        assert by_id["data"]["node"] is None


def test_product_managers_list_unpublished_products_too(
    gateway: LiveGateway, sqlite_shop: dict[str, str]
) -> None:
    hidden = len(unpublished_slugs_and_codes(sqlite_shop["catalog"])[0])
    assert hidden > 0
    counts = {
        viewer.name: gateway.query(COUNT, token=_as(gateway, viewer))["data"]["products"][
            "totalCount"
        ]
        for viewer in VIEWERS
    }
    public = counts["anonymous"]
    assert counts["staff-MANAGE_PRODUCTS"] == public + hidden
    assert {n: c for n, c in counts.items() if n != "staff-MANAGE_PRODUCTS"} == dict.fromkeys(
        (v.name for v in VIEWERS if v.name != "staff-MANAGE_PRODUCTS"), public
    )


LOW_STOCK_PRODUCTS = """
query($after: String) {
  lowStock(threshold: 1000000, first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { product { slug } } }
  }
}
"""


def test_staff_without_manage_products_never_meet_an_unpublished_product(
    gateway: LiveGateway, sqlite_shop: dict[str, str]
) -> None:
    hidden = set(unpublished_slugs_and_codes(sqlite_shop["catalog"])[0])
    token = _as(gateway, next(v for v in VIEWERS if v.permissions == ("MANAGE_STOCK",)))
    seen: set[str] = set()
    after = None
    while True:
        result = gateway.query(LOW_STOCK_PRODUCTS, {"after": after}, token=token)
        assert "errors" not in result, result["errors"]
        page = result["data"]["lowStock"]
        seen |= {e["node"]["product"]["slug"] for e in page["edges"]}
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) > 20, "the walk saw too few products to mean anything"
    assert not seen & hidden, f"unpublished products shown: {sorted(seen & hidden)}"


STAFF_FIELDS_ON_A_LISTING = """
query {
  products(first: 40) {
    edges { node {
      supplier { name }
      auditLog { action }
      skus {
        costPrice { amount } auditLog { action }
        stock { onHand reserved warehouses { onHand } }
      }
    } }
  }
}
"""

GUARDED_LOADS = (
    "pricing.cost_prices_by_sku_ids",
    "catalog.suppliers_by_ids",
    "catalog.audit_by_product_ids",
    "inventory.audit_by_sku_ids",
    "pricing.audit_by_sku_ids",
)


@pytest.mark.parametrize(
    "viewer",
    [v for v in VIEWERS if v.kind is not ViewerKind.STAFF or not v.permissions],
    ids=lambda v: v.name,
)
def test_what_a_viewer_may_not_see_is_never_even_loaded(
    uncached: LiveGateway, viewer: ViewerCase
) -> None:
    result, calls = uncached.calls_during(STAFF_FIELDS_ON_A_LISTING, token=_as(uncached, viewer))
    assert "errors" not in result, result["errors"]
    assert not set(calls) & set(GUARDED_LOADS), calls
    assert calls.get("catalog.list_products") == 1, "the control: the listing itself loaded"


def test_staff_fields_on_a_listing_cost_one_call_each(uncached: LiveGateway) -> None:
    """The control for the test above: with the permissions, each guarded load is one
    batched call for the whole page."""
    result, calls = uncached.calls_during(STAFF_FIELDS_ON_A_LISTING, token=_as(uncached, ADMIN))
    assert "errors" not in result, result["errors"]
    assert {name: calls.get(name) for name in GUARDED_LOADS} == dict.fromkeys(GUARDED_LOADS, 1)
