"""Shipping deadlines as an operations lead watches them: every parcel of a paid order
carries a ship-by promise from its warehouse's or supplier's handling time, the due list
puts the earliest first and flags the late ones, and /metrics counts the late ones per
source (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.backoffice.ship_by import ShipByRules
from sources.orders.records import ShipmentSource
from tests.gateway.checkout_helpers import Goods, Shop

from .order_ops import db_time, manager, order_shop, paid_order, pk_of, ship

DUE = """
query Due($before: DateTime!, $source: String, $first: Int, $after: String) {
  shipmentsDue(before: $before, source: $source, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id source status shipBy overdue order { id } } }
  }
}
"""
ORDER = """
query Order($id: ID!) {
  order(id: $id) {
    payments { at }
    shipments { id source status shipBy overdue lines { id } }
    lines { id shipBy }
  }
}
"""
FAR = "2100-01-01T00:00:00Z"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    yield from order_shop(
        tmp_path_factory,
        request.param,
        "deadlines",
        ship_by_rules="SH-01=24, BJ-01=36",
        ship_by_hours=48,
    )


@pytest.fixture(scope="module")
def goods(shop: Shop) -> Goods:
    return Goods(shop.plain_skus())


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _order(shop: Shop, order_id: str) -> dict[str, Any]:
    return shop.query(ORDER, {"id": order_id}, token=manager(shop))["order"]  # type: ignore[no-any-return]


def _due(shop: Shop, **variables: Any) -> dict[str, Any]:
    variables.setdefault("before", FAR)
    return shop.query(DUE, variables, token=manager(shop))["shipmentsDue"]  # type: ignore[no-any-return]


def _promise(shop: Shop, shipment_id: str, at: datetime) -> None:
    """Move a parcel's promise (as if it had been paid long ago)."""
    shop.sql(
        "orders",
        "UPDATE shipments SET ship_by = :at WHERE id = :id",
        {"at": db_time(shop, at), "id": pk_of(shipment_id)},
    )


def _overdue_gauge(shop: Shop) -> dict[str, float]:
    text = shop.live.client.get("/metrics").text
    return {
        sample.labels["source"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "gateway_shipments_overdue"
        for sample in family.samples
    }


def test_each_parcel_is_promised_by_its_warehouses_handling_time(shop: Shop, goods: Goods) -> None:
    order = paid_order(shop, [(goods.take().id, 1)], buyer=3, key="promise-1")
    seen = _order(shop, order["id"])
    paid_at = _at(seen["payments"][-1]["at"])
    hours = {"SH-01": 24, "BJ-01": 36}
    assert seen["shipments"], seen
    for parcel in seen["shipments"]:
        expected = paid_at + timedelta(hours=hours.get(parcel["source"], 48))
        assert abs(_at(parcel["shipBy"]) - expected) < timedelta(seconds=1), parcel
        assert parcel["overdue"] is False
    # Each line is promised by the parcels that carry it.
    for line in seen["lines"]:
        carrying = [p["shipBy"] for p in seen["shipments"] if {"id": line["id"]} in p["lines"]]
        assert line["shipBy"] == max(carrying)


def test_the_due_list_puts_the_earliest_first_flags_the_late_and_drops_the_shipped(
    shop: Shop, goods: Goods
) -> None:
    first = paid_order(shop, [(goods.take().id, 1)], buyer=4, key="due-1")
    second = paid_order(shop, [(goods.take().id, 1)], buyer=5, key="due-2")
    late = _order(shop, first["id"])["shipments"][0]
    soon = _order(shop, second["id"])["shipments"][0]
    now = datetime.now(UTC)
    _promise(shop, late["id"], now - timedelta(hours=5))
    _promise(shop, soon["id"], now + timedelta(hours=1))

    listed = _due(shop, before=(now + timedelta(hours=2)).isoformat())
    ids = [e["node"]["id"] for e in listed["edges"]]
    assert ids.index(late["id"]) < ids.index(soon["id"])
    promises = [_at(e["node"]["shipBy"]) for e in listed["edges"]]
    assert promises == sorted(promises)
    flags = {e["node"]["id"]: e["node"]["overdue"] for e in listed["edges"]}
    assert (flags[late["id"]], flags[soon["id"]]) == (True, False)
    # Only what falls before `before`, only the source asked for.
    earlier = _due(shop, before=(now - timedelta(hours=1)).isoformat())
    assert late["id"] in [e["node"]["id"] for e in earlier["edges"]]
    assert soon["id"] not in [e["node"]["id"] for e in earlier["edges"]]
    for source in {late["source"], "NO-SUCH"}:
        only = _due(shop, source=source)
        assert {e["node"]["source"] for e in only["edges"]} <= {source}
    # Page by page, the same order.
    walked, after = [], None
    for _ in range(len(ids) + 1):
        page = _due(shop, before=(now + timedelta(hours=2)).isoformat(), first=1, after=after)
        walked += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == ids
    # A parcel that left is no longer due.
    ship(shop, late["id"])
    assert late["id"] not in [e["node"]["id"] for e in _due(shop)["edges"]]


def test_the_overdue_gauge_counts_late_parcels_per_source_at_each_scrape(
    shop: Shop, goods: Goods
) -> None:
    order = paid_order(shop, [(goods.take().id, 1)], buyer=6, key="gauge-1")
    parcel = _order(shop, order["id"])["shipments"][0]
    before = _overdue_gauge(shop).get(parcel["source"], 0)
    _promise(shop, parcel["id"], datetime.now(UTC) - timedelta(minutes=1))
    assert _overdue_gauge(shop)[parcel["source"]] == before + 1
    ship(shop, parcel["id"])
    assert _overdue_gauge(shop)[parcel["source"]] == before


def test_staff_without_manage_orders_see_no_due_list(shop: Shop) -> None:
    for token in (None, shop.staff_token("MANAGE_STOCK")):
        seen = shop.live.query(DUE, {"before": FAR}, token=token)
        assert seen["data"]["shipmentsDue"] == {
            "totalCount": 0,
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "edges": [],
        }


def test_presale_goods_are_promised_from_their_ships_from_date() -> None:
    rules = ShipByRules.parse("SH-01=24, supplier:7=72", default_hours=48)
    paid = datetime(2026, 12, 1, 10, tzinfo=UTC)
    ships_from = datetime(2026, 12, 20, tzinfo=UTC)
    warehouse, supplier = ShipmentSource("SH-01", None), ShipmentSource(None, 7)
    assert rules.deadline(warehouse, paid) == paid + timedelta(hours=24)
    assert rules.deadline(supplier, paid) == paid + timedelta(hours=72)
    assert rules.deadline(ShipmentSource("GZ-01", None), paid) == paid + timedelta(hours=48)
    assert rules.deadline(warehouse, paid, [ships_from]) == ships_from + timedelta(hours=24)
    # A presale already shipping counts from the payment.
    assert rules.deadline(warehouse, ships_from, [paid]) == ships_from + timedelta(hours=24)
