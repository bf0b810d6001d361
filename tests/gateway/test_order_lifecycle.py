"""An order's life after checkout, over real HTTP on SQLite and PostgreSQL: payment (in
full, or a presale's deposit then balance) sells the held stock and splits the order into
parcels by warehouse and supplier (services are scheduled); parcels shipped and delivered
move the order to PARTIALLY_SHIPPED, SHIPPED and COMPLETED; staff cancel a paid order with a
full refund. Every transition is tried legal and illegal: an illegal one is
INVALID_STATUS_TRANSITION and changes nothing. Every move is in the status history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.gateway.checkout_helpers import (
    BACKENDS,
    Goods,
    Shop,
    SkuFacts,
    global_id,
    post_all,
    run,
)
from tests.gateway.order_ops import (
    CANCEL,
    DELIVER,
    MARK_PAID,
    SHIP,
    amount,
    by_warehouse,
    deliver,
    error_codes,
    manager,
    mark_paid,
    order_shop,
    paid_order,
    place,
    read_order,
    ship,
    sku_in_two_warehouses,
    stock,
)
from tests.gateway.permission_cases import VIEWERS, ViewerCase, token_for


@pytest.fixture(scope="module", params=BACKENDS)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    yield from order_shop(tmp_path_factory, request.param, "lifecycle")


@pytest.fixture(scope="module")
def goods(shop: Shop) -> Goods:
    return Goods(shop.plain_skus())


def _payments(shop: Shop, order_id: str) -> list[tuple[str, Decimal]]:
    pk = _pk(order_id)
    return [
        (stage, Decimal(str(value)))
        for stage, value in shop.sql(
            "orders",
            "SELECT stage, amount FROM payments WHERE order_id = :o ORDER BY id",
            {"o": pk},
        )
    ]


def _pk(global_id_: str) -> int:
    import base64

    return int(base64.urlsafe_b64decode(global_id_ + "==").decode().split(":")[1])


def _reservation(shop: Shop, number: str) -> str | None:
    ref = shop.scalar("orders", "SELECT order_ref FROM orders WHERE number = :n", {"n": number})
    return shop.scalar(  # type: ignore[no-any-return]
        "inventory", "SELECT status FROM reservations WHERE order_ref = :r", {"r": ref}
    )


def _warehouses(shop: Shop, sku_id: int) -> dict[str, dict[str, int]]:
    return by_warehouse(shop, global_id("Sku", sku_id))


def test_paying_sells_the_held_stock_and_ships_one_parcel_per_warehouse(
    shop: Shop, goods: Goods
) -> None:
    sku = sku_in_two_warehouses(shop, goods)
    shop.set_available(sku.id, 2, 3)
    held = _warehouses(shop, sku.id)
    order = place(shop, [(sku.id, 4)], buyer=1, key="split-4")
    reserved = _warehouses(shop, sku.id)

    payload = mark_paid(shop, order["id"])
    assert payload["userErrors"] == []
    paid_ = payload["order"]
    assert paid_["status"] == "PAID"
    assert paid_["payments"] == [
        {
            "stage": "FULL",
            "amount": {"amount": order["cost"]["total"]["amount"]},
            "at": paid_["payments"][0]["at"],
        }
    ]
    assert _reservation(shop, order["number"]) == "SOLD"

    sold = _warehouses(shop, sku.id)
    taken = {code: reserved[code]["reserved"] - held[code]["reserved"] for code in held}
    parcels = {p["source"]: p for p in paid_["shipments"]}
    assert set(parcels) == {code for code, units in taken.items() if units}
    assert len(parcels) == 2, "4 units from warehouses holding 2 and 3 leave in two parcels"
    line_id = paid_["lines"][0]["id"]
    for code, parcel in parcels.items():
        assert parcel["status"] == "PENDING"
        assert parcel["items"] == [{"quantity": taken[code], "line": {"id": line_id}}]
        # Sold: on-hand and reserved went down together; what is available did not move.
        assert sold[code]["onHand"] == reserved[code]["onHand"] - taken[code]
        assert sold[code]["reserved"] == reserved[code]["reserved"] - taken[code]
        assert sold[code]["available"] == reserved[code]["available"]
    assert sum(taken.values()) == 4


def _dropship(shop: Shop) -> SkuFacts:
    for s in shop.skus():
        if (
            s.fulfillment == "DROPSHIP"
            and s.kind == "PHYSICAL"
            and s.is_published
            and s.is_active
            and s.sale is not None
            and not s.is_presale
            and (s.purchase_limit is None or s.purchase_limit >= 2)
            and s.supplier_available >= 5
        ):
            return s
    raise AssertionError("the demo shop has no drop-ship SKU in stock")


def _service(shop: Shop, region: str = "CN-SH") -> SkuFacts:
    areas = shop.service_areas()
    for s in shop.skus():
        if (
            s.kind == "SERVICE"
            and s.is_published
            and s.is_active
            and s.sale is not None
            and region in areas.get(s.product_id, set())
            and s.available > 0
        ):
            return s
    raise AssertionError("the demo shop has no service for CN-SH")


def test_drop_ship_lines_go_to_their_supplier_and_services_are_scheduled(
    shop: Shop, goods: Goods
) -> None:
    plain, dropship, service = goods.take(), _dropship(shop), _service(shop)
    order = paid_order(
        shop, [(plain.id, 1), (dropship.id, 2), (service.id, 1)], buyer=2, key="mixed"
    )
    by_sku = {line["sku"]["id"]: line["id"] for line in order["lines"]}
    sources = {p["source"]: p["items"] for p in order["shipments"]}
    supplier = f"supplier:{dropship.supplier_id}"
    assert sources[supplier] == [{"quantity": 2, "line": {"id": by_sku[dropship.gid]}}]
    warehouse_parcels = [items for source, items in sources.items() if source != supplier]
    assert warehouse_parcels == [[{"quantity": 1, "line": {"id": by_sku[plain.gid]}}]]
    assert [a["line"]["id"] for a in order["serviceAppointments"]] == [by_sku[service.gid]]
    assert order["serviceAppointments"][0]["status"] == "TO_SCHEDULE"
    # The buyer sees that a supplier ships it, not which one (Product.supplier is staff only).
    mine = read_order(shop, order["id"], token=shop.customer_token(2))
    assert sorted(p["source"] for p in mine["shipments"]) == sorted(
        "DROPSHIP" if s == supplier else s for s in sources
    )


def test_paying_twice_or_a_cancelled_order_is_refused_and_changes_nothing(
    shop: Shop, goods: Goods
) -> None:
    sku = goods.take()
    order = paid_order(shop, [(sku.id, 1)], buyer=3, key="twice")
    stock = _stock(shop, sku.id)
    again = mark_paid(shop, order["id"])
    assert error_codes(again) == ["INVALID_STATUS_TRANSITION"]
    assert again["order"] is None
    assert _payments(shop, order["id"]) == [("FULL", amount(order["cost"]["total"]))]
    assert _stock(shop, sku.id) == stock
    assert len(read_order(shop, order["id"])["shipments"]) == 1

    cancelled = place(shop, [(sku.id, 1)], buyer=3, key="cancelled-first")
    undone = shop.query(
        CANCEL, {"id": cancelled["id"], "reason": "changed my mind"}, token=shop.customer_token(3)
    )
    assert undone["orderCancel"]["userErrors"] == []
    refused = mark_paid(shop, cancelled["id"])
    assert error_codes(refused) == ["INVALID_STATUS_TRANSITION"]
    assert _payments(shop, cancelled["id"]) == []
    assert read_order(shop, cancelled["id"])["shipments"] == []

    missing = mark_paid(shop, global_id("Order", 999_999))
    assert error_codes(missing) == ["ORDER_NOT_FOUND"]
    not_an_order = mark_paid(shop, sku.gid)
    assert error_codes(not_an_order) == ["ORDER_NOT_FOUND"]


def test_parcels_move_the_order_through_shipped_to_completed(shop: Shop, goods: Goods) -> None:
    sku = sku_in_two_warehouses(shop, goods)
    shop.set_available(sku.id, 1, 1)
    order = paid_order(shop, [(sku.id, 2)], buyer=4, key="two-parcels")
    first, second = (p["id"] for p in order["shipments"])

    early = deliver(shop, first)  # PENDING -> DELIVERED skips a step
    assert error_codes(early) == ["INVALID_STATUS_TRANSITION"]
    blank = shop.query(SHIP, {"id": first, "carrier": " ", "tracking": ""}, token=manager(shop))
    assert sorted(e["field"][0] for e in blank["shipmentMarkShipped"]["userErrors"]) == [
        "carrier",
        "trackingNumber",
    ]
    assert read_order(shop, order["id"])["status"] == "PAID"

    shipped = ship(shop, first, tracking="SF-1")
    assert shipped["userErrors"] == []
    assert shipped["shipment"]["status"] == "SHIPPED"
    assert shipped["shipment"]["carrier"] == "SF Express"
    assert shipped["shipment"]["trackingNumber"] == "SF-1"
    assert shipped["shipment"]["order"]["status"] == "PARTIALLY_SHIPPED"
    assert error_codes(ship(shop, first, tracking="SF-again")) == ["INVALID_STATUS_TRANSITION"]
    assert read_order(shop, order["id"])["shipments"][0]["trackingNumber"] == "SF-1"

    assert ship(shop, second, tracking="SF-2")["shipment"]["order"]["status"] == "SHIPPED"
    assert deliver(shop, first)["shipment"]["order"]["status"] == "SHIPPED"
    assert error_codes(deliver(shop, first)) == ["INVALID_STATUS_TRANSITION"]
    done = deliver(shop, second)
    assert done["shipment"]["order"]["status"] == "COMPLETED"
    assert done["shipment"]["deliveredAt"] is not None
    assert error_codes(ship(shop, second)) == ["INVALID_STATUS_TRANSITION"]
    assert error_codes(ship(shop, global_id("Shipment", 999_999))) == ["SHIPMENT_NOT_FOUND"]

    history = read_order(shop, order["id"])["statusHistory"]
    assert [(h["fromStatus"], h["toStatus"]) for h in history] == [
        (None, "PENDING_PAYMENT"),
        ("PENDING_PAYMENT", "PAID"),
        ("PAID", "PARTIALLY_SHIPPED"),
        ("PARTIALLY_SHIPPED", "SHIPPED"),
        ("SHIPPED", "COMPLETED"),
    ]
    assert [h["actor"] for h in history] == [
        "customer:" + str(shop.customer_id("customer4@example.com"))
    ] + ["staff:1"] * 4
    assert "SF-1" in history[2]["reason"]
    # The buyer sees who only as a kind of actor.
    mine = read_order(shop, order["id"], token=shop.customer_token(4))
    assert [h["actor"] for h in mine["statusHistory"]] == ["customer"] + ["staff"] * 4
    # A completed order cannot be cancelled.
    refused = shop.query(CANCEL, {"id": order["id"], "reason": "too late"}, token=manager(shop))
    assert error_codes(refused["orderCancel"]) == ["INVALID_STATUS_TRANSITION"]


def _coupon_uses(shop: Shop, number: str) -> int:
    ref = shop.scalar("orders", "SELECT order_ref FROM orders WHERE number = :n", {"n": number})
    return int(
        shop.scalar(
            "pricing",
            "SELECT COUNT(*) FROM coupon_usages WHERE order_ref = :r AND released_at IS NULL",
            {"r": ref},
        )
    )


def test_staff_cancel_a_paid_order_refunding_it_whole_and_restocking(
    shop: Shop, goods: Goods
) -> None:
    sku = goods.take(dearer_than=Decimal(300))
    before = _stock(shop, sku.id)
    order = paid_order(shop, [(sku.id, 2)], buyer=5, key="cancel-paid", coupons=["SAVE50"])
    assert _coupon_uses(shop, order["number"]) == 1
    sold = _stock(shop, sku.id)
    assert sold["onHand"] == before["onHand"] - 2

    by_owner = shop.query(CANCEL, {"id": order["id"], "reason": "no"}, token=shop.customer_token(5))
    assert error_codes(by_owner["orderCancel"]) == ["INVALID_STATUS_TRANSITION"]
    no_reason = shop.query(CANCEL, {"id": order["id"], "reason": " "}, token=manager(shop))
    assert error_codes(no_reason["orderCancel"]) == ["INVALID_INPUT"]
    assert read_order(shop, order["id"])["status"] == "PAID"

    cancelled = shop.query(
        CANCEL, {"id": order["id"], "reason": "out of stock at the warehouse"}, token=manager(shop)
    )["orderCancel"]
    assert cancelled["userErrors"] == []
    assert cancelled["order"]["status"] == "CANCELLED"
    last = cancelled["order"]["statusHistory"][-1]
    assert (last["fromStatus"], last["toStatus"], last["actor"]) == ("PAID", "CANCELLED", "staff:1")
    assert f"{order['cost']['total']['amount']} refunded" in last["reason"]
    assert _stock(shop, sku.id) == before, "the sold units are back on the shelf"
    assert _coupon_uses(shop, order["number"]) == 0

    again = shop.query(CANCEL, {"id": order["id"], "reason": "again"}, token=manager(shop))
    assert error_codes(again["orderCancel"]) == ["INVALID_STATUS_TRANSITION"]
    assert _stock(shop, sku.id) == before, "a second cancel restocks nothing"
    parcel = order["shipments"][0]["id"]
    assert error_codes(ship(shop, parcel)) == ["INVALID_STATUS_TRANSITION"]
    assert error_codes(mark_paid(shop, order["id"])) == ["INVALID_STATUS_TRANSITION"]


def test_a_shipped_order_cannot_be_cancelled(shop: Shop, goods: Goods) -> None:
    order = paid_order(shop, [(goods.take().id, 1)], buyer=6, key="shipped-no-cancel")
    assert ship(shop, order["shipments"][0]["id"])["userErrors"] == []
    refused = shop.query(CANCEL, {"id": order["id"], "reason": "late"}, token=manager(shop))
    assert error_codes(refused["orderCancel"]) == ["INVALID_STATUS_TRANSITION"]
    assert read_order(shop, order["id"])["status"] == "SHIPPED"


def _open_presale(shop: Shop) -> SkuFacts:
    now = datetime.now(UTC)
    for sku in shop.skus():
        if (
            sku.is_presale
            and sku.is_published
            and sku.is_active
            and sku.available >= 2
            and sku.presale_starts_at is not None
            and sku.presale_ends_at is not None
            and sku.presale_starts_at < now < sku.presale_ends_at
            and (sku.purchase_limit is None or sku.purchase_limit >= 1)
        ):
            return sku
    raise AssertionError("the demo shop has no open presale")


def test_a_presale_order_pays_its_deposit_then_its_balance_once_the_presale_ends(
    shop: Shop,
) -> None:
    sku = _open_presale(shop)
    order = place(shop, [(sku.id, 1)], buyer=7, key="presale")
    deposit, total = amount(order["cost"]["depositDue"]), amount(order["cost"]["total"])
    assert 0 < deposit < total

    first = mark_paid(shop, order["id"])
    assert first["userErrors"] == []
    assert first["order"]["status"] == "PENDING_PAYMENT"
    assert first["order"]["shipments"] == []
    assert [(p["stage"], amount(p["amount"])) for p in first["order"]["payments"]] == [
        ("DEPOSIT", deposit)
    ]
    assert first["order"]["statusHistory"][-1]["reason"].lower() == "payment deposit"
    assert _reservation(shop, order["number"]) == "CONFIRMED"

    early = mark_paid(shop, order["id"])
    assert error_codes(early) == ["INVALID_STATUS_TRANSITION"]
    assert "presale ends" in early["userErrors"][0]["message"]
    assert _payments(shop, order["id"]) == [("DEPOSIT", deposit)]

    # Once paid a deposit, the buyer cannot cancel alone (staff can).
    by_owner = shop.query(CANCEL, {"id": order["id"], "reason": "no"}, token=shop.customer_token(7))
    assert error_codes(by_owner["orderCancel"]) == ["INVALID_STATUS_TRANSITION"]

    ended = datetime.now(UTC) - timedelta(minutes=1)
    shop.sql(
        "catalog",
        "UPDATE products SET presale_ends_at = :e WHERE id = :p",
        {"e": ended, "p": sku.product_id},
    )
    balance = mark_paid(shop, order["id"])
    assert balance["userErrors"] == []
    assert balance["order"]["status"] == "PAID"
    assert [(p["stage"], amount(p["amount"])) for p in balance["order"]["payments"]] == [
        ("DEPOSIT", deposit),
        ("BALANCE", total - deposit),
    ]
    assert len(balance["order"]["shipments"]) >= 1
    assert _reservation(shop, order["number"]) == "SOLD"
    assert error_codes(mark_paid(shop, order["id"])) == ["INVALID_STATUS_TRANSITION"]


def test_two_staff_paying_one_order_at_once_pay_it_once(shop: Shop, goods: Goods) -> None:
    sku = goods.take()
    order = place(shop, [(sku.id, 3)], buyer=8, key="race-pay")
    placed = _stock(shop, sku.id)
    token = manager(shop)
    results = run(lambda: post_all(shop.live.url, [(MARK_PAID, {"id": order["id"]}, token)] * 4))
    payloads = [r["data"]["orderMarkPaid"] for r in results]
    assert sorted(error_codes(p) for p in payloads) == [[]] + [["INVALID_STATUS_TRANSITION"]] * 3
    assert _payments(shop, order["id"]) == [("FULL", amount(order["cost"]["total"]))]
    after = _stock(shop, sku.id)
    assert (after["onHand"], after["reserved"]) == (placed["onHand"] - 3, placed["reserved"] - 3)
    assert len(read_order(shop, order["id"])["shipments"]) >= 1


@pytest.mark.parametrize("viewer", VIEWERS, ids=[v.name for v in VIEWERS])
def test_order_mutations_need_manage_orders(shop: Shop, goods: Goods, viewer: ViewerCase) -> None:
    """orderMarkPaid, shipmentMarkShipped and shipmentMarkDelivered: PERMISSION_DENIED and no
    change without MANAGE_ORDERS, applied with it."""
    key = f"matrix-{viewer.name}"
    sku = goods.common()
    pending = place(shop, [(sku.id, 1)], buyer=9, key=key + "-pending")
    to_ship = paid_order(shop, [(sku.id, 1)], buyer=9, key=key + "-paid")
    to_deliver = paid_order(shop, [(sku.id, 1)], buyer=9, key=key + "-shipped")
    assert ship(shop, to_deliver["shipments"][0]["id"])["userErrors"] == []
    token = token_for(shop.settings, viewer)
    allowed = viewer.holds_any(("MANAGE_ORDERS",))

    tries = [
        ("orderMarkPaid", MARK_PAID, {"id": pending["id"]}, "order"),
        (
            "shipmentMarkShipped",
            SHIP,
            {"id": to_ship["shipments"][0]["id"], "carrier": "EMS", "tracking": "1"},
            "shipment",
        ),
        ("shipmentMarkDelivered", DELIVER, {"id": to_deliver["shipments"][0]["id"]}, "shipment"),
    ]
    for name, document, variables, target in tries:
        result = shop.live.query(document, variables, token=token)
        assert "errors" not in result, result["errors"]
        payload = result["data"][name]
        if allowed:
            assert payload["userErrors"] == [], (name, payload)
            assert payload[target] is not None
        else:
            assert error_codes(payload) == ["PERMISSION_DENIED"], (name, payload)
            assert payload[target] is None

    states = [read_order(shop, o["id"]) for o in (pending, to_ship, to_deliver)]
    if allowed:
        assert [o["status"] for o in states] == ["PAID", "SHIPPED", "COMPLETED"]
    else:
        assert [o["status"] for o in states] == ["PENDING_PAYMENT", "PAID", "SHIPPED"]
        assert _payments(shop, pending["id"]) == []
        assert states[1]["shipments"][0]["status"] == "PENDING"
        assert states[2]["shipments"][0]["status"] == "SHIPPED"


def _stock(shop: Shop, sku_id: int) -> dict[str, Any]:
    return stock(shop, global_id("Sku", sku_id))


def test_two_staff_cancelling_a_paid_order_at_once_refund_and_restock_once(
    shop: Shop, goods: Goods
) -> None:
    sku = goods.take()
    before = _stock(shop, sku.id)
    order = paid_order(shop, [(sku.id, 2)], buyer=10, key="cancel-race")
    token = manager(shop)
    variables = {"id": order["id"], "reason": "fraud check failed"}
    results = run(lambda: post_all(shop.live.url, [(CANCEL, variables, token)] * 3))
    payloads = [r["data"]["orderCancel"] for r in results]
    assert sorted(error_codes(p) for p in payloads) == [[]] + [["INVALID_STATUS_TRANSITION"]] * 2
    history = read_order(shop, order["id"])["statusHistory"]
    assert [h["toStatus"] for h in history].count("CANCELLED") == 1
    assert _stock(shop, sku.id) == before
