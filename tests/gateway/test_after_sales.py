"""After-sales over real HTTP on SQLite and PostgreSQL: the buyer of a paid order asks to
return, be refunded for or exchange units; the refund is what was paid for them to the cent
(stacked promotions included, never today's price); units already asked for cannot be asked
for twice; staff resolve each request once (two at once: one wins), a retry with the same key
replays; a received return goes back on the shelf once; and no request ever disappears: the
queue lists them oldest first and flags the ones left open too long."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from gateway.auth import ViewerKind, issue_token
from tests.gateway.checkout_helpers import BACKENDS, Goods, Shop, global_id, post_all, run
from tests.gateway.order_ops import (
    REQUEST_COMPLETE,
    REQUEST_CREATE,
    REQUEST_RESOLVE,
    REQUESTS,
    after_sales_staff,
    amount,
    ask,
    by_warehouse,
    complete,
    db_time,
    delivered_order,
    error_codes,
    order_shop,
    paid,
    paid_order,
    pk_of,
    place,
    read_order,
    resolve,
    unit_shares,
)
from tests.gateway.permission_cases import VIEWERS, ViewerCase, token_for


@pytest.fixture(scope="module", params=BACKENDS)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    yield from order_shop(tmp_path_factory, request.param, "after-sales")


@pytest.fixture(scope="module")
def goods(shop: Shop) -> Goods:
    return Goods(shop.plain_skus())


def _line(order: dict[str, Any], sku_gid: str) -> dict[str, Any]:
    return next(line for line in order["lines"] if line["sku"]["id"] == sku_gid)


def _stacked_order(shop: Shop, goods: Goods, buyer: int) -> tuple[dict[str, Any], str, str]:
    """A paid order of three units of one SKU and two of another, bought with WELCOME10 and
    SAVE50 stacked, whose three-unit line does not split evenly into cents."""
    token = shop.customer_token(buyer)
    second = goods.take()
    for _ in range(20):
        first = goods.take(dearer_than=Decimal(200))
        created = shop.create_cart(
            [(first.id, 3), (second.id, 2)], token=token, coupons=["WELCOME10", "SAVE50"]
        )
        assert created["userErrors"] == [], created["userErrors"]
        line = next(x for x in created["cart"]["lines"] if x["sku"]["id"] == first.gid)
        if int(Decimal(line["total"]["amount"]) * 100) % 3:
            break
    else:
        raise AssertionError("no three-unit line with an uneven total")
    placed = shop.checkout(created["cart"], f"stacked-{buyer}", token=token)
    assert placed["userErrors"] == [], placed["userErrors"]
    order = paid(shop, placed["order"]["id"])
    return delivered_order(shop, order), first.gid, second.gid


def test_refunds_are_what_was_paid_to_the_cent_with_stacked_promotions(
    shop: Shop, goods: Goods
) -> None:
    order, three_gid, two_gid = _stacked_order(shop, goods, buyer=1)
    three, two = _line(order, three_gid), _line(order, two_gid)
    promotions = {d["promotion"]["name"] for line in order["lines"] for d in line["discounts"]}
    assert len(promotions) >= 2, f"the coupons did not stack: {promotions}"
    assert any(len(line["discounts"]) >= 2 for line in order["lines"])
    shares = unit_shares(amount(three["total"]), 3)
    assert len(set(shares)) == 2, "the units of the line differ by a cent"

    # Today's prices move; refunds keep to what was paid.
    shop.sql(
        "pricing",
        "UPDATE prices SET sale_amount = sale_amount + 100, list_amount = list_amount + 100",
    )

    first = ask(shop, order, "RETURN", [(three["id"], 1)], buyer=1)
    assert first["userErrors"] == []
    request = first["request"]
    assert (request["kind"], request["status"], request["overdue"]) == ("RETURN", "OPEN", False)
    assert amount(request["refundAmount"]) == shares[0]
    assert request["items"] == [
        {"quantity": 1, "refundAmount": {"amount": str(shares[0])}, "line": {"id": three["id"]}}
    ]
    second = ask(shop, order, "REFUND_ONLY", [(three["id"], 2)], buyer=1)["request"]
    assert amount(second["refundAmount"]) == shares[1] + shares[2]
    rest = ask(shop, order, "RETURN", [(two["id"], 2)], buyer=1)["request"]
    assert amount(rest["refundAmount"]) == amount(two["total"]) + amount(
        order["cost"]["shippingTotal"]
    )

    refunds = [amount(r["refundAmount"]) for r in (request, second, rest)]
    assert sum(refunds, Decimal(0)) == amount(order["cost"]["total"]), (
        "refunding every unit gives back exactly what was paid"
    )


def test_shipping_goes_back_when_the_whole_order_does(shop: Shop, goods: Goods) -> None:
    cheap = goods.take(cheaper_than=Decimal(150))
    order = delivered_order(shop, paid_order(shop, [(cheap.id, 1)], buyer=2, key="cheap"))
    shipping = amount(order["cost"]["shippingTotal"])
    assert shipping > 0, "an order under the free-shipping threshold pays shipping"
    asked = ask(shop, order, "RETURN", [(order["lines"][0]["id"], 1)], buyer=2)["request"]
    assert amount(asked["refundAmount"]) == amount(order["cost"]["total"])
    assert amount(asked["items"][0]["refundAmount"]) == amount(order["lines"][0]["total"])


def test_two_partial_returns_of_one_line_add_up_to_its_total(shop: Shop, goods: Goods) -> None:
    sku = goods.take()
    order = delivered_order(shop, paid_order(shop, [(sku.id, 5)], buyer=3, key="partial"))
    line = order["lines"][0]
    shares = unit_shares(amount(line["total"]), 5)
    one = ask(shop, order, "RETURN", [(line["id"], 2)], buyer=3)["request"]
    two = ask(shop, order, "RETURN", [(line["id"], 3)], buyer=3)["request"]
    assert amount(one["refundAmount"]) == sum(shares[:2], Decimal(0))
    assert amount(one["refundAmount"]) + amount(two["refundAmount"]) == amount(line["total"]) + (
        amount(order["cost"]["shippingTotal"])
    )
    for r in (one, two):
        assert resolve(shop, r["id"], approve=True)["userErrors"] == []


def test_units_already_asked_for_cannot_be_asked_for_again(shop: Shop, goods: Goods) -> None:
    sku, other = goods.take(), goods.take()
    order = paid_order(shop, [(sku.id, 2)], buyer=4, key="twice-asked")
    foreign = paid_order(shop, [(other.id, 1)], buyer=4, key="foreign")
    line = order["lines"][0]
    assert ask(shop, order, "RETURN", [(line["id"], 1)], buyer=4)["userErrors"] == []

    too_many = ask(shop, order, "REFUND_ONLY", [(line["id"], 2)], buyer=4)
    assert [(e["code"], e["lineId"]) for e in too_many["userErrors"]] == [
        ("INVALID_INPUT", line["id"])
    ]
    assert "only 1" in too_many["userErrors"][0]["message"]
    assert too_many["request"] is None

    mixed = ask(
        shop,
        order,
        "RETURN",
        [(foreign["lines"][0]["id"], 1), (line["id"], 0), (global_id("OrderLine", 999_999), 1)],
        buyer=4,
    )
    assert sorted((e["code"], e["lineId"]) for e in mixed["userErrors"]) == sorted(
        [
            ("INVALID_INPUT", foreign["lines"][0]["id"]),
            ("INVALID_QUANTITY", line["id"]),
            ("INVALID_INPUT", global_id("OrderLine", 999_999)),
        ]
    ), "every problem at once, each with its line"
    twice = ask(shop, order, "RETURN", [(line["id"], 1), (line["id"], 1)], buyer=4)
    assert error_codes(twice) == ["INVALID_INPUT"]
    assert len(read_order(shop, order["id"])["afterSalesRequests"]) == 1

    # A rejected request gives its units back.
    first = read_order(shop, order["id"])["afterSalesRequests"][0]
    assert (
        resolve(shop, first["id"], approve=False, note="photos show no damage")["userErrors"] == []
    )
    again = ask(shop, order, "RETURN", [(line["id"], 2)], buyer=4)
    assert again["userErrors"] == []
    assert amount(again["request"]["refundAmount"]) == amount(line["total"]) + amount(
        order["cost"]["shippingTotal"]
    )


def test_only_the_buyer_of_a_paid_order_asks(shop: Shop, goods: Goods) -> None:
    sku = goods.common()
    pending = place(shop, [(sku.id, 1)], buyer=5, key="pending-ask")
    line = pending["lines"][0]["id"]
    assert error_codes(ask(shop, pending, "RETURN", [(line, 1)], buyer=5)) == [
        "INVALID_STATUS_TRANSITION"
    ]
    order = paid_order(shop, [(sku.id, 1)], buyer=5, key="owner-ask")
    line = order["lines"][0]["id"]
    assert error_codes(ask(shop, order, "RETURN", [(line, 1)], buyer=6)) == ["ORDER_NOT_FOUND"]
    blank = ask(shop, order, "RETURN", [(line, 1)], buyer=5, reason="  ")
    assert error_codes(blank) == ["INVALID_INPUT"]
    variables = {
        "input": {
            "orderId": order["id"],
            "kind": "RETURN",
            "reason": "x",
            "lines": [{"orderLineId": line, "quantity": 1}],
        }
    }
    anonymous = shop.query(REQUEST_CREATE, variables)["afterSalesRequestCreate"]
    assert error_codes(anonymous) == ["LOGIN_REQUIRED"]
    staff = shop.query(
        REQUEST_CREATE, variables, token=shop.staff_token("MANAGE_ORDERS", "MANAGE_AFTER_SALES")
    )
    assert error_codes(staff["afterSalesRequestCreate"]) == ["ORDER_NOT_FOUND"]
    assert read_order(shop, order["id"])["afterSalesRequests"] == []
    # The owner sees the order's requests; another buyer does not see the order at all.
    assert ask(shop, order, "EXCHANGE", [(line, 1)], buyer=5)["userErrors"] == []
    assert (
        len(read_order(shop, order["id"], token=shop.customer_token(5))["afterSalesRequests"]) == 1
    )
    assert (
        shop.query(
            "query($id: ID!) { order(id: $id) { id } }",
            {"id": order["id"]},
            token=shop.customer_token(6),
        )["order"]
        is None
    )


def test_an_exchange_gives_no_money_back(shop: Shop, goods: Goods) -> None:
    order = paid_order(shop, [(goods.take().id, 1)], buyer=7, key="exchange")
    asked = ask(
        shop, order, "EXCHANGE", [(order["lines"][0]["id"], 1)], buyer=7, reason="wrong size"
    )
    assert asked["userErrors"] == []
    assert asked["request"]["refundAmount"] is None
    assert asked["request"]["items"][0]["refundAmount"] == {"amount": "0.00"}


def test_resolving_and_completing_move_once_and_a_return_goes_back_on_the_shelf(
    shop: Shop, goods: Goods
) -> None:
    sku = goods.take()
    order = delivered_order(shop, paid_order(shop, [(sku.id, 3)], buyer=8, key="restock"))
    warehouse = order["shipments"][0]["source"]
    line = order["lines"][0]["id"]
    back = ask(shop, order, "RETURN", [(line, 2)], buyer=8)["request"]
    refund_only = ask(shop, order, "REFUND_ONLY", [(line, 1)], buyer=8)["request"]
    shelf = by_warehouse(shop, sku.gid)[warehouse]

    assert error_codes(complete(shop, back["id"])) == ["INVALID_STATUS_TRANSITION"]
    approved = resolve(shop, back["id"], approve=True, note="send it back")
    assert approved["userErrors"] == []
    assert (approved["request"]["status"], approved["request"]["resolutionNote"]) == (
        "APPROVED",
        "send it back",
    )
    for approve in (True, False):
        assert error_codes(resolve(shop, back["id"], approve=approve)) == [
            "INVALID_STATUS_TRANSITION"
        ]
    assert by_warehouse(shop, sku.gid)[warehouse] == shelf, "approval alone restocks nothing"

    done = complete(shop, back["id"])
    assert done["userErrors"] == []
    assert done["request"]["status"] == "COMPLETED"
    restocked = by_warehouse(shop, sku.gid)[warehouse]
    assert restocked["onHand"] == shelf["onHand"] + 2
    assert error_codes(complete(shop, back["id"])) == ["INVALID_STATUS_TRANSITION"]
    assert by_warehouse(shop, sku.gid)[warehouse] == restocked, "restocked once"

    assert resolve(shop, refund_only["id"], approve=False, note="no")["userErrors"] == []
    assert error_codes(complete(shop, refund_only["id"])) == ["INVALID_STATUS_TRANSITION"]
    assert error_codes(resolve(shop, refund_only["id"], approve=True)) == [
        "INVALID_STATUS_TRANSITION"
    ]
    assert error_codes(resolve(shop, global_id("AfterSalesRequest", 999_999), approve=True)) == [
        "AFTER_SALES_REQUEST_NOT_FOUND"
    ]
    history = done["request"]["statusHistory"]
    assert [(h["fromStatus"], h["toStatus"]) for h in history] == [
        (None, "OPEN"),
        ("OPEN", "APPROVED"),
        ("APPROVED", "COMPLETED"),
    ]
    assert history[1]["note"] == "send it back"
    assert history[1]["actor"] == "staff:1"


def test_a_retry_with_the_same_key_replays_and_another_use_of_it_is_refused(
    shop: Shop, goods: Goods
) -> None:
    order = paid_order(shop, [(goods.take().id, 2)], buyer=9, key="idem")
    line = order["lines"][0]["id"]
    first = ask(shop, order, "REFUND_ONLY", [(line, 1)], buyer=9)["request"]
    second = ask(shop, order, "REFUND_ONLY", [(line, 1)], buyer=9)["request"]
    applied = resolve(shop, first["id"], approve=True, note="ok", key="resolve-1")
    replay = resolve(shop, first["id"], approve=True, note="ok", key="resolve-1")
    assert applied["userErrors"] == [] and replay["userErrors"] == []
    assert replay["request"]["status"] == "APPROVED"
    assert len(replay["request"]["statusHistory"]) == 2, "the retry wrote nothing"
    reused = resolve(shop, first["id"], approve=False, note="ok", key="resolve-1")
    assert error_codes(reused) == ["IDEMPOTENCY_KEY_REUSED"]
    elsewhere = resolve(shop, second["id"], approve=True, note="ok", key="resolve-1")
    assert error_codes(elsewhere) == ["IDEMPOTENCY_KEY_REUSED"]
    assert read_order(shop, order["id"])["afterSalesRequests"][1]["status"] == "OPEN"


def test_two_staff_resolving_one_request_at_once_one_wins(shop: Shop, goods: Goods) -> None:
    sku = goods.take()
    order = paid_order(shop, [(sku.id, 5)], buyer=10, key="race")
    line = order["lines"][0]["id"]
    alice = shop.staff_token("MANAGE_AFTER_SALES")
    bob = issue_token(
        shop.settings, kind=ViewerKind.STAFF, subject="2", permissions=["MANAGE_AFTER_SALES"]
    )
    for round_ in range(5):
        asked = ask(shop, order, "REFUND_ONLY", [(line, 1)], buyer=10)["request"]
        both = [
            (REQUEST_RESOLVE, {"id": asked["id"], "approve": True, "note": "alice"}, alice),
            (REQUEST_RESOLVE, {"id": asked["id"], "approve": False, "note": "bob"}, bob),
        ]
        results = run(lambda both=both: post_all(shop.live.url, both))  # type: ignore[misc]
        payloads = [r["data"]["afterSalesRequestResolve"] for r in results]
        outcomes = sorted(error_codes(p) for p in payloads)
        assert outcomes == [[], ["INVALID_STATUS_TRANSITION"]], (round_, payloads)
        winner = next(p for p in payloads if not p["userErrors"])["request"]
        history = winner["statusHistory"]
        assert [h["toStatus"] for h in history] == ["OPEN", winner["status"]]


def test_the_queue_lists_every_request_oldest_first_and_flags_the_overdue(
    shop: Shop, goods: Goods
) -> None:
    order = paid_order(shop, [(goods.take().id, 3)], buyer=11, key="queue")
    line = order["lines"][0]["id"]
    old, recent, fresh = (
        ask(shop, order, "REFUND_ONLY", [(line, 1)], buyer=11)["request"] for _ in range(3)
    )
    now = datetime.now(UTC)
    for request, age in ((old, timedelta(days=3650)), (recent, timedelta(hours=47))):
        shop.sql(
            "orders",
            "UPDATE after_sales_requests SET created_at = :t WHERE id = :i",
            {"t": db_time(shop, now - age), "i": pk_of(request["id"])},
        )
    token = after_sales_staff(shop)
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = shop.query(REQUESTS, {"first": 2, "after": after, "status": "OPEN"}, token=token)[
            "afterSalesRequests"
        ]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    open_count = int(
        shop.scalar("orders", "SELECT COUNT(*) FROM after_sales_requests WHERE status = 'OPEN'")
    )
    assert page["totalCount"] == open_count == len(nodes) == len({n["id"] for n in nodes})
    assert nodes[0]["id"] == old["id"], "the oldest open request comes first"
    assert [n["createdAt"] for n in nodes] == sorted(n["createdAt"] for n in nodes)
    overdue = {n["id"]: n["overdue"] for n in nodes}
    assert (overdue[old["id"]], overdue[recent["id"]], overdue[fresh["id"]]) == (True, False, False)
    # Resolved requests stay listed, under their status, with their history.
    assert resolve(shop, old["id"], approve=False, note="duplicate")["userErrors"] == []
    rejected = shop.query(REQUESTS, {"first": 100, "status": "REJECTED"}, token=token)
    listed = {e["node"]["id"]: e["node"] for e in rejected["afterSalesRequests"]["edges"]}
    assert listed[old["id"]]["overdue"] is False
    assert listed[old["id"]]["statusHistory"][-1]["note"] == "duplicate"
    everything = shop.query(REQUESTS, {"first": 100}, token=token)["afterSalesRequests"]
    assert everything["totalCount"] == int(
        shop.scalar("orders", "SELECT COUNT(*) FROM after_sales_requests")
    )
    # Without the permission the queue reads as empty.
    for other in (shop.staff_token("MANAGE_ORDERS"), shop.customer_token(11), None):
        empty = shop.query(REQUESTS, {"first": 5}, token=other)["afterSalesRequests"]
        assert (empty["totalCount"], empty["edges"]) == (0, [])


@pytest.mark.parametrize("viewer", VIEWERS, ids=[v.name for v in VIEWERS])
def test_after_sales_mutations_need_manage_after_sales(
    shop: Shop, goods: Goods, viewer: ViewerCase
) -> None:
    """afterSalesRequestResolve and afterSalesRequestComplete: PERMISSION_DENIED and no
    change without MANAGE_AFTER_SALES, applied with it."""
    buyer = 12 + VIEWERS.index(viewer)
    order = paid_order(shop, [(goods.common().id, 2)], buyer=buyer, key=f"matrix-{viewer.name}")
    line = order["lines"][0]["id"]
    to_resolve = ask(shop, order, "REFUND_ONLY", [(line, 1)], buyer=buyer)["request"]
    to_complete = ask(shop, order, "REFUND_ONLY", [(line, 1)], buyer=buyer)["request"]
    assert resolve(shop, to_complete["id"], approve=True)["userErrors"] == []
    token = token_for(shop.settings, viewer)
    allowed = viewer.holds_any(("MANAGE_AFTER_SALES",))
    tries = [
        (
            "afterSalesRequestResolve",
            REQUEST_RESOLVE,
            {"id": to_resolve["id"], "approve": True, "note": "n"},
        ),
        ("afterSalesRequestComplete", REQUEST_COMPLETE, {"id": to_complete["id"]}),
    ]
    for name, document, variables in tries:
        result = shop.live.query(document, variables, token=token)
        assert "errors" not in result, result["errors"]
        payload = result["data"][name]
        if allowed:
            assert payload["userErrors"] == [], (name, payload)
        else:
            assert error_codes(payload) == ["PERMISSION_DENIED"], (name, payload)
            assert payload["request"] is None
    statuses = [r["status"] for r in read_order(shop, order["id"])["afterSalesRequests"]]
    assert statuses == (["APPROVED", "COMPLETED"] if allowed else ["OPEN", "APPROVED"])


def test_two_asks_for_the_last_unit_at_once_write_one_request(shop: Shop, goods: Goods) -> None:
    order = paid_order(shop, [(goods.take().id, 1)], buyer=40, key="ask-race")
    line = order["lines"][0]["id"]
    variables = {
        "input": {
            "orderId": order["id"],
            "kind": "RETURN",
            "reason": "broken",
            "lines": [{"orderLineId": line, "quantity": 1}],
        }
    }
    token = shop.customer_token(40)
    results = run(lambda: post_all(shop.live.url, [(REQUEST_CREATE, variables, token)] * 3))
    payloads = [r["data"]["afterSalesRequestCreate"] for r in results]
    assert sorted(error_codes(p) for p in payloads) == [[]] + [["INVALID_INPUT"]] * 2
    assert all(e["lineId"] == line for p in payloads for e in p["userErrors"])
    assert len(read_order(shop, order["id"])["afterSalesRequests"]) == 1


def test_two_staff_completing_one_return_at_once_restock_it_once(shop: Shop, goods: Goods) -> None:
    sku = goods.take()
    order = delivered_order(shop, paid_order(shop, [(sku.id, 2)], buyer=41, key="complete-race"))
    warehouse = order["shipments"][0]["source"]
    back = ask(shop, order, "RETURN", [(order["lines"][0]["id"], 2)], buyer=41)["request"]
    assert resolve(shop, back["id"], approve=True)["userErrors"] == []
    shelf = by_warehouse(shop, sku.gid)[warehouse]["onHand"]
    token = after_sales_staff(shop)
    results = run(
        lambda: post_all(shop.live.url, [(REQUEST_COMPLETE, {"id": back["id"]}, token)] * 3)
    )
    payloads = [r["data"]["afterSalesRequestComplete"] for r in results]
    assert sorted(error_codes(p) for p in payloads) == [[]] + [["INVALID_STATUS_TRANSITION"]] * 2
    assert by_warehouse(shop, sku.gid)[warehouse]["onHand"] == shelf + 2
