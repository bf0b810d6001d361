"""Stock visibility over real HTTP, on SQLite and PostgreSQL, with Redis as the shared
cache and the response cache on: in a `capped` shop buyers see at most the cap, in a
`status` shop 1 or 0; MANAGE_STOCK staff always see the exact figure; every viewer sees
the status; and no cache (records in Redis, anonymous responses, a CDN's GETs) ever hands
one viewer the other's figures, whoever asked first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gateway.auth import ViewerKind, issue_token
from gateway.stock.settings import StockVisibilitySettings
from tests.cache.live import cache_settings, live_gateway
from tests.cache.redis_support import SHARED_URL, require_redis, unique_prefix
from tests.conftest import LiveGateway
from tests.gateway.checkout_helpers import Goods, Shop
from tests.gateway.order_ops import order_shop

CAP = 10
LOW = 5
STOCK = """
query StockShown {
  products(first: 40) {
    edges { node { skus { id stock { available inStock status } } } }
  }
}
"""


def _levels(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert "errors" not in result, result["errors"]
    return {
        sku["id"]: sku["stock"]
        for edge in result["data"]["products"]["edges"]
        for sku in edge["node"]["skus"]
    }


def _status(exact: int) -> str:
    return "OUT_OF_STOCK" if exact <= 0 else "LOW_STOCK" if exact <= LOW else "IN_STOCK"


def _token(gateway: LiveGateway, kind: ViewerKind, *permissions: str) -> str:
    subject = "1" if kind is ViewerKind.CUSTOMER else "stock-visibility"
    return issue_token(gateway.settings, kind=kind, subject=subject, permissions=list(permissions))


def _gateway(shop: dict[str, str], visibility: str, prefix: str) -> Iterator[LiveGateway]:
    require_redis()
    stock = StockVisibilitySettings(visibility=visibility, cap=CAP, low_threshold=LOW)
    cache = cache_settings(response_cache=True, key_prefix=prefix)
    with live_gateway(shop, cache, redis_url=SHARED_URL, stock=stock) as live:
        yield live


@pytest.fixture(scope="module")
def prefix(shop: dict[str, str]) -> str:
    """One per backend (``shop`` is parametrized), shared by that backend's two gateways."""
    return unique_prefix()


@pytest.fixture(scope="module")
def capped(shop: dict[str, str], prefix: str) -> Iterator[LiveGateway]:
    yield from _gateway(shop, "capped", prefix)


@pytest.fixture(scope="module")
def status_only(shop: dict[str, str], prefix: str) -> Iterator[LiveGateway]:
    """The same Redis and key prefix as ``capped``: one cache shared by two shops' gateways."""
    yield from _gateway(shop, "status", prefix)


def test_buyers_see_at_most_the_cap_and_stock_staff_the_exact_figure_whoever_asks_first(
    capped: LiveGateway,
) -> None:
    stock_staff = _token(capped, ViewerKind.STAFF, "MANAGE_STOCK")
    # Staff first: their read fills the shared record cache with the exact records.
    exact = _levels(capped.query(STOCK, token=stock_staff))
    assert any(level["available"] > CAP for level in exact.values()), "no SKU above the cap"
    buyer_view = {
        sku: {
            "available": min(level["available"], CAP),
            "inStock": level["available"] > 0,
            "status": _status(level["available"]),
        }
        for sku, level in exact.items()
    }
    assert all(level["status"] == _status(level["available"]) for level in exact.values())

    first = capped.client.get("/graphql", params={"query": STOCK})
    again = capped.client.get("/graphql", params={"query": STOCK})
    assert _levels(first.json()) == buyer_view
    assert (first.headers["x-cache"], again.headers["x-cache"]) == ("MISS", "HIT")
    assert _levels(again.json()) == buyer_view
    assert "Authorization" in again.headers["vary"]

    # The cached anonymous answer is never a signed-in viewer's: staff still see it exact,
    # and nothing a CDN may keep.
    staff_get = capped.client.get(
        "/graphql", params={"query": STOCK}, headers={"Authorization": f"Bearer {stock_staff}"}
    )
    assert _levels(staff_get.json()) == exact
    assert "x-cache" not in staff_get.headers
    assert "private" in staff_get.headers["cache-control"]

    for token in (
        _token(capped, ViewerKind.CUSTOMER),
        _token(capped, ViewerKind.STAFF, "MANAGE_ORDERS", "MANAGE_AFTER_SALES"),
    ):
        assert _levels(capped.query(STOCK, token=token)) == buyer_view


def test_a_status_shop_shows_buyers_one_or_none_and_staff_the_count(
    status_only: LiveGateway,
) -> None:
    stock_staff = _token(status_only, ViewerKind.STAFF, "MANAGE_STOCK")
    anonymous = _levels(status_only.query(STOCK))
    exact = _levels(status_only.query(STOCK, token=stock_staff))
    assert any(level["available"] > 1 for level in exact.values())
    assert anonymous == {
        sku: {
            "available": 1 if level["available"] > 0 else 0,
            "inStock": level["inStock"],
            "status": _status(level["available"]),
        }
        for sku, level in exact.items()
    }
    statuses = {level["status"] for level in anonymous.values()}
    assert "IN_STOCK" in statuses


def test_gateways_with_other_visibility_never_share_an_anonymous_answer(
    capped: LiveGateway, status_only: LiveGateway
) -> None:
    # One Redis, one key prefix: were the visibility not in the key, the status shop
    # would serve the capped shop's figures from the response cache.
    query = STOCK.replace("StockShown", "StockShared")  # asked of neither gateway before
    capped.client.get("/graphql", params={"query": query})
    assert capped.client.get("/graphql", params={"query": query}).headers["x-cache"] == "HIT"
    served = status_only.client.get("/graphql", params={"query": query})
    assert served.headers["x-cache"] == "MISS"
    assert max(level["available"] for level in _levels(served.json()).values()) == 1


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """A capped shop of this module's own (it takes carts and orders), SQLite only: the
    messages are made in the gateway, the same on either backend."""
    stock = StockVisibilitySettings(visibility="capped", cap=CAP, low_threshold=LOW)
    yield from order_shop(tmp_path_factory, "sqlite", "stock-messages", stock=stock)


def test_a_shortage_message_never_tells_a_buyer_more_than_the_cap(writable: Shop) -> None:
    goods = Goods(writable.plain_skus())
    plenty, few = goods.take(), goods.take()
    writable.set_available(plenty.id, 37)
    writable.set_available(few.id, 4)
    token = writable.customer_token(1)
    created = writable.create_cart([(plenty.id, 38), (few.id, 5)], token=token)
    errors = {e["lineId"]: e for e in created["cart"]["validation"]["errors"]}
    by_sku = {line["sku"]["id"]: line["id"] for line in created["cart"]["lines"]}
    shown_plenty, shown_few = errors[by_sku[plenty.gid]], errors[by_sku[few.gid]]
    assert shown_plenty["code"] == shown_few["code"] == "INSUFFICIENT_STOCK"
    assert "37" not in shown_plenty["message"] and "at least 10" in shown_plenty["message"]
    assert shown_few["message"] == "only 4 left in stock"  # below the cap: as `available`

    placed = writable.checkout(created["cart"], "stock-messages-1", token=token)
    assert placed["order"] is None
    assert all("37" not in e["message"] for e in placed["userErrors"])
    assert {e["code"] for e in placed["userErrors"]} == {"INSUFFICIENT_STOCK"}
