"""Last-known prices, promotions and display stock: kept in the shared cache for hours
beyond their fresh TTL, written whenever they are read fresh, shown while their source is
down with every such field marked (``Price.asOf``, ``extensions.stale`` paths), never kept
by the response cache, never used by the checkout; and a development gateway shows the
driver's words under ``extensions.debug`` only.

SQLite here (a table renamed away is a source that cannot answer), PostgreSQL and Redis in
the shared-cache tests (two gateway processes, one Redis): the last-known prices, and the
catalog's last good answers, which a second gateway serves while the catalog refuses.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from gateway.auth import ViewerKind, issue_token
from gateway.cache.entities import GRACE_SECONDS
from gateway.cache.settings import RECORD_VERSION
from gateway.execution import BREADTH_FIRST, STANDARD
from tests.cache.redis_support import SHARED_URL, require_redis, unique_prefix
from tests.conftest import _migrate_and_seed, serve, settings_for, sqlite_urls
from tests.gateway.checkout_helpers import Shop, address, global_id, run
from tests.resilience.outages import RESILIENCE, outage_shop

pytestmark = [
    pytest.mark.load_sensitive,  # tests/conftest.py: run again if the machine made it miss
    pytest.mark.long(seconds=60),  # tests/ordering.py: started first on a worker
]

LISTING = """{ products(first: 12, sort: NEWEST) { edges { node {
  slug priceRange { min { amount } } inStock promotions { name }
  skus { code active price { sale { amount } asOf } stock { available inStock } } } } } }"""
PRODUCT = """query P($slug: String!) { product(slug: $slug) { name
  skus { price { list { amount } sale { amount } asOf } } } }"""
CART_CREATE = """mutation($input: CartCreateInput!) { cartCreate(input: $input) {
  cart { id cost { total { amount } } } userErrors { code } } }"""
CHECKOUT = """mutation($c: ID!, $k: String!, $t: Decimal!) { checkoutComplete(cartId: $c,
  idempotencyKey: $k, expectedTotal: $t) { order { id } userErrors { code } } }"""
# What takes each source down on SQLite: its tables renamed away.
DOWN = {"pricing": ("prices", "promotions"), "inventory": ("stock_items",)}
PRICING_FIELDS = {"price", "priceRange", "promotions"}
STOCK_FIELDS = {"stock", "inStock"}
FRESH_TTLS_OFF = {  # every read reaches the source (and writes its last-known copy)
    "price_ttl": 0,
    "promotion_ttl": 0,
    "stock_ttl": 0,
    "response_cache": False,
}


@pytest.fixture(scope="module")
def sqlite_urls_seeded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    urls = sqlite_urls(tmp_path_factory.mktemp("last-known"))
    run(lambda: _migrate_and_seed(urls, products=60))
    return urls


def take_down(shop: Shop, *sources: str) -> None:
    for source in sources:
        for table in DOWN[source]:
            shop.sql(source, f"ALTER TABLE {table} RENAME TO {table}_away")
    time.sleep(GRACE_SECONDS)  # a fill just made is shared this long: let it lapse


def bring_back(shop: Shop, *sources: str) -> None:
    for source in sources:
        for table in DOWN[source]:
            shop.sql(source, f"ALTER TABLE {table}_away RENAME TO {table}")


def without_as_of(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: without_as_of(v) for k, v in data.items() if k != "asOf"}
    if isinstance(data, list):
        return [without_as_of(v) for v in data]
    return data


def stale_paths(body: dict[str, Any]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(e["path"]): e for e in body["extensions"]["stale"] if "path" in e}


def expected_stale_paths(listing: dict[str, Any]) -> set[tuple[Any, ...]]:
    paths: set[tuple[Any, ...]] = set()
    for i, edge in enumerate(listing["data"]["products"]["edges"]):
        node = ("products", "edges", i, "node")
        paths.add((*node, "promotions"))
        if any(sku["active"] for sku in edge["node"]["skus"]):  # else computed from nothing
            paths |= {(*node, "priceRange"), (*node, "inStock")}
        for j, _ in enumerate(edge["node"]["skus"]):
            paths |= {(*node, "skus", j, "price"), (*node, "skus", j, "stock")}
    return paths


@pytest.fixture(scope="module", params=[BREADTH_FIRST, STANDARD])
def shop(request: pytest.FixtureRequest, sqlite_urls_seeded: dict[str, str]) -> Iterator[Shop]:
    settings = settings_for(
        sqlite_urls_seeded,
        executor=request.param,
        cache=FRESH_TTLS_OFF,
        resilience=RESILIENCE,
        rate_limit={"enabled": False},
        sweep_interval_seconds=0,
    )
    for live in serve(settings):
        yield Shop("sqlite", sqlite_urls_seeded, live)


def test_prices_promotions_and_stock_stand_in_marked_while_their_sources_are_down(
    shop: Shop,
) -> None:
    fresh = shop.live.query(LISTING)
    assert "errors" not in fresh and "extensions" not in fresh
    assert any(e["node"]["promotions"] for e in fresh["data"]["products"]["edges"])
    slug = fresh["data"]["products"]["edges"][0]["node"]["slug"]
    page = shop.live.query(PRODUCT, {"slug": slug})
    read_before = datetime.now(UTC)
    take_down(shop, "pricing", "inventory")
    try:
        stale = shop.live.query(LISTING)
        stale_page = shop.live.query(PRODUCT, {"slug": slug})
    finally:
        bring_back(shop, "pricing", "inventory")

    assert "errors" not in stale, stale
    assert without_as_of(stale["data"]) == without_as_of(fresh["data"])
    marked = stale_paths(stale)
    assert set(marked) == expected_stale_paths(fresh)
    for path, entry in marked.items():
        assert entry["source"] == ("inventory" if path[-1] in ("stock", "inStock") else "pricing")
        assert datetime.fromisoformat(entry["asOf"]) <= read_before
    for edge in stale["data"]["products"]["edges"]:
        for sku in edge["node"]["skus"]:
            as_of = datetime.fromisoformat(sku["price"]["asOf"])
            assert as_of <= read_before
    assert "errors" not in stale_page
    assert without_as_of(stale_page["data"]) == without_as_of(page["data"])
    assert all(s["price"]["asOf"] for s in stale_page["data"]["product"]["skus"])

    # Back: the next request (once the breaker's pause is over) is current, unmarked.
    _wait_for_breaker()
    assert shop.live.query(LISTING) == fresh


def test_the_checkout_never_charges_a_last_known_price(shop: Shop) -> None:
    customer = shop.customer_id("customer2@example.com")
    token = issue_token(shop.settings, kind=ViewerKind.CUSTOMER, subject=str(customer))
    sku = next(s for s in shop.plain_skus())
    cart = shop.live.query(
        CART_CREATE,
        {
            "input": {
                "lines": [{"skuId": global_id("Sku", sku.id), "quantity": 1}],
                "shippingAddress": address(),
            }
        },
        token=token,
    )["data"]["cartCreate"]["cart"]
    shop.live.query(LISTING)  # its price is known from before
    reserved = shop.scalar(
        "inventory", f"SELECT SUM(reserved) FROM stock_items WHERE sku_id = {sku.id}"
    )
    variables = {
        "c": cart["id"],
        "k": f"last-known-{cart['id']}",
        "t": cart["cost"]["total"]["amount"],
    }
    take_down(shop, "pricing")
    try:
        body = shop.live.query(CHECKOUT, variables, token=token)
    finally:
        bring_back(shop, "pricing")
    assert body["data"] is None or body["data"]["checkoutComplete"] is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["SOURCE_UNAVAILABLE"]
    assert body["errors"][0]["extensions"]["source"] == "pricing"
    assert (
        shop.scalar("inventory", f"SELECT SUM(reserved) FROM stock_items WHERE sku_id = {sku.id}")
        == reserved
    )
    # The same key works when pricing is back: the refusal held nothing.
    _wait_for_breaker()
    placed = shop.live.query(CHECKOUT, variables, token=token)
    assert placed["data"]["checkoutComplete"]["userErrors"] == [], placed


def test_development_shows_the_drivers_words_under_debug_only(shop: Shop) -> None:
    seen = shop.live.query("{ products(first: 12) { pageInfo { endCursor } } }")
    after = seen["data"]["products"]["pageInfo"]["endCursor"]
    take_down(shop, "inventory")
    try:  # products never shown before: no last-known stock to stand in
        body = shop.live.query(
            """query($after: String) { products(first: 2, after: $after) {
                 edges { node { skus { stock { available } } } } } }""",
            {"after": after},
        )
    finally:
        bring_back(shop, "inventory")
    _wait_for_breaker()
    assert body["errors"], body
    for error in body["errors"]:
        assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
        assert "no such table" in error["extensions"]["debug"]
        assert "no such table" not in error["message"]
        assert error["extensions"]["retryable"] is False


# ---- shared through Redis, beyond the fresh TTL -----------------------------------------


def test_last_known_copies_are_shared_through_redis_and_outlive_the_fresh_copies() -> None:
    require_redis()
    prefix = unique_prefix()
    cache = {"key_prefix": prefix}
    with outage_shop(
        remote=False, redis_url=SHARED_URL, cache=cache, jwt_secret="x" * 32
    ) as outage:
        fresh = outage.live.query(LISTING)
        assert "errors" not in fresh
        client = redis.Redis.from_url(SHARED_URL)
        base = f"{prefix}:v{RECORD_VERSION}:"
        try:
            # The fresh copies expire (as after their TTL); the last-known ones stay.
            for kind in ("Price", "Promotions", "Stock", "Response", "ProductListing"):
                for key in client.scan_iter(match=f"{base}{kind}:*"):
                    client.delete(key)
            assert any(client.scan_iter(match=f"{base}LastKnown:Price:*"))
            # Another gateway process, sharing only Redis, answers from them.
            for other in serve(outage.live.settings):
                outage.break_("pricing", "refused")
                try:
                    first = other.query(LISTING)
                    second = other.query(LISTING)  # not from the response cache: re-marked
                finally:
                    outage.recover()
                for body in (first, second):
                    assert "errors" not in body, body
                    assert without_as_of(body["data"]) == without_as_of(fresh["data"])
                    # Pricing refuses: its fields come from the last-known copies. The
                    # stock fields are read fresh, but a read that misses its timeout on a
                    # loaded machine is answered from its last-known copy the same way.
                    stale = {p[-1] for p in stale_paths(body)}
                    assert PRICING_FIELDS <= stale <= PRICING_FIELDS | STOCK_FIELDS, stale
                # Back: current again, nothing stale was kept by the response cache.
                _wait_for_breaker()
                assert other.query(LISTING) == fresh
        finally:
            for key in client.scan_iter(match=f"{prefix}:*"):
                client.delete(key)
            client.close()


CATALOG_PAGE = """query P($slug: String!) { product(slug: $slug) { name kind
  skus { code active price { sale { amount } } } } }"""
CATALOG_LISTING = "{ products(first: 5, sort: NEWEST) { edges { node { slug name } } } }"


def test_the_catalogs_last_good_answers_are_shared_through_redis() -> None:
    """A gateway that never read the catalog itself answers from the copies another
    process kept, while the catalog refuses every connection."""
    require_redis()
    prefix = unique_prefix()
    with outage_shop(
        remote=False,
        redis_url=SHARED_URL,
        cache={"key_prefix": prefix},
        jwt_secret="x" * 32,
        languages={"default": "en"},  # the base name, which the test renames
    ) as outage:
        listing = outage.live.query(CATALOG_LISTING)
        assert "errors" not in listing, listing
        slugs = [e["node"]["slug"] for e in listing["data"]["products"]["edges"]]
        page = outage.live.query(CATALOG_PAGE, {"slug": slugs[0]})
        assert "errors" not in page and page["data"]["product"], page
        client = redis.Redis.from_url(SHARED_URL)
        base = f"{prefix}:v{RECORD_VERSION}:"
        try:
            assert any(client.scan_iter(match=f"{base}LastKnown:catalog:*"))
            # Only the copies are left: no fresh entry, no response, can answer for it.
            for key in client.scan_iter(match=f"{prefix}:*"):
                if not key.decode().startswith(f"{base}LastKnown:"):
                    client.delete(key)
            # Renamed since the copies were kept (as by another tool, no invalidation):
            # the copies say the old name until the catalog answers again.
            outage.sources["catalog"].sql(
                f"UPDATE products SET name = name || ' (renamed)' WHERE slug = '{slugs[0]}'"
            )
            for other in serve(outage.live.settings):
                outage.break_("catalog", "refused")
                try:
                    stale_listing = other.query(CATALOG_LISTING)
                    stale_page = other.query(CATALOG_PAGE, {"slug": slugs[0]})
                    # Never read by anyone: nothing to stand in, the product is null.
                    unseen = other.query(CATALOG_PAGE, {"slug": "never-seen-anywhere"})
                finally:
                    outage.recover()
                for body, fresh in ((stale_listing, listing), (stale_page, page)):
                    assert "errors" not in body, body
                    assert without_as_of(body["data"]) == without_as_of(fresh["data"])
                    assert {"source": "catalog"} in body["extensions"]["stale"], body
                assert unseen["data"] == {"product": None}
                assert {e["extensions"]["code"] for e in unseen["errors"]} == {"SOURCE_UNAVAILABLE"}
                # Back: current again, and not marked: the copy shown during the outage
                # was never cached as the current answer.
                _wait_for_breaker()
                current = other.query(CATALOG_PAGE, {"slug": slugs[0]})
                assert "extensions" not in current or "stale" not in current["extensions"]
                renamed = page["data"]["product"]["name"] + " (renamed)"
                assert current["data"]["product"]["name"] == renamed, current
        finally:
            for key in client.scan_iter(match=f"{prefix}:*"):
                client.delete(key)
            client.close()


def _wait_for_breaker() -> None:
    time.sleep(RESILIENCE["breaker_reset"] + 0.1)


def test_a_product_nothing_is_known_of_is_left_out_not_the_page(shop: Shop) -> None:
    """Under both executors: a listing leaves out the products it cannot price, naming
    each, and keeps the page; a product page answers the spec's way, the error on the
    price path."""
    seen = shop.live.query("{ products(first: 30) { pageInfo { endCursor } } }")
    after = {"after": seen["data"]["products"]["pageInfo"]["endCursor"]}
    names = shop.live.query(  # no prices asked: none read, none kept
        """query($after: String) {
             products(first: 3, after: $after) { edges { node { id slug } } } }""",
        after,
    )
    nodes = [e["node"] for e in names["data"]["products"]["edges"]]
    take_down(shop, "pricing")
    try:
        listing = shop.live.query(
            """query($after: String) { products(first: 3, after: $after) { totalCount
                 edges { node { slug skus { price { sale { amount } } } } } } }""",
            after,
        )
        page = shop.live.query(PRODUCT, {"slug": nodes[0]["slug"]})
    finally:
        bring_back(shop, "pricing")
    _wait_for_breaker()
    assert listing["data"]["products"]["edges"] == []
    assert listing["data"]["products"]["totalCount"] > 30
    assert sorted(e["extensions"]["productId"] for e in listing["errors"]) == sorted(
        n["id"] for n in nodes
    )
    for error in listing["errors"]:
        assert error["path"] == ["products", "edges"]
        assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
        assert error["extensions"]["source"] == "pricing"
    assert page["data"] == {"product": None}
    assert page["errors"]
    assert all(e["path"][0] == "product" and e["path"][-1] == "price" for e in page["errors"])


def test_a_product_whose_stock_nothing_is_known_of_is_left_out_not_shown_as_none(
    shop: Shop,
) -> None:
    """Under both executors, inventory down: a product whose stock was read before stands
    in from its last-known copy, marked; one whose stock was never read is left out of the
    listing, named, rather than shown as "none available"; its product page answers the
    spec's way, the error on the stock path and the null up to ``product``."""
    seen = shop.live.query("{ products(first: 40) { pageInfo { endCursor } } }")
    after = {"after": seen["data"]["products"]["pageInfo"]["endCursor"]}
    listing_query = """query($after: String) { products(first: 4, after: $after) {
        totalCount edges { node { id slug inStock
          skus { price { sale { amount } } stock { available inStock } } } } } }"""
    nodes = [
        e["node"]
        for e in shop.live.query(
            """query($after: String) {
                 products(first: 4, after: $after) { edges { node { id slug } } } }""",
            after,
        )["data"]["products"]["edges"]
    ]
    stock_page = """query P($slug: String!) { product(slug: $slug) { name inStock
      skus { code stock { available inStock } } } }"""
    known = [shop.live.query(stock_page, {"slug": n["slug"]}) for n in nodes[:2]]
    assert all("errors" not in body for body in known), known
    take_down(shop, "inventory")
    try:
        listing = shop.live.query(listing_query, after)
        stale_known = shop.live.query(stock_page, {"slug": nodes[0]["slug"]})
        unknown = shop.live.query(stock_page, {"slug": nodes[3]["slug"]})
    finally:
        bring_back(shop, "inventory")
    _wait_for_breaker()

    products = listing["data"]["products"]
    assert products["totalCount"] > 40
    # Known from before: shown from the copies, as they were, and marked.
    assert [e["node"]["id"] for e in products["edges"]] == [n["id"] for n in nodes[:2]]
    for edge, page in zip(products["edges"], known, strict=True):
        assert edge["node"]["inStock"] == page["data"]["product"]["inStock"]
        assert [s["stock"] for s in edge["node"]["skus"]] == [
            s["stock"] for s in page["data"]["product"]["skus"]
        ]
        for sku in edge["node"]["skus"]:
            assert sku["price"]["sale"]["amount"]  # pricing still answers
    assert {p[-1] for p in stale_paths(listing)} == {"stock", "inStock"}
    # Never read: left out, one error each, naming the product and the source.
    assert sorted(e["extensions"]["productId"] for e in listing["errors"]) == sorted(
        n["id"] for n in nodes[2:]
    )
    for error in listing["errors"]:
        assert error["path"] == ["products", "edges"]
        assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
        assert error["extensions"]["source"] == "inventory"
        assert "stock unknown" in error["message"]
    # The product pages: the known one as before, marked; the unknown one the spec's way.
    assert "errors" not in stale_known
    assert stale_known["data"] == known[0]["data"]
    assert stale_paths(stale_known)
    assert unknown["data"] == {"product": None}
    assert unknown["errors"]
    for error in unknown["errors"]:
        assert error["path"][0] == "product"
        assert error["path"][-1] in ("stock", "inStock")
        assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
        assert error["extensions"]["source"] == "inventory"


def test_a_bundle_whose_parts_stock_is_unknown_is_left_out_not_the_page(shop: Shop) -> None:
    """A bundle shows its parts' SKUs: its own stock known from before, a part's not, and
    inventory down. Without the part's stock its ``bundleItems`` could only be null, which
    the non-null fields up to the connection would turn into a blank page; the bundle is
    left out instead, named, and the page stands."""
    listing = """{ products(first: 1, filter: {kind: BUNDLE}) { totalCount edges { node {
        id skus { stock { available } } bundleItems { sku { code stock { available } } } } } } }"""
    bundles = shop.live.query(
        "{ products(first: 1, filter: {kind: BUNDLE}) { edges { node { id slug } } } }"
    )
    bundle = bundles["data"]["products"]["edges"][0]["node"]
    own_only = (
        """query P($slug: String!) { product(slug: $slug) { skus { stock { available } } } }"""
    )
    assert "errors" not in shop.live.query(own_only, {"slug": bundle["slug"]})  # copies made
    take_down(shop, "inventory")
    try:
        body = shop.live.query(listing)
    finally:
        bring_back(shop, "inventory")
    _wait_for_breaker()
    assert body["data"] is not None, body
    assert body["data"]["products"]["edges"] == []
    assert body["data"]["products"]["totalCount"] >= 1
    assert [e["extensions"]["productId"] for e in body["errors"]] == [bundle["id"]]
    assert body["errors"][0]["extensions"]["source"] == "inventory"


def test_a_suggestion_whose_price_is_unknown_is_left_out_of_predictive_search(
    shop: Shop,
) -> None:
    seen = shop.live.query("{ products(first: 50) { pageInfo { endCursor } } }")
    after = {"after": seen["data"]["products"]["pageInfo"]["endCursor"]}
    node = shop.live.query(
        """query($after: String) {
             products(first: 1, after: $after) { edges { node { id name } } } }""",
        after,
    )["data"]["products"]["edges"][0]["node"]
    suggest = """query S($q: String!) { predictiveSearch(query: $q) {
        products { id name priceRange { min { amount } } } queries } }"""
    names_only = """query S($q: String!) { predictiveSearch(query: $q) { products { id } } }"""
    found = shop.live.query(names_only, {"q": node["name"]})  # reads no price
    assert node["id"] in [p["id"] for p in found["data"]["predictiveSearch"]["products"]]
    take_down(shop, "pricing")
    try:
        body = shop.live.query(suggest, {"q": node["name"]})
    finally:
        bring_back(shop, "pricing")
    _wait_for_breaker()
    assert body["data"] is not None and body["data"]["predictiveSearch"] is not None, body
    shown = [p["id"] for p in body["data"]["predictiveSearch"]["products"]]
    named = [e["extensions"]["productId"] for e in body["errors"]]
    assert node["id"] in named and node["id"] not in shown
    for error in body["errors"]:
        assert error["path"] == ["predictiveSearch", "products"]
        assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
        assert error["extensions"]["source"] == "pricing"
